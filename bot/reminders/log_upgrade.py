"""The delivery log's one upgrade: from a row per reminder item to a row per chat and day.

Older versions logged each item (``a:<card>:<year>:<lead>``, ``e:<event>:<lead>``); now one
message a day goes to a chat and is logged under the day's key. ``ReminderService.upgrade_log``
(``bot.reminders.service``) runs this once, so no restart after the upgrade sends a day twice.
"""

from __future__ import annotations

from datetime import timedelta

from bot.content.schema import ProtestEvent
from bot.reminders.schedule import anniversary_in, day_key, event_message_key
from bot.store.models import ChatSettings

_PRECEDENCE = ("sent", "uncertain", "pending", "failed", "skipped")
"""Of several old rows for one day, the one that says most about whether a message went."""


def legacy_day_rows(store, library, events: list[ProtestEvent]) -> list[tuple[str, int, str]]:
    """Day-keyed rows implied by the older per-item log (``a:<card>:<year>:<lead>``,
    ``e:<event>:<lead>``) where the day has no row yet."""
    by_id = {event.id: event for event in events}
    found: dict[tuple[str, int], str] = {}
    for occurrence in store.delivery_days():
        parts = occurrence.split(":")
        if parts[0] == "a" and len(parts) == 4 and parts[2].isdigit() and parts[3].isdigit():
            card = library.get(parts[1])
            day = anniversary_in(card, int(parts[2])) if card else None
            if day is None:
                continue
            keys = dict.fromkeys(
                store.deliveries(occurrence), day_key(day - timedelta(days=int(parts[3])))
            )
        elif parts[0] == "e" and len(parts) == 3 and parts[2].isdigit():
            event = by_id.get(parts[1])
            if event is None:
                continue
            keys = {}
            for chat_id in store.deliveries(occurrence):
                chat = store.chat(chat_id) or ChatSettings(chat_id)
                event_key = event_message_key(event, int(parts[2]), chat)
                if event_key is not None and event_key != occurrence:
                    keys[chat_id] = event_key
        else:
            continue
        for chat_id, state in store.deliveries(occurrence).items():
            if chat_id not in keys or store.delivery(keys[chat_id], chat_id) is not None:
                continue
            old = found.get((keys[chat_id], chat_id))
            if old is None or _PRECEDENCE.index(state) < _PRECEDENCE.index(old):
                found[keys[chat_id], chat_id] = state
    return [(key, chat_id, state) for (key, chat_id), state in sorted(found.items())]
