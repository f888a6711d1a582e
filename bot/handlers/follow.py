"""🔔 Follow under a card (pressed: ``handlers.cards.on_follow``): the chat hears of news in
that case (``bot.reminders.news``), once, at its reminder hour. The same button stops it; the
reminder settings list what the chat follows, each with a button to stop. In a group only its
administrators may change this, as with reminders. What is stored is the card id against the
chat, nothing else.
"""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks
from bot.content.cards import esc, shorten
from bot.content.library import Library
from bot.context import BotContext
from bot.handlers import panel
from bot.handlers.replies import action_button, reply
from bot.i18n import Translator
from bot.reminders import choices

ACTION = callbacks.FOLLOW
LABEL_LIMIT = 40
"""Characters of a card's name on a "stop following" button."""


def follow_button(
    tr: Translator, card_id: str, following: bool, page: int = 0
) -> InlineKeyboardButton:
    """ "🔔 Follow", or "🔕 Stop following" once the chat follows the card; ``page``: the
    card's page it is under, redrawn with the other button after a press."""
    if following:
        return action_button(ACTION, tr.gettext("🔕 Stop following"), "off", card_id, page)
    return action_button(ACTION, tr.gettext("🔔 Follow"), "on", card_id, page)


# The list in the reminder settings -----------------------------------------------------------


def case_name(tr: Translator, library: Library, card_id: str) -> str:
    """The card's name; its id if the editors have since removed it (still stoppable)."""
    card = library.get(card_id)
    return card.name.get(tr.language) if card else card_id


def follows_text(tr: Translator, library: Library, follows: list[str]) -> str:
    _ = tr.gettext
    heading = _("Cases you follow")  # outside the f-string, where Babel finds it
    lines = [f"<b>{esc(heading)}</b>"]
    names = [case_name(tr, library, card_id) for card_id in follows]
    if names:
        lines += [f"• {esc(name)}" for name in names]
        lines += [
            "",
            esc(
                _(
                    "We tell you of news in these cases at your reminder hour. "
                    "Press a case to stop following it."
                )
            ),
        ]
    else:
        lines.append(
            esc(
                _("You follow no case. Press 🔔 Follow under a card to hear of news in that case.")
            )
        )
    return "\n".join(lines)


def follows_markup(tr: Translator, library: Library, follows: list[str]) -> InlineKeyboardMarkup:
    rows = [
        [
            action_button(
                ACTION,
                "🔕 " + shorten(case_name(tr, library, card_id), LABEL_LIMIT),
                "stop",
                card_id,
            )
        ]
        for card_id in follows
    ]
    rows.append([action_button(callbacks.SETTINGS, tr.gettext("◂ Back"), "menu")])
    return InlineKeyboardMarkup(rows)


async def show_follows(update: Update, context: BotContext) -> None:
    tr = context.tr(update)
    follows = panel.current(update, context, tr).follows
    await reply(
        update,
        context,
        follows_text(tr, context.library, follows),
        follows_markup(tr, context.library, follows),
        edit=True,
    )


on_list = panel.opens(show_follows)


@panel.panel_button
async def on_stop(
    update: Update, context: BotContext, query: CallbackQuery, data: callbacks.Callback
) -> None:
    """A case in the list pressed: no longer followed; the list is redrawn without it."""
    tr = context.tr(update)
    changed = choices.with_follow(
        panel.current(update, context, tr), data.args.get("id", ""), False
    )
    if changed is not None:
        await panel.save(context, changed)
    await query.answer(tr.gettext("No longer following this case."))
    await show_follows(update, context)
