"""How requests reach the Bot API: PTB's HTTPXRequest, posting JSON bodies instead of forms.

PTB url-encodes every parameter, which costs one Python call per byte of non-ASCII text: a
Russian card is about 8 KB of such bytes, and on a busy day that encoding was a quarter of
the bot's CPU (README, Performance). The Bot API accepts ``application/json`` bodies just
as well, so requests without files are sent as JSON, encoded by orjson; uploads (the
calendar file, backups) still go as PTB sends them. Everything else (timeouts, errors, the
connection pool) is PTB's.
"""

from __future__ import annotations

import math

import httpx
import orjson
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

JSON_HEADERS = {"User-Agent": HTTPXRequest.USER_AGENT, "Content-Type": "application/json"}
CONNECTIONS = 16
"""Connections to the Bot API, not PTB's 256: httpcore 1.0.9 re-checks every pooled
connection on every request, with a step quadratic in idle ones (encode/httpcore#1035). In
B1 the bot reached 0.67 of the echo bot's throughput with 256, 0.86 with 16 and 0.99 with 8.
Sixteen carry about 160 requests/s at Telegram's usual ~100 ms, five times the free
broadcast rate; faster broadcasts get more (``request_for``)."""
POOL_WAIT = 10.0
"""Seconds a request may wait for a free connection (PTB: 1): a burst queues, not fails."""


class JsonRequest(HTTPXRequest):
    """HTTPXRequest that posts JSON whenever nothing is uploaded."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is None or request_data.contains_files or self._client.is_closed:
            return await super().do_request(url, method, request_data, read_timeout,
                                            write_timeout, connect_timeout, pool_timeout)
        defaults = self._client.timeout
        # The same resolution as PTB's: a DefaultValue means "the timeout this request object
        # was built with", an explicit None means "no timeout".
        timeout = httpx.Timeout(
            connect=_given(connect_timeout, defaults.connect),
            read=_given(read_timeout, defaults.read),
            write=_given(write_timeout, defaults.write),
            pool=_given(pool_timeout, defaults.pool),
        )
        try:
            response = await self._client.request(
                method=method, url=url, headers=JSON_HEADERS, timeout=timeout,
                content=orjson.dumps(request_data.json_parameters))
        except httpx.TimeoutException as error:
            if isinstance(error, httpx.PoolTimeout):
                # Never sent: PTB words it so, and the fan-out may retry it safely.
                raise TimedOut(message="Pool timeout: all connections in the connection pool "
                                       "are occupied. Request was *not* sent to Telegram."
                               ) from error
            raise TimedOut from error
        except httpx.HTTPError as error:
            raise NetworkError(f"httpx.{error.__class__.__name__}: {error}") from error
        return response.status_code, response.content


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


def connections_for(broadcast_rate: float) -> int:
    """Enough connections for the broadcast rate at ~100 ms a request, and never fewer than
    ``CONNECTIONS``; the fan-out keeps no more sends in flight than this."""
    return max(CONNECTIONS, min(256, math.ceil(broadcast_rate / 10)))


def request_for(broadcast_rate: float) -> JsonRequest:
    """The bot's request object, with ``connections_for`` its rate."""
    return JsonRequest(connection_pool_size=connections_for(broadcast_rate),
                       pool_timeout=POOL_WAIT)
