"""`python -m bot` with no token: the sandbox a newcomer meets first, end to end."""

import os
import subprocess
import sys


def test_no_token_starts_the_sandbox(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        input="/start\n/prisoner тулетаева\n/quit\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "@BotFather" in lines[0]
    assert "Zhanaozen: facts and reminders" in result.stdout
    assert "Roza Tuletaeva" in result.stdout
    assert "Traceback" not in result.stderr


def test_sandbox_speaks_russian(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--lang", "ru"],
        input="/start\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Жанаозен: факты и напоминания" in result.stdout
