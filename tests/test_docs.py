"""The README and docs/ stay in step with the code: the commands they give exist, the variables
they name are read, the modules the code map names are there, and every link resolves.

A reader who copies a command from the docs must get that command, not an argparse error."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from bot.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
READERS = ["users", "organisers", "editors", "operators", "contributors", "performance"]

FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
VARIABLE = re.compile(r"\bBOT_[A-Z][A-Z0-9_]*\b")
MAKE = re.compile(r"(?:^|[\s;&|(])make[ \t]+([^\s=`]+)(?=\s|$)", re.MULTILINE)
PYTHON_BOT = re.compile(r"python[ \t]+-m[ \t]+bot((?:\s+[a-z][\w-]*)*)")


def code(text: str) -> list[str]:
    """The fenced blocks and inline code spans: where the docs give commands to run."""
    blocks = [match.group(0) for match in FENCE.finditer(text)]
    prose = FENCE.sub("", text)
    return blocks + INLINE.findall(prose)


def doc_code() -> list[tuple[str, str]]:
    return [(path.name, piece) for path in DOCS for piece in code(path.read_text("utf-8"))]


def makefile_targets() -> set[str]:
    """Target names of the Makefile, with ``$(VENV)`` spelled as the default ``.venv``."""
    text = (ROOT / "Makefile").read_text("utf-8")
    targets = set()
    for match in re.finditer(r"^([^\s:=#][^:=]*?)\s*:(?!=)", text, re.MULTILINE):
        targets.update(match.group(1).replace("$(VENV)", ".venv").split())
    return targets


def test_every_make_target_mentioned_exists() -> None:
    targets = makefile_targets()
    mentioned = {(name, target) for name, piece in doc_code() for target in MAKE.findall(piece)}
    assert mentioned, "no `make X` found: the pattern is broken"
    missing = sorted(
        f"{name}: make {target}" for name, target in mentioned if target not in targets
    )
    assert not missing, f"not a Makefile target: {missing}"


def parses(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    """Whether ``python -m bot ARGV --help`` is accepted, and the help it prints."""
    with pytest.raises(SystemExit) as stopped:
        main([*argv, "--help"])
    out = capsys.readouterr().out
    return stopped.value.code == 0, out


def test_every_python_m_bot_subcommand_mentioned_exists(
    capsys: pytest.CaptureFixture[str],
) -> None:
    mentioned: set[tuple[str, ...]] = set()
    for _, piece in doc_code():
        for words in PYTHON_BOT.findall(piece):
            mentioned.add(tuple(words.split()[:2]))
    assert len(mentioned) > 5, f"too few `python -m bot` commands found: {mentioned}"
    wrong = []
    for words in sorted(mentioned):
        if not words:
            continue
        accepted, usage = parses([words[0]], capsys)
        if not accepted:
            wrong.append(" ".join(words))
            continue
        # A task with actions (`content check`, `site build`) shows them as {a,b,c} ...
        actions = re.search(r" \{([\w,-]+)\} \.\.\.", usage)
        if actions and (len(words) < 2 or words[1] not in actions.group(1).split(",")):
            wrong.append(" ".join(words))
    assert not wrong, f"not in bot/__main__.py's parser: {wrong}"


def variables_read() -> set[str]:
    """``BOT_*`` names that bot/ reads from the environment: ``env.get("BOT_X")``,
    ``os.getenv("BOT_X")`` or ``environ["BOT_X"]`` (a name in a log line or docstring is not
    a read)."""
    found = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            key: ast.expr | None = None
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in ("get", "getenv"):
                    key = node.args[0]
            elif isinstance(node, ast.Subscript):
                key = node.slice
            if (
                isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and VARIABLE.fullmatch(key.value)
            ):
                found.add(key.value)
    return found


def test_every_bot_variable_mentioned_is_read() -> None:
    read = variables_read()
    assert {"BOT_TOKEN", "BOT_DATA_DIR"} <= read, read
    wrong = sorted(
        f"{path.name}: {variable}"
        for path in [*DOCS, ROOT / ".env.example"]
        for variable in set(VARIABLE.findall(path.read_text("utf-8")))
        if variable not in read
    )
    assert not wrong, f"named in the docs but read nowhere in bot/: {wrong}"


def test_every_bot_variable_read_is_documented_for_operators() -> None:
    text = (ROOT / "docs" / "operators.md").read_text("utf-8")
    missing = sorted(variables_read() - set(VARIABLE.findall(text)))
    assert not missing, f"read in bot/ but not in docs/operators.md: {missing}"


def anchors(path: Path) -> set[str]:
    """The ids GitHub gives a file's headings: lower case, punctuation dropped, spaces to
    hyphens, a repeated one numbered."""
    seen: dict[str, int] = {}
    ids = set()
    for line in FENCE.sub("", path.read_text("utf-8")).splitlines():
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        ids.add(f"{slug}-{count}" if count else slug)
    return ids


def test_every_relative_link_resolves() -> None:
    checked = 0
    broken = []
    for path in DOCS:
        for target in LINK.findall(FENCE.sub("", path.read_text("utf-8"))):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            resolved = (path.parent / file).resolve() if file else path
            checked += 1
            if not resolved.exists():
                broken.append(f"{path.name}: {target} (no such file)")
            elif anchor and (resolved.suffix != ".md" or anchor not in anchors(resolved)):
                broken.append(f"{path.name}: {target} (no such heading)")
    assert checked > 20, "too few links found: the pattern is broken"
    assert not broken, broken


def test_paths_the_docs_name_exist() -> None:
    """`bot/...`, `tests/...`, `bench/...`, `emulator/...` and `deploy/...` in the docs."""
    pattern = re.compile(r"^(?:bot|tests|bench|emulator|deploy|content|locales)/[\w./-]*\w$")
    wrong = sorted(
        f"{name}: {piece}"
        for name, piece in doc_code()
        if pattern.match(piece) and "<" not in piece and not (ROOT / piece).exists()
    )
    assert not wrong, f"no such file: {wrong}"


def outside_brackets(text: str) -> str:
    """The text with every (parenthesised) description taken out, nested ones included."""
    kept, depth = [], 0
    for char in text:
        depth += char == "("
        if not depth:
            kept.append(char)
        depth -= char == ")" and depth > 0
    return "".join(kept)


def code_map() -> dict[str, list[str]]:
    """The code map's table in docs/contributors.md: package folder -> the modules it lists."""
    text = (ROOT / "docs" / "contributors.md").read_text("utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        folder = re.fullmatch(r"`((?:bot|emulator)/(?:\w+/)?)`", cells[0]) if cells else None
        if folder and len(cells) == 3:
            rows[folder.group(1)] = re.findall(r"`(\w+)(?:\.py)?`", outside_brackets(cells[2]))
    return rows


def test_the_code_map_names_every_module_and_only_modules() -> None:
    rows = code_map()
    assert {"bot/", "bot/handlers/", "bot/store/", "bot/telegram/"} <= set(rows), rows
    wrong = []
    for folder, names in rows.items():
        modules = {path.stem for path in (ROOT / folder).glob("*.py")}
        wrong += [f"{folder}{name}.py (no such module)" for name in names if name not in modules]
        if folder != "emulator/":
            unlisted = modules - set(names) - {"__init__"}
            wrong += [f"{folder}{name}.py (not in the code map)" for name in sorted(unlisted)]
    packages = {p.parent.name for p in (ROOT / "bot").glob("*/__init__.py")}
    wrong += [f"bot/{p}/ (no row)" for p in sorted(packages) if f"bot/{p}/" not in rows]
    assert not wrong, wrong


def test_the_paths_of_an_update_and_a_reminder_name_real_code() -> None:
    """Dotted names such as `handlers.cards.prisoner` or `reminders.service.ReminderService`."""
    text = (ROOT / "docs" / "contributors.md").read_text("utf-8")
    packages = "handlers|content|protests|reminders|telegram|store|ops|site"
    names = {
        name
        for name in re.findall(rf"`((?:{packages})\.\w+(?:\.\w+)*)`", text)
        if not re.search(r"\.(json|yaml|py|md|ics)$", name)
    }
    assert len(names) > 10, names
    wrong = []
    for dotted in sorted(names):
        parts = f"bot.{dotted}".split(".")
        for split in range(len(parts), 1, -1):
            try:
                found: object = importlib.import_module(".".join(parts[:split]))
            except ModuleNotFoundError:
                continue
            try:
                for attribute in parts[split:]:
                    found = getattr(found, attribute)
            except AttributeError:
                wrong.append(dotted)
            break
        else:
            wrong.append(dotted)
    assert not wrong, f"no such module or name: {wrong}"


def test_one_file_per_reader_and_a_short_readme() -> None:
    assert {path.stem for path in DOCS[1:]} == set(READERS)
    readme = (ROOT / "README.md").read_text("utf-8")
    assert readme.count("\n") <= 250
    for reader in READERS:
        assert f"(docs/{reader}.md)" in readme, reader
    # The two commands, as the Makefile's first line, .ci/run and CI give them.
    assert "make run" in readme and "make test" in readme
