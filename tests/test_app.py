"""The Application that ``build_application`` returns is the whole bot: its handler table is
in place before anything is initialised (PTB-style ``process_update`` tests would otherwise
hit nothing), and ``post_init`` only opens services."""

from __future__ import annotations

from pathlib import Path

from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler

from bot.app import MENU_COMMANDS, build_application
from bot.config import Config


def test_a_built_application_has_its_handlers_before_it_starts(tmp_path: Path) -> None:
    application = build_application(Config(token="123456:TEST-built", data_dir=tmp_path))
    assert not application._initialized
    handlers = [handler for group in application.handlers.values() for handler in group]
    commands = {
        command
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }
    assert {name for name, _ in MENU_COMMANDS} <= commands
    assert {"card", "channel", "event_cancel", "stats", "backup", "privacy"} <= commands
    flows = [handler for handler in handlers if isinstance(handler, ConversationHandler)]
    assert {flow.name for flow in flows} == {
        "timezone",
        "correction",
        "event_add",
        "event_edit",
        "event_message",
        "broadcast",
    }
    # The catch-all for stale buttons comes last in group 0, after every button's own handler.
    last = application.handlers[0][-1]
    assert isinstance(last, CallbackQueryHandler) and last.pattern is None
    assert application.error_handlers
