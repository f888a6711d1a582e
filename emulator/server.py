"""The HTTP side: a tornado server speaking the Bot API on 127.0.0.1.

Request flow: token check → method lookup (404) → decode → validate (400, recorded in
``violations``) → injected faults → flood limits (429) → the method itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
from typing import Any

import tornado.httpclient
import tornado.httpserver
import tornado.netutil
import tornado.web

from .faults import FAULT_KINDS, ApiError, Fault, RateLimiter, retry_after
from .methods import METHODS, generic
from .records import ApiRequest
from .spec import SpecError, UploadedFile
from .users import SimulatedUsers
from .validate import validate

TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
DEFAULT_ALLOWED_UPDATES = {"message_reaction", "message_reaction_count", "chat_member"}
log = logging.getLogger(__name__)


class Emulator(SimulatedUsers):
    """A local Bot API server plus simulated users; see the package docstring for the API."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        super().__init__(**options)
        self.host = host
        self.port = port
        self.webhook_target: str | None = None
        """Where webhook updates are POSTed instead of the registered (https) URL."""
        self._server: tornado.httpserver.HTTPServer | None = None
        self._allowed_updates: set[str] | None = None
        self._poll_generation = 0
        self._stopping = False
        self._webhook_task: asyncio.Task | None = None
        self._inflight = 0
        self._idle_since = 0.0

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> Emulator:
        app = tornado.web.Application(
            [
                (r"/bot([^/]+)/([A-Za-z0-9_]+)/?", _ApiHandler, {"emulator": self}),
                (r"/file/bot([^/]+)/(.+)", _FileHandler, {"emulator": self}),
            ],
            log_function=lambda handler: None,
        )
        sockets = tornado.netutil.bind_sockets(self.port, self.host, family=socket.AF_INET)
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app, max_body_size=60 * 1024 * 1024)
        self._server.add_sockets(sockets)
        self._stopping = False
        self._idle_since = asyncio.get_running_loop().time()
        return self

    async def stop(self) -> None:
        self._stopping = True
        self.new_updates.notify()
        if self._webhook_task:
            self._webhook_task.cancel()
        if self._server is not None:
            self._server.stop()
            await asyncio.sleep(0)  # let held requests see _stopping
            await self._server.close_all_connections()
            self._server = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def root_url(self) -> str:
        """What Config.api_url should be: http://127.0.0.1:PORT."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.root_url}/file/bot"

    # -- faults and limits ------------------------------------------------------------------

    def inject(
        self,
        method: str | None = "sendMessage",
        error: str = "429",
        *,
        times: int | None = None,
        probability: float | None = None,
        chat_id: int | str | None = None,
        retry_after: int = 1,
        migrate_to: int | None = None,
        hold: float = 30.0,
        apply: bool = False,
    ) -> Fault:
        """Make matching calls fail; ``times`` defaults to 1 unless a probability is given."""
        if error not in FAULT_KINDS:
            raise ValueError(f"error must be one of {FAULT_KINDS}, got {error!r}")
        if times is None and probability is None:
            times = 1
        fault = Fault(
            method, error, times, probability, chat_id, retry_after, migrate_to, hold, apply
        )
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def rate_limit(
        self,
        global_per_second: float | None = 30,
        per_group_per_minute: int | None = 20,
        *,
        per_chat_per_second: float | None = None,
        enabled: bool = True,
    ) -> RateLimiter | None:
        """Answer 429 like Telegram's flood control (off until called)."""
        self.rate_limiter = (
            RateLimiter(global_per_second, per_group_per_minute, per_chat_per_second)
            if enabled
            else None
        )
        return self.rate_limiter

    # -- request handling -------------------------------------------------------------------

    async def handle(
        self,
        token: str,
        method_name: str,
        raw: dict[str, Any],
        files: dict[str, UploadedFile],
        closed: asyncio.Event,
    ) -> tuple[int, dict]:
        if not TOKEN_RE.fullmatch(token) or (self.token and token != self.token):
            return 401, ApiError(401, "Unauthorized").payload()
        self.bot_id = int(token.split(":")[0])
        method = self.spec.method_name(method_name)
        if method is None:
            self._violation(method_name, "unknown method (Telegram answers 404 Not Found)")
            return 404, ApiError(404, "Not Found").payload()
        busy = method != "getUpdates"
        self._inflight += busy
        try:
            params = self.spec.decode(method, raw, files)
            chat_id = params.get("chat_id")
            request = ApiRequest(
                method, params, chat_id if isinstance(chat_id, int | str) else None
            )
            if self.record_requests:
                self.requests.append(request)
            self.emit("request", request)
            result = await self._call(method, params, closed)
            return 200, {"ok": True, "result": result}
        except SpecError as error:
            self._violation(method, str(error))
            return 400, ApiError(400, f"Bad Request: {error}").payload()
        except ApiError as error:
            if error.violation:
                self._violation(method, error.description.removeprefix("Bad Request: "))
            return error.code, error.payload()
        except Exception as error:  # a bug here must fail tests, not hang them
            log.exception("emulator failed on %s", method)
            self._violation(method, f"emulator bug: {error!r}")
            return 500, ApiError(500, "Internal Server Error").payload()
        finally:
            self._inflight -= busy
            self._idle_since = asyncio.get_running_loop().time()
            self.changed.notify()

    def _violation(self, method: str, problem: str) -> None:
        text = f"{method}: {problem}"
        self.violations.append(text)
        self.emit("violation", text)

    async def _call(self, method: str, params: dict, closed: asyncio.Event) -> Any:
        problems = validate(self.spec, method, params)
        if problems:
            for problem in problems:
                self._violation(method, problem)
            raise ApiError(400, f"Bad Request: {problems[0]}")
        chat_id = params.get("chat_id")
        fault = next((f for f in self.faults if f.matches(method, chat_id, self.rng)), None)
        if fault is not None:
            fault.hits += 1
            if fault.error == "timeout":
                return await self._time_out(fault, method, params, closed)
            error = fault.error_for(chat_id)
            assert error is not None  # only "timeout" has none, and it returned above
            raise error
        if self.rate_limiter is not None and RateLimiter.applies_to(method):
            wait = self.rate_limiter.check(chat_id, paid=bool(params.get("allow_paid_broadcast")))
            if wait is not None:
                self.too_many_requests += 1
                raise retry_after(wait)
        return await self._execute(method, params)

    async def _time_out(
        self, fault: Fault, method: str, params: dict, closed: asyncio.Event
    ) -> Any:
        result = await self._execute(method, params) if fault.apply else None
        with contextlib.suppress(TimeoutError):  # the client hanging up ends the hold
            await asyncio.wait_for(closed.wait(), fault.hold)
        if fault.apply:
            return result
        raise ApiError(504, "Gateway Timeout")

    async def _execute(self, method: str, params: dict) -> Any:
        if method == "getUpdates":
            return await self._get_updates(params)
        if method in ("setWebhook", "deleteWebhook", "getWebhookInfo"):
            return self._webhook_method(method, params)
        handler = METHODS.get(method)
        return handler(self, params, method) if handler else generic(self, params, method)

    # -- updates ----------------------------------------------------------------------------

    def _wanted(self, update: dict) -> bool:
        kind = next(key for key in update if key != "update_id")
        if self._allowed_updates is None:
            return kind not in DEFAULT_ALLOWED_UPDATES
        return kind in self._allowed_updates

    def _set_allowed(self, allowed: list[str] | None) -> None:
        if allowed is not None:
            self._allowed_updates = set(allowed) or None

    async def _get_updates(self, params: dict) -> list[dict]:
        if self.webhook:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is "
                "active; use deleteWebhook to delete the webhook first",
            )
        self._set_allowed(params.get("allowed_updates"))
        offset = params.get("offset", 0)
        limit = params.get("limit", 100)
        timeout = max(0, params.get("timeout", 0))
        self._poll_generation += 1
        generation = self._poll_generation
        self.new_updates.notify()  # an older poll still waiting gets 409, as on Telegram
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make "
                    "sure that only one bot instance is running",
                )
            if offset < 0:
                self.pending = self.pending[offset:]
            elif offset:
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
            self.pending = [u for u in self.pending if self._wanted(u)]
            if self.pending or self._stopping or loop.time() >= deadline:
                handed = self.pending[:limit]
                for update in handed:
                    self.deliveries[update["update_id"]] += 1
                return handed
            await self.new_updates.wait(deadline - loop.time())

    def _webhook_method(self, method: str, params: dict) -> Any:
        if method == "getWebhookInfo":
            info = {
                "url": (self.webhook or {}).get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self.pending),
            }
            info.update(
                {
                    k: v
                    for k, v in (self.webhook or {}).items()
                    if k
                    in (
                        "max_connections",
                        "allowed_updates",
                        "last_error_date",
                        "last_error_message",
                    )
                }
            )
            return info
        if params.get("drop_pending_updates"):
            self.pending.clear()
        if method == "deleteWebhook" or not params.get("url"):
            self.webhook = None
            return True
        self._set_allowed(params.get("allowed_updates"))
        self.webhook = dict(params)
        self.on_new_update()
        return True

    def on_new_update(self) -> None:
        if self.webhook and (self._webhook_task is None or self._webhook_task.done()):
            with contextlib.suppress(RuntimeError):  # no loop yet: delivered on setWebhook
                self._webhook_task = asyncio.get_running_loop().create_task(
                    self._deliver_webhooks()
                )

    async def _deliver_webhooks(self) -> None:
        """POST pending updates one at a time, in order, retrying like Telegram does."""
        client = tornado.httpclient.AsyncHTTPClient()
        while self.webhook and self.pending and not self._stopping:
            update = self.pending[0]
            if not self._wanted(update):
                self.pending.pop(0)
                continue
            headers = {"Content-Type": "application/json"}
            if self.webhook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
            try:
                response = await client.fetch(
                    self.webhook_target or self.webhook["url"],
                    method="POST",
                    body=json.dumps(update),
                    headers=headers,
                    raise_error=False,
                    request_timeout=10,
                )
                error = None if 200 <= response.code < 300 else f"Wrong response: {response.code}"
            except OSError as exc:
                error = f"Connection failed: {exc}"
            if error is None:
                if self.pending and self.pending[0] is update:
                    self.pending.pop(0)
                continue
            if self.webhook:
                self.webhook.update(last_error_date=self.now(), last_error_message=error)
            await asyncio.sleep(0.2)

    async def wait_idle(
        self,
        update_id: int | None = None,
        *,
        quiet: float = 0.3,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> bool:
        """Wait until the bot took update_id and made no API call for ``quiet`` seconds.

        A heuristic for the sandbox (it cannot see inside the bot); False on timeout.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            taken = update_id is None or all(u["update_id"] > update_id for u in self.pending)
            if taken and not self._inflight and loop.time() - self._idle_since >= quiet:
                return True
            await asyncio.sleep(0.05)
        return False


class _ApiHandler(tornado.web.RequestHandler):
    def initialize(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.closed = asyncio.Event()

    def on_connection_close(self) -> None:
        self.closed.set()

    async def get(self, token: str, method: str) -> None:
        try:
            raw, files = self._arguments()
        except ValueError as error:
            self.set_status(400)
            self.finish({"ok": False, "error_code": 400, "description": f"Bad Request: {error}"})
            return
        status, body = await self.emulator.handle(token, method, raw, files, self.closed)
        if self.closed.is_set():
            return
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, ensure_ascii=False))

    post = get

    def _arguments(self) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        raw: dict[str, Any] = {
            name: values[-1].decode("utf-8")
            for name, values in self.request.query_arguments.items()
        }
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json") and self.request.body:
            body = json.loads(self.request.body)
            if not isinstance(body, dict):
                raise ValueError("the JSON body must be an object")
            raw.update(body)
        else:
            raw.update(
                {
                    name: values[-1].decode("utf-8")
                    for name, values in self.request.body_arguments.items()
                }
            )
        files = {
            name: UploadedFile(
                parts[0].filename,
                parts[0].body,
                parts[0].content_type or "application/octet-stream",
            )
            for name, parts in self.request.files.items()
        }
        return raw, files


class _FileHandler(tornado.web.RequestHandler):
    def initialize(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def get(self, token: str, path: str) -> None:
        file = next((f for f in self.emulator.files.values() if f["file_path"] == path), None)
        if file is None or not TOKEN_RE.fullmatch(token):
            self.set_status(404)
            self.finish({"ok": False, "error_code": 404, "description": "Not Found"})
            return
        self.set_header("Content-Type", file["mime_type"])
        self.finish(file["data"])
