"""Typed context: the services every handler reaches through ``context``.

Handlers get the store, the card library and the user's language from here rather than from
module globals, so tests and the sandbox can build as many independent bots as they like.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.i18n import Translator, pick_language, translator

if TYPE_CHECKING:
    from bot.config import Config
    from bot.content.library import Library
    from bot.handlers.drafts import Draft
    from bot.protests.repository import ProtestRepository
    from bot.reminders.service import ReminderService
    from bot.store.models import ChatSettings
    from bot.store.repository import Store
    from bot.telegram.fairness import Admission


class BotData:
    """Application-wide services, filled in by ``setup_application``."""

    __slots__ = ("admission", "config", "library", "protests", "reminders", "store", "username")

    def __init__(self) -> None:
        self.config: Config | None = None
        self.store: Store | None = None
        self.library: Library | None = None
        self.protests: ProtestRepository | None = None
        """Content and stored protests (``bot.protests.repository``), set with the library."""
        self.username: str | None = None
        self.reminders: ReminderService | None = None
        """The reminder jobs (``bot.reminders.service``), set when they start."""
        self.admission: Admission | None = None
        """Fair shares of senders and groups (``bot.handlers.admission``), made on first use."""


class ChatData:
    """Per-chat state that lives only in memory: nothing here is ever written to disk."""

    __slots__ = ("awaiting_correction_for", "drafts", "last_correction")

    def __init__(self) -> None:
        self.awaiting_correction_for: str | None = None
        self.drafts: dict[int, Draft] = {}
        """What each organiser's open flow has collected, by user id (``handlers.drafts``)."""
        self.last_correction: float = 0.0
        """When this chat last passed a correction on (monotonic clock): the cooldown."""


class BotContext(CallbackContext[ExtBot, dict, ChatData, BotData]):
    """CallbackContext with typed shortcuts to the services."""

    @property
    def store(self) -> Store:
        assert self.bot_data.store is not None
        return self.bot_data.store

    @property
    def library(self) -> Library:
        assert self.bot_data.library is not None
        return self.bot_data.library

    @property
    def protests(self) -> ProtestRepository:
        assert self.bot_data.protests is not None
        return self.bot_data.protests

    @property
    def config(self) -> Config:
        assert self.bot_data.config is not None
        return self.bot_data.config

    @property
    def job_data(self) -> Any:
        """What a job callback was scheduled with (PTB types its job as optional)."""
        assert self.job is not None
        return self.job.data

    @property
    def chat_state(self) -> ChatData:
        """This chat's ``ChatData``; only for updates that have a chat (PTB gives
        ``chat_data`` as None otherwise)."""
        assert self.chat_data is not None
        return self.chat_data

    @property
    def bot_username(self) -> str:
        return self.bot_data.username or self.bot.username

    def settings_for(self, update: object) -> ChatSettings | None:
        chat = update.effective_chat if isinstance(update, Update) else None
        return self.store.chat(chat.id) if chat else None

    def tr(self, update: object) -> Translator:
        """The language to answer this update in: the chat's choice, else the user's app."""
        settings = self.settings_for(update)
        user = update.effective_user if isinstance(update, Update) else None
        chosen = settings.language if settings else None
        return translator(pick_language(chosen, user.language_code if user else None))


BotApplication = Application[ExtBot, BotContext, dict, ChatData, BotData, JobQueue[BotContext]]
