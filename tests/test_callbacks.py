"""Buttons and their handlers cannot drift apart: every callback_data any keyboard of the bot
makes is claimed by exactly one registered CallbackQueryHandler (those inside conversations
included), every well-formed callback data by exactly one, and anything else by none, so it
reaches the catch-all at the end of group 0 and its polite "out of date"."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import CallbackQuery, InlineKeyboardMarkup, Update, User
from telegram.ext import Application, CallbackQueryHandler, ConversationHandler
from test_reminders import event

from bot import callbacks
from bot.app import build_application
from bot.config import Config
from bot.content import lists
from bot.content.library import Library, content_documents
from bot.content.loading import load_content
from bot.handlers import (
    broadcast,
    cards,
    channels,
    corrections,
    event_edit,
    event_message,
    follow,
    language,
    organisers,
    panel,
    replies,
    timezone,
)
from bot.i18n import translator
from bot.protests import model, wording
from bot.protests.form import STEPS
from bot.reminders import texts
from bot.store.models import ChatSettings

TODAY = date(2026, 12, 1)
CHANNEL_ID = -1001234567890
RETIRED = ("ev:list",)
"""Data of buttons no keyboard makes any more: answered by the catch-all's "out of date"."""


@pytest.fixture(scope="module")
def application(tmp_path_factory: pytest.TempPathFactory) -> Application:
    data_dir = tmp_path_factory.mktemp("data")
    return build_application(Config(token="123456:TEST-callbacks", data_dir=data_dir))


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.from_documents(content_documents(load_content()))


def button_handlers(application: Application) -> list[CallbackQueryHandler]:
    """Every CallbackQueryHandler with a pattern, in every group and every conversation."""
    found = []
    for group in application.handlers.values():
        for handler in group:
            inner = [handler]
            if isinstance(handler, ConversationHandler):
                inner = [
                    *handler.entry_points,
                    *handler.fallbacks,
                    *(h for state in handler.states.values() for h in state),
                ]
            found += [
                h for h in inner if isinstance(h, CallbackQueryHandler) and h.pattern is not None
            ]
    return found


def claimed_by(handlers: list[CallbackQueryHandler], data: str) -> list[CallbackQueryHandler]:
    query = CallbackQuery("1", User(1, "Reader", False), "instance", data=data)
    return [h for h in handlers if h.check_update(Update(1, callback_query=query))]


def every_keyboard(library: Library) -> list[InlineKeyboardMarkup]:
    """Every keyboard with callback buttons, in both languages, built as the handlers build
    them (a new keyboard belongs here: ``test_every_format_is_made_by_a_keyboard`` says so)."""
    protest = event()
    subscribed = ChatSettings(42, subscribed=True, cities=["almaty", "*"])
    channel = ChatSettings(CHANNEL_ID, "channel", "ru", subscribed=True)
    known = model.known_cities([protest, event("london-2026-12-12", "London")])
    keyboards: list[InlineKeyboardMarkup] = [language.language_markup()]
    for code in ("en", "ru"):
        tr = translator(code)
        keyboards += [replies.main_menu(tr), corrections.cancel_markup(tr)]
        for kind in sorted(lists.LIST_KINDS):
            first, _ = lists.list_page(library, tr, kind, 0, TODAY)
            pages = int(first.split("(1/")[1].split(")")[0])
            keyboards += [
                lists.list_page(library, tr, kind, page, TODAY)[1] for page in range(pages)
            ]
        every_card = [*library.people(), *library.anniversaries()]
        keyboards += [
            cards.card_keyboard(one, tr, 1, 3, following)
            for one in every_card
            for following in (False, True)
        ]
        followed = [card.id for card in every_card[:3]]
        keyboards.append(follow.follows_markup(tr, library, followed))
        keyboards += [lists.card_buttons(every_card, tr)]
        keyboards += [texts.anniversary_markup(tr, one) for one in library.anniversaries()]
        keyboards += [wording.reminder_markup(tr, protest), wording.list_markup(tr, [protest])]
        for chat in (ChatSettings(42), subscribed, ChatSettings(43, follows=followed)):
            keyboards += [panel.panel_markup(tr, chat), panel.cities_markup(tr, chat, known)]
        keyboards += [
            panel.hours_markup(tr),
            panel.forget_markup(tr),
            timezone.zones_markup(tr),
        ]
        for chat in (channel, ChatSettings(CHANNEL_ID, "channel")):
            keyboards.append(channels.channel_panel_markup(tr, chat))
        keyboards += [channels.zones_markup(tr, CHANNEL_ID), channels.hours_markup(tr, CHANNEL_ID)]
        keyboards += [channels.follows_markup(tr, library, channel, page) for page in (0, 1, 99)]
        keyboards += [organisers.step_markup(tr, step) for step in STEPS]
        keyboards += [
            organisers.cancel_markup(tr),
            organisers.publish_markup(tr),
            organisers.cancel_list_markup(tr, [protest]),
            organisers.confirm_cancel_markup(tr, protest),
            broadcast.russian_step_markup(tr),
            broadcast.send_markup(tr, 3),
        ]
        moved = protest.model_copy(update={"address": "Elsewhere"})
        keyboards += [event_edit.step_markup(tr, step) for step in STEPS]
        keyboards += [
            event_edit.pick_markup(tr, [protest]),
            event_edit.publish_markup(tr, protest, moved),
            event_message.pick_markup(tr, [protest]),
            event_message.russian_step_markup(tr),
            event_message.send_markup(tr, 3, protest),
        ]
    return [keyboard for keyboard in keyboards if keyboard is not None]


def every_button_data(library: Library) -> set[str]:
    return {
        button.callback_data
        for keyboard in every_keyboard(library)
        for row in keyboard.inline_keyboard
        for button in row
        if isinstance(button.callback_data, str)
    }


def test_every_button_is_claimed_by_exactly_one_handler(application, library):
    handlers = button_handlers(application)
    made = every_button_data(library)
    assert len(made) > 100
    for data in sorted(made):
        claiming = claimed_by(handlers, data)
        assert len(claiming) == 1, (data, [h.callback.__qualname__ for h in claiming])


def test_every_format_is_made_by_a_keyboard(library):
    """Each kind of button (action and what it does) comes from some keyboard above: a format
    nobody makes is dead, and a keyboard missing here would go unchecked."""

    def kind(data: str) -> str:
        parsed = callbacks.parse(data)
        assert parsed is not None, data
        head = next((parsed.args[f] for f in ("op", "name") if f in parsed.args), None)
        return f"{parsed.action}:{head}" if head else parsed.action

    made = {kind(data) for data in every_button_data(library)}
    formats = set()
    for action, form in callbacks._FORMATS.items():
        kinds_of_button = form.field in ("op", "name")  # lang's field is its argument
        formats |= {f"{action}:{op}" for op in form.ops} if kinds_of_button else {action}
    assert formats == made
    assert made <= formats


def test_retired_buttons_reach_only_the_catch_all(application):
    for data in RETIRED:
        assert callbacks.parse(data) is None, data
        assert claimed_by(button_handlers(application), data) == [], data


def test_patterns_are_anchored_and_the_catch_all_is_last(application):
    for handler in button_handlers(application):
        assert handler.pattern.pattern.startswith("^"), handler.pattern
        assert handler.pattern.pattern.endswith(r"\Z"), handler.pattern
    last = application.handlers[0][-1]
    assert isinstance(last, CallbackQueryHandler) and last.pattern is None


well_formed = st.sampled_from(sorted(callbacks._FORMATS)).flatmap(
    lambda action: st.from_regex(callbacks.pattern(action), fullmatch=True)
)


@given(data=well_formed)
def test_well_formed_data_has_exactly_one_handler(application, data):
    assert callbacks.parse(data) is not None, "a pattern matched what parse refuses"
    assert len(claimed_by(button_handlers(application), data)) == 1, data


@given(
    data=st.text(min_size=1, max_size=70)
    | st.sampled_from(sorted(callbacks._FORMATS)).flatmap(
        lambda action: st.text(max_size=40).map(lambda rest: f"{action}:{rest}")
    )
)
def test_anything_else_reaches_only_the_catch_all(application, data):
    """(Telegram's callback_data is 1-64 bytes: PTB hands a query without data to any handler.)"""
    if callbacks.parse(data) is None:
        assert claimed_by(button_handlers(application), data) == [], data
