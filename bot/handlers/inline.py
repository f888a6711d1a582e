"""Inline mode and groups: cards one tap away from any chat, and a bot that behaves in groups.

Commands in groups need nothing here: CommandHandler already answers ``/card`` and
``/card@thisbot`` (and ignores ``/card@otherbot``), the fallbacks ignore group chatter, and
``reply()`` answers the message that asked.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import lru_cache

from telegram import (
    ChatMember,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError

from bot.content import inline
from bot.content.cards import esc
from bot.context import BotContext
from bot.handlers.replies import share_button
from bot.i18n import Translator, pick_language, translator
from bot.protests import shares

log = logging.getLogger(__name__)

GROUP_TYPES = (ChatType.GROUP, ChatType.SUPERGROUP)
PRESENT = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER)


def user_translator(update: Update, context: BotContext) -> Translator:
    """The querying user's language: their choice in the bot's private chat, else the app's.

    An inline query has no chat, so ``context.tr`` would ignore a saved choice; a user's
    private chat has the user's id.
    """
    user = update.effective_user
    if user is None:
        return translator(pick_language(None, None))
    settings = context.store.chat(user.id)
    return translator(pick_language(settings.language if settings else None, user.language_code))


async def inline_query(update: Update, context: BotContext) -> None:
    """Cards (and upcoming protests) matching the query, in the user's language, paged."""
    query = update.inline_query
    if query is None:
        return
    tr = user_translator(update, context)
    now = datetime.now(UTC)
    page = inline.inline_page(
        context.library,
        tr,
        context.bot_username,
        query.query,
        query.offset,
        now.date(),
        shares.event_shares(context.protests, now),
    )
    button = None
    if not page.items and not query.offset:
        button = InlineQueryResultsButton(
            text=tr.gettext("No card found. Open the bot"),
            start_parameter=inline.NO_RESULTS_PAYLOAD,
        )
    # is_personal: the same text gets different answers in English and in Russian.
    # The last page omits next_offset instead of sending "": with Defaults set, PTB 22.8 turns
    # every empty-string parameter into [] and Telegram would get the offset "[]".
    await query.answer(
        [article(item, tr.language) for item in page.items],
        cache_time=inline.CACHE_SECONDS,
        is_personal=True,
        next_offset=page.next_offset or None,
        button=button,
    )


@lru_cache(maxsize=2048)
def article(item: inline.SharedItem, language: str) -> InlineQueryResultArticle:
    """A result whose message carries a button back to the bot and one to share it on.

    Cached by value (PTB's objects are immutable): the same cards answer most queries.
    """
    tr = translator(language)
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(item.link_label, url=item.link)],
            [share_button(tr, item.share_query)],
        ]
    )
    return InlineQueryResultArticle(
        id=item.result_id,
        title=item.title,
        description=item.description,
        input_message_content=InputTextMessageContent(
            item.text,
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        reply_markup=markup,
    )


async def chosen_result(update: Update, context: BotContext) -> None:
    """Which card travelled (needs /setinlinefeedback); the card id only, never who shared."""
    chosen = update.chosen_inline_result
    if chosen is not None:
        log.info("card shared through inline mode: %s", chosen.result_id[:64])


def _present(member: ChatMember) -> bool:
    return member.status in PRESENT or (
        member.status == ChatMember.RESTRICTED and bool(getattr(member, "is_member", False))
    )


def joined(change: ChatMemberUpdated) -> bool:
    """True only for the change that put the bot into the chat, not for later promotions."""
    return not _present(change.old_chat_member) and _present(change.new_chat_member)


async def added_to_group(update: Update, context: BotContext) -> None:
    """Introduce the bot once, when it joins a group, in the language of whoever added it."""
    change = update.my_chat_member
    if change is None or change.chat.type not in GROUP_TYPES or not joined(change):
        return  # removed, promoted, restricted, or a channel: say nothing
    settings = context.store.chat(change.chat.id)
    tr = translator(
        pick_language(
            settings.language if settings else None,
            change.from_user.language_code if change.from_user else None,
        )
    )
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    tr.gettext("Open the bot"), url=f"https://t.me/{context.bot_username}"
                )
            ]
        ]
    )
    try:
        await context.bot.send_message(
            change.chat.id,
            group_welcome(tr, context.bot_username),
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
    except TelegramError as exc:  # e.g. the group does not let new members post
        log.warning("could not introduce the bot in a new group: %s", exc.__class__.__name__)


def group_welcome(tr: Translator, bot_username: str) -> str:
    """The one message the bot posts when added to a group: what it is and how to use it."""
    _ = tr.gettext
    bot = f"@{bot_username}"
    intro = _(
        "Hello! I am %(bot)s: sourced fact cards on the Zhanaozen massacre of 16 December "
        "2011 and on the Kazakh oil workers and activists jailed after it."
    ) % {"bot": bot}
    rows = [
        # The example name is in the reader's script, as /help has it.
        (
            _("/card@%(bot)s Tuletaeva") % {"bot": bot_username},
            _("puts a card into this group (a name, or a date like 16.12)"),
        ),
        (
            f"/subscribe@{bot_username}",
            _("reminders here before 16 December and before protests (group admins only)"),
        ),
        (f"/help@{bot_username}", _("everything I can do")),
    ]
    usage = "\n".join(f"• {esc(command)} — {esc(text)}" for command, text in rows)
    share = _(
        "From any chat, type %(bot)s and a name to share a card. I do not read your "
        "conversation: I only answer commands addressed to me."
    ) % {"bot": bot}
    return f"<b>{esc(intro)}</b>\n\n{usage}\n\n{esc(share)}"
