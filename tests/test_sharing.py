"""Sharing: inline results, the self-contained shared card, deep links and groups."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.helpers import create_deep_linked_url

from bot.content.cards import MESSAGE_LIMIT, shorten, visible_length
from bot.content.inline import (
    CACHE_SECONDS,
    DEFAULT_PRISONERS,
    DESCRIPTION_LIMIT,
    MAX_QUERY,
    MAX_RESULTS,
    NO_RESULTS_PAYLOAD,
    PAGE_SIZE,
    TITLE_LIMIT,
    InlinePage,
    SharedItem,
    card_description,
    card_item,
    clean_query,
    inline_page,
)
from bot.content.library import Library, content_documents
from bot.content.loading import load_content
from bot.content.share_text import facts_as_of
from bot.handlers.cards import PAYLOAD_RE
from bot.handlers.inline import group_welcome
from bot.i18n import translator
from emulator.telegram_html import parse_html

BOT = "zhanaozen_test_bot"
TODAY = date(2025, 11, 24)


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.from_documents(content_documents(load_content()))


def page(
    library: Library, query: str, language: str = "en", offset: str = "", today: date = TODAY
) -> InlinePage:
    return inline_page(library, translator(language), BOT, query, offset, today)


def first_ids(result: InlinePage) -> list[str]:
    return [item.result_id for item in result.items]


def check_item(item: SharedItem) -> None:
    """What Telegram and a reader in another chat both need from one result."""
    assert 1 <= len(item.result_id.encode()) <= 64
    assert 0 < len(item.title) <= TITLE_LIMIT
    assert len(item.description) <= DESCRIPTION_LIMIT
    parsed = parse_html(item.text)  # raises on anything Telegram would reject
    assert 1 <= len(parsed.text) <= MESSAGE_LIMIT
    assert item.link.startswith(f"https://t.me/{BOT}?start=")
    payload = item.link.rsplit("=", 1)[1]
    assert PAYLOAD_RE.fullmatch(payload)
    assert f'href="{item.link}"' in item.text, "the message itself links back to the bot"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", r"\(as of \d{4}\)"), ("ru", r"\(по состоянию на \d{4} год\)")],
)
def test_description_gives_the_status_year_in_words(library, language, expected):
    """The result line under a person has only a year: Russian needs «на 2015 год»."""
    card = library.cards["roza-tuletaeva"]
    assert card.status
    description = card_description(translator(language), card, TODAY)
    assert re.search(expected, description), description


# --- matching --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize(
    "query", ["tulet", "Тулет", "TULETAEVA", "tuletayeva", "Роза Тулетаева", "  tulet  "]
)
def test_tuletaeva_across_scripts(library, query, language):
    result = page(library, query, language)
    assert first_ids(result)[0] == f"c.roza-tuletaeva.{language}"
    assert result.items[0].title == ("Роза Тулетаева" if language == "ru" else "Roza Tuletaeva")


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize(
    "query",
    [
        "zhanaozen",
        "жанаозен",
        "Zhanaozen",
        "janaozen",
        "16 dec",
        "16.12",
        "16 декабря",
        "16/12/2011",
        "December 16",
    ],
)
def test_sixteenth_of_december_across_spellings(library, query, language):
    assert first_ids(page(library, query, language))[0] == f"c.zhanaozen-massacre.{language}"


def test_best_match_is_also_offered_in_the_other_language(library):
    result = page(library, "тулет", "en")
    assert first_ids(result)[:2] == ["c.roza-tuletaeva.en", "c.roza-tuletaeva.ru"]
    assert result.items[1].description.startswith(translator("ru").gettext("In Russian"))
    assert "Роза Тулетаева" in result.items[1].text


def test_share_button_query_finds_its_own_card(library):
    """The Share button pre-fills the card's name; that query must put the card first."""
    for number, card in enumerate(library.cards.values()):
        language = ("en", "ru")[number % 2]  # both languages, each card once: search is slow
        result = page(library, card.name.get(language), language)
        assert first_ids(result)[0] == f"c.{card.id}.{language}", card.id


@pytest.mark.parametrize("query", ["", "   ", "🔥", "✊🏽✊🏽✊🏽", "🇰🇿 🕯", "!!!"])
def test_empty_and_emoji_queries_offer_the_defaults(library, query):
    result = page(library, query)
    ids = first_ids(result)
    next_anniversary = library.calendar(TODAY)[0].card.id
    assert ids[0] == f"c.{next_anniversary}.en"
    assert "c.zhanaozen-massacre.en" in ids[:2]
    prisoners = {card.id for card in library.people(("prisoner",))}
    offered = [rid.split(".")[1] for rid in ids[:5]]
    assert sum(card_id in prisoners for card_id in offered) >= DEFAULT_PRISONERS
    assert result.next_offset


def test_defaults_follow_the_date(library):
    december = page(library, "", today=date(2025, 12, 16))
    assert first_ids(december)[0] == "c.zhanaozen-massacre.en"
    assert first_ids(december).count("c.zhanaozen-massacre.en") == 1


@pytest.mark.parametrize("query", ["x" * 300, "тулет" * 60, "zzqqxx", "16.13", "31.02"])
def test_long_or_unmatched_queries_are_harmless(library, query):
    result = page(library, query)
    assert len(result.items) <= MAX_RESULTS
    for item in result.items:
        check_item(item)


def test_very_long_query_is_cut_before_searching(library):
    assert len(clean_query("tulet " * 100)) <= MAX_QUERY
    assert first_ids(page(library, "tuletaeva " + "x" * 300))[0] == "c.roza-tuletaeva.en"


def test_kind_words_list_a_whole_kind(library):
    ids = first_ids(page(library, "prisoners"))
    prisoners = {f"c.{card.id}.en" for card in library.people(("prisoner",))}
    assert ids and set(ids) <= prisoners


# --- pagination ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ru"])
def test_pagination_walks_every_card_once(library, language):
    offset, seen, pages = "", [], 0
    while True:
        result = page(library, "", language, offset)
        assert 0 < len(result.items) <= MAX_RESULTS
        seen.extend(first_ids(result))
        pages += 1
        if not result.next_offset:
            break
        assert int(result.next_offset) > int(offset or 0)
        offset = result.next_offset
    assert pages >= 2
    assert len(seen) == len(set(seen)), "no result twice across pages"
    assert {rid.split(".")[1] for rid in seen} == set(library.cards)


@pytest.mark.parametrize("offset", ["abc", "-1", "10000", "1e3", " 5", "[]"])
def test_foreign_offsets_end_the_list(library, offset):
    result = page(library, "", offset=offset)
    assert result.items == [] and result.next_offset == ""


# --- the posted message ----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_card_shares_as_a_complete_message(library, language):
    tr = translator(language)
    for card in library.cards.values():
        item = card_item(library, tr, BOT, card, TODAY)
        check_item(item)
        text = parse_html(item.text).text
        assert text.startswith(card.name.get(language)), card.id
        assert card.summary.get(language)[:40] in text
        assert tr.gettext("Sources") in text
        if card.status:
            as_of = tr.gettext("%(status)s (as of %(date)s)") % {
                "status": "",
                "date": tr.partial_date(card.status.as_of),
            }
        else:
            as_of = tr.gettext("Facts as of %(date)s (latest source).") % {
                "date": tr.partial_date(facts_as_of(library, card))
            }
        assert as_of.strip() in text, card.id


def test_long_card_keeps_its_sources_and_links_to_the_rest(library):
    tr = translator("en")
    card = library.get("zhanaozen-massacre")
    item = card_item(library, tr, BOT, card, TODAY)
    text = parse_html(item.text).text
    assert "Sources" in text
    assert "[1]" in text
    assert tr.gettext("Read the full card in the bot") in text or "(1/" not in text


def test_payloads_follow_telegram_rules(library):
    """Every card id is a /start payload (PTB's create_deep_linked_url refuses others)."""
    for card_id in library.cards:
        assert PAYLOAD_RE.fullmatch(card_id)
        assert create_deep_linked_url(BOT, card_id) == f"https://t.me/{BOT}?start={card_id}"
    for bad in ["", "a b", "x" * 65, "тулет", "a/b", "a+b"]:
        assert not PAYLOAD_RE.fullmatch(bad)
    assert PAYLOAD_RE.fullmatch(NO_RESULTS_PAYLOAD)


def test_shorten_cuts_at_words():
    assert shorten("short", 10) == "short"
    cut = shorten("one two three four five six seven", 20)
    assert len(cut) <= 20 and cut.endswith("…") and " " not in cut[-2:]


@pytest.mark.parametrize(("language", "example"), [("en", "Tuletaeva"), ("ru", "Тулетаева")])
def test_group_welcome(language, example):
    text = group_welcome(translator(language), BOT)
    parsed = parse_html(text)
    assert f"/card@{BOT} {example}" in parsed.text and f"/subscribe@{BOT}" in parsed.text
    assert len(parsed.text) < 1000


@settings(max_examples=150, deadline=None)
@given(
    query=st.text(max_size=300),
    language=st.sampled_from(["en", "ru"]),
    offset=st.one_of(st.just(""), st.integers(0, 80).map(str), st.text(max_size=5)),
)
def test_any_query_gives_valid_results(library, query, language, offset):
    result = page(library, query, language, offset)
    assert len(result.items) <= MAX_RESULTS
    ids = first_ids(result)
    assert len(ids) == len(set(ids))
    for item in result.items:
        assert len(item.result_id.encode()) <= 64
        assert len(item.title) <= TITLE_LIMIT
        assert len(item.description) <= DESCRIPTION_LIMIT
        assert visible_length(item.text) <= MESSAGE_LIMIT


# --- through the emulator: inline mode -------------------------------------------------------

TEST_BOT = "zhanaozen_test_bot"
SHARER = 501
GROUP = -100500
READER = 502


async def inline(
    emulator, query: str, language: str = "en", offset: str = "", user_id: int = SHARER
):
    update_id = emulator.inline_query(user_id, query, offset=offset, language_code=language)
    return update_id, await emulator.wait_inline_answer(update_id)


def check_answer(answer) -> None:
    """answerInlineQuery as Telegram checks it (the emulator checks types and the spec)."""
    assert len(answer.results) <= 50
    ids = [result["id"] for result in answer.results]
    assert len(ids) == len(set(ids))
    assert answer.is_personal, "answers depend on the user's language"
    assert answer.cache_time == CACHE_SECONDS
    for result in answer.results:
        assert result["type"] == "article"
        assert 1 <= len(result["id"].encode()) <= 64
        assert len(result["title"]) <= TITLE_LIMIT
        assert len(result.get("description", "")) <= DESCRIPTION_LIMIT
        content = result["input_message_content"]
        assert content["parse_mode"] == "HTML"
        assert 1 <= len(parse_html(content["message_text"]).text) <= MESSAGE_LIMIT
        buttons = [b for row in result["reply_markup"]["inline_keyboard"] for b in row]
        assert any(b.get("url", "").startswith(f"https://t.me/{TEST_BOT}?start=") for b in buttons)


async def test_done_means_russian_group_shares_tuletaeva(app, emulator):
    update_id, answer = await inline(emulator, "тулет", "ru")
    check_answer(answer)
    first = answer.results[0]
    assert first["id"] == "c.roza-tuletaeva.ru" and first["title"] == "Роза Тулетаева"

    emulator.post_inline_result(update_id, first["id"], GROUP, language_code="ru")
    posted = await emulator.next_message(GROUP)
    assert posted.via_inline
    assert posted.text.startswith("Роза Тулетаева")
    assert "Источники" in posted.text and "2015" in posted.text
    link = f"https://t.me/{TEST_BOT}?start=roza-tuletaeva"
    assert posted.button("боте")["url"] == link

    # A group member taps the button: the bot opens on the card, in their language.
    emulator.user_message(READER, "/start roza-tuletaeva", language_code="ru")
    card = await emulator.next_message(READER)
    assert card.text.startswith("Роза Тулетаева") and "Источники" in card.text


@pytest.mark.parametrize("query", ["16 dec", "zhanaozen", "16.12", "The Zhanaozen massacre"])
async def test_done_means_english_sixteenth_of_december(app, emulator, query):
    update_id, answer = await inline(emulator, query, "en")
    check_answer(answer)
    first = answer.results[0]
    assert first["id"] == "c.zhanaozen-massacre.en"
    emulator.post_inline_result(update_id, first["id"], GROUP)
    posted = await emulator.next_message(GROUP)
    assert posted.text.startswith("The Zhanaozen massacre")
    assert "Sources" in posted.text and "Facts as of" in posted.text
    url = posted.button("bot")["url"]
    assert url == f"https://t.me/{TEST_BOT}?start=zhanaozen-massacre"
    emulator.user_message(READER, "/start zhanaozen-massacre", language_code="en")
    assert (await emulator.next_message(READER)).text.startswith("The Zhanaozen massacre")


@pytest.mark.parametrize("language", ["en", "ru", "kk", "ky", None])
async def test_inline_queries_answer_validly(app, emulator, language):
    expected = {"ru": "ru", "ky": "ru", "kk": "kk"}.get(language or "", "en")
    for query in (
        "",
        "tulet",
        "Тулет",
        "zhanaozen",
        "жанаозен",
        "16 dec",
        "16.12",
        "🕯️✊",
        "x" * 256,
        "тулет " * 60,
        "<b>&amp;",
        "qqqqzzzz",
    ):
        _, answer = await inline(emulator, query, language)
        check_answer(answer)
        if answer.results:
            assert answer.results[0]["id"].endswith("." + expected), query
        else:
            assert answer.button["start_parameter"] == NO_RESULTS_PAYLOAD
            assert not answer.next_offset


async def test_inline_pagination_with_next_offset(app, emulator):
    offset, ids = "", []
    for _ in range(10):
        _, answer = await inline(emulator, "", "en", offset)
        check_answer(answer)
        ids += [result["id"] for result in answer.results]
        offset = answer.next_offset or ""
        assert offset == "" or offset.isdigit()
        if not offset:
            break
    assert not offset, "the list ends"
    assert len(ids) == len(set(ids)) > PAGE_SIZE


async def test_inline_uses_the_language_chosen_in_the_bot(app, emulator):
    """A user who chose Russian in the bot gets Russian results whatever the app says."""
    menu_update = emulator.user_message(SHARER, "/language", language_code="en")
    assert menu_update
    menu = await emulator.next_message(SHARER)
    russian = next(b for b in menu.buttons if b["text"] == "Русский")
    emulator.press(SHARER, menu.message_id, russian["callback_data"], user_id=SHARER)
    await emulator.next_message(SHARER)
    _, answer = await inline(emulator, "zhanaozen", "en")
    assert answer.results[0]["id"] == "c.zhanaozen-massacre.ru"


@pytest.mark.allow_errors(
    "at shutdown PTB's last getUpdates after a posted inline result hits a "
    "pool timeout (transport, issue 13 item 9: not fixed here)"
)
async def test_inline_offers_upcoming_protests(app, emulator):
    from datetime import UTC, datetime, timedelta

    starts = (datetime.now(UTC) + timedelta(days=20)).replace(tzinfo=None, microsecond=0, second=0)
    await app.bot_data.store.put_event(
        {
            "id": "london-share-test",
            "city": {"en": "London", "ru": "Лондон"},
            "venue": {"en": "Embassy of Kazakhstan", "ru": "Посольство Казахстана"},
            "address": "125 Pall Mall",
            "starts_at": starts.isoformat(),
            "timezone": "Europe/London",
            "organiser": {"en": "Campaign", "ru": "Кампания"},
        }
    )
    for query, language in (("London", "en"), ("лондон", "ru"), ("protests", "en")):
        update_id, answer = await inline(emulator, query, language)
        check_answer(answer)
        assert answer.results[0]["id"] == f"e.london-share-test.{language}"
    emulator.post_inline_result(update_id, answer.results[0]["id"], GROUP)
    posted = await emulator.next_message(GROUP)
    assert "London" in posted.text and "125 Pall Mall" in posted.text


async def test_share_button_under_a_card_leads_to_that_card(app, emulator):
    """Share → pick a chat → the pre-filled query's first result is the same card."""
    for language, name in (("en", "Roza Tuletaeva"), ("ru", "Роза Тулетаева")):
        emulator.user_message(SHARER, "/prisoner tuletaeva", language_code=language)
        card = await emulator.next_message(SHARER)
        share = next(b for b in card.buttons if "switch_inline_query_chosen_chat" in b)
        chosen = share["switch_inline_query_chosen_chat"]
        assert chosen["query"] == name
        assert chosen["allow_group_chats"] and chosen["allow_user_chats"]
        _, answer = await inline(emulator, chosen["query"], language)
        assert answer.results[0]["id"] == f"c.roza-tuletaeva.{language}"
        shared_on = [
            b
            for row in answer.results[0]["reply_markup"]["inline_keyboard"]
            for b in row
            if "switch_inline_query_chosen_chat" in b
        ]
        assert shared_on, "a shared card can be shared on"


# --- deep links ------------------------------------------------------------------------------

DEEP_LINKS = [
    ("roza-tuletaeva", "Roza Tuletaeva"),
    ("zhanaozen-massacre", "The Zhanaozen massacre"),
    ("ROZA-TULETAEVA", "Roza Tuletaeva"),
    ("no-such-card", None),
    ("x" * 64, None),
    ("x" * 65, None),
    ("x" * 300, None),
    ("roza tuletaeva", None),
    ("тулет", None),
    ("<b>", None),
    ("../../etc", None),
    ("roza-tuletaeva%00", None),
    (NO_RESULTS_PAYLOAD, None),
]


async def test_deep_link_payloads(app, emulator):
    """Valid payloads open the card; unknown, oversized or malformed ones the welcome."""
    for payload, opens in DEEP_LINKS:
        emulator.user_message(READER, f"/start {payload}", language_code="en")
        reply = await emulator.next_message(READER)
        if opens:
            assert reply.text.startswith(opens), payload
        else:
            assert "Zhanaozen: facts and reminders" in reply.text, payload


# --- groups ----------------------------------------------------------------------------------

MEMBER = 601


async def test_group_commands_with_and_without_botname(app, emulator):
    for command in (
        f"/card@{TEST_BOT} Tuletaeva",
        "/card tuletaeva",
        f"/CARD@{TEST_BOT} Тулетаева",
    ):
        update_id = emulator.user_message(GROUP, command, user_id=MEMBER, chat_type="group")
        assert update_id is not None, "privacy mode lets commands for the bot through"
        reply = await emulator.next_message(GROUP)
        asked = emulator.update(update_id)["message"]["message_id"]
        assert reply.reply_to == asked, "the bot answers the message that asked"
        assert reply.text.startswith("Roza Tuletaeva"), command


async def test_group_command_for_another_bot_and_chatter_are_ignored(app, emulator):
    # Under privacy mode Telegram does not even deliver these ...
    assert (
        emulator.user_message(
            GROUP, "/card@other_bot Tuletaeva", user_id=MEMBER, chat_type="group"
        )
        is None
    )
    assert (
        emulator.user_message(GROUP, "Tuletaeva is free!", user_id=MEMBER, chat_type="group")
        is None
    )
    # ... and when it does (privacy off, or the bot is an admin), the bot stays quiet.
    emulator.privacy_mode = False
    for text in (
        "/card@other_bot Tuletaeva",
        "Tuletaeva",
        "hello everyone",
        "16.12",
        f"@{TEST_BOT} thanks",
        "/unknown@other_bot",
    ):
        assert emulator.user_message(GROUP, text, user_id=MEMBER, chat_type="group")
    asked = emulator.user_message(GROUP, f"/help@{TEST_BOT}", user_id=MEMBER, chat_type="group")
    reply = await emulator.next_message(GROUP)
    assert reply.reply_to == emulator.update(asked)["message"]["message_id"]
    assert len(emulator.sent(GROUP)) == 1, "nothing but the answer to /help"


async def test_reply_to_the_bot_in_a_group_is_not_answered(app, emulator):
    emulator.user_message(GROUP, f"/card@{TEST_BOT} 16.12", user_id=MEMBER, chat_type="group")
    card = await emulator.next_message(GROUP)
    assert emulator.user_message(GROUP, "thank you", user_id=MEMBER, reply_to=card.message_id)
    emulator.user_message(GROUP, f"/help@{TEST_BOT}", user_id=MEMBER)
    reply = await emulator.next_message(GROUP)
    assert "/prisoners" in reply.text


@pytest.mark.parametrize(
    ("language", "hello"),
    [("ru", "Здравствуйте"), ("en", "Hello"), ("uk", "Здравствуйте"), (None, "Hello")],
)
async def test_bot_added_to_group_introduces_itself_once(app, emulator, language, hello):
    adder = emulator.add_user(701)
    if language:
        adder["language_code"] = language
    emulator.bot_added_to_group(GROUP, 701)
    welcome = await emulator.next_message(GROUP)
    assert welcome.text.startswith(hello)
    assert f"/card@{TEST_BOT}" in welcome.text and f"/subscribe@{TEST_BOT}" in welcome.text
    assert welcome.buttons[0]["url"] == f"https://t.me/{TEST_BOT}"

    # Promotion to admin, removal and a channel are not joins: nothing is said.
    emulator.bot_added_to_group(GROUP, 701, status="administrator")  # member -> admin
    emulator.bot_removed_from_group(GROUP, 701)
    emulator.bot_added_to_group(-100900, 701, chat_type="channel", status="administrator")
    emulator.user_message(READER, "/help")
    await emulator.next_message(READER)  # the updates before it have been fetched and run
    assert len(emulator.sent(GROUP)) == 1
    assert not emulator.sent(-100900)


async def test_supergroup_added_as_admin_gets_the_welcome(app, emulator):
    emulator.bot_added_to_group(-100777, 702, chat_type="supergroup", status="administrator")
    welcome = await emulator.next_message(-100777)
    assert f"/card@{TEST_BOT}" in welcome.text
