"""Building the Application: the real entry point, the sandbox and the tests all call
``build_application`` so they run exactly the same bot."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from datetime import UTC

from telegram import BotCommand, BotCommandScopeAllPrivateChats, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults, JobQueue

from bot.config import Config
from bot.content.library import Library, content_documents
from bot.content.loading import CONTENT_DIR, content_fingerprint, load_content
from bot.content.schema import Content
from bot.context import BotApplication, BotContext, BotData, ChatData
from bot.handlers import ALLOWED_UPDATES, register_all
from bot.handlers.admission import FairUpdates
from bot.i18n import LANGUAGES, N_, RUSSIAN_READERS, pick_language, translator
from bot.logs import quiet_noisy_loggers
from bot.ops import backups, health
from bot.protests.repository import ProtestRepository
from bot.reminders import service
from bot.store.repository import Store
from bot.telegram.budget import SendBudget
from bot.telegram.fairness import Admission
from bot.telegram.transport import request_for

log = logging.getLogger(__name__)

CONCURRENT_UPDATES = 64
"""Updates of different chats handled at once (one chat's run one after the other:
``handlers.admission.FairUpdates``): lets one durable write batch many users' changes
(group commit) and keeps the bot answering while a slow request is in flight. One sender
holds at most ``bot.telegram.fairness.MAX_IN_FLIGHT`` of them."""

WARM_SEARCH_AFTER = 1.0
"""Seconds after set-up that the search index is built, in a thread beside the event loop:
by then the bot polls (one deleteWebhook and the first getUpdates), so neither waits for the
fifth of a second it takes. A search that comes sooner builds it (``Library.warm``)."""

MENU_COMMANDS = (
    ("start", N_("Main menu")),
    ("prisoners", N_("Prisoners and the persecuted")),
    ("prisoner", N_("One card by name")),
    ("anniversaries", N_("Calendar of anniversaries")),
    ("anniversary", N_("One anniversary by name or date")),
    ("today", N_("What happened on this day")),
    ("subscribe", N_("Reminders before 16 December and protests")),
    ("settings", N_("Your reminder settings")),
    ("protests", N_("Upcoming protests")),
    ("calendar", N_("Calendar file for your phone")),
    ("language", N_("English, Russian or Kazakh")),
    ("help", N_("What the bot can do")),
    ("privacy", N_("What the bot stores, and for how long")),
    ("forget", N_("Delete what the bot stores about this chat")),
)
PRIVATE_MENU_COMMANDS = (
    *MENU_COMMANDS[:-3],
    ("channel", N_("Reminders for a channel you administer")),
    *MENU_COMMANDS[-3:],
)
"""/channel works only in a private chat, so only the private-chat menu offers it."""
DESCRIPTION = N_(
    "Sourced fact cards on the Zhanaozen massacre of 16 December 2011 and on the Kazakh oil "
    "workers and activists jailed after it, with reminders before the commemorations and "
    "embassy protests. In English, Russian and Kazakh."
)
SHORT_DESCRIPTION = N_("Zhanaozen 2011: fact cards on the prisoners, reminders for 16 December.")


def build_application(
    config: Config, store: Store | None = None, content: Content | None = None
) -> BotApplication:
    """The configured Application with all its handlers; services are opened in
    ``post_init``. ``content`` is content the caller loaded itself: the first start uses it
    instead of ``content/`` (``python -m bot`` hands none: ``open_checked`` has already put
    the files' content in the store, and the start finds it there)."""
    if not config.token:
        raise ValueError("build_application needs a token; the sandbox supplies its own")
    quiet_noisy_loggers()  # httpx logs request URLs, and those carry the token
    context_types = ContextTypes(context=BotContext, chat_data=ChatData, bot_data=BotData)
    admission = Admission()  # fair shares: counted by the processor, applied by a handler
    builder = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.base_url)
        .base_file_url(config.base_file_url)
        .request(request_for(config.broadcast_rate))
        .get_updates_request(health.polling_request(config.data_dir))
        .context_types(context_types)
        .job_queue(JobQueue[BotContext]())  # what PTB would make; typed for our context
        # No link previews unless a send asks: what the fan-out sends, every preview shows.
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                tzinfo=UTC,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(SendBudget.from_config(config))  # the one send budget, replies first
        .concurrent_updates(FairUpdates(admission, CONCURRENT_UPDATES))
        .post_init(_setup_with(content))
        .post_shutdown(close_application)
    )
    application: BotApplication = builder.build()
    application.bot_data.config = config
    application.bot_data.store = store
    application.bot_data.admission = admission
    register_all(application)  # the handler table: bot/handlers/__init__.py
    return application


def _setup_with(
    content: Content | None,
) -> Callable[[BotApplication], Coroutine[object, object, None]]:
    """``setup_application`` given ``content`` once (then dropped, not kept for the process's
    life), loading it itself at any later start."""
    handed = [content] if content is not None else []

    async def setup(application: BotApplication) -> None:
        await setup_application(application, handed.pop() if handed else None)

    return setup


async def setup_application(application: BotApplication, content: Content | None = None) -> None:
    """Open the store, load the content (unless given), publish menus and descriptions,
    start the jobs."""
    data = application.bot_data
    config = data.config
    assert config is not None
    if data.store is None:
        data.store = Store.open(config.data_dir)
    root = config.content_dir or CONTENT_DIR
    fingerprint = None
    if content is None:
        fingerprint = content_fingerprint(root)
        if data.store.content_fingerprint() != fingerprint:
            content = load_content(root)
    if content is not None and data.store.sync_content(content_documents(content), fingerprint):
        log.info("content changed since the last start: reloaded into the store")
    data.library = Library.from_documents(
        {table: data.store.content_table(table) for table in ("cards", "sources", "events")}
    )
    data.protests = ProtestRepository(data.library, data.store)
    asyncio.get_running_loop().call_later(WARM_SEARCH_AFTER, warm_search, data.library)
    data.username = application.bot.username
    if isinstance(application.update_processor, FairUpdates):
        application.update_processor.bot_username = data.username
    await publish_menus(application)
    if not application.bot.supports_inline_queries:
        log.warning(
            "inline mode is off for this bot: enable it with @BotFather (/setinline) "
            "so cards can be shared into any chat"
        )
    await service.start(application)
    health.install(application)
    backups.install(application)


def warm_search(library: Library) -> None:
    threading.Thread(target=library.warm, name="search index", daemon=True).start()


async def close_application(application: BotApplication) -> None:
    store = application.bot_data.store
    if store is not None:
        await store.aclose()


async def publish_menus(application: Application) -> None:
    """Command menus and descriptions per language; a failure here must not stop the bot."""
    bot = application.bot
    requests = []
    private = BotCommandScopeAllPrivateChats()
    for code in (None, *LANGUAGES[1:], *sorted(RUSSIAN_READERS - set(LANGUAGES))):
        tr = translator(pick_language(None, code))
        commands = [BotCommand(name, tr.gettext(text)) for name, text in MENU_COMMANDS]
        requests.append(bot.set_my_commands(commands, language_code=code))
        # Telegram prefers any private-chat scope to the default one, whatever the language,
        # so the private menu is published for every language the default one is.
        commands = [BotCommand(name, tr.gettext(text)) for name, text in PRIVATE_MENU_COMMANDS]
        requests.append(bot.set_my_commands(commands, scope=private, language_code=code))
    for code in (None, *LANGUAGES[1:]):
        tr = translator(pick_language(None, code))
        requests.append(bot.set_my_description(tr.gettext(DESCRIPTION), language_code=code))
        requests.append(
            bot.set_my_short_description(tr.gettext(SHORT_DESCRIPTION), language_code=code)
        )
    # Independent requests: sent together, they cost one round trip of start-up time.
    results = await asyncio.gather(*requests, return_exceptions=True)
    failures = [result for result in results if isinstance(result, BaseException)]
    for failure in failures:
        if not isinstance(failure, TelegramError):
            raise failure
    if failures:
        log.warning("could not publish command menus: %s", failures[0])


async def start_application(application: BotApplication, *, poll_timeout: int = 10) -> None:
    """Start the way run_polling does, for callers that own the event loop (the sandbox,
    the tests, the benchmarks)."""
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=0, timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES
    )
    await application.start()


async def stop_application(application: BotApplication) -> None:
    """Stop in run_polling's order, so the store is flushed last."""
    if application.updater and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    if application.post_shutdown:
        await application.post_shutdown(application)
