"""Loading ``content/``: every YAML file read and validated against the schema, then the checks
no single file can make (references, collisions, private data, the glossary's spellings).

Every problem found is collected, so an editor sees all of them in one ``content check``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.content import checks
from bot.content.folding import normalise
from bot.content.schema import (
    Card,
    Content,
    ContentError,
    GlossaryEntry,
    ProtestEvent,
    Source,
)
from bot.i18n import LANGUAGES

CONTENT_DIR = Path(__file__).resolve().parents[2] / "content"

# Private contact details must never reach a card; institutional addresses are allowed only
# inside an "actions" entry, which says when and where they were published.
PHONE_RE = re.compile(r"(?<![\w/])\+?\d[\d\s().-]{8,}\d")
PHONE_MIN_DIGITS = 10
"""Fewer digits than this is a date or a range of years, not a phone number."""
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it: the same documents, parsed about ten
times faster, which is most of a cold start and of every test's Application setup."""

GLOSSARY_FILE = "glossary.yaml"
QUOTING_FIELDS = ("disagreements", "open_questions")
"""Fields where a card reports a source's own spelling."""


def _spelling_pattern(spelling: str) -> re.Pattern[str]:
    """A whole-word match, so "Tuletaev" does not fire inside "Tuletaeva"."""
    any_ending = spelling.endswith("*")
    return re.compile(
        r"(?<!\w)" + re.escape(_stem(spelling)) + (r"\w*" if any_ending else r"(?!\w)")
    )


def _stem(spelling: str) -> str:
    """The letters a listed spelling always has (its trailing ``*`` is any ending)."""
    return spelling[:-1] if spelling.endswith("*") else spelling


def _read_yaml(path: Path) -> object:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ContentError(f"{path}: cannot read YAML: {exc}") from exc


def _describe(path: Path, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"{path}: field {where}: {error['msg']}")
    return "\n".join(lines)


Model = TypeVar("Model", bound=BaseModel)


def _load_dir(directory: Path, model: type[Model], errors: list[str]) -> list[tuple[Path, Model]]:
    loaded = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith("_"):
            continue  # templates and examples
        raw = _read_yaml(path)
        try:
            loaded.append((path, model.model_validate(raw)))
        except ValidationError as exc:
            errors.append(_describe(path, exc))
    return loaded


def content_fingerprint(root: Path = CONTENT_DIR) -> str:
    """A digest of the content's files and of the code that reads and checks them.

    While it equals the one stored with the content (``Store.content_fingerprint``), the store
    holds exactly what ``load_content`` would give, so a restart need not parse and validate
    the YAML again (a fifth of a cold start). Reading the files costs a few milliseconds.
    """
    digest = hashlib.sha256()
    code = Path(__file__).parent
    for label, base, paths in (
        ("content", root, sorted(root.rglob("*.yaml"))),
        ("code", code, sorted(code.glob("*.py"))),
    ):
        for path in paths:
            name = f"{label}/{path.relative_to(base).as_posix()}".encode()
            data = path.read_bytes()
            digest.update(b"%d:%s%d:" % (len(name), name, len(data)) + data)
    return digest.hexdigest()


def load_content(root: Path = CONTENT_DIR) -> Content:
    """Load and check all content; raise ContentError listing every problem found."""
    errors: list[str] = []
    content = Content()
    for path, source in _load_dir(root / "sources", Source, errors):
        _add_unique(content.sources, source, path, content.files, errors)
    for sub in ("people", "anniversaries"):
        for path, card in _load_dir(root / sub, Card, errors):
            _add_unique(content.cards, card, path, content.files, errors)
    for path, event in _load_dir(root / "events", ProtestEvent, errors):
        _add_unique(content.events, event, path, content.files, errors)
    content.glossary = _load_glossary(root / GLOSSARY_FILE, errors)
    errors.extend(cross_check(content))
    if errors:
        raise ContentError("\n".join(errors))
    return content


def _load_glossary(path: Path, errors: list[str]) -> list[GlossaryEntry]:
    if not path.exists():
        return []
    raw = _read_yaml(path)
    if not isinstance(raw, list):
        errors.append(f"{path}: the glossary is a list of entries")
        return []
    entries = []
    for number, item in enumerate(raw):
        try:
            entries.append(GlossaryEntry.model_validate(item))
        except ValidationError as exc:
            errors.append(_describe(path, exc).replace(f"{path}: ", f"{path}: entry {number}: "))
    return entries


def glossary_problems(content: Content) -> list[str]:
    """Cards that spell a glossary name another way than the glossary does.

    A text is first screened with one alternation of all its language's spellings: nearly
    every text has none, and then costs one search instead of one per spelling. Only the
    texts it hits are searched rule by rule, for the messages."""
    rules: list[tuple[str, re.Pattern[str], str, bool, str]] = []
    for entry in content.glossary:
        for language in LANGUAGES:
            wanted = entry.form(language)
            rules.extend(
                (language, _spelling_pattern(s), wanted, False, _stem(s))
                for s in entry.avoided(language)
            )
            rules.extend(
                (language, _spelling_pattern(s), wanted, True, _stem(s))
                for s in entry.source_spellings
            )
    screens = {
        language: _any_of(tuple(rule[4] for rule in rules if rule[0] == language))
        for language in LANGUAGES
    }
    problems = []
    for card in content.cards.values():
        where = content.files.get(card.id, card.id)
        for field_name, text_of in card.texts():
            hit = {
                language
                for language, screen in screens.items()
                if screen is not None
                and text_of.has(language)
                and screen.search(text_of.texts[language])
            }
            if not hit:
                continue
            for language, pattern, wanted, quotable, _stem_of in rules:
                if language not in hit or (quotable and field_name in QUOTING_FIELDS):
                    continue
                found = pattern.search(text_of.texts[language])
                if found:
                    problems.append(
                        f"{where}: field {field_name}.{language}: {found.group()!r} is not the "
                        f"glossary's form ({wanted!r}, {GLOSSARY_FILE})"
                    )
    return problems


@lru_cache(maxsize=8)
def _any_of(stems: tuple[str, ...]) -> re.Pattern[str] | None:
    """A pattern found in every text a spelling of ``stems`` is (None: there are none).

    Plain literals, longest first: re then scans for their first letters instead of trying a
    lookbehind at every position, which made one alternation of the rules as slow as them."""
    ordered = sorted(set(stems), key=len, reverse=True)
    return re.compile("|".join(re.escape(stem) for stem in ordered)) if ordered else None


def _add_unique(
    target: dict,
    item: Source | Card | ProtestEvent,
    path: Path,
    files: dict[str, Path],
    errors: list[str],
) -> None:
    if item.id in target or item.id in files:
        errors.append(f"{path}: field id: {item.id!r} already used in {files[item.id]}")
        return
    target[item.id] = item
    files[item.id] = path


def cross_check(content: Content) -> list[str]:
    """Checks no single file can make: references, collisions, private data."""
    errors: list[str] = []
    alias_owner: dict[str, str] = {}
    for card in content.cards.values():
        where = content.files.get(card.id, card.id)
        for number, fact in enumerate(card.facts()):
            for source_id in fact.sources:
                if source_id not in content.sources:
                    errors.append(f"{where}: unknown source {source_id!r} (fact {number})")
        for source_id in card.source_ids():
            if source_id not in content.sources:
                errors.append(f"{where}: unknown source {source_id!r}")
        for related in card.related:
            if related not in content.cards:
                errors.append(f"{where}: field related: unknown card {related!r}")
        if card.kind == "anniversary" and not card.date:
            errors.append(f"{where}: field date: anniversaries need a date")
        if card.kind == "anniversary" and card.commemorated is None:
            errors.append(
                f"{where}: field commemorated: anniversaries need "
                "'commemorated: true' (reminded every year) or 'false' (calendar only)"
            )
        if card.kind != "anniversary" and card.commemorated is not None:
            errors.append(f"{where}: field commemorated: only anniversaries have it")
        if card.kind != "anniversary" and card.mourning:
            errors.append(f"{where}: field mourning: only anniversaries have it")
        errors.extend(translation_gaps(card, where))
        names = {*card.name.texts.values(), *card.aliases}
        for name in names:
            key = normalise(name)
            if not key:
                continue
            owner = alias_owner.setdefault(key, card.id)
            if owner != card.id:
                errors.append(
                    f"{where}: field aliases: {name!r} also names {owner!r} "
                    f"({content.files.get(owner, owner)})"
                )
        for text in _card_texts(card, include_actions=False):
            if "@" in text and EMAIL_RE.search(text):  # the "@" first: 10 ms a load
                errors.append(f"{where}: an e-mail address outside 'actions': {text[:60]!r}")
            if any(
                sum(ch.isdigit() for ch in match.group()) >= PHONE_MIN_DIGITS
                for match in PHONE_RE.finditer(text)
            ):
                errors.append(f"{where}: what looks like a phone number: {text[:60]!r}")
    glossary_ru = [entry.ru for entry in content.glossary]
    for card in content.cards.values():
        where = str(content.files.get(card.id, card.id))
        fields = list(card.texts())
        errors.extend(checks.kind_problems(card, fields, where))
        errors.extend(checks.label_problems(card, where))
        errors.extend(checks.quote_problems(fields, where, glossary_ru))
    errors.extend(checks.source_language_problems(content))
    errors.extend(glossary_problems(content))
    return sorted(set(errors), key=errors.index)


def translation_gaps(card: Card, where: object) -> list[str]:
    """A card written in a language must be written in it throughout: a reader of that
    language would otherwise get a card in two languages at once."""
    gaps = []
    for language in LANGUAGES:
        if language in card.languages:
            continue
        fields = [name for name, text in card.texts() if text.has(language)]
        if fields:
            missing = sorted({name for name, text in card.texts() if not text.has(language)})
            gaps.append(
                f"{where}: half translated into {language!r}: no {language} text in "
                f"{', '.join(missing)} (but in {', '.join(sorted(set(fields)))})"
            )
    return gaps


def _card_texts(card: Card, include_actions: bool = True) -> Iterable[str]:
    for field_name, text in card.texts():
        if include_actions or field_name != "actions":
            yield from text.texts.values()
