"""News in a case as pure logic: the schema of updates, the card showing them, which updates
are still news, how they enter a chat's day, and the editors' list of stale statuses."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.__main__ import main
from bot.content.cards import CardRenderer
from bot.content.cli import stale_people
from bot.content.library import Library
from bot.content.loading import CONTENT_DIR, load_content
from bot.content.schema import Card, ContentError, Source
from bot.i18n import translator
from bot.reminders.news import NOT_NEWS_AFTER, newly_seen, news_key, owed_news
from bot.reminders.schedule import plan_for_groups
from bot.site.views import card_view
from bot.store.models import ChatSettings, decode_settings, encode_settings

NOW = datetime(2026, 12, 9, 10, 0, 5, tzinfo=UTC)


def person(
    card_id: str = "test-person", updates: list[dict] | None = None, status: dict | None = None
) -> Card:
    return Card.model_validate(
        {
            "id": card_id,
            "kind": "prisoner",
            "name": {"en": f"Person {card_id}", "ru": f"Человек {card_id}"},
            "summary": {"en": "A test card.", "ru": "Тестовая карточка.", "sources": ["s-s"]},
            "updates": updates or [],
            **({"status": status} if status else {}),
        }
    )


def update(day: str, en: str = "Test news.", ru: str = "Тестовая новость.") -> dict:
    return {"date": day, "en": en, "ru": ru, "sources": ["s-s"]}


def massacre() -> Card:
    return Card.model_validate(
        {
            "id": "zhanaozen-massacre",
            "kind": "anniversary",
            "date": "2011-12-16",
            "commemorated": True,
            "mourning": True,
            "topics": ["dec16"],
            "name": {"en": "The Zhanaozen massacre", "ru": "Расстрел в Жанаозене"},
            "summary": {
                "en": "Police fired on strikers.",
                "ru": "Полиция стреляла в бастующих.",
                "sources": ["s-s"],
            },
        }
    )


def test_an_update_has_a_full_date_both_languages_and_a_source() -> None:
    assert person(updates=[update("2026-12-01")]).updates[0].date == "2026-12-01"
    for bad in ({"date": "2026-12"}, {"ru": ""}, {"sources": []}, {"en": "x" * 1001}):
        with pytest.raises(ValidationError):
            person(updates=[{**update("2026-12-01"), **bad}])
    with pytest.raises(ValidationError, match="two updates on 2026-12-01"):
        person(updates=[update("2026-12-01"), update("2026-12-01", "Other.", "Другое.")])


def test_content_check_checks_updates_like_every_fact(tmp_path: Path) -> None:
    """An unknown source, or a name spelled against the glossary, fails the check."""
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root)
    card = root / "people" / "roza-tuletaeva.yaml"
    card.write_text(
        card.read_text(encoding="utf-8")
        + (
            'updates:\n  - date: "2026-12-01"\n    en: Test fixture about Open Dialogue.\n'
            "    ru: Тест.\n    sources: [no-such-source]\n"
        ),
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as error:
        load_content(root)
    assert "unknown source 'no-such-source'" in str(error.value)
    assert "field updates.en: 'Open Dialogue'" in str(error.value)


def test_the_card_shows_the_latest_update_first_with_its_date() -> None:
    card = person(
        updates=[
            update("2026-11-02", "Older news.", "Старая новость."),
            update("2026-12-01", "Newer news.", "Новая новость."),
        ]
    )
    library = Library([card], [Source(id="s-s", publication="P", title="T", date="2026")])
    for language, older, newer, day in (
        ("en", "Older news.", "Newer news.", "December 1, 2026"),
        ("ru", "Старая новость.", "Новая новость.", "1 декабря"),
    ):
        page = CardRenderer(library, translator(language)).render(card).pages[0]
        heading = translator(language).gettext("Latest news")
        assert page.index("test card" if language == "en" else "Тестовая") < page.index(heading)
        assert page.index(heading) < page.index(newer) < page.index(older)
        assert day in page
        view = card_view(library, translator(language), card)  # the website, alike
        title, facts = view.sections[0]
        assert title == heading and [f.text for f in facts] == [newer, older]


def test_which_updates_are_news() -> None:
    """An update is news from when the bot first had it, for a week; one dated more than
    30 days before that is shown on the card and pushed to nobody."""
    card = person(updates=[update("2026-12-08"), update("2026-10-01", "Old.", "Старое.")])
    seen = newly_seen([card], {}, NOW)
    assert set(seen) == {news_key(card.id, "2026-12-08"), news_key(card.id, "2026-10-01")}
    assert newly_seen([card], seen, NOW + timedelta(days=1)) == {}  # a restart: not new
    owed = owed_news([card], seen, NOW)
    assert [item.key for item in owed] == [news_key(card.id, "2026-12-08")]
    assert owed_news([card], seen, NOW + timedelta(days=7)) == []
    edge = person(updates=[update((NOW - NOT_NEWS_AFTER).date().isoformat())])
    assert len(owed_news([edge], newly_seen([edge], {}, NOW), NOW)) == 1


def plan(
    groups,
    cards,
    states: dict[str, dict[int, str]],
    now: datetime = NOW,
    seen_at: datetime = NOW - timedelta(hours=1),
):
    seen = newly_seen(cards, {}, seen_at)
    return plan_for_groups(
        groups,
        cards,
        [],
        now - timedelta(hours=12),
        now,
        lambda key: states.get(key, {}),
        now,
        owed_news(cards, seen, now),
    )


def test_news_folds_into_the_days_message_and_is_told_once() -> None:
    card = person(updates=[update("2026-12-08")])
    key = news_key(card.id, "2026-12-08")
    both = ChatSettings(1, subscribed=True, topics="dec16", leads=[7], follows=[card.id])
    only = ChatSettings(2, follows=[card.id])  # follows, not subscribed
    neither = ChatSettings(3, subscribed=True, topics="dec16", leads=[7])
    cards = [massacre(), card]
    found = plan([(both, [1]), (only, [2]), (neither, [3])], cards, {})
    messages = {message.chat_id: message for message in found.send}
    assert set(messages) == {1, 2, 3}
    assert {m.key for m in messages.values()} == {"d:2026-12-09"}  # one message a day each
    assert [i.kind for i in messages[1].items] == ["anniversary", "update"]
    assert [i.key for i in messages[2].items] == [key]
    assert [i.kind for i in messages[3].items] == ["anniversary"]
    # Told already (under its own key, on any day): the next day brings nothing for it.
    told = plan([(only, [2])], cards, {key: {2: "sent"}}, NOW + timedelta(days=1))
    assert told.send == []
    # Not told yet because yesterday's message had gone before the news came: today's.
    late = plan([(only, [2])], cards, {"d:2026-12-09": {2: "sent"}}, NOW + timedelta(days=1))
    assert [(m.key, [i.key for i in m.items]) for m in late.send] == [("d:2026-12-10", [key])]


def test_news_comes_at_the_chats_hour_after_the_bot_had_it() -> None:
    card = person(updates=[update("2026-12-08")])
    follower = ChatSettings(2, timezone="Asia/Almaty", hour=9, follows=[card.id])
    # Seen at 10:00 in Almaty (05:00 UTC), after the chat's 09:00: not today, tomorrow.
    seen_at = datetime(2026, 12, 9, 5, tzinfo=UTC)
    assert (
        plan([(follower, [2])], [card], {}, datetime(2026, 12, 9, 12, tzinfo=UTC), seen_at).send
        == []
    )
    tomorrow = plan(
        [(follower, [2])], [card], {}, datetime(2026, 12, 10, 4, 0, 1, tzinfo=UTC), seen_at
    ).send
    assert [m.due for m in tomorrow] == [datetime(2026, 12, 10, 4, tzinfo=UTC)]


def test_follows_are_stored_as_card_ids_only() -> None:
    settings = ChatSettings(7, follows=["roza-tuletaeva", "vladimir-kozlov"])
    doc = encode_settings(settings)
    assert doc == {"f": "roza-tuletaeva|vladimir-kozlov"}
    assert decode_settings(7, doc) == settings
    for bad in (["a|b"], ["x", "x"], ["x" * 65]):
        with pytest.raises(ValueError, match="follows"):
            encode_settings(ChatSettings(7, follows=bad))


def test_stale_lists_unknown_then_oldest_statuses() -> None:
    today = datetime(2026, 12, 7, tzinfo=UTC)
    cards = [
        person("recent-one", status={"value": "jailed", "as_of": "2026-01", "sources": ["s-s"]}),
        person("old-one", status={"value": "released", "as_of": "2015-12-13", "sources": ["s-s"]}),
        person("older-one", status={"value": "jailed", "as_of": "2012", "sources": ["s-s"]}),
        person("unknown-one"),
        person("dead-one", status={"value": "died", "as_of": "2013", "sources": ["s-s"]}),
        massacre(),
    ]
    found = stale_people(cards, today, 2)
    assert [(when, card.id) for when, card in found] == [
        ("unknown", "unknown-one"),
        ("2012", "older-one"),
        ("2015-12-13", "old-one"),
    ]
    assert [card.id for _, card in stale_people(cards, today, 20)] == ["unknown-one"]


def test_content_stale_command_lists_the_real_cards_oldest_first(capsys) -> None:
    assert main(["content", "stale", "--years", "4"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows, summary = lines[:-1], lines[-1]
    assert rows and "people have a status older than 4 years or unknown" in summary
    dates = [row.split()[0] for row in rows if row.split()[0] != "unknown"]
    assert dates == sorted(dates) and any("roza-tuletaeva" in row for row in rows)
