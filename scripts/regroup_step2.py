"""The regrouping of December 2026 (issue #26), step 2, as a script: run once on a clean tree.

Step 1 (``scripts/regroup.py``) moved whole modules. This step moves top-level definitions
between modules, so protests get a model, a repository, their wording and their inline
shares, and then removes every alias that kept a moved module under its old name:

- each moved definition is cut from its module (with the comments above it and the string
  that documents a constant) and appended to its new home, unchanged;
- ``from old import name`` and ``alias.name`` are pointed at the new home everywhere;
- ``from pkg import module as alias`` becomes ``from pkg import module``, and every use of
  ``alias`` is renamed, once it is checked that no other binding of either name exists;
- names a module now lacks are imported from their new home; ruff then drops imports left
  unused and sorts them, and formats.

No behaviour changes: only where code lives and the names modules are imported under.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREES = ("bot", "tests", "bench", "emulator")

MOVES: dict[str, dict[str, list[str]]] = {
    "bot/protests/repository.py": {
        "bot/protests/model.py": [
            "NEARBY_WINDOW",
            "MAX_FIELD",
            "DATE_FORMATS",
            "VERSIONS",
            "TOLD_SINCE",
            "details",
            "versioned",
            "upcoming",
            "nearby",
            "known_cities",
            "new_event_id",
            "bilingual",
            "parse_city",
            "parse_starts",
        ],
        "bot/protests/wording.py": [
            "EVENT_ACTION",
            "MAX_LISTED",
            "LIST_BUDGET",
            "when_line",
            "describe",
            "coming_line",
            "short_line",
            "coming_button",
            "event_buttons",
            "reminder_text",
            "reminder_markup",
            "cancellation_text",
            "change_lines",
            "change_text",
            "city_message",
            "listed",
            "list_text",
            "list_markup",
        ],
        "bot/zones.py": ["KNOWN_CITIES", "CITY_NAMES"],
        "bot/reminders/broadcasts.py": ["reminded_chats"],
    },
    "bot/reminders/schedule.py": {
        "bot/protests/model.py": ["city_key", "event_start", "wants_event", "live_events"],
    },
    "bot/content/inline.py": {
        "bot/protests/shares.py": ["EVENTS_PAYLOAD", "event_shares", "_event_item"],
    },
}

NEW_MODULES = {
    "bot/protests/model.py": '"""What a protest is, without Telegram or storage: when it starts, '
    "who follows it, which\nare coming, and reading what an organiser types into one.\n"
    '"""\n',
    "bot/protests/wording.py": '"""How the bot words protests: descriptions, lists, reminders, '
    'change and cancellation\nnotices, and their buttons.\n"""\n',
    "bot/protests/shares.py": '"""Upcoming protests as inline-mode items, shared into chats '
    'with a link back to the list.\n"""\n',
}

SECTION_COMMENTS = {
    "bot/protests/repository.py": [
        "# Reading what an organiser types ----",
        "# Text ----",
    ],
    "bot/reminders/schedule.py": ["# Protest events ----"],
    "bot/content/inline.py": ["# --- protests ----"],
}

REPOSITORY_DOC = (
    '"""Where protests are kept: events from ``content/events/*.yaml`` come through the '
    "Library;\nevents added by admins live in the store. An admin's change to a content event "
    "(cancelling\nit) is stored under the same id and wins, so a redeploy of the content never "
    'un-cancels a\nprotest.\n"""'
)


def dotted(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


HOME = {
    (dotted(src), name): dotted(dst)
    for src, dests in MOVES.items()
    for dst, names in dests.items()
    for name in names
}
"""(old module, name) -> new module, for every moved definition."""


def add_reexports() -> None:
    """A name a source module imported from another source module moves with it too:
    ``repository.event_start`` was ``schedule.event_start``, now ``model.event_start``."""
    for source in MOVES:
        for node in ast.parse((ROOT / source).read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if (node.module, alias.name) in HOME:
                        HOME[dotted(source), alias.asname or alias.name] = HOME[
                            node.module, alias.name
                        ]


def python_files() -> list[Path]:
    return sorted(p for tree in TREES for p in (ROOT / tree).rglob("*.py"))


def is_project_module(module: str) -> bool:
    return (ROOT / (module.replace(".", "/") + ".py")).exists() or (
        ROOT / module.replace(".", "/") / "__init__.py"
    ).exists()


# 1. Moving definitions --------------------------------------------------------------------


def _span(lines: list[str], node: ast.stmt, body: list[ast.stmt]) -> tuple[int, int]:
    """0-based [start, end) lines of a top-level definition, with the comments right above
    it and a documenting string right after a constant."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
    while (
        start > 0
        and lines[start - 1].lstrip().startswith("#")
        and not _is_section(lines[start - 1])
    ):
        start -= 1
    end = node.end_lineno or node.lineno
    index = body.index(node)
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and index + 1 < len(body):
        after = body[index + 1]
        documented = isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
        if documented and isinstance(after.value.value, str):
            end = after.end_lineno or end
    return start, end


def _is_section(line: str) -> bool:
    return bool(re.match(r"\s*# .*-{4,}\s*$", line)) or bool(re.match(r"\s*# -{3} ", line))


def _names_of(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def cut(path: str, names: set[str]) -> dict[str, str]:
    """Remove the named definitions from ``path``; their source by name."""
    file = ROOT / path
    text = file.read_text()
    lines = text.splitlines(keepends=True)
    body = ast.parse(text).body
    spans = {}
    for node in body:
        for name in _names_of(node):
            if name in names:
                spans[name] = _span(lines, node, body)
    missing = names - spans.keys()
    if missing:
        sys.exit(f"{path}: no top-level {sorted(missing)}")
    pieces = {name: "".join(lines[a:b]) for name, (a, b) in spans.items()}
    for a, b in sorted(spans.values(), reverse=True):
        del lines[a:b]
    kept = [
        line
        for line in lines
        if not any(line.startswith(c) for c in SECTION_COMMENTS.get(path, []))
    ]
    file.write_text(re.sub(r"\n{4,}", "\n\n\n", "".join(kept)))
    TOUCHED.add(file)
    return pieces


def import_block(path: str) -> str:
    """The module's top-level imports (every one; ruff removes those a home does not use)."""
    text = (ROOT / path).read_text()
    lines = text.splitlines(keepends=True)
    out = []
    body = ast.parse(text).body
    for node in list(body):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            body += node.body  # a type-only import becomes a plain one in the new home
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not (
            isinstance(node, ast.ImportFrom) and node.module == "__future__"
        ):
            out.append("".join(lines[node.lineno - 1 : node.end_lineno]).lstrip())
    return "".join(out)


def move_definitions() -> None:
    pieces_by_home: dict[str, list[str]] = defaultdict(list)
    imports_by_home: dict[str, list[str]] = defaultdict(list)
    for src, dests in MOVES.items():
        block = import_block(src)
        wanted = {name for names in dests.values() for name in names}
        pieces = cut(src, wanted)
        for dst, names in dests.items():
            pieces_by_home[dst] += [pieces[name] for name in names]
            imports_by_home[dst].append(block)
    for dst, pieces in pieces_by_home.items():
        file = ROOT / dst
        if file.exists():
            text = file.read_text()
        else:
            text = NEW_MODULES[dst] + "\nfrom __future__ import annotations\n"
        own = re.compile(rf"^from {re.escape(dotted(dst))} import .*\n", re.M)
        block = own.sub("", "".join(imports_by_home[dst]))
        text = _insert_imports(text, block).rstrip("\n") + "\n"
        constant = False
        for piece in pieces:  # constants stay together, definitions two lines apart
            now = not re.match(r"(@|def |async def |class )", piece.lstrip("\n# "))
            text += ("\n" if constant and now else "\n\n\n") + piece.strip("\n") + "\n"
            constant = now
        file.write_text(text)
        TOUCHED.add(file)


def _insert_imports(text: str, block: str) -> str:
    """``block`` after the module's last top-level import (or its docstring)."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    last = 0
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            last = node.end_lineno or node.lineno
        elif last:
            break
    if not last and tree.body and isinstance(tree.body[0], ast.Expr):
        last = tree.body[0].end_lineno or 1
    return "".join(lines[:last]) + block + "".join(lines[last:])


# 2. Pointing imports and attribute uses at the new homes ----------------------------------


def module_of(path: Path) -> str:
    return dotted(str(path.relative_to(ROOT)))


def repoint(path: Path) -> None:
    text = path.read_text()
    tree = ast.parse(text)
    here = module_of(path)
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, int, int, str]] = []  # (line, col, end_line, end_col, new)
    extra: set[str] = set()
    module_aliases: dict[str, str] = {}  # local name -> module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if is_project_module(full) and not (ROOT / (full.replace(".", "/"))).is_dir():
                    module_aliases[alias.asname or alias.name] = full
            moved = [a for a in node.names if (node.module, a.name) in HOME]
            if not moved:
                continue
            stay = [a for a in node.names if (node.module, a.name) not in HOME]
            by_home: dict[str, list[ast.alias]] = defaultdict(list)
            for alias in moved:
                by_home[HOME[node.module, alias.name]].append(alias)
            indent = " " * node.col_offset
            new = []
            if stay:
                new.append(f"from {node.module} import {_names(stay)}")
            for home, aliases in by_home.items():
                if home != here:
                    new.append(f"from {home} import {_names(aliases)}")
            replacement = ("\n" + indent).join(new) if new else "pass"
            edits.append(
                (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, replacement)
            )
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_aliases
        ):
            key = (module_aliases[node.value.id], node.attr)
            if key in HOME:
                home = HOME[key]
                package, _, name = home.rpartition(".")
                extra.add(f"from {package} import {name}")
                edits.append(
                    (
                        node.value.lineno,
                        node.value.col_offset,
                        node.value.end_lineno,
                        node.value.end_col_offset,
                        name,
                    )
                )
    if not edits:
        return
    taken = bindings(tree)
    clash = {line.rpartition(" ")[2] for line in extra} & taken
    if clash:
        sys.exit(f"{path}: a local name clashes with a new module's name: {clash}")
    text = apply(lines, edits)
    if extra:
        text = _insert_imports(text, "".join(line + "\n" for line in sorted(extra)))
    path.write_text(text)
    TOUCHED.add(path)


def _names(aliases: list[ast.alias]) -> str:
    return ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in aliases)


def apply(lines: list[str], edits: list[tuple[int, int, int, int, str]]) -> str:
    """Replace source ranges (1-based lines, 0-based columns), the last first."""
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    text = "".join(lines)
    for line, col, end_line, end_col, new in sorted(edits, reverse=True):
        a = offsets[line - 1] + len(lines[line - 1].encode()[:col].decode())
        b = offsets[end_line - 1] + len(lines[end_line - 1].encode()[:end_col].decode())
        text = text[:a] + new + text[b:]
    return text


# 3. No module under another name ----------------------------------------------------------


def bindings(tree: ast.Module) -> set[str]:
    """Every name the module binds anywhere, other than by a module import."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                full = f"{getattr(node, 'module', None) or ''}.{alias.name}".strip(".")
                if not (isinstance(node, ast.ImportFrom) and is_project_module(full)):
                    bound.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.keyword) and node.arg:
            pass  # a keyword argument binds nothing here
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


CLASHES: list[str] = []
TOUCHED: set[Path] = set()


LOCAL_RENAMES = {"service": "reminder_service"}
"""A local variable named like the module it now sits beside gets a longer name."""


def top_level(tree: ast.Module) -> set[str]:
    """Names bound at module level, other than by importing a project module."""
    return bindings(ast.Module(body=[n for n in tree.body if not _is_def(n)], type_ignores=[])) | {
        n.name for n in tree.body if _is_def(n)
    }


def _is_def(node: ast.stmt) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))


def unalias(path: Path) -> None:
    """Each module under its own name: where that name is taken by a module-level name,
    the names used from the module are imported instead; where a local variable has it,
    the variable is renamed (``LOCAL_RENAMES``)."""
    text = path.read_text()
    tree = ast.parse(text)
    aliased: dict[str, tuple[str, str]] = {}  # alias -> (package, module)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if alias.asname and alias.asname != alias.name and is_project_module(full):
                    aliased[alias.asname] = (node.module, alias.name)
    if not aliased:
        return
    taken, module_level = bindings(tree), top_level(tree)
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
    edits = []
    imports: dict[str, str] = {}  # the alias's import line -> what replaces it
    for old, (package, new) in aliased.items():
        uses = [n for n in names if n.id == old]
        if old in taken:
            CLASHES.append(f"{path}: {old} is bound again")
            continue
        if new in module_level:
            attributes = [
                n
                for n in ast.walk(tree)
                if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                if n.value.id == old
            ]
            used = {n.attr for n in attributes}
            if len(attributes) != len(uses) or used & taken:
                CLASHES.append(f"{path}: {old} is used bare, or its names are taken")
                continue
            edits += [
                (n.lineno, n.col_offset, n.end_lineno, n.end_col_offset, n.attr)
                for n in attributes
            ]
            imports[f"from {package} import {new} as {old}"] = (
                f"from {package}.{new} import {', '.join(sorted(used))}"
            )
            continue
        if new in taken:
            local = LOCAL_RENAMES.get(new)
            params = any(isinstance(n, ast.arg) and n.arg == new for n in ast.walk(tree))
            if local is None or local in taken or params:
                CLASHES.append(f"{path}: {new} is a local name")
                continue
            edits += [
                (n.lineno, n.col_offset, n.end_lineno, n.end_col_offset, local)
                for n in names
                if n.id == new
            ]
        edits += [(n.lineno, n.col_offset, n.end_lineno, n.end_col_offset, new) for n in uses]
        imports[f"from {package} import {new} as {old}"] = f"from {package} import {new}"
    text = apply(text.splitlines(keepends=True), edits)
    for line, replacement in imports.items():
        text = re.sub(rf"^(\s*){re.escape(line)}$", rf"\g<1>{replacement}", text, flags=re.M)
    path.write_text(text)
    TOUCHED.add(path)


# 4. What a module now lacks, and tidying ---------------------------------------------------


def undefined() -> dict[Path, set[str]]:
    out = subprocess.run(
        [".venv/bin/ruff", "check", "--select", "F821", "--output-format", "json", *TREES],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    missing: dict[Path, set[str]] = defaultdict(set)
    for item in json.loads(out or "[]"):
        name = re.search(r"`([^`]+)`", item["message"])
        if name:
            missing[Path(item["filename"])].add(name.group(1))
    return missing


def import_missing() -> None:
    homes_by_name = defaultdict(set)
    for (_old, name), home in HOME.items():
        homes_by_name[name].add(home)
    for source in MOVES:  # what stays behind, for the definitions that left it
        for node in ast.parse((ROOT / source).read_text()).body:
            for name in _names_of(node):
                homes_by_name[name].add(dotted(source))
    for path, names in undefined().items():
        here = module_of(path)
        lines = []
        for name in sorted(names):
            homes = homes_by_name.get(name, set()) - {here}
            if len(homes) != 1:
                sys.exit(f"{path}: undefined {name}, no single home for it")
            lines.append(f"from {homes.pop()} import {name}\n")
        path.write_text(_insert_imports(path.read_text(), "".join(lines)))
        TOUCHED.add(path)


def tidy() -> None:
    """ruff's import fixes and format; an import the move re-split loses its trailing comma
    first, so the formatter puts it on one line where it fits."""
    for path in TOUCHED:
        text = path.read_text()
        path.write_text(re.sub(r"(\nfrom [\w.]+ import \([^)]*?),(\s*\))", r"\1\2", text))
    ruff = ROOT / ".venv/bin/ruff"
    subprocess.run([ruff, "check", "--fix", "--select", "F401,I001", *TREES], cwd=ROOT)
    subprocess.run([ruff, "format", *TREES], cwd=ROOT, check=True)


def main() -> None:
    add_reexports()
    move_definitions()
    repository = ROOT / "bot/protests/repository.py"
    text = repository.read_text()
    doc = ast.get_docstring(ast.parse(text), clean=False)
    repository.write_text(text.replace(f'"""{doc}"""', REPOSITORY_DOC, 1))
    for path in python_files():
        if path.name != Path(__file__).name and path.name != "regroup.py":
            repoint(path)
    for _ in range(3):
        import_missing()
    tidy()
    for path in python_files():
        if path.name != Path(__file__).name and path.name != "regroup.py":
            unalias(path)
    tidy()
    subprocess.run(["git", "add", "-A", "bot", "tests", "bench", "emulator"], cwd=ROOT, check=True)
    if CLASHES:
        sys.exit("\n".join(CLASHES))


if __name__ == "__main__":
    main()
