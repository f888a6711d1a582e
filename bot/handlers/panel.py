"""/subscribe, /unsubscribe, /settings, /forget: reminders set up in one minute.

Everything is a button (the time zone's are in ``handlers.timezone``). After each change the
panel is redrawn with the next reminder's date and time in the chat's own time zone and
language, so the user sees at once what they will get and when. Each button has its own
handler, registered by ``callbacks.pattern`` in ``handlers/__init__.py``; what a press does to
the settings is in ``reminders.choices``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks, zones
from bot.content.cards import esc
from bot.context import BotContext
from bot.handlers import protests
from bot.handlers.access import may_change_settings
from bot.handlers.replies import Handler, action_button, pressed, reply
from bot.i18n import N_, Translator
from bot.ops import backups
from bot.protests import model
from bot.reminders import choices, service
from bot.reminders.choices import city_label
from bot.reminders.schedule import LEAD_CHOICES, Reminder
from bot.store.models import ChatSettings
from bot.zones import DELIVERY_HOURS, delivery_hour, zone

ACTION = callbacks.SETTINGS

LEAD_LABELS = {7: N_("7 days before"), 1: N_("1 day before"), 0: N_("on the day")}
LEAD_BUTTONS = {7: N_("7 days"), 1: N_("1 day"), 0: N_("On the day")}


button = functools.partial(action_button, ACTION)
"""``button(label, op[, arg])``: a button of the settings panel."""


# Reading and saving ------------------------------------------------------------------------


def current(update: Update, context: BotContext, tr: Translator) -> ChatSettings:
    chat = update.effective_chat
    assert chat is not None
    found = context.store.chat(chat.id)
    if found is None:
        return ChatSettings(chat_id=chat.id, chat_type=chat.type, language=tr.language)
    if found.language is None:  # reminders go out with no user to take a language from
        return dataclasses.replace(found, language=tr.language)
    return found


async def save(context: BotContext, settings: ChatSettings) -> None:
    await context.store.put_chat(settings)
    service.settings_changed(context.application, settings.chat_id)


# The panel ---------------------------------------------------------------------------------


def next_line(tr: Translator, context: BotContext, settings: ChatSettings) -> str:
    _ = tr.gettext
    if not settings.subscribed:
        return _("Press Subscribe to start getting reminders.")
    reminder_service = service.service(context.application)
    upcoming = reminder_service.upcoming_for(settings) if reminder_service else None
    if upcoming is None:
        return _("No reminder is due in the coming year with these settings.")
    return _("Next reminder: %(when)s — %(what)s.") % {
        "when": when_text(tr, upcoming, settings),
        "what": what_text(tr, context, upcoming),
    }


def when_text(tr: Translator, reminder: Reminder, settings: ChatSettings) -> str:
    local = reminder.due.astimezone(zone(settings.timezone))
    return f"{tr.datetime(local)} ({choices.zone_label(settings, tr.language)})"


def what_text(tr: Translator, context: BotContext, reminder: Reminder) -> str:
    _ = tr.gettext
    if reminder.kind == "event":
        event = context.protests.find(reminder.subject_id)
        name = (
            _("Protest in %(city)s") % {"city": event.city.get(tr.language)}
            if event
            else _("a protest")
        )
    else:
        card = context.library.get(reminder.subject_id)
        name = card.name.get(tr.language) if card else reminder.subject_id
    lead = _(LEAD_LABELS[reminder.lead])
    return f"{name}, {tr.date(reminder.day)} ({lead})"


def panel_text(
    tr: Translator, context: BotContext, settings: ChatSettings, note: str | None = None
) -> str:
    _ = tr.gettext
    status = (
        _("✅ Subscribed to reminders.")
        if settings.subscribed
        else _("You are not subscribed to reminders.")
    )
    topics = (
        _("Anniversaries: all")
        if settings.topics == "all"
        else _("Anniversaries: only 16 December")
    )
    leads = [_(LEAD_LABELS[lead]) for lead in LEAD_CHOICES if lead in settings.leads]
    when = _("When: %(leads)s") % {"leads": ", ".join(leads) if leads else _("nothing chosen")}
    time_line = _("Time: %(hour)02d:00, %(zone)s (never between 22:00 and 08:00)") % {
        "hour": delivery_hour(settings.hour),
        "zone": choices.zone_label(settings, tr.language),
    }
    known = model.known_cities(context.protests.all())
    if "*" in settings.cities:
        cities = _("all cities")
    elif settings.cities:
        names = [city_label(key, tr.language, known) for key in settings.cities]
        cities = ", ".join(names[:PANEL_CITIES])
        if len(names) > PANEL_CITIES:
            left = len(names) - PANEL_CITIES
            cities += " " + tr.ngettext("and %(num)d more", "and %(num)d more", left) % {
                "num": left
            }
    else:
        cities = _("none chosen")
    heading = _("Reminders")
    lines = [f"<b>{esc(heading)}</b>"]
    if note:
        lines.append(f"<i>{esc(note)}</i>")
    lines += [
        esc(status),
        esc(topics),
        esc(when),
        esc(time_line),
        esc(_("Protests: %(cities)s") % {"cities": cities}),
    ]
    followed = [
        card.name.get(tr.language)
        for card_id in settings.follows
        if (card := context.library.get(card_id)) is not None
    ]
    if followed:  # news comes whether or not the chat is subscribed to reminders
        lines.append(
            esc(_("News of the cases you follow: %(names)s") % {"names": ", ".join(followed)})
        )
    lines += ["", esc(next_line(tr, context, settings))]
    return "\n".join(lines)


def panel_markup(tr: Translator, settings: ChatSettings) -> InlineKeyboardMarkup:
    _ = tr.gettext

    def mark(on: bool, label: str) -> str:
        return ("✓ " if on else "○ ") + label

    subscription = (
        button(_("🔕 Unsubscribe"), "unsub")
        if settings.subscribed
        else button(_("🔔 Subscribe"), "sub")
    )
    return InlineKeyboardMarkup(
        [
            [subscription],
            [
                button(mark(settings.topics == "all", _("All anniversaries")), "topic", "all"),
                button(mark(settings.topics == "dec16", _("Only 16 December")), "topic", "dec16"),
            ],
            [
                button(mark(lead in settings.leads, _(LEAD_BUTTONS[lead])), "lead", lead)
                for lead in LEAD_CHOICES
            ],
            [
                button(_("🕒 Time zone"), "zones"),
                button(_("⏰ %(hour)02d:00") % {"hour": delivery_hour(settings.hour)}, "hours"),
            ],
            [button(_("📣 Protest cities"), "cities"), button(_("📅 Calendar file"), "ics")],
            *follows_row(tr, settings),
        ]
    )


def follows_row(tr: Translator, settings: ChatSettings) -> list[list[InlineKeyboardButton]]:
    """The button to the cases the chat follows (``handlers.follow``), if it follows any."""
    if not settings.follows:
        return []
    label = tr.gettext("🔔 Cases you follow: %(num)d") % {"num": len(settings.follows)}
    return [[action_button(callbacks.FOLLOW, label, "list")]]


async def show_panel(
    update: Update,
    context: BotContext,
    settings: ChatSettings | None = None,
    note: str | None = None,
    *,
    edit: bool = False,
) -> None:
    tr = context.tr(update)
    settings = settings or current(update, context, tr)
    await reply(
        update,
        context,
        panel_text(tr, context, settings, note),
        panel_markup(tr, settings),
        edit=edit,
    )


# Commands ----------------------------------------------------------------------------------


async def settings(update: Update, context: BotContext) -> None:
    """The reminder panel (anyone may look; only admins may change a group's)."""
    await show_panel(update, context)


async def subscribe(update: Update, context: BotContext) -> None:
    if not await may_change_settings(update, context):
        return
    tr = context.tr(update)
    # Read, await, write: nothing of this chat slips in between (handlers.admission.ChatOrder).
    settings = current(update, context, tr)
    if not settings.subscribed:
        settings = dataclasses.replace(settings, subscribed=True)
        reminder_service = service.service(context.application)
        if reminder_service is not None:
            await reminder_service.settle_before_subscribing(settings)
        await save(context, settings)
    await show_panel(
        update,
        context,
        settings,
        tr.gettext("Subscribed. Choose below what you want to hear about and when."),
    )


async def unsubscribe(update: Update, context: BotContext) -> None:
    if not await may_change_settings(update, context):
        return
    tr = context.tr(update)
    settings = current(update, context, tr)
    if settings.subscribed:
        await save(context, dataclasses.replace(settings, subscribed=False))
    await reply(
        update,
        context,
        esc(
            tr.gettext(
                "Unsubscribed: no more reminders. Your choices are kept; /subscribe brings them "
                "back, "
                "/forget deletes them."
            )
        ),
    )


async def forget(update: Update, context: BotContext) -> None:
    if not await may_change_settings(update, context):
        return
    tr = context.tr(update)
    await reply(
        update,
        context,
        esc(
            tr.gettext(
                "This deletes everything the bot stores about this chat: language, time zone, "
                "subscription, the cases it follows and the log of messages sent. Delete?"
            )
        ),
        forget_markup(tr),
    )


def forget_markup(tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(tr.gettext("Delete everything"), "forgetok"), button(tr.gettext("Keep"), "menu")]]
    )


# Pickers -----------------------------------------------------------------------------------


async def show_hours(update: Update, context: BotContext) -> None:
    tr = context.tr(update)
    await reply(
        update,
        context,
        esc(tr.gettext("At what time of day should reminders come?")),
        hours_markup(tr),
        edit=True,
    )


def hours_markup(tr: Translator) -> InlineKeyboardMarkup:
    hours = list(DELIVERY_HOURS)
    rows = [
        [button(f"{hour:02d}:00", "hour", hour) for hour in hours[i : i + 4]]
        for i in range(0, len(hours), 4)
    ]
    rows.append([button(tr.gettext("◂ Back"), "menu")])
    return InlineKeyboardMarkup(rows)


PANEL_CITIES = 12
"""Cities named on the panel; more are counted ("and 30 more"), so the panel always fits."""
CITY_BUTTONS = 45
"""City buttons in the picker: Telegram allows 100 buttons in a message, and a picker of 15
rows is already long. The chat's own cities come first, then the usual ones."""


def city_keys(settings: ChatSettings, known: dict) -> list[str]:
    """Every city the picker could offer: the chat's choices, the usual ones, the events'."""
    return [
        key
        for key in dict.fromkeys(
            [*(c for c in settings.cities if c != "*"), *zones.KNOWN_CITIES, *sorted(known)]
        )
        if key
    ]


async def show_cities(
    update: Update, context: BotContext, settings: ChatSettings | None = None
) -> None:
    tr = context.tr(update)
    settings = settings or current(update, context, tr)
    known = model.known_cities(context.protests.all())
    text = tr.gettext("Which cities' protests should I remind you of?")
    if (total := len(city_keys(settings, known))) > CITY_BUTTONS:
        text += "\n" + tr.gettext(
            "The %(shown)d cities first in the list of %(total)d: "
            "choose All cities to hear of every protest."
        ) % {"shown": CITY_BUTTONS, "total": total}
    await reply(update, context, esc(text), cities_markup(tr, settings, known), edit=True)


def cities_markup(tr: Translator, settings: ChatSettings, known: dict) -> InlineKeyboardMarkup:
    keys = city_keys(settings, known)[:CITY_BUTTONS]
    everywhere = "*" in settings.cities
    buttons = [
        button(
            ("✓ " if key in settings.cities else "○ ") + city_label(key, tr.language, known),
            "city",
            key,
        )
        for key in keys
        if key
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([button(("✓ " if everywhere else "○ ") + tr.gettext("All cities"), "city", "*")])
    rows.append([button(tr.gettext("◂ Back"), "menu")])
    return InlineKeyboardMarkup(rows)


# Buttons: one handler each (registered in handlers/__init__.py) ------------------------------

Change = Callable[[Update, BotContext, CallbackQuery, callbacks.Callback], Awaitable[None]]


def panel_button(change: Change) -> Handler:
    """A button of the chat's panel: only for those who may change the chat's settings. One
    change per chat at a time comes from the update processor (``handlers.admission``): two
    presses run one after the other, so neither saves a copy the other has changed."""

    @functools.wraps(change)
    async def on_press(update: Update, context: BotContext) -> None:
        query, data = pressed(update, context)
        if update.effective_chat is None:  # under a message shared inline: no chat to change
            await query.answer()
            return
        if not await may_change_settings(update, context):
            return
        await change(update, context, query, data)

    return on_press


def opens(show: Handler) -> Handler:
    """A panel button that opens a picker (or goes back to the panel)."""

    async def change(
        update: Update, context: BotContext, query: CallbackQuery, _data: callbacks.Callback
    ) -> None:
        await query.answer()
        await show(update, context)

    return panel_button(change)


async def back_to_panel(update: Update, context: BotContext) -> None:
    await show_panel(update, context, edit=True)


async def saved(
    update: Update,
    context: BotContext,
    query: CallbackQuery,
    settings: ChatSettings | None,
    note: str | None = None,
) -> None:
    """Save a change and redraw the panel with it; None (not a choice offered): nothing."""
    if settings is None:
        await query.answer()
        return
    note = note or context.tr(update).gettext("Saved.")
    await save(context, settings)
    await query.answer(note)
    await show_panel(update, context, settings, note, edit=True)


@panel_button
async def on_subscription(
    update: Update, context: BotContext, query: CallbackQuery, data: callbacks.Callback
) -> None:
    """Subscribe or Unsubscribe."""
    tr = context.tr(update)
    settings = current(update, context, tr)
    subscribe = data.args["op"] == "sub"
    if subscribe and not settings.subscribed:
        reminder_service = service.service(context.application)
        if reminder_service is not None:
            await reminder_service.settle_before_subscribing(
                dataclasses.replace(settings, subscribed=True)
            )
    settings = dataclasses.replace(settings, subscribed=subscribe)
    await saved(
        update,
        context,
        query,
        settings,
        tr.gettext("Subscribed.") if subscribe else tr.gettext("Unsubscribed."),
    )


@panel_button
async def on_topic(
    update: Update, context: BotContext, query: CallbackQuery, data: callbacks.Callback
) -> None:
    """All anniversaries, or only 16 December."""
    settings = current(update, context, context.tr(update))
    await saved(update, context, query, choices.with_topic(settings, data.args.get("arg")))


@panel_button
async def on_lead(
    update: Update, context: BotContext, query: CallbackQuery, data: callbacks.Callback
) -> None:
    """7 days, 1 day, on the day: each on or off."""
    settings = current(update, context, context.tr(update))
    await saved(update, context, query, choices.with_lead_toggled(settings, data.args.get("arg")))


@panel_button
async def on_hour(
    update: Update, context: BotContext, query: CallbackQuery, data: callbacks.Callback
) -> None:
    settings = current(update, context, context.tr(update))
    await saved(update, context, query, choices.with_hour(settings, data.args.get("arg")))


@panel_button
async def on_city(
    update: Update, context: BotContext, query: CallbackQuery, data: callbacks.Callback
) -> None:
    """A protest city on or off; the city picker stays open."""
    key = data.args.get("arg")
    tr = context.tr(update)
    settings = current(update, context, tr)
    known = model.known_cities(context.protests.all())
    if not key or (
        key != "*"
        and key not in settings.cities
        and key not in zones.KNOWN_CITIES
        and key not in known
    ):
        await query.answer()  # a city no button offers (forged, or its protests are over)
        return
    settings = choices.with_city_toggled(settings, key)
    await save(context, settings)
    await query.answer(tr.gettext("Saved."))
    await show_cities(update, context, settings)


async def forget_chat(update: Update, context: BotContext) -> None:
    """ "Delete everything" under /forget."""
    chat = update.effective_chat
    assert chat is not None
    tr = context.tr(update)
    await context.store.forget_chat(chat.id)
    context.chat_state.drafts.clear()
    context.chat_state.awaiting_correction_for = None
    await reply(update, context, esc(forgotten_text(tr, "chat")), edit=True)


def forgotten_text(tr: Translator, what: str) -> str:
    """What /forget leaves, exactly: the bot's automatic daily snapshots are not rewritten,
    they age out (``safekeeping.KEPT_FOR_DAYS``)."""
    days = {"days": backups.KEPT_FOR_DAYS}
    if what == "channel":
        return (
            tr.gettext(
                "Done: the bot no longer stores anything about this channel and posts nothing "
                "there. Only the bot's automatic daily backups on the server still hold its "
                "settings and which reminders it received, for at most %(days)d days, until they "
                "are replaced."
            )
            % days
        )
    return (
        tr.gettext(
            "Done: the bot no longer stores anything about this chat. Only the bot's automatic "
            "daily backups on the server still hold its settings and which reminders it "
            "received, for at most %(days)d days, until they are replaced."
        )
        % days
    )


on_back = opens(back_to_panel)
on_hours = opens(show_hours)
on_cities = opens(show_cities)
on_calendar = opens(protests.send_calendar)
on_forget = opens(forget_chat)


async def on_migrated(update: Update, context: BotContext) -> None:
    """A group became a supergroup: its subscription follows it to the new chat id."""
    message = update.effective_message
    if message is not None and message.migrate_to_chat_id:
        await context.store.migrate_chat(message.chat.id, message.migrate_to_chat_id)
