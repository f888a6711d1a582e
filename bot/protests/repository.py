"""Where protests are kept: events from ``content/events/*.yaml`` come through the Library;
events added by admins live in the store. An admin's change to a content event (cancelling
it) is stored under the same id and wins, so a redeploy of the content never un-cancels a
protest.

One ``ProtestRepository`` per Application (``context.protests``): the stored events are
validated once after each change to ``events.json``, not on every list, button and sweep.
"""

from __future__ import annotations

from bot.content.library import Library
from bot.content.schema import ProtestEvent
from bot.protests.model import VERSIONS, wants_event
from bot.store.repository import Store


class ProtestRepository:
    """Every known protest, content and admin-added, read through one cache."""

    def __init__(self, library: Library, store: Store) -> None:
        self.library = library
        self.store = store
        self._cached: tuple[int, list[ProtestEvent]] | None = None

    def all(self) -> list[ProtestEvent]:
        """Every known event, the stored version winning, each with the sequence number
        its changes have reached (the events are frozen, so sharing them is safe)."""
        revision = self.store.events_revision
        if self._cached is None or self._cached[0] != revision:
            self._cached = (revision, self._merge())
        return list(self._cached[1])

    def _merge(self) -> list[ProtestEvent]:
        merged = dict(self.library.content_events)
        for document in self.store.events():
            event = ProtestEvent.model_validate(document)
            merged[event.id] = event
        versions = self.store.meta(VERSIONS, {})
        return [
            event.model_copy(update={"sequence": versions[event.id]["s"]})
            if event.id in versions
            else event
            for event in merged.values()
        ]

    def find(self, event_id: str) -> ProtestEvent | None:
        return next((e for e in self.all() if e.id == event_id), None)

    async def save(self, event: ProtestEvent) -> None:
        await self.store.put_event(event.model_dump(mode="json"))

    async def cancel(self, event_id: str) -> ProtestEvent | None:
        """Mark the event cancelled (durably); None if there is no such upcoming event."""
        event = self.find(event_id)
        if event is None or event.cancelled:
            return None
        cancelled = event.model_copy(update={"cancelled": True})
        await self.save(cancelled)
        return cancelled

    def city_followers(self, event: ProtestEvent) -> int:
        """How many subscribed chats follow the protest's city (an organiser's message's
        reach)."""
        return sum(
            1 for chat in self.store.all_chats() if chat.subscribed and wants_event(chat, event)
        )
