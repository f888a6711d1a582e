"""Commands and buttons that show cards: /start, /help, lists, single cards, /today."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from babel.dates import format_date
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks
from bot.content.cards import CardRenderer, esc, heading
from bot.content.dates import DateQuery
from bot.content.library import PEOPLE_KINDS
from bot.content.lists import PAGE_SIZE, card_buttons, list_page
from bot.content.schema import Card
from bot.context import BotContext
from bot.handlers import panel
from bot.handlers.follow import follow_button
from bot.handlers.protests import show_protests
from bot.handlers.replies import (
    command_argument,
    main_menu,
    pressed,
    reply,
    share_button,
    stale_button,
)
from bot.i18n import N_, Translator
from bot.protests.shares import EVENTS_PAYLOAD
from bot.reminders import choices, service
from bot.zones import delivery_hour

PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""Telegram's rule for /start payloads (``create_deep_linked_url`` makes only these)."""


async def start(update: Update, context: BotContext) -> None:
    """Welcome and main menu, or the card a deep link points at."""
    payload = command_argument(context)
    if payload and PAYLOAD_RE.fullmatch(payload):
        # "/start fix-<card>" is the correction conversation's (handlers.corrections).
        if payload == EVENTS_PAYLOAD:  # a shared protest links to the list
            await show_protests(update, context)
            return
        card = context.library.get(payload.lower())
        if card is not None:
            await send_card(update, context, card)
            return
    tr = context.tr(update)
    _ = tr.gettext
    text = (
        heading(_("Zhanaozen: facts and reminders"))
        + "\n\n"
        + esc(
            _(
                "On 16 December 2011 police fired on striking oil workers in Zhanaozen, western "
                "Kazakhstan. Dozens of workers and supporters were then tried and jailed."
            )
        )
        + "\n\n"
        + esc(
            _(
                "This bot gives sourced fact cards on the prisoners, on those who died and on "
                "the anniversaries, reminds you before 16 December and before protests, and lets "
                "you share any card into a group."
            )
        )
        + "\n\n"
        + esc(_("Choose below, or just type a name or a date."))
    )
    await reply(update, context, text, main_menu(tr))


async def help_command(update: Update, context: BotContext) -> None:
    """What every command does, in the user's language."""
    tr = context.tr(update)
    await reply(update, context, help_text(tr, context.bot_username), main_menu(tr))


def help_text(tr: Translator, bot_username: str) -> str:
    _ = tr.gettext
    rows = [
        ("/prisoners", _("list of prisoners and the persecuted")),
        ("/prisoner", _("one card, e.g. /prisoner Tuletaeva")),
        ("/anniversaries", _("the calendar, next date first")),
        ("/anniversary", _("one anniversary, e.g. /anniversary 16.12")),
        ("/today", _("what happened on this day")),
        ("/subscribe", _("reminders before 16 December and protests")),
        ("/settings", _("your reminder settings")),
        ("/timezone", _("your time zone for reminders")),
        ("/protests", _("upcoming protests")),
        ("/calendar", _("a calendar file for your phone")),
        ("/language", _("English, Russian or Kazakh")),
        (
            "/channel",
            _("reminders for a channel you administer: in a private chat with me, /channel @name"),
        ),
        ("/privacy", _("what the bot stores about this chat, and for how long")),
        ("/forget", _("delete everything the bot stores about this chat")),
    ]
    lines = [f"{command} — {esc(description)}" for command, description in rows]
    share = _("To share a card in any chat, tap Share under it, or type @%(bot)s and a name.")
    follow = _("To hear of news in a case, press 🔔 Follow under its card.")
    return (
        heading(_("Commands"))
        + "\n"
        + "\n".join(lines)
        + "\n\n"
        + esc(share % {"bot": bot_username})
        + "\n"
        + esc(follow)
    )


async def prisoners(update: Update, context: BotContext) -> None:
    """Paged list of prisoner and memorial cards."""
    await send_list(update, context, "p", 0)


async def anniversaries(update: Update, context: BotContext) -> None:
    """The calendar of anniversaries, next upcoming first."""
    await send_list(update, context, "a", 0)


async def prisoner(update: Update, context: BotContext) -> None:
    """One person's card, found by any spelling of the name."""
    await find_and_send(update, context, command_argument(context), PEOPLE_KINDS, "p")


async def anniversary(update: Update, context: BotContext) -> None:
    """One anniversary card, by name or by date."""
    await find_and_send(update, context, command_argument(context), ("anniversary",), "a")


async def card_command(update: Update, context: BotContext) -> None:
    """Any card by name, e.g. /card Tuletaeva posted in a group puts the card there."""
    await find_and_send(update, context, command_argument(context), None, "p")


async def today(update: Update, context: BotContext) -> None:
    """What happened on today's date; else the next anniversary."""
    tr = context.tr(update)
    now = datetime.now(UTC).date()
    cards = context.library.on_day(now.month, now.day)
    if cards:
        for card in cards:
            await send_card(update, context, card)
        return
    calendar = context.library.calendar(now)
    if not calendar:
        await reply(update, context, esc(tr.gettext("No anniversaries are recorded yet.")))
        return
    upcoming = calendar[0]
    next_date = (
        tr.gettext(
            "Nothing in the record happened on this day. The next anniversary is "
            "%(name)s, %(when)s."
        )
        if upcoming.card.commemorated
        # A statement or a visit is on the calendar but is no anniversary people mark.
        else tr.gettext(
            "Nothing in the record happened on this day. The next dated event is "
            "%(name)s, %(when)s."
        )
    )
    text = esc(
        next_date
        % {"name": upcoming.card.name.get(tr.language), "when": tr.days_until(upcoming.days_away)}
    )
    await reply(update, context, text)
    await send_card(update, context, upcoming.card)


async def find_and_send(
    update: Update, context: BotContext, query: str, kinds: tuple[str, ...] | None, list_kind: str
) -> None:
    """The one search's answer (``Library.search``): a card, a short choice, a date's
    nearest cards, a kind word for a greeting, or "not found" with guesses."""
    tr = context.tr(update)
    _ = tr.gettext
    if not query:
        await send_list(update, context, list_kind, 0)
        return
    result = context.library.search(query, kinds)
    if result.intent is not None:
        await answer_intent(update, context, result.intent)
        return
    if result.cards and result.opens:
        await send_card(update, context, result.cards[0])
        return
    if result.cards:
        text = (
            _("Cards from %(when)s:") % {"when": asked_date(tr, result.date)}
            if result.date
            else _("Several cards match. Which one?")
        )
        await reply(update, context, esc(text), card_buttons(list(result.cards[:PAGE_SIZE]), tr))
        return
    if result.nearest:
        text = esc(
            _("No card is dated %(when)s. The nearest dated cards:")
            % {"when": asked_date(tr, result.date)}
        )
        for card in result.nearest:
            when, name = tr.partial_date(card.date or ""), card.name.get(tr.language)
            text += f"\n• {esc(when)} — {esc(name)}"
        await reply(update, context, text, card_buttons(list(result.nearest), tr))
        return
    text = esc(_("I found no card for “%(query)s”.") % {"query": query})
    if result.suggestions:
        text += "\n" + esc(_("Did you mean one of these?"))
        await reply(update, context, text, card_buttons(list(result.suggestions), tr))
    else:
        text += "\n" + esc(_("Try a surname, a date like 16.12, or open the list."))
        await reply(update, context, text, main_menu(tr))


INTENT_REPLIES = {
    "greeting": N_(
        "Hello! I have sourced cards on the Zhanaozen prisoners, on those who died "
        "and on the anniversaries. Type a name or a date, or choose below."
    ),
    "thanks": N_("You are welcome. Type a name or a date whenever you like, or choose below."),
    "ack": N_("Type a name (for example Tuletaeva) or a date (16 December), or choose below."),
}


async def answer_intent(update: Update, context: BotContext, intent: str) -> None:
    """A greeting, thanks, "help" or "ok": a short answer and the menu, never a card."""
    tr = context.tr(update)
    if intent == "help":
        await reply(update, context, help_text(tr, context.bot_username), main_menu(tr))
        return
    text = tr.gettext(INTENT_REPLIES.get(intent, INTENT_REPLIES["ack"]))
    await reply(update, context, esc(text), main_menu(tr))


def asked_date(tr: Translator, asked: DateQuery | None) -> str:
    """The date or month a query asked for, as the reader writes it ("4 June", «июнь 2012»)."""
    if asked is None:
        return ""
    if asked.day is None:
        pattern = "LLLL y" if asked.year else "LLLL"
        return format_date(date(asked.year or 2000, asked.month, 1), pattern, locale=tr.locale)
    pattern = "d MMMM y" if asked.year else "d MMMM"
    return format_date(date(asked.year or 2000, asked.month, asked.day), pattern, locale=tr.locale)


async def send_card(
    update: Update, context: BotContext, card: Card, page: int = 0, *, edit: bool = False
) -> None:
    tr = context.tr(update)
    rendered = CardRenderer(context.library, tr, context.bot_username).render(card)
    page = max(0, min(page, len(rendered.pages) - 1))
    chat = update.effective_chat
    settings = context.store.chat(chat.id) if chat else None
    following = settings is not None and card.id in settings.follows
    markup = card_keyboard(card, tr, page, len(rendered.pages), following)
    await reply(update, context, rendered.pages[page], markup, edit=edit)


async def open_card(update: Update, context: BotContext) -> None:
    """A card button (``card:<id>``), or a page turn (``card:<id>:<page>``)."""
    query, button = pressed(update, context)
    card = context.library.get(button.args["id"])
    if card is None:  # a card since removed from the content
        await stale_button(update, context)
        return
    await query.answer()
    # Page turns edit in place; opening a card from a list sends a new message to keep the
    # list usable.
    await send_card(update, context, card, button.int("page"), edit="page" in button.args)


@panel.panel_button
async def on_follow(
    update: Update, context: BotContext, query: CallbackQuery, data: callbacks.Callback
) -> None:
    """🔔 Follow or 🔕 Stop following under a card: the button turns into the other one."""
    card = context.library.get(data.args.get("id", ""))
    if card is None:
        await stale_button(update, context)
        return
    tr = context.tr(update)
    follow = data.args["op"] == "on"
    settings = panel.current(update, context, tr)
    changed = choices.with_follow(settings, card.id, follow)
    if changed is not None:
        reminder_service = service.service(context.application)
        if follow and reminder_service is not None:
            await reminder_service.settle_before_following(changed.chat_id, card.id)
        await panel.save(context, changed)
        settings = changed
    if card.id in settings.follows:
        note = tr.gettext(
            "Following. We will tell you of news in this case at %(hour)02d:00 (%(zone)s)."
        ) % {"hour": delivery_hour(settings.hour), "zone": settings.timezone}
    elif follow:  # as many cards as a chat may follow
        note = tr.gettext("You follow too many cases already: stop one in /settings.")
    else:
        note = tr.gettext("No longer following this case.")
    await query.answer(note)
    # The page is drawn again with the other button (an edit of the keyboard alone would
    # carry PTB's default parse_mode, a parameter editMessageReplyMarkup does not have).
    await send_card(update, context, card, data.int("page"), edit=True)


async def open_list(update: Update, context: BotContext) -> None:
    """A list's page (``list:<kind>[:<page>]``), in place of the one pressed."""
    query, button = pressed(update, context)
    await query.answer()
    await send_list(update, context, button.args["kind"], button.int("page"), edit=True)


def card_keyboard(
    card: Card, tr: Translator, page: int, pages: int, following: bool = False
) -> InlineKeyboardMarkup:
    _ = tr.gettext
    rows: list[list[InlineKeyboardButton]] = []
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(
                InlineKeyboardButton(
                    f"◂ {page}/{pages}", callback_data=callbacks.build("card", card.id, page - 1)
                )
            )
        if page < pages - 1:
            nav.append(
                InlineKeyboardButton(
                    _("More ▸ %(page)d/%(pages)d") % {"page": page + 2, "pages": pages},
                    callback_data=callbacks.build("card", card.id, page + 1),
                )
            )
        rows.append(nav)
    rows.append([follow_button(tr, card.id, following, page)])
    rows.append(
        [
            share_button(tr, card.name.get(tr.language)),
            InlineKeyboardButton(
                _("Report a correction"), callback_data=callbacks.build("fix", card.id)
            ),
        ]
    )
    list_kind = {"prisoner": "p", "memorial": "m", "wounded": "w", "anniversary": "a"}[card.kind]
    rows.append(
        [InlineKeyboardButton(_("◂ All cards"), callback_data=callbacks.build("list", list_kind))]
    )
    return InlineKeyboardMarkup(rows)


async def send_list(
    update: Update, context: BotContext, kind: str, page: int, *, edit: bool = False
) -> None:
    text, markup = list_page(
        context.library, context.tr(update), kind, page, datetime.now(UTC).date()
    )
    await reply(update, context, text, markup, edit=edit)
