"""Access: organisers' commands, group settings and forged buttons, through the real bot.

A refusal must be neutral (the same words for every admin command, nothing about the data)
and must change nothing: no stored event, no fan-out, no document, no form left waiting for
the next message.
"""

from __future__ import annotations

import pytest
from conftest import ADMIN_ID, BOT_USERNAME
from telegram.ext import CommandHandler, ConversationHandler

from bot.i18n import translator
from bot.store.models import ChatSettings
from emulator import Emulator

STRANGER = 42
GROUP = -200
MEMBER, GROUP_ADMIN = 7, 8
ADMIN_COMMANDS = (
    "/stats",
    "/broadcast",
    "/event_add",
    "/event_edit",
    "/event_message",
    "/event_cancel",
    "/backup",
)
ADMIN_BUTTONS = (
    "adm:bcok",
    "adm:publish",
    "adm:skip",
    "adm:discard",
    "adm:tz:almaty",
    "adm:cancel:almaty-2026-12-16",
    "adm:cancelok:almaty-2026-12-16",
    "adm:edit:almaty-2026-12-16",
    "adm:keep",
    "adm:etz:almaty",
    "adm:eskip",
    "adm:editok",
    "adm:msgto:almaty-2026-12-16",
    "adm:msskip",
    "adm:msok",
)
REFUSAL = "Sorry, this command is only for the bot's organisers."
GROUP_REFUSAL = "Only the group's administrators can change this."


def registered_commands(app) -> set[str]:
    """Commands of every group, including those that start a conversation."""
    found = set()
    for handlers in app.handlers.values():
        for handler in handlers:
            nested = handler.entry_points if isinstance(handler, ConversationHandler) else []
            for candidate in (handler, *nested):
                if isinstance(candidate, CommandHandler):
                    found |= candidate.commands
    return found


def admin_commands(app) -> list[str]:
    """Every organisers' command, registered: a missing one fails rather than skips."""
    missing = {c[1:] for c in ADMIN_COMMANDS} - registered_commands(app)
    assert not missing, f"organisers' commands not registered: {sorted(missing)}"
    return list(ADMIN_COMMANDS)


async def test_exactly_the_admin_commands_refuse_strangers(app, emulator):
    """Each registered command, sent by a stranger: the refusing ones are the admin set."""
    refusing = set()
    for number, command in enumerate(sorted(registered_commands(app))):
        chat_id = 5000 + number  # a chat each, so a command's extra messages stay there
        reply = await ask(emulator, chat_id, f"/{command}")
        if reply.text == REFUSAL:
            refusing.add(f"/{command}")
    assert refusing == set(ADMIN_COMMANDS)


async def ask(
    emulator: Emulator,
    chat_id: int,
    text: str,
    *,
    user_id: int | None = None,
    language: str = "en",
):
    emulator.user_message(chat_id, text, user_id=user_id, language_code=language)
    return await emulator.next_message(chat_id)


def store_fingerprint(app) -> tuple:
    """Everything a refused command could have changed."""
    store = app.bot_data.store
    return (
        store.events(),
        store.meta("fanouts", {}),
        store.chat_count(),
        [s.chat_id for s in store.subscribers()],
        store.deliveries.counts(),
    )


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_admin_commands_refuse_strangers_neutrally(app, emulator, language):
    before = store_fingerprint(app)
    refusals = set()
    for command in admin_commands(app):
        reply = await ask(emulator, STRANGER, command, language=language)
        refusals.add(reply.text)
        assert reply.document is None and not reply.buttons, command
        # A refused form must not swallow the next message as its first answer.
        follow = await ask(emulator, STRANGER, "Almaty / Алматы", language=language)
        assert translator(language).gettext(REFUSAL) not in follow.text
    assert refusals == {translator(language).gettext(REFUSAL)}
    assert emulator.documents() == []
    assert store_fingerprint(app) == before
    assert {m.chat_id for m in emulator.sent()} == {STRANGER}, "nothing went to other chats"


async def test_the_same_commands_work_for_the_admin(app, emulator):
    """The control: without it, a bot refusing everyone would pass the test above."""
    admin_commands(app)
    stats = await ask(emulator, ADMIN_ID, "/stats")
    assert "Statistics" in stats.text
    backup = await ask(emulator, ADMIN_ID, "/backup")  # no backup key set: only a pointer
    assert backup.text != REFUSAL and "BOT_BACKUP_AGE_RECIPIENT" in backup.text


async def test_admin_commands_are_refused_in_groups_even_for_the_admin(app, emulator):
    """A step-by-step form in a group would read other members' messages."""
    await join_group(emulator, ADMIN_ID)
    emulator.set_admin(GROUP, ADMIN_ID)
    before = store_fingerprint(app)
    for command in admin_commands(app):
        reply = await ask(emulator, GROUP, f"{command}@{BOT_USERNAME}", user_id=ADMIN_ID)
        assert reply.text == REFUSAL, command
    assert emulator.documents() == []
    assert store_fingerprint(app) == before


async def test_forged_admin_buttons_do_nothing(app, emulator):
    admin_commands(app)
    start = await ask(emulator, STRANGER, "/start")
    before = store_fingerprint(app)
    for data in ADMIN_BUTTONS:
        update_id = emulator.press(
            STRANGER, start.message_id, data, user_id=STRANGER, strict=False
        )
        answer = await emulator.wait_callback_answer(update_id)
        assert answer.text == REFUSAL, data
    assert store_fingerprint(app) == before
    assert emulator.documents() == []


# Group settings ------------------------------------------------------------------------------


async def join_group(emulator: Emulator, by_user: int) -> None:
    """Add the bot to the group and read its greeting, so replies come next."""
    emulator.bot_added_to_group(GROUP, by_user)
    await emulator.next_message(GROUP)


async def group_panel(emulator: Emulator) -> int:
    await join_group(emulator, GROUP_ADMIN)
    emulator.set_admin(GROUP, GROUP_ADMIN)
    emulator.set_member_status(GROUP, MEMBER, "member")
    panel = await ask(emulator, GROUP, f"/settings@{BOT_USERNAME}", user_id=MEMBER)
    assert panel.buttons, "anyone may look at a group's settings"
    return panel.message_id


async def test_group_settings_only_by_group_admins(app, emulator):
    store = app.bot_data.store
    panel = await group_panel(emulator)
    for text in ("/subscribe", "/timezone Europe/Vienna", "/forget", "/unsubscribe"):
        reply = await ask(
            emulator,
            GROUP,
            f"{text.split()[0]}@{BOT_USERNAME} " + " ".join(text.split()[1:]),
            user_id=MEMBER,
        )
        assert reply.text == GROUP_REFUSAL, text
    assert store.chat(GROUP) is None
    for data in (
        "rs:sub",
        "rs:topic:dec16",
        "rs:hour:9",
        "rs:tz:almaty",
        "rs:lead:7",
        "rs:city:*",
        "rs:forgetok",
        "lang:ru",
    ):
        update_id = emulator.press(GROUP, panel, data, user_id=MEMBER, strict=False)
        answer = await emulator.wait_callback_answer(update_id)
        assert answer.text == GROUP_REFUSAL and answer.show_alert, data
    assert store.chat(GROUP) is None, "a member changed the group's settings"

    reply = await ask(emulator, GROUP, f"/subscribe@{BOT_USERNAME}", user_id=GROUP_ADMIN)
    assert reply.text != GROUP_REFUSAL
    assert store.chat(GROUP).subscribed


async def test_a_demoted_admin_loses_control_at_once(app, emulator):
    store = app.bot_data.store
    panel = await group_panel(emulator)
    await ask(emulator, GROUP, f"/subscribe@{BOT_USERNAME}", user_id=GROUP_ADMIN)
    assert store.chat(GROUP).subscribed
    emulator.set_member_status(GROUP, GROUP_ADMIN, "member")
    update_id = emulator.press(GROUP, panel, "rs:unsub", user_id=GROUP_ADMIN, strict=False)
    answer = await emulator.wait_callback_answer(update_id)
    assert answer.text == GROUP_REFUSAL
    assert store.chat(GROUP).subscribed


# Forged callback data ------------------------------------------------------------------------

FORGERIES = (
    # another chat's id smuggled in every position a parser might take it from
    f"rs:sub:{GROUP}",
    f"rs:unsub:{GROUP}",
    f"rs:tz:{GROUP}",
    f"rs:forgetok:{GROUP}",
    f"rs:hour:{GROUP}",
    f"lang:ru:{GROUP}",
    f"lang:{GROUP}",
    f"{GROUP}:rs:sub",
    f"rs:city:{GROUP}",
    "rs:sub:" + "9" * 40,
    "rs:forgetok:-1",
    "rs:tz:../../etc",
    "rs:hour:99",
    "rs:hour:-1",
    "rs:lead:365",
    "rs:topic:everything",
    "rs:sub\n-200",
    "rs:city:" + "x" * 60,
    "rs",
    "rs:",
    ":",
    "lang:de",
    "card:" + "a" * 70,
)


async def test_forged_callback_data_cannot_reach_another_chat(app, emulator):
    store = app.bot_data.store
    await store.put_chat(
        ChatSettings(
            GROUP,
            "supergroup",
            "en",
            subscribed=True,
            hour=12,
            timezone="Asia/Almaty",
            cities=["almaty"],
        )
    )
    group_before = store.chat(GROUP)
    start = await ask(emulator, STRANGER, "/start")
    for data in FORGERIES:
        update_id = emulator.press(
            STRANGER, start.message_id, data, user_id=STRANGER, strict=False
        )
        await emulator.wait_callback_answer(update_id)
        assert store.chat(GROUP) == group_before, data
        assert {s.chat_id for s in store.all_chats()} <= {GROUP, STRANGER}, data
    # The same forgeries pressed in the group by a member change nothing there either.
    emulator.set_member_status(GROUP, MEMBER, "member")
    for data in FORGERIES:
        update_id = emulator.press(GROUP, 1, data, user_id=MEMBER, strict=False)
        await emulator.wait_callback_answer(update_id)
    assert store.chat(GROUP) == group_before


async def test_valid_buttons_act_only_on_the_chat_they_are_pressed_in(app, emulator):
    """Even well-formed data acts on the pressing chat: there is no chat id to forge."""
    store = app.bot_data.store
    await store.put_chat(ChatSettings(GROUP, "supergroup", subscribed=False))
    start = await ask(emulator, STRANGER, "/start")
    for data in ("rs:sub", "rs:topic:dec16", "rs:hour:9", "lang:ru"):
        update_id = emulator.press(
            STRANGER, start.message_id, data, user_id=STRANGER, strict=False
        )
        await emulator.wait_callback_answer(update_id)
    mine = store.chat(STRANGER)
    assert mine.subscribed and mine.topics == "dec16" and mine.hour == 9
    assert mine.language == "ru"
    assert store.chat(GROUP) == ChatSettings(GROUP, "supergroup", subscribed=False)


async def test_settings_buttons_on_an_inline_message_change_nothing(app, emulator):
    """Buttons under a card shared into another chat have no chat to act on."""
    store = app.bot_data.store
    before = store.chat_count()
    for data in ("rs:sub", "lang:ru", "rs:forgetok", "rs:tz:almaty"):
        update_id = emulator.press_inline("inline-forged", data, user_id=STRANGER, strict=False)
        await emulator.wait_callback_answer(update_id)
    assert store.chat_count() == before
    assert store.chat(STRANGER) is None
