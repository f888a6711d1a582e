"""``python -m bot``: run the bot (the sandbox when there is no token), or a maintenance task.

python -m bot                          run (BOT_TOKEN set) or open the local sandbox
python -m bot serve                    run; never the sandbox (containers, platforms, systemd)
python -m bot content check [--seeds DIR]   validate every content file and render every card
python -m bot content check --lang kk --missing   list the cards not yet in Kazakh
python -m bot content preview ID [--lang ru]   show a card as the bot would
python -m bot content stale [--years N]   people whose status is older than N years or unknown
python -m bot backup [FILE]            write a consistent snapshot of the store
python -m bot restore FILE             bring a snapshot back (checked first)
python -m bot site build [--out DIR]   write the static website and printable cards
python -m bot health                   exit 0 if polling and the reminder job beat recently
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Config, ConfigError, load_config
from bot.i18n import LANGUAGES
from bot.logs import configure_logging

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.store.repository import Store

log = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="task")
    content = sub.add_parser("content", help="check or preview the cards")
    content_sub = content.add_subparsers(dest="action", required=True)
    check = content_sub.add_parser("check", help="validate content and render every card")
    check.add_argument(
        "--seeds",
        type=Path,
        default=None,
        help="folder of the source articles (each source's seed_file): every "
        "English quotation must then be in its sources' words",
    )
    check.add_argument("--lang", choices=LANGUAGES, help="with --missing: the language asked")
    check.add_argument(
        "--missing",
        action="store_true",
        help="list the cards not yet written in --lang (for translators)",
    )
    preview = content_sub.add_parser("preview", help="render one card in the terminal")
    preview.add_argument("card_id", nargs="?", help="card id or name; all cards if omitted")
    preview.add_argument("--lang", choices=LANGUAGES, default="en")
    preview.add_argument("--html", action="store_true", help="show the raw HTML")
    stale = content_sub.add_parser(
        "stale", help="people whose status is older than N years or unknown, oldest first"
    )
    stale.add_argument("--years", type=int, default=2, help="how old is stale (default: 2)")
    backup = sub.add_parser("backup", help="write a snapshot of subscribers and settings")
    backup.add_argument("file", nargs="?", type=Path)
    restore = sub.add_parser("restore", help="restore a snapshot written by 'backup'")
    restore.add_argument("file", type=Path)
    sub.add_parser("serve", help="serve Telegram; a missing BOT_TOKEN is an error, not a sandbox")
    sub.add_parser("health", help="exit non-zero when polling or the reminder job is stale")
    sandbox = sub.add_parser("sandbox", help="open the local sandbox even if BOT_TOKEN is set")
    sandbox.add_argument("--lang", choices=LANGUAGES, default=None)
    site = sub.add_parser("site", help="the static website of the cards")
    site_sub = site.add_subparsers(dest="action", required=True)
    site_build = site_sub.add_parser("build", help="write the site into a folder")
    site_build.add_argument(
        "--out", type=Path, default=Path("public"), help="output folder (default: ./public)"
    )
    args = parser.parse_args(argv)

    if args.task == "content":
        from bot.content import cli

        if args.action == "stale":
            return cli.stale(args.years)
        if args.action == "check" and args.missing:
            if not args.lang:
                parser.error("--missing needs --lang (e.g. --lang kk)")
            return cli.missing(args.lang)
        return (
            cli.check(args.seeds)
            if args.action == "check"
            else cli.preview(args.card_id, args.lang, raw=args.html)
        )

    if args.task == "site":
        return build_site(args.out)

    configure_logging()
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2

    if args.task == "health":
        from bot.ops import health

        return health.main(config)
    if args.task == "backup":
        from bot.store.snapshots import backup as write_backup

        out = (
            write_backup(config.data_dir, args.file)
            if args.file
            else write_backup(config.data_dir, None)
        )
        print(f"Backup written to {out}")
        return 0
    if args.task == "restore":
        from bot.store.repository import StoreError
        from bot.store.snapshots import restore as restore_backup

        try:
            restore_backup(config.data_dir, args.file)
        except (StoreError, OSError, ValueError) as exc:
            print(f"Restore refused: {exc}", file=sys.stderr)
            return 2
        print(f"Restored {args.file} into {config.data_dir}")
        return 0
    if args.task == "serve" and config.sandbox:
        print(
            "Configuration error: BOT_TOKEN is not set (the token from @BotFather; "
            "see .env.example)",
            file=sys.stderr,
        )
        return 2
    if config.sandbox or args.task == "sandbox":
        try:
            from emulator.sandbox import run_sandbox
        except ModuleNotFoundError as exc:  # an installed wheel: the emulator is not in it
            if exc.name != "emulator":
                raise
            print(
                "The sandbox needs the local Bot API emulator (emulator/ in the repository): "
                "run it from a checkout, or set BOT_TOKEN to serve Telegram.",
                file=sys.stderr,
            )
            return 2

        checked = open_checked(config)
        if checked is None:
            return 2
        checked.close()  # the sandbox opens its own, on its own event loop
        return run_sandbox(config, language=getattr(args, "lang", None)) or 0
    return run_bot(config)


def build_site(out: Path) -> int:
    """Write the site; one clear line on bad content, settings or folder, not a traceback."""
    from bot.config import load_site_settings
    from bot.content.schema import ContentError
    from bot.site.build import build

    try:
        built = build(out, load_site_settings())
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    except ContentError as exc:
        print(f"Content error, the site was not built:\n{exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"The site was not built: {exc}", file=sys.stderr)
        return 2
    print(f"{len(built.pages)} pages and {len(built.files)} other files written to {built.out}")
    print(
        f"Look at it: open {built.out / 'index.html'} in a browser, or run "
        f"python -m http.server -d {built.out}"
    )
    return 0


def open_checked(config: Config) -> Store | None:
    """The store, holding the content of ``content/`` once both are known to load; else None
    after one clear message (never a traceback, never a silent reset).

    The files are parsed and checked only when they changed since the store took them in
    (``content_fingerprint``); what is parsed here is stored with its fingerprint, so the
    bot's own start finds it there and parses nothing again."""
    from bot.content.library import content_documents
    from bot.content.loading import CONTENT_DIR, content_fingerprint, load_content
    from bot.content.schema import ContentError
    from bot.store.repository import Store, StoreError

    root = config.content_dir or CONTENT_DIR
    store = None
    try:
        store = Store.open(config.data_dir)
        fingerprint = content_fingerprint(root)
        if store.content_fingerprint() != fingerprint:
            store.sync_content(content_documents(load_content(root)), fingerprint)
        return store
    except ContentError as exc:
        print(f"Content error, the bot did not start:\n{exc}", file=sys.stderr)
    except StoreError as exc:
        print(f"Data error, the bot did not start: {exc}", file=sys.stderr)
    if store is not None:
        store.close()
    return None


def run_bot(config: Config) -> int:
    """Serve Telegram: long polling, or a webhook when BOT_WEBHOOK_URL and PORT are set."""
    from telegram.error import InvalidToken

    from bot.app import build_application
    from bot.handlers import ALLOWED_UPDATES
    from bot.ops import backups, health

    try:
        backups.restore_if_empty(config)
    except backups.RestoreError as exc:
        print(f"Restore error, the bot did not start: {exc}", file=sys.stderr)
        return 2
    backups.warn_if_ephemeral(config.data_dir)
    store = open_checked(config)
    if store is None:
        return 2
    application = build_application(config, store)  # the content is in the store: not parsed again
    try:
        serve(application, config, ALLOWED_UPDATES)
    except InvalidToken:  # its message quotes the token: never let it reach a traceback
        print(
            "BOT_TOKEN was rejected by Telegram; copy it again from @BotFather.", file=sys.stderr
        )
        return 2
    if health.was_refused(application):
        return health.SECOND_INSTANCE_EXIT
    log.info("stopped cleanly")
    return 0


def webhook_path_and_secret(config: Config) -> tuple[str, str]:
    """The URL path and the secret header, independent of each other.

    The path shows up wherever requests are logged (a platform router, a proxy); the header
    is what proves a call comes from Telegram, so nothing in the path may reveal it. Both
    are keyed hashes of the token under different labels (stable across restarts, the token
    never in either), unless BOT_WEBHOOK_SECRET gives the header outright.
    """
    assert config.token, "a webhook is only served with the bot's token"
    key = config.token.encode()
    path = hmac.new(key, b"zhanaozen-bot webhook path", hashlib.sha256).hexdigest()[:32]
    secret = (
        config.webhook_secret
        or hmac.new(key, b"zhanaozen-bot webhook secret_token", hashlib.sha256).hexdigest()
    )
    return path, secret


def serve(application: Application, config: Config, allowed_updates: list[str]) -> None:
    if config.webhook_url:
        if config.port is None:
            raise SystemExit("BOT_WEBHOOK_URL is set but PORT is not: the webhook needs a port")
        path, secret = webhook_path_and_secret(config)
        import asyncio

        from bot import webhook

        asyncio.run(
            webhook.serve(
                application,
                listen="0.0.0.0",
                port=config.port,
                path=path,
                secret=secret,
                webhook_url=f"{config.webhook_url}/{path}",
                allowed_updates=allowed_updates,
            )
        )
    else:
        application.run_polling(allowed_updates=allowed_updates)


if __name__ == "__main__":
    sys.exit(main())
