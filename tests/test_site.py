"""The static site built into a temporary folder: complete, valid HTML5, every link and anchor
resolving, nothing that contacts a host other than the configured bot and site, and the
content warning closed until the reader opens it."""

from __future__ import annotations

import re
import shutil
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import html5lib
import pytest
import segno
import wcag_contrast_ratio
from conftest import BOT_USERNAME
from icalendar import Calendar
from sitebuild import BARE, NOW, PUBLISHED, SITE_URL, build_site

from bot.__main__ import main
from bot.config import ConfigError, SiteSettings, load_site_settings
from bot.content.loading import CONTENT_DIR, load_content
from bot.handlers.cards import PAYLOAD_RE
from bot.i18n import LANGUAGES
from bot.site.build import MARKER, build

ALLOWED_HOSTS = {"t.me", urlsplit(SITE_URL).hostname}
"""The only hosts a published page may name: the configured bot and the site itself."""


@pytest.fixture(scope="module")
def content():
    return load_content()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "public"
    build_site(out, PUBLISHED)
    return out


@pytest.fixture(scope="module")
def bare_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bare") / "public"
    build_site(out, BARE)
    return out


def pages(root: Path) -> list[Path]:
    return sorted(root.rglob("*.html"))


@cache
def parse(path: Path):
    """Strict HTML5 parse: html5lib raises on the first parse error (once per page: html5lib
    is pure Python and there are many pages)."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parse(path.read_bytes(), transport_encoding="utf-8")


@pytest.fixture(scope="module")
def documents(site):
    return {path: parse(path) for path in pages(site)}


def test_every_card_has_a_page_in_each_language_it_is_written_in(site, bare_site, content):
    for root in (site, bare_site):
        for language in LANGUAGES:
            built = {p.stem for p in (root / language / "cards").glob("*.html")}
            written = {card.id for card in content.cards.values() if language in card.languages}
            assert built == written, language
            assert (root / language / "index.html").is_file()
        assert (root / "index.html").is_file()
    assert all({"en", "ru"} <= set(card.languages) for card in content.cards.values())


@pytest.mark.parametrize("which", ["site", "bare_site"])
def test_every_page_is_valid_html5_with_a_language(request, which):
    root = request.getfixturevalue(which)
    for path in pages(root):
        try:
            document = parse(path)
        except html5lib.html5parser.ParseError as exc:
            pytest.fail(f"{path.relative_to(root)}: {exc}")
        assert document.get("lang") in LANGUAGES, path
        assert document.find("head/title").text.strip(), path
        ids = [element.get("id") for element in document.iter() if element.get("id")]
        assert len(ids) == len(set(ids)), f"{path}: duplicate id"


def _references(document):
    for element in document.iter():
        for attribute in ("href", "src"):
            value = element.get(attribute)
            if value is not None:
                yield element, value


@pytest.mark.parametrize("which", ["site", "bare_site"])
def test_every_internal_link_and_anchor_resolves(request, which):
    root = request.getfixturevalue(which)
    ids_of: dict[Path, set[str]] = {}
    broken = []
    for path in pages(root):
        for _element, value in _references(parse(path)):
            parts = urlsplit(value)
            if parts.scheme in ("http", "https", "data"):
                continue  # checked by the next test
            assert not parts.scheme and not parts.netloc, f"{path}: {value}"
            assert not value.startswith("/"), f"{path}: {value} is not relative"
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if not target.is_file() or root.resolve() not in target.parents:
                broken.append(f"{path.relative_to(root)} -> {value}")
                continue
            if parts.fragment:
                if target not in ids_of:
                    ids_of[target] = {e.get("id") for e in parse(target).iter() if e.get("id")}
                if parts.fragment not in ids_of[target]:
                    broken.append(f"{path.relative_to(root)} -> {value} (no such anchor)")
    assert not broken, broken


def test_no_page_names_a_host_but_the_bot_and_the_site(site, bare_site):
    for root, allowed in ((site, ALLOWED_HOSTS), (bare_site, set())):
        for path in pages(root):
            text = path.read_text(encoding="utf-8")
            for element, value in _references(parse(path)):
                parts = urlsplit(value)
                if parts.scheme == "data":
                    assert element.tag == "img" and value.startswith("data:image/svg+xml")
                elif parts.scheme or parts.netloc:
                    assert parts.scheme == "https" and parts.hostname in allowed, (path, value)
            # Also where no attribute looks: inline styles, imports, scripts, frames.
            assert not re.search(r"<(script|iframe|object|embed|style|form)\b", text), path
            assert not re.search(r"\s(on\w+|style)=", text), path
    css = (site / "site.css").read_text(encoding="utf-8")
    assert "@import" not in css and "url(" not in css and "@font-face" not in css


def test_other_sites_addresses_are_text_not_links(tmp_path):
    """A protest organiser's link reaches the reader as text: the page itself never
    points a browser at another host."""
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root)
    (root / "events").mkdir(exist_ok=True)
    (root / "events" / "test-vigil.yaml").write_text(
        "id: test-vigil\ncity: {en: London, ru: Лондон}\n"
        "venue: {en: Embassy of Kazakhstan, ru: Посольство Казахстана}\n"
        "address: 125 Pall Mall\nstarts_at: 2026-12-16T18:00:00\ntimezone: Europe/London\n"
        "organiser: {en: A test group, ru: Тестовая группа}\n"
        "link: https://organiser.example.net/vigil\n",
        encoding="utf-8",
    )
    out = tmp_path / "public"
    build(out, PUBLISHED, now=NOW, content_root=root)
    for language in LANGUAGES:
        index = (out / language / "index.html").read_text(encoding="utf-8")
        assert "https://organiser.example.net/vigil" in index
        assert 'href="https://organiser.example.net' not in index
        assert "125 Pall Mall" in index
        assert "test-vigil" in (out / language / "calendar.ics").read_text(encoding="utf-8")


def test_the_content_warning_is_closed_until_opened(documents, content):
    checked = 0
    for path, document in documents.items():
        card = content.cards.get(path.stem) if path.parent.name == "cards" else None
        if card is None or not card.ill_treatment:
            continue
        language = path.parent.parent.name
        warnings = document.findall(".//details")
        assert len(warnings) == 1 and "open" not in warnings[0].attrib, path
        hidden = text_of(warnings[0])
        everything = text_of(document.find("body"))
        for fact in card.ill_treatment:
            assert fact.get(language) in hidden
            assert everything.count(fact.get(language)) == 1  # nowhere else on the page
        checked += 1
    assert checked >= 2


def text_of(element) -> str:
    return " ".join("".join(element.itertext()).split())


def test_a_card_page_has_everything_the_telegram_card_has(site, content):
    card = content.cards["roza-tuletaeva"]
    for language, other in (("en", "ru"), ("ru", "en")):
        path = site / language / "cards" / f"{card.id}.html"
        text = text_of(parse(path).find("body"))
        for fact in card.facts():
            assert fact.get(language) in text, fact.get(language)[:40]
        assert card.status.note.get(language) in text
        assert ("as of" if language == "en" else "по состоянию на") in text
        for source_id in card.source_ids():
            assert content.sources[source_id].title in text
        hrefs = {value for _element, value in _references(parse(path))}
        assert {f"{related}.html" for related in card.related} <= hrefs
        assert f"../../{other}/cards/{card.id}.html" in hrefs
        assert f"https://t.me/{BOT_USERNAME}?start={card.id}" in hrefs


def test_deep_links_carry_payloads_the_bot_understands(documents, content):
    seen = set()
    for _path, document in documents.items():
        for _element, value in _references(document):
            if value.startswith("https://t.me/") and "?start=" in value:
                payload = value.split("?start=", 1)[1]
                assert PAYLOAD_RE.match(payload) and payload in content.cards
                seen.add(payload)
    assert seen == set(content.cards)


def test_link_previews_alternates_and_canonical_addresses(site, bare_site):
    path = "ru/cards/roza-tuletaeva.html"
    head = parse(site / path).find("head")
    meta = {m.get("property"): m.get("content") for m in head.findall("meta") if m.get("property")}
    assert meta["og:title"].startswith("Роза Тулетаева")
    assert meta["og:locale"] == "ru_RU" and meta["og:type"] == "article"
    assert meta["og:description"] and meta["og:url"] == f"{SITE_URL}/{path}"
    links = {
        (link.get("rel"), link.get("hreflang")): link.get("href") for link in head.findall("link")
    }
    assert links[("canonical", None)] == f"{SITE_URL}/{path}"
    assert links[("alternate", "en")] == f"{SITE_URL}/en/cards/roza-tuletaeva.html"
    assert links[("alternate", "ru")] == f"{SITE_URL}/{path}"
    bare_head = parse(bare_site / path).find("head")
    assert not [link for link in bare_head.findall("link") if link.get("rel") == "canonical"]
    bare_links = {link.get("hreflang"): link.get("href") for link in bare_head.findall("link")}
    assert bare_links["en"] == "../../en/cards/roza-tuletaeva.html"


def test_qr_codes_carry_the_web_address_else_the_deep_link(site, bare_site, tmp_path):
    def qr_of(root: Path) -> str | None:
        image = parse(root / "en/cards/roza-tuletaeva.html").find(".//figure/img")
        return None if image is None else image.get("src")

    expected = segno.make(f"{SITE_URL}/en/cards/roza-tuletaeva.html", error="m")
    assert qr_of(site) == expected.svg_data_uri(border=2, omitsize=True)
    assert qr_of(bare_site) is None  # nowhere to send a reader: no code rather than a dead one
    telegram_only = tmp_path / "public"
    build_site(telegram_only, PUBLISHED.__class__(bot_username=BOT_USERNAME))
    expected = segno.make(f"https://t.me/{BOT_USERNAME}?start=roza-tuletaeva", error="m")
    assert qr_of(telegram_only) == expected.svg_data_uri(border=2, omitsize=True)


def test_calendar_sitemap_and_robots(site, bare_site, content):
    dated = {
        card.id for card in content.cards.values() if card.anniversary_day and card.commemorated
    }
    for language in LANGUAGES:
        calendar = Calendar.from_ical((site / language / "calendar.ics").read_bytes())
        uids = {str(event["uid"]).split("@")[0] for event in calendar.walk("VEVENT")}
        assert uids == dated
    sitemap = (site / "sitemap.xml").read_text(encoding="utf-8")
    listed = set(re.findall(r"<loc>([^<]+)</loc>", sitemap))
    assert f"{SITE_URL}/ru/cards/roza-tuletaeva.html" in listed
    assert f"{SITE_URL}/en/" in listed and f"{SITE_URL}/" in listed
    assert len(listed) == len(pages(site))
    assert f"Sitemap: {SITE_URL}/sitemap.xml" in (site / "robots.txt").read_text()
    assert f"{SITE_URL}/ru/calendar.ics" in (site / "ru" / "index.html").read_text()
    assert not (bare_site / "sitemap.xml").exists()  # a sitemap needs absolute addresses
    assert (bare_site / "robots.txt").read_text().startswith("User-agent: *")


def _css_colours(css: str) -> dict[str, tuple[float, float, float]]:
    return {
        name: tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
        for name, value in re.findall(r"--([\w-]+):\s*#([0-9a-fA-F]{6})\b", css)
    }


CONTRAST_PAIRS = [
    # (text, background) as the stylesheet uses them.
    ("ink", "paper"),
    ("ink", "panel"),
    ("muted", "paper"),
    ("muted", "panel"),
    ("red", "paper"),
    ("red", "panel"),
    ("red-dark", "paper"),
    ("red-dark", "panel"),
    ("paper", "red"),
    ("paper", "red-dark"),
    ("focus", "paper"),
]


def test_colours_pass_wcag_aa(site):
    colours = _css_colours((site / "site.css").read_text(encoding="utf-8"))
    for text, background in CONTRAST_PAIRS:
        ratio = wcag_contrast_ratio.rgb(colours[text], colours[background])
        assert wcag_contrast_ratio.passes_AA(ratio), (text, background, round(ratio, 2))


def test_a_rebuild_replaces_only_a_folder_it_built(tmp_path):
    out = tmp_path / "public"
    build_site(out, BARE)
    (out / "en" / "cards" / "removed-card.html").write_text("stale")
    build_site(out, BARE)
    assert not (out / "en" / "cards" / "removed-card.html").exists()
    assert (out / MARKER).exists() and (out / "en" / "index.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["public"]  # no staging left behind
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        build_site(precious, BARE)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_the_command_builds_and_explains_bad_settings(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BOT_USERNAME", "@" + BOT_USERNAME)
    monkeypatch.setenv("SITE_URL", SITE_URL + "/")
    assert main(["site", "build", "--out", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "en" / "cards" / "roza-tuletaeva.html").read_text()
    assert f"https://t.me/{BOT_USERNAME}?start=roza-tuletaeva" in text
    assert f'href="{SITE_URL}/en/cards/roza-tuletaeva.html"' in text
    monkeypatch.setenv("BOT_USERNAME", "not a username")
    assert main(["site", "build", "--out", str(tmp_path / "out2")]) == 2
    assert "BOT_USERNAME" in capsys.readouterr().err
    assert not (tmp_path / "out2").exists()


def test_site_settings_are_checked():
    settings = load_site_settings(
        {"BOT_USERNAME": " @zhanaozen_bot ", "SITE_URL": "https://example.org/z/"}
    )
    assert settings == SiteSettings("zhanaozen_bot", "https://example.org/z")
    assert load_site_settings({}) == SiteSettings(None, None)
    for bad in (
        {"SITE_URL": "example.org"},
        {"SITE_URL": "ftp://example.org"},
        {"BOT_USERNAME": "bot"},
        {"BOT_USERNAME": "has space_bot"},
    ):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            load_site_settings(bad)


def test_kazakh_pages_for_the_cards_written_in_kazakh(site, bare_site, content):
    path = "kk/cards/zhanaozen-massacre.html"
    document = parse(site / path)
    assert document.get("lang") == "kk"
    assert "Жаңаөзендегі қырғын" in text_of(document.find("body"))
    links = {
        link.get("hreflang"): link.get("href")
        for link in document.find("head").findall("link")
        if link.get("rel") == "alternate"
    }
    assert links == {
        code: f"{SITE_URL}/{code}/cards/zhanaozen-massacre.html" for code in ("en", "ru", "kk")
    }
    # The English and Russian pages name the Kazakh one too; the chooser offers Қазақша.
    english = {
        link.get("hreflang")
        for link in parse(site / "en/cards/zhanaozen-massacre.html").find("head").findall("link")
    }
    assert "kk" in english
    assert "Қазақша" in text_of(parse(site / "index.html").find("body"))
    # A card not yet in Kazakh has no kk page: the Kazakh index links to its Russian one.
    untranslated = content.cards["vladimir-kozlov"]
    assert "kk" not in untranslated.languages
    assert not (site / "kk" / "cards" / f"{untranslated.id}.html").exists()
    hrefs = {value for _element, value in _references(parse(bare_site / "kk/index.html"))}
    assert f"../ru/cards/{untranslated.id}.html" in hrefs
    assert "cards/zhanaozen-massacre.html" in hrefs
