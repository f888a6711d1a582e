"""An Emulator on its own event loop in a background thread.

For tests where the bot runs in a subprocess (or in synchronous code): every emulator method
is available on the EmulatorThread and runs on the emulator's loop, so calls are thread-safe;
coroutines such as next_message are awaited there and their result returned.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import Any

from .server import Emulator


class EmulatorThread:
    def __init__(self, **options: Any) -> None:
        self._options = options
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.emulator: Emulator | None = None

    def start(self) -> EmulatorThread:
        self._thread = threading.Thread(target=self._run, name="bot-api-emulator", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise RuntimeError("the emulator did not start") from self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            self.emulator = Emulator(**self._options)
            loop.run_until_complete(self.emulator.start())
        except BaseException as error:
            self._error = error
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        if (
            self._loop is None
            or self._thread is None
            or self.emulator is None
            or not self._thread.is_alive()
        ):
            return
        self.call(self.emulator.stop)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> EmulatorThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run function on the emulator's loop (awaiting it if it is a coroutine)."""
        if self._loop is None:
            raise RuntimeError("EmulatorThread is not started")

        async def invoke() -> Any:
            result = function(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result()

    def __getattr__(self, name: str) -> Any:
        if self.emulator is None:
            raise AttributeError(f"{name} (EmulatorThread is not started)")
        attribute = getattr(self.emulator, name)
        if not callable(attribute) or not inspect.ismethod(attribute):
            return attribute
        return lambda *args, **kwargs: self.call(attribute, *args, **kwargs)
