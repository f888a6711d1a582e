"""The package's import graph has no cycle, counting imports inside functions too (a lazy
import that dodges a cycle still ties the two modules together)."""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Container
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "bot"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: str = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, anywhere in its source (TYPE_CHECKING
    blocks excepted: they are never executed)."""
    files = {module_name(path): path for path in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        for node in _executed(tree):
            for target in _targets(node, name, is_package, files):
                if target in files and target != name:
                    graph[name].add(target)
    return graph


def _executed(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: Container[str]
) -> list[str]:
    """The modules an import statement needs: ``from bot.handlers import cards`` needs the
    submodule ``bot.handlers.cards``; ``from bot.content.cards import esc`` needs
    ``bot.content.cards``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".")
        anchor = parts if is_package else parts[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return [
        f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
        for alias in node.names
    ]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state:
            cycle = visit(name)
            if cycle:
                return cycle
    return None


def test_the_checker_sees_a_cycle_and_a_lazy_import() -> None:
    source = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(source) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    tree = ast.parse("def f():\n    from bot import i18n\nif TYPE_CHECKING:\n    import x\n")
    assert [_targets(node, "bot.m", False, {"bot.i18n"}) for node in _executed(tree)] == [
        ["bot.i18n"]
    ]


def test_no_import_cycle_in_the_package() -> None:
    graph = import_graph()
    assert len(graph) > 20  # the whole package was read
    assert find_cycle(graph) is None


def _external_imports(module: str) -> set[str]:
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.is_file():  # a package
        path = ROOT / module.replace(".", "/") / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names = set()
    for node in _executed(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_the_schedule_runs_without_telegram() -> None:
    """bot.reminders.schedule, and everything of bot/ it imports, never imports
    python-telegram-bot: the rules of when a reminder falls due are tested with plain datetimes."""
    graph = import_graph()
    reached, pending = set(), ["bot.reminders.schedule"]
    while pending:
        module = pending.pop()
        if module not in reached:
            reached.add(module)
            pending.extend(graph[module])
    assert "bot.store.models" in reached  # the walk follows imports
    assert {module for module in reached if "telegram" in _external_imports(module)} == set()


SHARED = {"config", "context", "i18n", "callbacks", "memo", "logs", "zones"}
"""Small modules every part of the bot may import; they import only each other."""

ROOT_MODULES = {"app", "__main__"}
"""The composition root: builds the bot from every part, imported by none."""

ALLOWED = {
    "handlers": {"ops", "reminders", "protests", "content", "telegram", "store", "privacy"},
    "reminders": {"ops", "protests", "telegram", "store", "content"},
    "protests": {"store", "content"},
    "privacy": {"ops", "store", "content"},
    "site": {"content", "protests", "reminders"},
    "webhook": {"ops"},
    "ops": {"telegram", "store"},
    "telegram": {"store"},
    "store": {"content"},
    "content": set(),
}
"""The parts of ``bot`` (a package or a top-level module) and the parts each may import:
a declared graph, checked below to have no cycle and to hold every import in the code."""


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_the_declared_graph_has_no_cycle() -> None:
    assert find_cycle({part: targets - SHARED for part, targets in ALLOWED.items()}) is None
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]  # the check can fail


def test_every_import_follows_the_declared_graph() -> None:
    graph = import_graph()
    parts = {_part(module) for module in graph} - {"__init__"}
    assert parts == SHARED | ROOT_MODULES | set(ALLOWED), "every part of bot/ is declared"
    allowed = {**{name: SHARED for name in SHARED}, **ALLOWED}
    outside = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if (source := _part(module)) not in ROOT_MODULES
        and (part := _part(target)) != source
        and part != "__init__"
        and not (part in SHARED and source not in SHARED)
        and part not in allowed.get(source, set())
    )
    assert outside == []


def _is_module(dotted: str) -> bool:
    try:
        return importlib.util.find_spec(dotted) is not None
    except (ImportError, ValueError):  # a name in a module, not a module
        return False


def test_no_module_is_imported_under_another_name() -> None:
    """``from bot.handlers import panel as settings`` hid what a module is called; in the
    bot's own code a library's module keeps its name too (``filters``, not ``tg_filters``).
    The tests may use a library's customary short name (``strategies as st``)."""
    renamed = []
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
        in_bot = path.is_relative_to(ROOT / "bot")
        for node in _executed(ast.parse(path.read_text(encoding="utf-8"))):
            aliases: list[tuple[str, ast.alias]] = []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                aliases = [(f"{node.module}.{alias.name}", alias) for alias in node.names]
            elif isinstance(node, ast.Import):
                aliases = [(alias.name, alias) for alias in node.names]
            for dotted, alias in aliases:
                if not alias.asname or alias.asname == dotted.rpartition(".")[2]:
                    continue
                full = dotted.replace(".", "/")
                ours = (ROOT / f"{full}.py").is_file() or (ROOT / full / "__init__.py").is_file()
                if ours or (in_bot and _is_module(dotted)):
                    renamed.append(f"{path.relative_to(ROOT)}: {alias.name} as {alias.asname}")
    assert renamed == []
