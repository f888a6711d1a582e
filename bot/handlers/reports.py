"""/stats and /backup, for the organisers (``handlers.organisers.allowed``)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

from telegram import InputFile, Update

from bot.content.cards import esc
from bot.context import BotContext
from bot.handlers.organisers import allowed
from bot.handlers.replies import reply
from bot.i18n import N_, Translator
from bot.ops import backups
from bot.protests import model, wording
from bot.store import snapshots

DELIVERY_LABELS = {
    "pending": N_("being sent"),
    "sent": N_("delivered"),
    "failed": N_("failed"),
    "skipped": N_("skipped"),
    "uncertain": N_("outcome unknown"),
}
"""The store's delivery states in words an organiser reads (the keys are storage codes)."""
TOPIC_LABELS = {"all": N_("all anniversaries"), "dec16": N_("only 16 December")}


def _card_name(context: BotContext, card_id: str, tr: Translator) -> str:
    card = context.library.get(card_id)
    return card.name.get(tr.language) if card else card_id


async def stats(update: Update, context: BotContext) -> None:
    if not await allowed(update, context):
        return
    await reply(update, context, stats_text(context.tr(update), context))


def stats_text(tr: Translator, context: BotContext) -> str:
    _ = tr.gettext
    store = context.store
    subscribers = store.subscribers()

    def counted(counter: Counter, limit: int = 10) -> str:
        return ", ".join(f"{esc(str(key))}: {count}" for key, count in counter.most_common(limit))

    deliveries = store.deliveries.counts()
    upcoming = model.upcoming(context.protests.all(), datetime.now(UTC))
    heading = _("Statistics")
    lines = [
        f"<b>{esc(heading)}</b>",
        esc(
            _("Chats: %(chats)d, subscribed: %(subs)d")
            % {"chats": store.chat_count(), "subs": len(subscribers)}
        ),
        esc(_("By language:")) + " " + counted(Counter(s.language or "?" for s in subscribers)),
        esc(_("By topic:"))
        + " "
        + counted(Counter(_(TOPIC_LABELS.get(s.topics, s.topics)) for s in subscribers)),
        esc(_("By time zone:")) + " " + counted(Counter(s.timezone for s in subscribers)),
        esc(_("Deliveries:"))
        + " "
        + ", ".join(
            f"{esc(_(DELIVERY_LABELS.get(state, state)))}: {count}"
            for state, count in deliveries.items()
        ),
        esc(_("Upcoming protests: %(num)d") % {"num": len(upcoming)}),
    ]
    # Counts only: the marks behind them are keyed hashes that name nobody.
    lines.extend(
        f"• {esc(wording.short_line(tr, event))} — ✋ "
        + esc(wording.coming_line(tr, store.marks.coming_count(event.id)))
        for event in upcoming[: wording.MAX_LISTED]
    )
    follows = Counter(store.follow_counts())
    if follows:  # how many chats follow each case: counts, never who
        named = Counter(
            {_card_name(context, card_id, tr): count for card_id, count in follows.items()}
        )
        lines.append(esc(_("Chats following each case:")) + " " + counted(named, 20))
    lines.extend(esc(line) for line in backups.stats_lines(tr, context.config))
    return "\n".join(lines)


async def backup(update: Update, context: BotContext) -> None:
    """A snapshot, encrypted to the backup key in the settings, or a refusal without one.

    A plain snapshot lists every subscriber's chat and time zone; in an admin's Telegram cloud
    it would outlive any phone and be handed over with a phished account. Plain snapshots
    are for the server's command line (``python -m bot backup``).
    """
    if not await allowed(update, context):
        return
    tr = context.tr(update)
    recipient = context.config.backup_recipient
    if recipient is None:
        await reply(
            update,
            context,
            esc(
                tr.gettext(
                    "Backups are not sent over Telegram unencrypted. Set BOT_BACKUP_AGE_RECIPIENT "
                    "to "
                    "an age public key to receive encrypted ones, or run “python -m bot backup” "
                    "on "
                    "the server."
                )
            ),
        )
        return
    chat = update.effective_chat
    assert chat is not None
    tables = context.store.snapshot_tables()  # consistent, and cheap on the event loop
    sealed = await asyncio.to_thread(snapshots.encrypt_snapshot, recipient, tables)
    name = f"snapshot-{datetime.now(UTC):%Y%m%d-%H%M%S}{snapshots.AGE_SUFFIX}"
    await context.bot.send_document(
        chat.id,
        InputFile(sealed, filename=name),
        caption=esc(
            tr.gettext(
                "Snapshot of the bot's data, encrypted to the backup key. "
                "Decrypt it with: age -d -i key.txt"
            )
        ),
    )
