"""How requests reach the Bot API: JSON bodies over one httpx connection pool of our own.

PTB url-encodes every parameter, which costs one Python call per byte of non-ASCII text: a
Russian card is about 8 KB of such bytes, and on a busy day that encoding was a quarter of
the bot's CPU (docs/performance.md). The Bot API accepts ``application/json`` bodies just
as well, so requests without files are sent as JSON, encoded by orjson; uploads (the
calendar file, backups) go as multipart, as PTB sends them. ``JsonRequest`` implements PTB's
public ``BaseRequest`` interface and owns its ``httpx.AsyncClient``, so nothing here relies
on PTB's private attributes or modules.

It also says, by exception type, whether a failed request can have reached Telegram
(``never_sent``): that decides whether a send may be retried (``bot.telegram.budget``)
or must be logged "uncertain" (``bot.telegram.fanout``).
"""

from __future__ import annotations

import math
import ssl
from functools import cache

import httpx
import orjson

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

CONNECTIONS = 16
"""Connections to the Bot API, not PTB's 256: httpcore 1.0.9 re-checks every pooled
connection on every request, with a step quadratic in idle ones (encode/httpcore#1035). In
B1 the bot reached 0.67 of the echo bot's throughput with 256, 0.86 with 16 and 0.99 with 8.
Sixteen carry about 160 requests/s at Telegram's usual ~100 ms, five times the free
broadcast rate; faster broadcasts get more (``request_for``)."""
POOL_WAIT = 10.0
"""Seconds a request may wait for a free connection (PTB: 1): a burst queues, not fails."""
TIMEOUT = 5.0
"""Connect, read and write timeouts, as PTB's HTTPXRequest."""
MEDIA_WRITE_TIMEOUT = 20.0
"""Write timeout of an upload, as PTB's HTTPXRequest."""
USER_AGENT = "python-telegram-bot (JSON bodies; zhanaozen-bot)"

NEVER_SENT = (httpx.PoolTimeout, httpx.ConnectTimeout, httpx.ConnectError)
"""httpx failures that happen before a byte of the request leaves: no free connection, or
none could be opened. Such a request is safe to send again."""


@cache
def tls_context() -> ssl.SSLContext:
    """The one TLS context of every client the bot makes, as httpx makes it by default
    (certifi's roots, or SSL_CERT_FILE/SSL_CERT_DIR): each client would otherwise read and
    parse the certificate bundle again, 25 ms of every start for each of its two clients."""
    return httpx.create_ssl_context()


def never_sent(error: BaseException) -> bool:
    """True if ``error`` (a PTB ``NetworkError``/``TimedOut``) proves the request never left.

    PTB raises its errors ``from`` the httpx exception, so the cause says what happened; a
    timeout or a broken connection after the request left (``ReadTimeout``, ``ReadError``,
    ``RemoteProtocolError``…) may have been acted on by Telegram and is not "never sent".
    """
    return isinstance(error.__cause__, NEVER_SENT)


def lost_answer(error: BaseException) -> bool:
    """True if the request may have reached Telegram but its answer was lost: resending it
    could deliver a message twice."""
    if never_sent(error):
        return False
    return isinstance(error, TimedOut) or isinstance(error.__cause__, httpx.TransportError)


class JsonRequest(BaseRequest):
    """A ``BaseRequest`` that posts JSON whenever nothing is uploaded."""

    def __init__(
        self, connection_pool_size: int = CONNECTIONS, pool_timeout: float | None = POOL_WAIT
    ) -> None:
        self.timeout = httpx.Timeout(TIMEOUT, pool=pool_timeout)
        """The defaults a request uses when the caller gives no timeout."""
        self.limits = httpx.Limits(max_connections=connection_pool_size)
        self.client = self._new_client()
        """Public so that tests can observe requests (``event_hooks``)."""

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=self.timeout,
            limits=self.limits,
            http1=True,
            http2=False,
            headers={"User-Agent": USER_AGENT},
            verify=tls_context(),
        )

    @property
    def read_timeout(self) -> float | None:
        return self.timeout.read

    async def initialize(self) -> None:
        if self.client.is_closed:
            self.client = self._new_client()

    async def shutdown(self) -> None:
        if not self.client.is_closed:
            await self.client.aclose()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self.client.is_closed:
            raise RuntimeError("This JsonRequest is not initialized")
        uploads = request_data is not None and request_data.contains_files
        # PTB's rule: "not given" (its DEFAULT_NONE) means the default this request object
        # was built with; an explicit None means no timeout.
        timeout = httpx.Timeout(
            connect=_given(connect_timeout, self.timeout.connect),
            read=_given(read_timeout, self.timeout.read),
            write=_given(write_timeout, MEDIA_WRITE_TIMEOUT if uploads else self.timeout.write),
            pool=_given(pool_timeout, self.timeout.pool),
        )
        if request_data is None:
            body: dict = {}
        elif uploads:
            body = {"files": request_data.multipart_data, "data": request_data.json_parameters}
        else:
            body = {
                "content": orjson.dumps(request_data.json_parameters),
                "headers": {"Content-Type": "application/json"},
            }
        try:
            response = await self.client.request(method=method, url=url, timeout=timeout, **body)
        except httpx.TimeoutException as error:
            raise TimedOut from error  # the cause tells a pool timeout (never sent) apart
        except httpx.HTTPError as error:
            raise NetworkError(f"httpx.{error.__class__.__name__}: {error}") from error
        return response.status_code, response.content


def _given(value: object, default: float | None) -> float | None:
    if value is BaseRequest.DEFAULT_NONE:
        return default
    return value  # type: ignore[return-value]


def connections_for(broadcast_rate: float) -> int:
    """Enough connections for the broadcast rate at ~100 ms a request, and never fewer than
    ``CONNECTIONS``; the fan-out keeps no more sends in flight than this."""
    return max(CONNECTIONS, min(256, math.ceil(broadcast_rate / 10)))


def request_for(broadcast_rate: float) -> JsonRequest:
    """The bot's request object, with ``connections_for`` its rate."""
    return JsonRequest(
        connection_pool_size=connections_for(broadcast_rate), pool_timeout=POOL_WAIT
    )
