"""Webhook mode: the bot's own small HTTP server, which refuses floods before they cost
anything (security review 3, H4 and L7).

PTB's ``run_webhook`` runs tornado with its defaults: 100 MB bodies read before the secret
is checked, header timeouts of an hour and no limit on connections, so anyone who can reach
the port can fill the bot's memory or its file descriptors. This server follows PTB's custom
webhook example (``examples/customwebhookbot``): the Application runs as usual and updates
go onto its ``update_queue``. In order, each request is refused as early as possible:

1. more than ``MAX_CONNECTIONS`` open connections, or ``MAX_PER_ADDRESS`` from one address:
   closed before a byte is read;
2. headers not finished within ``IDLE_TIMEOUT``: closed;
3. a wrong secret header (compared in constant time): 403, the body never read;
4. a declared or actual body over ``MAX_BODY``: 413, the rest never read;
5. not JSON or not an update: 400, logging its size only (the body may hold message text);
6. an ``update_id`` among the last ``RECENT_UPDATES`` seen: 200, and not handled again.

``/healthz`` answers on the same port, for platforms that health-check it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import resource
import signal
from collections import Counter, OrderedDict
from typing import Any

import tornado.web
from telegram import Update
from tornado.http1connection import HTTP1Connection
from tornado.httpserver import HTTPServer
from tornado.iostream import IOStream

from bot.context import BotApplication
from bot.ops import health

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
"""Bytes of one update, at most: Telegram's largest (a message of 4,096 characters with its
entities, a reply and a keyboard) is a few tens of kilobytes."""
IDLE_TIMEOUT = 10.0
"""Seconds a connection may take to send its headers, and may stay idle between requests."""
BODY_TIMEOUT = 10.0
"""Seconds to send one body of at most ``MAX_BODY``."""
MAX_CONNECTIONS = 400
"""Open connections at once, well under the descriptors the process may use."""
MAX_PER_ADDRESS = 50
"""Open connections from one address: Telegram opens at most ``setWebhook``'s
max_connections (40 by default). Behind a reverse proxy every connection comes from it, and
the proxy's own per-client limit is the one that counts (docs/operators.md, "Webhook mode")."""
RECENT_UPDATES = 2048
"""Update ids remembered: Telegram sends an update again when the bot answered slowly."""
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class LimitedServer(HTTPServer):
    """tornado's HTTPServer with a cap on open connections, overall and per address."""

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        self.open: Counter[str] = Counter()
        self.refused = 0

    def handle_stream(self, stream: IOStream, address: Any) -> None:
        host = str(address[0]) if isinstance(address, tuple) else str(address)
        if self.open.total() >= MAX_CONNECTIONS or self.open[host] >= MAX_PER_ADDRESS:
            self.refused += 1
            if self.refused in (1, 100) or self.refused % 10_000 == 0:
                log.warning(
                    "webhook: %d connections refused so far, %d open",
                    self.refused,
                    self.open.total(),
                )
            stream.close()
            return
        self.open[host] += 1
        stream.set_close_callback(lambda: self._closed(host))
        super().handle_stream(stream, address)

    def _closed(self, host: str) -> None:
        self.open[host] -= 1
        if self.open[host] <= 0:
            del self.open[host]


class Receiver:
    """What the handler needs: the Application, the secret, and the ids already taken."""

    def __init__(self, application: BotApplication, secret: str) -> None:
        self.application = application
        self.secret = secret.encode()
        self._recent: OrderedDict[int, None] = OrderedDict()

    def first_time(self, update_id: int) -> bool:
        if update_id in self._recent:
            return False
        self._recent[update_id] = None
        if len(self._recent) > RECENT_UPDATES:
            self._recent.popitem(last=False)
        return True


@tornado.web.stream_request_body
class WebhookHandler(tornado.web.RequestHandler):
    """Telegram's POSTs: checked before the body is read, then queued for the Application."""

    def initialize(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.chunks: list[bytes] = []
        self.size = 0
        self.refused = False

    def prepare(self) -> None:
        if self.request.method != "POST":
            self._refuse(405)
            return
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.receiver.secret):
            self._refuse(403)
            return
        declared = self.request.headers.get("Content-Length", "0")
        if not declared.isdecimal() or int(declared) > MAX_BODY:
            self._refuse(413)

    def data_received(self, chunk: bytes) -> None:
        if self.refused:
            return
        self.size += len(chunk)
        if self.size > MAX_BODY:
            self._refuse(413)
            return
        self.chunks.append(chunk)

    async def post(self) -> None:
        try:
            data = json.loads(b"".join(self.chunks))
            update_id = data["update_id"] if isinstance(data, dict) else None
            if not isinstance(update_id, int):
                raise ValueError("no update_id")
        except (ValueError, KeyError):
            log.warning("webhook: a request that is not an update (%d bytes)", self.size)
            self._refuse(400)
            return
        if self.receiver.first_time(update_id):
            application = self.receiver.application
            try:
                update = Update.de_json(data, application.bot)
            except Exception:  # a malformed update: its text must not reach the log
                log.warning("webhook: an update PTB could not read (%d bytes)", self.size)
                self._refuse(400)
                return
            await application.update_queue.put(update)
        self.set_status(200)
        self.finish()

    def _refuse(self, status: int) -> None:
        self.refused = True
        self.set_status(status)
        self.finish()
        connection = self.request.connection
        if isinstance(connection, HTTP1Connection):
            connection.close()  # the rest of the body is never read

    def log_exception(self, *args: Any) -> None:
        log.warning("webhook: a request failed")  # tornado's own would print the request


def make_server(receiver: Receiver, path: str, data_dir: Any) -> LimitedServer:
    web_app = tornado.web.Application(
        [
            (f"/{path}", WebhookHandler, {"receiver": receiver}),
            (health.HEALTHZ_PATH, health.healthz_handler(), {"data_dir": data_dir}),
        ]
    )
    return LimitedServer(
        web_app,
        max_body_size=MAX_BODY,
        idle_connection_timeout=IDLE_TIMEOUT,
        body_timeout=BODY_TIMEOUT,
        max_header_size=16 * 1024,
        xheaders=False,
    )


def raise_file_limit() -> None:
    """Let the process use every descriptor it is allowed (systemd's soft limit is 1,024)."""
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def serve(
    application: BotApplication,
    *,
    listen: str,
    port: int,
    path: str,
    secret: str,
    webhook_url: str,
    allowed_updates: list[str],
) -> None:
    """Run the Application behind this server until SIGTERM or SIGINT, as run_webhook would."""
    raise_file_limit()
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    server = make_server(
        Receiver(application, secret),
        path,
        application.bot_data.config.data_dir if application.bot_data.config else None,
    )
    server.listen(port, address=listen)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await application.bot.set_webhook(
            webhook_url, secret_token=secret, allowed_updates=allowed_updates
        )
        await application.start()
        await stop.wait()
    finally:
        server.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
