"""Logging set-up: useful for a campaigner reading platform logs, and never leaking the token.

httpx logs every request URL at INFO, and Bot API URLs contain the token, so its loggers stay
at WARNING. A redacting filter on every handler is the second line of defence.
"""

from __future__ import annotations

import logging
import re

_TOKEN_RE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


class RedactTokens(logging.Filter):
    """Replace anything shaped like a bot token in a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN_RE.search(message):
            record.msg = _TOKEN_RE.sub("<token>", message)
            record.args = ()
        if record.exc_info and not record.exc_text:
            # PTB's InvalidToken quotes the token; the traceback is formatted after filters
            # run, so format it here (the formatter reuses exc_text) and redact it.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _TOKEN_RE.sub("<token>", record.exc_text)
        return True


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactTokens())
    quiet_noisy_loggers()


def quiet_noisy_loggers() -> None:
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
