"""Configuration: good values load, each bad value names its variable in one line."""

import subprocess
import sys

import pytest

from bot.config import ConfigError, load_config


def test_defaults(tmp_path):
    config = load_config({"BOT_DATA_DIR": str(tmp_path / "d")})
    assert config.sandbox
    assert config.base_url == "https://api.telegram.org/bot"
    assert (tmp_path / "d").is_dir()


def test_full_configuration(tmp_path):
    config = load_config(
        {
            "BOT_TOKEN": "123456:ABCdef_ghi-JKL",
            "BOT_API_URL": "http://127.0.0.1:8081/",
            "BOT_DATA_DIR": str(tmp_path),
            "BOT_ADMIN_IDS": "1, 22,333",
            "BOT_WEBHOOK_URL": "https://example.org/hook",
            "PORT": "8443",
        }
    )
    assert config.base_url == "http://127.0.0.1:8081/bot"
    assert config.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert config.admin_ids == {1, 22, 333}
    assert config.port == 8443
    assert "ABCdef" not in repr(config)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"BOT_ADMIN_IDS": "12,abc"}, "BOT_ADMIN_IDS"),
        ({"BOT_ADMIN_IDS": "²"}, "BOT_ADMIN_IDS"),
        ({"BOT_API_URL": "api.telegram.org"}, "BOT_API_URL"),
        ({"BOT_API_URL": "ftp://x"}, "BOT_API_URL"),
        ({"BOT_TOKEN": "not a token"}, "BOT_TOKEN"),
        ({"PORT": "eighty"}, "PORT"),
        ({"BOT_WEBHOOK_URL": "http://insecure.example"}, "BOT_WEBHOOK_URL"),
        ({"BOT_WEBHOOK_URL": "https://ok.example"}, "PORT"),
    ],
)
def test_bad_values_name_the_variable(tmp_path, env, variable):
    with pytest.raises(ConfigError, match=variable):
        load_config({"BOT_DATA_DIR": str(tmp_path), **env})


def test_unwritable_data_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="BOT_DATA_DIR"):
        load_config({"BOT_DATA_DIR": str(blocker / "sub")})


def test_bad_value_stops_start_up_with_one_line(tmp_path):
    env = {"BOT_ADMIN_IDS": "x1", "BOT_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "bot"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "BOT_ADMIN_IDS" in lines[0]
    assert "Traceback" not in result.stderr


def test_webhook_path_does_not_reveal_the_secret_header(tmp_path):
    """The path is logged by routers and proxies; the header is what authenticates Telegram."""
    from bot.__main__ import webhook_path_and_secret

    env = {
        "BOT_TOKEN": "123456:ABCdef_ghi-JKL",
        "BOT_DATA_DIR": str(tmp_path),
        "BOT_WEBHOOK_URL": "https://example.org",
        "PORT": "8443",
    }
    path, secret = webhook_path_and_secret(load_config(env))
    assert path and secret and path != secret
    assert path not in secret and secret not in path
    assert "ABCdef" not in path + secret, "the token itself stays out of both"
    # Stable across restarts, yet the path cannot be turned into the header.
    assert webhook_path_and_secret(load_config(env)) == (path, secret)
    chosen = "s3cret-from-the-operator_0123456789"
    path2, secret2 = webhook_path_and_secret(load_config({**env, "BOT_WEBHOOK_SECRET": chosen}))
    assert (path2, secret2) == (path, chosen)
    with pytest.raises(ConfigError, match="BOT_WEBHOOK_SECRET"):
        load_config({**env, "BOT_WEBHOOK_SECRET": "short"})
