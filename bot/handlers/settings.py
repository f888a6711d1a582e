"""/subscribe, /unsubscribe, /settings, /timezone, /forget: reminders set up in one minute.

Everything is a button; the only thing ever typed is an unusual time zone name. After each
change the panel is redrawn with the next reminder's date and time in the chat's own time
zone and language, so the user sees at once what they will get and when.
"""

from __future__ import annotations

import dataclasses
from functools import partial

from telegram import ForceReply, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import (
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import callbacks
from bot.content.cards import esc
from bot.context import BotContext, ChatData
from bot.handlers import flows, protests
from bot.handlers.common import action_button, command_argument, reply
from bot.handlers.permissions import may_change_settings
from bot.i18n import N_, Translator
from bot.reminders import jobs as scheduling
from bot.reminders import protests as events
from bot.reminders.schedule import LEAD_CHOICES, Reminder
from bot.reminders.zones import DELIVERY_HOURS, canonical_zone, delivery_hour, zone
from bot.store.models import ChatSettings

ACTION = callbacks.SETTINGS

LEAD_LABELS = {7: N_("7 days before"), 1: N_("1 day before"), 0: N_("on the day")}
LEAD_BUTTONS = {7: N_("7 days"), 1: N_("1 day"), 0: N_("On the day")}
TIMEZONE_FLOW = "timezone"


_button = partial(action_button, ACTION)
"""``_button(label, op[, arg])``: a button of the settings panel."""


def city_label(key: str, language: str, known: dict | None = None) -> str:
    if key in events.KNOWN_CITIES:
        return events.KNOWN_CITIES[key][2 if language == "ru" else 1]
    if known and key in known:
        return known[key].get(language)
    return key.replace("-", " ").title()


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
    scheduling.settings_changed(context.application, settings.chat_id)


# The panel ---------------------------------------------------------------------------------

def next_line(tr: Translator, context: BotContext, settings: ChatSettings) -> str:
    _ = tr.gettext
    if not settings.subscribed:
        return _("Press Subscribe to start getting reminders.")
    service = scheduling.service(context.application)
    upcoming = service.upcoming_for(settings) if service else None
    if upcoming is None:
        return _("No reminder is due in the coming year with these settings.")
    return _("Next reminder: %(when)s — %(what)s.") % {
        "when": when_text(tr, upcoming, settings), "what": what_text(tr, context, upcoming)}


def when_text(tr: Translator, reminder: Reminder, settings: ChatSettings) -> str:
    local = reminder.due.astimezone(zone(settings.timezone))
    return f"{tr.datetime(local)} ({settings.timezone})"


def what_text(tr: Translator, context: BotContext, reminder: Reminder) -> str:
    _ = tr.gettext
    if reminder.kind == "event":
        event = events.find_event(context.library, context.store, reminder.subject_id)
        name = (_("Protest in %(city)s") % {"city": event.city.get(tr.language)} if event
                else _("a protest"))
    else:
        card = context.library.get(reminder.subject_id)
        name = card.name.get(tr.language) if card else reminder.subject_id
    lead = _(LEAD_LABELS[reminder.lead])
    return f"{name}, {tr.date(reminder.day)} ({lead})"


def panel_text(tr: Translator, context: BotContext, settings: ChatSettings,
               note: str | None = None) -> str:
    _ = tr.gettext
    status = (_("✅ Subscribed to reminders.") if settings.subscribed
              else _("You are not subscribed to reminders."))
    topics = (_("Anniversaries: all") if settings.topics == "all"
              else _("Anniversaries: only 16 December"))
    leads = [_(LEAD_LABELS[lead]) for lead in LEAD_CHOICES if lead in settings.leads]
    when = _("When: %(leads)s") % {"leads": ", ".join(leads) if leads else _("nothing chosen")}
    time_line = _("Time: %(hour)02d:00, %(zone)s (never between 22:00 and 08:00)") % {
        "hour": delivery_hour(settings.hour), "zone": settings.timezone}
    known = events.known_cities(events.all_events(context.library, context.store))
    if "*" in settings.cities:
        cities = _("all cities")
    elif settings.cities:
        cities = ", ".join(city_label(key, tr.language, known) for key in settings.cities)
    else:
        cities = _("none chosen")
    heading = _("Reminders")
    lines = [f"<b>{esc(heading)}</b>"]
    if note:
        lines.append(f"<i>{esc(note)}</i>")
    lines += [esc(status), esc(topics), esc(when), esc(time_line),
              esc(_("Protests: %(cities)s") % {"cities": cities}), "",
              esc(next_line(tr, context, settings))]
    return "\n".join(lines)


def panel_markup(tr: Translator, settings: ChatSettings) -> InlineKeyboardMarkup:
    _ = tr.gettext

    def mark(on: bool, label: str) -> str:
        return ("✓ " if on else "○ ") + label

    subscription = (_button(_("🔕 Unsubscribe"), "unsub") if settings.subscribed
                    else _button(_("🔔 Subscribe"), "sub"))
    return InlineKeyboardMarkup([
        [subscription],
        [_button(mark(settings.topics == "all", _("All anniversaries")), "topic", "all"),
         _button(mark(settings.topics == "dec16", _("Only 16 December")), "topic", "dec16")],
        [_button(mark(lead in settings.leads, _(LEAD_BUTTONS[lead])), "lead", lead)
         for lead in LEAD_CHOICES],
        [_button(_("🕒 Time zone"), "zones"),
         _button(_("⏰ %(hour)02d:00") % {"hour": delivery_hour(settings.hour)}, "hours")],
        [_button(_("📣 Protest cities"), "cities"), _button(_("📅 Calendar file"), "ics")],
    ])


async def show_panel(update: Update, context: BotContext, settings: ChatSettings | None = None,
                     note: str | None = None, *, edit: bool = False) -> None:
    tr = context.tr(update)
    settings = settings or current(update, context, tr)
    await reply(update, context, panel_text(tr, context, settings, note),
                panel_markup(tr, settings), edit=edit)


# Commands ----------------------------------------------------------------------------------

async def settings(update: Update, context: BotContext) -> None:
    """The reminder panel (anyone may look; only admins may change a group's)."""
    await show_panel(update, context)


async def subscribe(update: Update, context: BotContext) -> None:
    if not await may_change_settings(update, context):
        return
    tr = context.tr(update)
    async with flows.chat_lock(context):  # read, await, write: nothing may slip in between
        settings = current(update, context, tr)
        if not settings.subscribed:
            settings = dataclasses.replace(settings, subscribed=True)
            service = scheduling.service(context.application)
            if service is not None:
                await service.settle_before_subscribing(settings)
            await save(context, settings)
    await show_panel(update, context, settings, tr.gettext(
        "Subscribed. Choose below what you want to hear about and when."))


async def unsubscribe(update: Update, context: BotContext) -> None:
    if not await may_change_settings(update, context):
        return
    tr = context.tr(update)
    async with flows.chat_lock(context):
        settings = current(update, context, tr)
        if settings.subscribed:
            await save(context, dataclasses.replace(settings, subscribed=False))
    await reply(update, context, esc(tr.gettext(
        "Unsubscribed: no more reminders. Your choices are kept; /subscribe brings them back, "
        "/forget deletes them.")))


async def timezone(update: Update, context: BotContext) -> None:
    """/timezone Europe/Vienna sets it at once; without a name, city buttons."""
    name = command_argument(context)
    if name:
        if await may_change_settings(update, context):
            async with flows.chat_lock(context):
                await set_zone_from_text(update, context, name)
        return
    await show_zones(update, context, edit=False)


async def forget(update: Update, context: BotContext) -> None:
    if not await may_change_settings(update, context):
        return
    tr = context.tr(update)
    _ = tr.gettext
    markup = InlineKeyboardMarkup([[_button(_("Delete everything"), "forgetok"),
                                    _button(_("Keep"), "menu")]])
    await reply(update, context, esc(_(
        "This deletes everything the bot stores about this chat: language, time zone, "
        "subscription and the log of reminders sent. Delete?")), markup)


# Pickers -----------------------------------------------------------------------------------

async def show_zones(update: Update, context: BotContext, *, edit: bool = True) -> None:
    tr = context.tr(update)
    _ = tr.gettext
    keys = list(events.KNOWN_CITIES)
    rows = [[_button(city_label(key, tr.language), "tz", key) for key in keys[i:i + 3]]
            for i in range(0, len(keys), 3)]
    rows.append([_button("UTC", "tz", "utc"), _button(_("Other…"), "tzother")])
    rows.append([_button(_("◂ Back"), "menu")])
    text = esc(_("Choose the city whose time you live by, or press Other… and type a time zone "
                 "name such as Asia/Tashkent or America/Chicago."))
    await reply(update, context, text, InlineKeyboardMarkup(rows), edit=edit)


async def show_hours(update: Update, context: BotContext) -> None:
    tr = context.tr(update)
    hours = list(DELIVERY_HOURS)
    rows = [[_button(f"{hour:02d}:00", "hour", hour) for hour in hours[i:i + 4]]
            for i in range(0, len(hours), 4)]
    rows.append([_button(tr.gettext("◂ Back"), "menu")])
    await reply(update, context, esc(tr.gettext("At what time of day should reminders come?")),
                InlineKeyboardMarkup(rows), edit=True)


async def show_cities(update: Update, context: BotContext,
                      settings: ChatSettings | None = None) -> None:
    tr = context.tr(update)
    _ = tr.gettext
    settings = settings or current(update, context, tr)
    known = events.known_cities(events.all_events(context.library, context.store))
    keys = list(dict.fromkeys([*events.KNOWN_CITIES, *sorted(known)]))
    everywhere = "*" in settings.cities
    buttons = [_button(("✓ " if key in settings.cities else "○ ")
                       + city_label(key, tr.language, known), "city", key)
               for key in keys if key]
    rows = [buttons[i:i + 3] for i in range(0, len(buttons), 3)]
    rows.append([_button(("✓ " if everywhere else "○ ") + _("All cities"), "city", "*")])
    rows.append([_button(_("◂ Back"), "menu")])
    await reply(update, context, esc(_("Which cities' protests should I remind you of?")),
                InlineKeyboardMarkup(rows), edit=True)


async def set_zone_from_text(update: Update, context: BotContext, text: str) -> None:
    tr = context.tr(update)
    key = events.city_key(text)
    by_name = {events.city_key(ru): key for key, (_zone, _en, ru) in events.KNOWN_CITIES.items()}
    key = by_name.get(key, key)
    zone_name = events.KNOWN_CITIES[key][0] if key in events.KNOWN_CITIES else canonical_zone(text)
    if zone_name is None:
        await reply(update, context, esc(tr.gettext(
            "I do not know the time zone “%(name)s”. Type a name such as Europe/Vienna or "
            "Asia/Tashkent, or choose a city: /timezone") % {"name": text[:64]}))
        return
    city = key if key in events.KNOWN_CITIES else None
    await apply_zone(update, context, zone_name, city, edit=False)


async def apply_zone(update: Update, context: BotContext, zone_name: str, city: str | None,
                     *, edit: bool) -> None:
    tr = context.tr(update)
    settings = dataclasses.replace(current(update, context, tr), timezone=zone_name)
    if city and not settings.cities:
        # Someone who lives by Almaty time most likely wants Almaty's protests too.
        settings = dataclasses.replace(settings, cities=[city])
    await save(context, settings)
    note = tr.gettext("Time zone saved: %(zone)s.") % {"zone": zone_name}
    await show_panel(update, context, settings, note, edit=edit)


# Buttons -----------------------------------------------------------------------------------

async def on_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    parsed = callbacks.parse(query.data)
    if parsed is None or update.effective_chat is None:
        await query.answer()
        return
    if not await may_change_settings(update, context):
        return
    # Under concurrent updates two presses would each read, await a write, and save their
    # own copy: the second would silently undo the first. One change per chat at a time.
    async with flows.chat_lock(context):
        await _change(update, context, parsed.args["op"], parsed.args.get("arg"))


async def _change(update: Update, context: BotContext, op: str, arg: str | None) -> None:
    query = update.callback_query
    assert query is not None
    tr = context.tr(update)
    settings = current(update, context, tr)
    if op in ("menu", "zones", "hours", "cities", "ics", "forgetok"):
        await query.answer()
        await _navigate(update, context, op)
        return
    note = tr.gettext("Saved.")
    if op in ("sub", "unsub"):
        if op == "sub" and not settings.subscribed:
            service = scheduling.service(context.application)
            if service is not None:
                await service.settle_before_subscribing(
                    dataclasses.replace(settings, subscribed=True))
        settings = dataclasses.replace(settings, subscribed=op == "sub")
        note = (tr.gettext("Subscribed.") if op == "sub" else tr.gettext("Unsubscribed."))
    elif op == "topic" and arg in ("all", "dec16"):
        settings = dataclasses.replace(settings, topics=arg)
    elif op == "lead" and arg and arg.isdecimal() and int(arg) in LEAD_CHOICES:
        leads = set(settings.leads) ^ {int(arg)}
        settings = dataclasses.replace(settings, leads=sorted(leads, reverse=True))
    elif op == "hour" and arg and arg.isdecimal() and int(arg) in DELIVERY_HOURS:
        settings = dataclasses.replace(settings, hour=int(arg))
    elif op == "tz" and (arg == "utc" or arg in events.KNOWN_CITIES):
        zone_name = "UTC" if arg == "utc" else events.KNOWN_CITIES[arg][0]
        await apply_zone(update, context, zone_name, None if arg == "utc" else arg, edit=True)
        await query.answer(tr.gettext("Saved."))  # only once the zone is on disk
        return
    elif op == "city" and arg:
        settings = dataclasses.replace(settings, cities=_toggle_city(settings.cities, arg))
        await save(context, settings)
        await query.answer(tr.gettext("Saved."))
        await show_cities(update, context, settings)
        return
    else:
        await query.answer()
        return
    await save(context, settings)
    await query.answer(note)
    await show_panel(update, context, settings, note, edit=True)


def _toggle_city(cities: list[str], key: str) -> list[str]:
    if key == "*":
        return [] if "*" in cities else ["*"]
    chosen = [city for city in cities if city != "*"]
    return [c for c in chosen if c != key] if key in chosen else [*chosen, key]


async def _navigate(update: Update, context: BotContext, op: str) -> None:
    if op == "menu":
        await show_panel(update, context, edit=True)
    elif op == "zones":
        await show_zones(update, context)
    elif op == "hours":
        await show_hours(update, context)
    elif op == "cities":
        await show_cities(update, context)
    elif op == "ics":
        await protests.send_calendar(update, context)
    elif op == "forgetok":
        await forget_chat(update, context)


async def forget_chat(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    tr = context.tr(update)
    await context.store.forget_chat(chat.id)
    context.chat_state.pending = None
    context.chat_state.awaiting_correction_for = None
    await reply(update, context, esc(tr.gettext(
        "Done: the bot no longer stores anything about this chat.")), edit=True)


# Typed replies and registration --------------------------------------------------------------

async def ask_for_zone(update: Update, context: BotContext) -> object:
    """"Other…": ask for a zone name. In a group the prompt forces a reply from the admin who
    pressed (a selective ForceReply names them), since under privacy mode the bot sees only
    replies to its own messages."""
    query = update.callback_query
    user, chat = update.effective_user, update.effective_chat
    if query is None or user is None or chat is None or not await may_change_settings(
            update, context):
        flows.done()
    await query.answer()
    context.chat_state.pending = {"flow": TIMEZONE_FLOW, "user": user.id}
    tr = context.tr(update)
    text = esc(tr.gettext("Type the time zone name, for example Asia/Tashkent or "
                          "America/Chicago."))
    if chat.type == ChatType.PRIVATE:
        await reply(update, context, text)
    else:
        await context.bot.send_message(
            chat.id, f"{user.mention_html()}, {text}",
            reply_markup=ForceReply(selective=True, input_field_placeholder="Asia/Tashkent"))
    flows.stay()


@flows.step
async def on_zone_text(update: Update, context: BotContext) -> bool | None:
    message = update.effective_message
    pending = context.chat_state.pending
    if message is None or not message.text or not pending or pending.get("flow") != TIMEZONE_FLOW:
        return None
    context.chat_state.pending = None  # one try; the answer says how to try again
    if await may_change_settings(update, context):
        await set_zone_from_text(update, context, message.text)
    return False


def leave_zone_flow(data: ChatData) -> None:
    if data.pending and data.pending.get("flow") == TIMEZONE_FLOW:
        data.pending = None


def zone_conversation() -> ConversationHandler:
    # In groups only replies (to the ForceReply prompt): other chatter is never a zone name.
    answers = (filters.TEXT & ~filters.COMMAND & flows.NEW_MESSAGES
               & (filters.ChatType.PRIVATE | filters.REPLY))
    return flows.conversation(
        "timezone",
        entry_points=[CallbackQueryHandler(ask_for_zone, pattern=r"^rs:tzother$")],
        typing=[MessageHandler(answers, on_zone_text)],
        leave=leave_zone_flow, timeout=flows.SHORT_TIMEOUT)


async def on_migrated(update: Update, context: BotContext) -> None:
    """A group became a supergroup: its subscription follows it to the new chat id."""
    message = update.effective_message
    if message is not None and message.migrate_to_chat_id:
        await context.store.migrate_chat(message.chat.id, message.migrate_to_chat_id)
