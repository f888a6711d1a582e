"""The sweep's rule, one message at a time: the reference model ``plan_for_groups`` (in
``bot.reminders.schedule``) is tested against; the bot itself never calls it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from bot.reminders.schedule import CATCH_UP_LIMIT, Digest, SweepPlan
from bot.zones import in_quiet_hours, quiet_hours_end, zone


def plan_sweep(
    messages: Iterable[Digest], state_of: Callable[[str, int], str | None], now: datetime
) -> SweepPlan:
    """Decide, for messages already due, what to do now.

    Sent, failed, skipped and uncertain messages are settled. "pending" means a previous
    run wrote its intent and died before recording the outcome: the message may have gone
    out, so it is marked uncertain rather than risk sending it twice. The bot plans with
    ``plan_for_groups``; this per-message version is the reference its tests compare it with.
    """
    plan = SweepPlan()
    for message in messages:
        if message.due > now:
            continue
        state = state_of(message.key, message.chat_id)
        if state == "pending":
            plan.uncertain.append(message)
        elif state is not None:
            continue
        elif now - message.due >= CATCH_UP_LIMIT:
            plan.skip.append(message)
        elif in_quiet_hours(now, tz := zone(message.timezone)):
            morning = quiet_hours_end(now, tz)
            if morning - message.due < CATCH_UP_LIMIT:
                plan.defer.append((message, morning))
            else:
                plan.skip.append(message)
        else:
            plan.send.append(message)
    return plan
