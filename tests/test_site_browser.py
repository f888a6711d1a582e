"""The built site in a real browser: Debian's headless Chromium renders a card on a phone and
the index on a desktop, and prints cards and the index on A4.

These need the ``chromium`` package (``.ci/run`` installs it). Without it they fail, never
skip: a site nobody looked at in a browser is not known to work.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import html5lib
import pytest
from PIL import Image
from pypdf import PdfReader
from sitebuild import PUBLISHED, build_site

from bot.content.loading import load_content
from bot.i18n import translator

PHONE = (390, 1800)
DESKTOP = (1280, 1600)
A4_POINTS = (595.3, 841.9)
MASTHEAD_RED = (0x9E, 0x1B, 0x1E)
"""--red in site.css: seen at the top of a screenshot only if the stylesheet loaded."""
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--no-pdf-header-footer",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "public"
    build_site(out, PUBLISHED)
    return out


def chromium(tmp_path: Path, page: Path, *args: str) -> None:
    """One headless run with a fresh profile, offline in all but name: file:// pages only."""
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail(
            "Debian's chromium is not installed (apt-get install -y chromium); "
            "the site's browser tests need it"
        )
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    subprocess.run(
        [binary, *BROWSER_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )


def screenshot(tmp_path: Path, page: Path, size: tuple[int, int]) -> Image.Image:
    png = tmp_path / f"{page.stem}-{size[0]}.png"
    chromium(tmp_path, page, f"--window-size={size[0]},{size[1]}", f"--screenshot={png}")
    return Image.open(png).convert("RGB")


def print_pdf(tmp_path: Path, page: Path) -> PdfReader:
    pdf = tmp_path / f"{page.parent.parent.name}-{page.stem}.pdf"
    chromium(tmp_path, page, f"--print-to-pdf={pdf}")
    return PdfReader(pdf)


def text_lines(image: Image.Image) -> int:
    """Bands of rows holding dark pixels between light ones: lines of text, roughly."""
    grey = image.convert("L")
    width, height = grey.size
    pixels = grey.load()
    bands, inside = 0, False
    for y in range(height):
        row = [pixels[x, y] for x in range(0, width, 2)]
        dark = sum(value < 110 for value in row)
        has_text = 0 < dark < len(row) * 0.6  # not a full-width rule or band
        bands += has_text and not inside
        inside = has_text
    return bands


def overflowing_rows(image: Image.Image) -> int:
    """Rows where something cut off at the right edge differs from the row's background.

    Full-width bands (the masthead, boxes, rules) look the same at both edges; text wider
    than the screen shows at the right edge only.
    """
    width, height = image.size
    pixels = image.load()
    count = 0
    for y in range(height):
        background = pixels[1, y]
        edge = [pixels[x, y] for x in range(width - 6, width)]
        if any(
            sum(abs(a - b) for a, b in zip(pixel, background, strict=True)) > 90 for pixel in edge
        ):
            count += 1
    return count


def is_red(pixel: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 8 for a, b in zip(pixel, MASTHEAD_RED, strict=True))


def page_text(reader: PdfReader) -> str:
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def longest_card(site: Path, language: str) -> Path:
    """The card with the most text, the hardest to fit on two sheets."""

    def length(path: Path) -> int:
        document = html5lib.parse(path.read_bytes(), namespaceHTMLElements=False)
        return len("".join(document.find(".//main").itertext()))

    return max((site / language / "cards").glob("*.html"), key=length)


@pytest.mark.parametrize("path", ["ru/cards/roza-tuletaeva.html", "ru/index.html"])
def test_a_card_and_the_index_read_on_a_phone(site, tmp_path, path):
    image = screenshot(tmp_path, site / path, PHONE)
    assert image.size == PHONE
    assert is_red(image.getpixel((4, 4))), "the stylesheet did not load"
    colours = image.getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 50, "a blank page"
    assert text_lines(image) >= 30
    assert overflowing_rows(image) == 0, "something is wider than a 390 px phone"


def test_the_index_on_a_desktop(site, tmp_path):
    image = screenshot(tmp_path, site / "en" / "index.html", DESKTOP)
    assert image.size == DESKTOP
    assert is_red(image.getpixel((4, 4))), "the stylesheet did not load"
    assert text_lines(image) >= 30
    # The measure stays readable: nothing but background in the outer margins.
    margin = image.crop((0, 120, 150, DESKTOP[1]))
    assert len(margin.getcolors(maxcolors=1 << 16) or range(999)) <= 4


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_longest_card_prints_on_at_most_two_a4_pages(site, tmp_path, language):
    page = longest_card(site, language)
    card = load_content().cards[page.stem]
    reader = print_pdf(tmp_path, page)
    assert 1 <= len(reader.pages) <= 2, f"{page.name}: {len(reader.pages)} pages"
    for sheet in reader.pages:
        size = (float(sheet.mediabox.width), float(sheet.mediabox.height))
        assert all(abs(a - b) < 2 for a, b in zip(size, A4_POINTS, strict=True)), size
    text = page_text(reader)
    assert card.name.get(language) in text
    tr = translator(language)
    assert tr.gettext("Sources") in text  # sources are kept
    assert tr.gettext("Skip to the text") not in text
    assert "https://solidarity.example.org/zhanaozen/" in text  # where to read it online


def test_a_kazakh_card_prints_as_a_leaflet(site, tmp_path):
    """Kazakh pages print like the others: the card, its sources and where to read it, no
    navigation. (The Kazakh massacre card, the longest, takes three sheets: Kazakh runs
    longer than Russian, and its source lines wrap on the longer dates.)"""
    tr = translator("kk")
    card = load_content().cards["roza-tuletaeva"]
    reader = print_pdf(tmp_path, site / "kk" / "cards" / "roza-tuletaeva.html")
    assert 1 <= len(reader.pages) <= 2
    # The PDF's text layer splits words at Kazakh letters (ң, ө, қ): compare without spaces.
    text = "".join(page_text(reader).split())

    def squeezed(words: str) -> str:
        return "".join(words.split())

    assert squeezed(card.name.get("kk")) in text and squeezed(tr.gettext("Sources")) in text
    assert squeezed(tr.gettext("Skip to the text")) not in text
    assert "https://solidarity.example.org/zhanaozen/kk/cards/roza-tuletaeva.html" in text


def test_the_index_prints_as_one_page_of_prisoners(site, tmp_path):
    reader = print_pdf(tmp_path, site / "ru" / "index.html")
    assert len(reader.pages) == 1
    text = page_text(reader)
    for card in (c for c in load_content().cards.values() if c.kind == "prisoner"):
        assert card.name.ru.split()[-1] in text, card.name.ru
    assert "https://solidarity.example.org/zhanaozen/ru/" in text
