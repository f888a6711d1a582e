"""What ships: the wheel (and so the container image) holds the bot, not the Bot API
emulator, which is a test double of Telegram for the tests, the sandbox and the benchmarks."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_namespace_packages, find_packages

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_the_bot_and_not_the_emulator() -> None:
    """The packages setuptools puts in the wheel, found with pyproject.toml's own settings
    (``pip wheel .`` lists the same: bot and its subpackages)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found = pyproject["tool"]["setuptools"]["packages"]["find"]
    find = find_namespace_packages if found.get("namespaces", True) else find_packages
    packages = find(
        where=str(ROOT), include=found.get("include", ("*",)), exclude=found.get("exclude", ())
    )
    assert {
        "bot",
        *(f"bot.{name}" for name in ("handlers", "site", "content", "reminders", "store")),
    } <= set(packages)
    assert (ROOT / "emulator" / "__init__.py").is_file()  # a package, left out on purpose
    assert [name for name in packages if name.split(".")[0] != "bot"] == []
    assert not [name for name in packages if "emulator" in name.split(".")]
