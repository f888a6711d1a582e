"""Telling the organisers when something breaks: at most one message per kind per hour.

Errors reach the log, but nobody reads a platform's log on 16 December. Each unhandled error
and each fan-out with failed messages is reported to every admin (``BOT_ADMIN_IDS``) in their
private chat with the bot. A kind (the error's class and where it was raised, or the fan-out's
kind) is reported at most once an hour; the next report says how many more there were.

Nothing in a report identifies a subscriber: no chat id, no message text, no exception message
(it may quote what a user typed), only the error's class, the bot's own code location and
counts.
"""

from __future__ import annotations

import logging
import time
import traceback
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from telegram.error import TelegramError

from bot.i18n import N_, translator

if TYPE_CHECKING:
    from collections.abc import Callable

    from telegram.ext import Application

    from bot.i18n import Translator
    from bot.telegram.fanout import FanOutResult

log = logging.getLogger(__name__)

THROTTLE = 3600.0
"""Seconds between two reports of the same kind."""
BOT_PACKAGE = Path(__file__).resolve().parent


@dataclass(slots=True)
class _Kind:
    last_sent: float = float("-inf")
    suppressed: int = 0


@dataclass(slots=True)
class Throttle:
    """Which kinds may be reported now; a pure object, so the hour is tested with a clock."""

    every: float = THROTTLE
    kinds: dict[str, _Kind] = field(default_factory=dict)

    def admit(self, kind: str, now: float | None = None) -> int | None:
        """None if ``kind`` was reported within the hour (counted), else how many reports of
        it were held back since the last one (and the kind is marked reported now)."""
        now = time.time() if now is None else now
        state = self.kinds.setdefault(kind, _Kind())
        if now - state.last_sent < self.every:
            state.suppressed += 1
            return None
        held_back, state.suppressed, state.last_sent = state.suppressed, 0, now
        return held_back


_throttles: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def throttle_for(application: Application) -> Throttle:
    throttle = _throttles.get(application)
    if throttle is None:
        throttle = _throttles[application] = Throttle()
    return throttle


def error_kind(error: BaseException) -> str:
    """The error's class and the innermost line of the bot's own code it passed through."""
    where = ""
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename)
        if path.is_relative_to(BOT_PACKAGE):
            where = f" in {path.relative_to(BOT_PACKAGE.parent)}:{frame.lineno} ({frame.name})"
    return f"{error.__class__.__name__}{where}"


DURING = {
    "update": N_("handling a user's request"),
    "job": N_("a background job"),
    "snapshot": N_("the daily snapshot"),
}
FAN_OUTS = {
    "reminders": N_("Reminders"),
    "broadcast": N_("Announcement"),
    "cancel": N_("Cancellation notices"),
}


async def report_error(application: Application, error: BaseException, during: str) -> None:
    """An unhandled error to the admins, throttled; ``during`` is a key of DURING."""
    kind = error_kind(error)
    await _report(
        application,
        kind,
        lambda tr: (
            tr.gettext("⚠️ Error (%(during)s): %(kind)s. Details are in the bot's log.")
            % {"during": tr.gettext(DURING[during]), "kind": kind}
        ),
    )


async def report_fan_out(application: Application, what: str, result: FanOutResult) -> None:
    """A fan-out (a key of FAN_OUTS) where some messages could not be delivered."""
    if not result.failed:
        return
    await _report(
        application,
        f"fan-out:{what}",
        lambda tr: (
            tr.gettext(
                "⚠️ %(what)s: messages not delivered: %(failed)d, delivered: %(sent)d. "
                "Details are in the bot's log."
            )
            % {
                "what": tr.gettext(FAN_OUTS.get(what, what)),
                "failed": result.failed,
                "sent": result.sent,
            }
        ),
    )


async def report_second_instance(application: Application) -> None:
    """Someone started a second copy of the bot with the same token (it was refused)."""
    await _report(
        application,
        "second-instance",
        lambda tr: tr.gettext(
            "⚠️ A second copy of this bot tried to start with the same token and was refused. "
            "Check that only one is deployed."
        ),
    )


async def _report(
    application: Application, kind: str, render: Callable[[Translator], str]
) -> None:
    config = application.bot_data.config
    if config is None or not config.admin_ids:
        return
    held_back = throttle_for(application).admit(kind)
    if held_back is None:
        return
    store = application.bot_data.store
    for admin_id in sorted(config.admin_ids):
        settings = store.chat(admin_id) if store is not None else None
        tr = translator(settings.language if settings and settings.language else "en")
        text = render(tr)
        if held_back:
            text += "\n" + tr.gettext("(More like it in the last hour: %(count)d.)") % {
                "count": held_back
            }
        try:
            await application.bot.send_message(admin_id, text, parse_mode=None)
        except TelegramError as exc:  # never started the bot, blocked it...: log and go on
            log.warning("could not report %s to an admin: %s", kind, exc.__class__.__name__)
