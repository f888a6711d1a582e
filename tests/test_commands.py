"""Every command, in English and Russian, through the real Application over real HTTP."""

from __future__ import annotations

import pytest

from bot.i18n import translator
from emulator import Emulator

USER = 42


async def ask(emulator: Emulator, text: str, language: str = "en", chat_id: int = USER):
    emulator.user_message(chat_id, text, language_code=language)
    return await emulator.next_message(chat_id)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Zhanaozen: facts and reminders"),
        ("ru", "Жанаозен: факты и напоминания"),
        ("kk", "Жаңаөзен: деректер мен еске салғыштар"),
        ("ky", "Жанаозен: факты и напоминания"),
        ("de", "Zhanaozen: facts and reminders"),
    ],
)
async def test_start_in_the_users_language(app, emulator, language, expected):
    reply = await ask(emulator, "/start", language)
    assert expected in reply.text
    assert reply.parse_mode == "HTML"
    assert reply.buttons


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_every_command_answers(app, emulator, language):
    apology = translator(language).gettext(
        "Sorry, something went wrong on my side. Please try again in a moment."
    )
    for command in (
        "/help",
        "/prisoners",
        "/anniversaries",
        "/today",
        "/language",
        "/prisoner Tuletaeva",
        "/anniversary 16.12",
        "/card zhanaozen",
    ):
        reply = await ask(emulator, command, language)
        assert reply.text and reply.text != apology, command
    # A handler that raised would also log an ERROR, which fails the test (conftest).


async def test_prisoner_across_scripts(app, emulator):
    for query in ("Tuletaeva", "tuletayeva", "тулетаева"):
        reply = await ask(emulator, f"/prisoner {query}", "ru")
        assert "Роза Тулетаева" in reply.text
    english = await ask(emulator, "/prisoner Тулетаева", "en")
    assert "Roza Tuletaeva" in english.text
    assert "<tg-spoiler>" in english.raw_text


async def test_no_match_suggests(app, emulator):
    reply = await ask(emulator, "/prisoner Tuletaiva", "en")
    assert "Roza Tuletaeva" in reply.text or any(
        "Tuletaeva" in button["text"] for button in reply.buttons
    )
    nothing = await ask(emulator, "/prisoner qqqqqq", "ru")
    assert "не нашлось" in nothing.text


async def test_lists_page_with_buttons(app, emulator):
    reply = await ask(emulator, "/prisoners")
    forward = [b for b in reply.buttons if b["text"] == "▸"]
    assert forward
    emulator.press(USER, reply.message_id, forward[0]["callback_data"], user_id=USER)
    edited = await emulator.next_message(USER)
    assert "(2/" in edited.text


async def test_card_button_opens_card(app, emulator):
    listing = await ask(emulator, "/anniversaries", "ru")
    assert "Календарь" in listing.text
    first_card = next(b for b in listing.buttons if b["callback_data"].startswith("card:"))
    emulator.press(
        USER, listing.message_id, first_card["callback_data"], user_id=USER, language_code="ru"
    )
    card = await emulator.next_message(USER)
    assert "Источники" in card.text


async def test_language_switch_is_remembered(app, emulator):
    menu = await ask(emulator, "/language", "en")
    russian = next(b for b in menu.buttons if b["text"] == "Русский")
    emulator.press(
        USER, menu.message_id, russian["callback_data"], user_id=USER, language_code="en"
    )
    confirmation = await emulator.next_message(USER)
    assert "по-русски" in confirmation.text
    reply = await ask(emulator, "/help", "en")
    assert "Команды" in reply.text


async def test_free_text_and_unknown_command(app, emulator):
    found = await ask(emulator, "Dosmagambetov", "en")
    assert "Dosmagambetov" in found.text
    garbage = await ask(emulator, "asdkjh qweoiu", "ru")
    assert "не нашёл" in garbage.text
    unknown = await ask(emulator, "/frobnicate", "en")
    assert "/frobnicate" in unknown.text


async def test_forged_callback_is_refused_politely(app, emulator):
    reply = await ask(emulator, "/start", "ru")
    emulator.press(
        USER, reply.message_id, "card:../../etc", user_id=USER, language_code="ru", strict=False
    )
    answer = await emulator.wait_for(lambda: emulator.callback_answers)
    assert "устарела" in answer[-1].text


async def test_command_menus_in_both_languages(app, emulator):
    english = emulator.commands_for("default", "")
    russian = emulator.commands_for("default", "ru")
    assert any(c["command"] == "prisoner" for c in english)
    assert any("Карточка" in c["description"] for c in russian)
    # /channel only works in a private chat: offered there, in every language, not in groups.
    for language in ("", "ru", "kk"):
        private = emulator.commands_for("all_private_chats", language)
        default = emulator.commands_for("default", language)
        assert [c["command"] for c in private if c["command"] != "channel"] == [
            c["command"] for c in default
        ]
        assert any(c["command"] == "channel" for c in private), language
    channel = next(
        c for c in emulator.commands_for("all_private_chats", "ru") if c["command"] == "channel"
    )
    assert "канал" in channel["description"]


@pytest.mark.parametrize(
    ("language", "words"), [("en", "channel you administer"), ("ru", "для вашего канала")]
)
async def test_help_mentions_channels(app, emulator, language, words):
    reply = await ask(emulator, "/help", language)
    line = next((line for line in reply.text.splitlines() if line.startswith("/channel")), "")
    assert words in line and "@" in line


async def test_protests_deep_link_opens_the_list(app, emulator):
    reply = await ask(emulator, "/start protests", "en")
    assert "protest" in reply.text.lower()


@pytest.mark.parametrize("query", ["zhanaozen", "жанаозен", "16.12"])
async def test_done_means_anniversary_queries_open_the_massacre_card(app, emulator, query):
    """An alias typed exactly (any script) or the date opens the card, not a choice."""
    reply = await ask(emulator, f"/anniversary {query}", "en")
    assert reply.text.startswith("The Zhanaozen massacre"), reply.text[:80]
    assert "Sources" in reply.text
