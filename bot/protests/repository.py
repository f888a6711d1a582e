"""Where protests are kept: events from ``content/events/*.yaml`` come through the Library;
events added by admins live in the store. An admin's change to a content event (cancelling
it) is stored under the same id and wins, so a redeploy of the content never un-cancels a
protest.
"""

from __future__ import annotations

from bot.content.library import Library
from bot.content.schema import ProtestEvent
from bot.protests.model import VERSIONS, wants_event
from bot.store.repository import Store


def all_events(library: Library, store: Store) -> list[ProtestEvent]:
    """Every known event, content and admin-added, the stored version winning, each with
    the sequence number its changes have reached."""
    merged = dict(library.content_events)
    for document in store.events():
        event = ProtestEvent.model_validate(document)
        merged[event.id] = event
    versions = store.meta(VERSIONS, {})
    return [
        event.model_copy(update={"sequence": versions[event.id]["s"]})
        if event.id in versions
        else event
        for event in merged.values()
    ]


def find_event(library: Library, store: Store, event_id: str) -> ProtestEvent | None:
    return next((e for e in all_events(library, store) if e.id == event_id), None)


async def save_event(store: Store, event: ProtestEvent) -> None:
    await store.put_event(event.model_dump(mode="json"))


async def cancel_event(library: Library, store: Store, event_id: str) -> ProtestEvent | None:
    """Mark the event cancelled (durably); None if there is no such upcoming event."""
    event = find_event(library, store, event_id)
    if event is None or event.cancelled:
        return None
    cancelled = event.model_copy(update={"cancelled": True})
    await save_event(store, cancelled)
    return cancelled


def city_followers(store: Store, event: ProtestEvent) -> int:
    """How many subscribed chats follow the protest's city (an organiser's message's reach)."""
    return sum(1 for chat in store.all_chats() if chat.subscribed and wants_event(chat, event))
