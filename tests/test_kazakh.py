"""Kazakh end to end, through the real Application over real HTTP: a Telegram app set to
Kazakh gets the bot in Kazakh (/start, /help, /language, /anniversaries, the reminder panel,
the 16 December reminder), cards written in Kazakh read in Kazakh, a card not yet translated
says so in Kazakh and shows the Russian, and inline mode shares in the sharer's language."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import chat
import pytest
import time_machine
from conftest import make_config, running_bot

from bot.content.loading import load_content
from bot.i18n import translator
from emulator import BotMessage, Emulator

USER = 4242
KK = translator("kk")
MASSACRE_KK = "Жаңаөзендегі қырғын"
NOT_YET = KK.gettext(
    "This card has not been translated into your language yet: it is shown in Russian."
)


async def say(emulator: Emulator, text: str) -> BotMessage:
    return await chat.say(emulator, USER, text, "kk")


async def press(emulator: Emulator, message, label: str) -> BotMessage:
    return await chat.press(emulator, USER, message, label, "kk")


def test_the_kazakh_strings_are_kazakh():
    # Guards the tests below: they compare with the catalogue, which must not be English.
    assert KK.gettext("Zhanaozen: facts and reminders") == "Жаңаөзен: деректер мен еске салғыштар"
    assert NOT_YET.startswith("Бұл карточка әлі қазақ тіліне аударылған жоқ")


async def test_start_help_and_anniversaries_in_kazakh(app, emulator):
    start = await say(emulator, "/start")
    assert KK.gettext("Zhanaozen: facts and reminders") in start.text
    assert "2011 жылғы 16 желтоқсанда Қазақстанның батысындағы Жаңаөзенде" in start.text
    assert any(KK.gettext("Prisoners") in button["text"] for button in start.buttons)
    help_text = await say(emulator, "/help")
    assert KK.gettext("Commands") in help_text.text
    assert "/language — Қазақша, орысша немесе ағылшынша" in help_text.text
    listing = await say(emulator, "/anniversaries")
    assert KK.gettext("Anniversaries") in listing.text
    assert (
        re.search(r"• \d{1,2} (қаң|ақп|нау|сәу|мам|мау|шіл|там|қыр|қаз|қар|жел)\. ·", listing.text)
        and "Dec" not in listing.text
    )


async def test_language_offers_kazakh_and_remembers_it(app, emulator):
    menu = await chat.say(emulator, USER, "/language", "en")
    assert [button["text"] for button in menu.buttons] == ["English", "Русский", "Қазақша"]
    saved = await chat.press(emulator, USER, menu, "Қазақша", "en")
    assert "Енді мен қазақ тілінде жауап беремін." in saved.text
    # Chosen in the bot, Kazakh stays whatever the app says.
    card = await chat.say(emulator, USER, "/card 16.12", "en")
    assert card.text.startswith(MASSACRE_KK)


async def test_command_menus_and_descriptions_for_kazakh(app, emulator):
    menu = {c["command"]: c["description"] for c in emulator.commands_for("default", "kk")}
    assert menu["language"] == "Қазақша, орысша немесе ағылшынша"
    assert menu["prisoner"] == KK.gettext("One card by name")
    assert "Жаңаөзен" in emulator.descriptions["kk"]
    assert emulator.short_descriptions["kk"].startswith("Жаңаөзен-2011")


async def test_the_massacre_card_reads_in_kazakh(app, emulator):
    for query in ("Жаңаөзен", "Жанаозен", "16.12"):
        card = await say(emulator, f"/card {query}")
        assert card.text.startswith(MASSACRE_KK), query
        assert KK.gettext("Sources") in card.text and NOT_YET not in card.text
        assert "Расстрел" not in card.text and "Жанаозен" not in card.text
    # A Kazakh month name with a day is a date (though "желтоқсан" alone is also the name of
    # the 1986 card): the day's commemoration opens.
    card = await say(emulator, "/card желтоқсан 16")
    assert card.text.startswith(MASSACRE_KK)


async def test_a_card_without_kazakh_text_says_so_and_shows_russian(app, emulator):
    card = await say(emulator, "/card Kozlov")
    assert card.text.startswith("Владимир Козлов")
    assert NOT_YET in card.text
    assert KK.gettext("Sources") in card.text  # the bot's own words stay Kazakh


async def test_inline_shares_in_the_sharers_language(app, emulator):
    update_id = emulator.inline_query(USER, "Жаңаөзен", language_code="kk")
    answer = await emulator.wait_inline_answer(update_id)
    first, second = answer.results[:2]
    assert first["id"] == "c.zhanaozen-massacre.kk" and first["title"] == MASSACRE_KK
    assert f"<b>{MASSACRE_KK}</b>" in first["input_message_content"]["message_text"]
    assert second["id"] == "c.zhanaozen-massacre.ru"  # also offered in Russian
    assert second["description"].startswith(translator("ru").gettext("In Russian"))


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 11, 30, 6, tzinfo=UTC), tick=True) as traveller:
        yield traveller


async def test_the_16_december_reminder_in_kazakh(emulator, data_dir, clock):
    """Subscribed from a Kazakh app in Almaty: the settings panel and the reminder on the
    day itself come in Kazakh, with Babel's Kazakh date."""
    config = make_config(emulator, data_dir)
    async with running_bot(config):
        panel = await say(emulator, "/subscribe")
        assert "✅" in panel.text and KK.gettext("Only 16 December") in str(panel.buttons)
        zones = await press(emulator, panel, "🕒")
        panel = await press(emulator, zones, "Алматы")
        panel = await press(emulator, panel, KK.gettext("Only 16 December"))
        assert "2026\u202fж. 9 желтоқсан, 10:00 (Алматы)" in panel.text

    day = KK.date(date(2026, 12, 16))
    today = KK.gettext("Today, %(date)s.") % {"date": day}

    def reminded() -> list[str]:
        return [
            m.text
            for m in emulator.sent(USER)
            if m.text.startswith("🕯") and MASSACRE_KK in m.text and today in m.text
        ]

    clock.move_to(datetime(2026, 12, 16, 4, 59, 59, tzinfo=UTC))
    async with running_bot(config):
        await emulator.wait_for(lambda: reminded(), timeout=15, what="the reminder on the day")
    text = reminded()[0]
    since = KK.ngettext("It is %(num)d year since.", "It is %(num)d years since.", 15)
    assert since % {"num": 15} in text and "Содан бері 15 жыл өтті." in text


def test_every_commemoration_and_memorial_card_is_written_in_kazakh():
    """What the reminders carry and whom they mourn reach Kazakh readers in Kazakh: a new
    commemorated or memorial card needs its kk: lines (content check --lang kk --missing)."""
    cards = load_content().cards.values()
    wanted = [
        card
        for card in cards
        if card.commemorated or card.kind == "memorial" or card.id == "roza-tuletaeva"
    ]
    assert len(wanted) >= 16
    missing = [card.id for card in wanted if "kk" not in card.languages]
    assert not missing, f"not yet in Kazakh: {missing}"
