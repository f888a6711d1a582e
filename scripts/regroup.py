"""The regrouping of December 2026 (issue #26), as a script: run once on a clean tree.

``python scripts/regroup.py`` moves modules with ``git mv`` and rewrites every reference to
them (imports, dotted paths in strings, file paths in comments and documents), so the commit
it makes is renames plus import lines: no behaviour changes. Where a module gets a new name,
a module that imported it keeps its old local name for now (``import panel as settings``); the
next commit removes those names one by one, where it can be checked that no local variable
shadows them. Kept in the repository so that ``git blame`` readers can see what moved where.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MOVES = {
    # the send path: what every message passes through, with no feature knowledge
    "bot/transport.py": "bot/telegram/transport.py",
    "bot/reminders/send_budget.py": "bot/telegram/budget.py",
    "bot/reminders/pacing.py": "bot/telegram/clocks.py",
    "bot/reminders/fanout.py": "bot/telegram/fanout.py",
    "bot/fairness.py": "bot/telegram/fairness.py",
    # a chat's clock, shared by reminders, protests and handlers
    "bot/reminders/zones.py": "bot/zones.py",
    # operations
    "bot/health.py": "bot/ops/health.py",
    "bot/alerts.py": "bot/ops/alerts.py",
    "bot/store/safekeeping.py": "bot/ops/backups.py",
    # announced protests get a home (split into model, repository and wording next)
    "bot/reminders/protests.py": "bot/protests/repository.py",
    "bot/reminders/protest_form.py": "bot/protests/form.py",
    # reminders: the service that plans and sweeps
    "bot/reminders/jobs.py": "bot/reminders/service.py",
    # inline mode's ranking is content's; the sandbox needs the emulator
    "bot/sharing.py": "bot/content/inline.py",
    "bot/sandbox.py": "emulator/sandbox.py",
    # handlers: names that say what the module holds
    "bot/handlers/common.py": "bot/handlers/replies.py",
    "bot/handlers/permissions.py": "bot/handlers/access.py",
    "bot/handlers/flows.py": "bot/handlers/conversations.py",
    "bot/handlers/settings.py": "bot/handlers/panel.py",
    "bot/handlers/admin.py": "bot/handlers/organisers.py",
    "bot/handlers/admin_broadcast.py": "bot/handlers/broadcast.py",
    "bot/handlers/admin_reports.py": "bot/handlers/reports.py",
    "bot/handlers/admin_edit.py": "bot/handlers/event_edit.py",
    "bot/handlers/admin_message.py": "bot/handlers/event_message.py",
    "bot/handlers/sharing.py": "bot/handlers/inline.py",
}

NEW_PACKAGES = {
    "bot/telegram/__init__.py": '"""What every message passes through: the HTTP transport, '
    "the send budget and its clocks,\nthe fan-out, fair shares of incoming updates. No feature "
    "knowledge "
    '(a card, a protest).\n"""\n',
    "bot/ops/__init__.py": '"""Keeping the bot running and its data safe: health checks, alerts '
    'to the operator, the\ndaily backup and restore-at-start.\n"""\n',
    "bot/protests/__init__.py": '"""Announced protests: the model, where they are stored, the '
    'organisers\' form, and how\nthe bot words them.\n"""\n',
}

TEXT_SUFFIXES = {".py", ".md", ".toml", ".cfg", ".txt", ".yaml", ".yml", ".sh", ".service", ""}


def dotted(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


MODULES = {dotted(old): dotted(new) for old, new in MOVES.items()}
IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)from (?P<package>[\w.]+) import (?P<names>\([^)]*\)|[^\n#]+)",
    re.MULTILINE,
)


def rewrite_from_imports(text: str) -> str:
    """``from bot.reminders import jobs, protests`` -> one statement per new package."""

    def replace(match: re.Match[str]) -> str:
        package, indent = match["package"], match["indent"]
        names = match["names"].strip().strip("()")
        items = [item.strip() for item in names.replace("\n", " ").split(",") if item.strip()]
        if not any(f"{package}.{item.split(' as ')[0].strip()}" in MODULES for item in items):
            return match[0]
        by_package: dict[str, list[str]] = {}
        for item in items:
            name, _, alias = (part.strip() for part in item.partition(" as "))
            target = MODULES.get(f"{package}.{name}")
            if target is None:
                by_package.setdefault(package, []).append(item)
                continue
            new_package, new_name = target.rsplit(".", 1)
            local = alias or name
            entry = new_name if local == new_name else f"{new_name} as {local}"
            by_package.setdefault(new_package, []).append(entry)
        return "\n".join(
            f"{indent}from {pkg} import {', '.join(entries)}"
            for pkg, entries in by_package.items()
        )

    return IMPORT.sub(replace, text)


def rewrite_paths(text: str) -> str:
    """Dotted module paths (``bot.reminders.fanout.FanOut``, in code and in strings) and file
    paths (``bot/reminders/fanout.py``)."""
    for old, new in sorted(MODULES.items(), key=lambda item: -len(item[0])):
        text = re.sub(rf"(?<![\w.]){re.escape(old)}(?!\w)", new, text)
    for old, new in sorted(MOVES.items(), key=lambda item: -len(item[0])):
        text = re.sub(rf"(?<![\w/.]){re.escape(old)}", new, text)
    return text


def tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    skip = ("locales/", "tests/fixtures/", "scripts/regroup.py", "content/")
    return [
        ROOT / name
        for name in names
        if Path(name).suffix in TEXT_SUFFIXES
        and not name.startswith(skip)
        and (ROOT / name).is_file()
    ]


def main() -> int:
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    if status.strip():
        print("The tree has changes: commit or stash them first.", file=sys.stderr)
        return 1
    for old, new in MOVES.items():
        (ROOT / new).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "mv", old, new], cwd=ROOT, check=True)
    for path, docstring in NEW_PACKAGES.items():
        (ROOT / path).write_text(docstring, encoding="utf-8")
        subprocess.run(["git", "add", path], cwd=ROOT, check=True)
    for path in tracked_text_files():
        text = path.read_text(encoding="utf-8")
        new = rewrite_paths(rewrite_from_imports(text) if path.suffix == ".py" else text)
        if new != text:
            path.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
