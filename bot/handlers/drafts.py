"""What an organisers' flow has collected so far, typed: one kind of draft per flow, kept in
the chat's memory (``ChatData.drafts``) under the organiser's user id, never on disk.

Each flow is a ConversationHandler (per chat and user, ``handlers.organisers.flow``): its
state says which handlers listen, its draft holds the answers. ``draft`` gives the update's
user's draft of one kind, or None: a flow whose draft is gone (another flow's command
replaced it, or /forget) is over.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, TypeVar

from telegram import Update

from bot.content.schema import ProtestEvent
from bot.context import BotContext
from bot.protests.form import STEPS


@dataclasses.dataclass
class EventDraft:
    """/event_add: each step's value, then the protest they make (shown for Publish)."""

    flow: ClassVar[str] = "event_add"
    step: str = STEPS[0]
    data: dict[str, object] = dataclasses.field(default_factory=dict)
    event: ProtestEvent | None = None


@dataclasses.dataclass
class EditDraft:
    """/event_edit: the protest picked, its current values and the changed ones, then the new
    version (shown for Publish)."""

    flow: ClassVar[str] = "event_edit"
    event_id: str | None = None
    step: str | None = None
    """None until a protest is picked, then a form step, then "preview"."""
    current: dict[str, object] = dataclasses.field(default_factory=dict)
    data: dict[str, object] = dataclasses.field(default_factory=dict)
    new: ProtestEvent | None = None


@dataclasses.dataclass
class MessageDraft:
    """/event_message: the protest picked, then its text in English and Russian."""

    flow: ClassVar[str] = "event_message"
    event_id: str | None = None
    step: str | None = None
    """None until a protest is picked, then "en", "ru", then "preview"."""
    text: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class BroadcastDraft:
    """/broadcast: the text in English, then in Russian (or Skip)."""

    flow: ClassVar[str] = "broadcast"
    step: str = "en"
    text: dict[str, str] = dataclasses.field(default_factory=dict)


Draft = EventDraft | EditDraft | MessageDraft | BroadcastDraft
D = TypeVar("D", EventDraft, EditDraft, MessageDraft, BroadcastDraft)


def draft(update: Update, context: BotContext, kind: type[D]) -> D | None:
    """The update's user's draft, if it is one of ``kind``."""
    user = update.effective_user
    found = context.chat_state.drafts.get(user.id) if user is not None else None
    return found if isinstance(found, kind) else None


def start(update: Update, context: BotContext, new: Draft) -> None:
    """A flow begins: its draft replaces whatever the user had in this chat."""
    user = update.effective_user
    assert user is not None, "flows are started by a person"
    context.chat_state.drafts[user.id] = new


def drop(update: Update, context: BotContext, kind: type[Draft]) -> None:
    """Forget the user's draft if it is one of ``kind`` (a flow that ends leaves another's)."""
    user = update.effective_user
    data = context.chat_data
    if user is not None and data is not None and isinstance(data.drafts.get(user.id), kind):
        del data.drafts[user.id]
