"""Content parsed once: what the test suite's Applications share (the session's content loads,
the Library's parsed cards and search index) must never hide an edit, nor be built twice."""

from __future__ import annotations

import dataclasses
import shutil
import threading
from pathlib import Path

import yaml
from conftest import load_content_once

from bot.__main__ import open_checked
from bot.app import build_application, start_application, stop_application
from bot.config import Config
from bot.content import search
from bot.content.library import Library, content_documents
from bot.content.loading import CONTENT_DIR, load_content

CARD = Path("people") / "roza-tuletaeva.yaml"


def _summary_edited(root: Path, summary: str) -> None:
    path = root / CARD
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["summary"]["en"] = summary
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_a_session_load_sees_every_edit_and_hands_out_its_own_tables(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root)
    first = load_content_once(root)
    assert load_content_once(root).cards["roza-tuletaeva"] is first.cards["roza-tuletaeva"]
    first.cards.clear()  # a caller's table is its own
    assert load_content_once(root).cards
    for summary in ("Edited once.", "Edited anew."):  # the same size: the bytes count
        _summary_edited(root, summary)
        assert load_content_once(root).cards["roza-tuletaeva"].summary.en == summary
    assert load_content_once().cards["roza-tuletaeva"].summary.en != "Edited anew."


def test_libraries_of_the_same_documents_share_one_index_built_once(monkeypatch) -> None:
    documents = content_documents(load_content())
    built: list[int] = []
    real = search.SearchIndex

    def counted(cards):
        built.append(1)
        return real(cards)

    monkeypatch.setattr(search, "SearchIndex", counted)
    changed = content_documents(load_content())
    changed["cards"] = [dict(doc) for doc in changed["cards"]]
    changed["cards"][0]["aliases"] = [*changed["cards"][0]["aliases"], "Reuse test alias"]
    fresh, again, other = (Library.from_documents(d) for d in (changed, changed, documents))
    assert fresh is not again
    threads = [threading.Thread(target=lib.warm) for lib in (fresh, again) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1  # one index for both, however many threads asked at once
    assert fresh.lookup("Reuse test alias") == [fresh.cards[changed["cards"][0]["id"]]]
    assert other.lookup("Reuse test alias") != fresh.lookup("Reuse test alias")


async def test_content_the_caller_checked_is_not_loaded_again(config: Config, monkeypatch) -> None:
    """Content a caller loaded itself is what the start uses: the files are not parsed."""
    checked = load_content()
    loads: list[object] = []
    monkeypatch.setattr("bot.app.load_content", lambda *args: loads.append(args) or checked)
    application = build_application(config, content=checked)
    await start_application(application, poll_timeout=1)
    try:
        assert loads == []
        assert application.bot_data.library is not None
        assert application.bot_data.library.get("roza-tuletaeva")
    finally:
        await stop_application(application)


async def test_a_restart_parses_the_content_again_only_when_a_file_changed(
    config: Config, monkeypatch, tmp_path: Path
) -> None:
    """The store keeps the content with a fingerprint of its files: the same files are not
    parsed and checked again at each start, and an edit is never missed."""
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root)
    config = dataclasses.replace(config, content_dir=root)
    loads: list[Path] = []
    monkeypatch.setattr("bot.app.load_content", lambda at: loads.append(at) or load_content(at))

    async def started_summary() -> str:
        application = build_application(config)
        await start_application(application, poll_timeout=1)
        try:
            library = application.bot_data.library
            assert library is not None
            card = library.get("roza-tuletaeva")
            assert card is not None
            return card.summary.en
        finally:
            await stop_application(application)

    first = await started_summary()
    assert await started_summary() == first
    assert loads == [root]  # the second start read the stored content
    _summary_edited(root, "Edited between two starts.")
    assert await started_summary() == "Edited between two starts."
    assert loads == [root, root]


async def test_python_m_bot_checks_the_content_once_and_the_start_parses_nothing(
    config: Config, monkeypatch, tmp_path: Path
) -> None:
    """``python -m bot`` refuses bad content before it starts (``open_checked``); what it
    parsed is in the store with its fingerprint, so neither the start that follows nor the
    next restart parses the same files again."""
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root)
    config = dataclasses.replace(config, content_dir=root)
    _summary_edited(root, "Checked before the start.")
    store = open_checked(config)
    assert store is not None
    loads: list[Path] = []
    monkeypatch.setattr("bot.app.load_content", lambda at: loads.append(at) or load_content(at))
    application = build_application(config, store)
    await start_application(application, poll_timeout=1)
    try:
        library = application.bot_data.library
        assert library is not None
        card = library.get("roza-tuletaeva")
        assert card is not None and card.summary.en == "Checked before the start."
    finally:
        await stop_application(application)
    assert loads == []
