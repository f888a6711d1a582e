"""Organisers' commands: /event_add, /event_cancel, /broadcast, /stats, /backup.

Only user ids in BOT_ADMIN_IDS, and only in a private chat with the bot (a step-by-step form
in a group would catch other people's messages). Everyone else gets the same neutral answer,
so the commands reveal nothing. Fan-outs run as background jobs, never inside the handler.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial

from pydantic import ValidationError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatType
from telegram.ext import (
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import callbacks
from bot.content.cards import MESSAGE_LIMIT, esc, visible_length
from bot.content.schema import ProtestEvent, Text, parse_http_link
from bot.context import BotContext, ChatData
from bot.handlers import flows
from bot.handlers.common import action_button, command_argument, is_admin, reply
from bot.i18n import N_, Translator, translator
from bot.reminders import jobs as scheduling
from bot.reminders import protests as events
from bot.reminders.schedule import event_start
from bot.reminders.zones import canonical_zone
from bot.store import safekeeping
from bot.store import snapshots as backups

ACTION = callbacks.ADMIN
EVENT_FLOW, BROADCAST_FLOW = "event_add", "broadcast"
MAX_FIELD, MAX_NOTE = events.MAX_FIELD, 600

STEPS = ("city", "venue", "address", "starts", "timezone", "organiser", "link", "note")
PROMPTS = {
    "city": N_("The city, in English and Russian separated by “/”, for example: "
               "Almaty / Алматы."),
    "venue": N_("The venue, in English / Russian, for example: Embassy of Kazakhstan / "
                "Посольство Казахстана."),
    "address": N_("The street address, as written locally."),
    "starts": N_("Date and start time at the venue, for example 2026-12-16 12:00 or "
                 "16.12.2026 12:00."),
    "timezone": N_("The venue's time zone: press a city or type a name such as Europe/Vienna."),
    "organiser": N_("Who organises it, in English / Russian."),
    "link": N_("A link with more information (https://…), or press Skip."),
    "note": N_("A short note for participants, in English / Russian, or press Skip."),
}
OPTIONAL = frozenset({"link", "note"})


_button = partial(action_button, ACTION)
"""``_button(label, op[, arg])``: a button of the organisers' flows."""


async def allowed(update: Update, context: BotContext) -> bool:
    """Admins in a private chat; everyone else a neutral refusal."""
    chat = update.effective_chat
    if is_admin(update, context) and chat is not None and chat.type == ChatType.PRIVATE:
        return True
    text = context.tr(update).gettext("Sorry, this command is only for the bot's organisers.")
    if update.callback_query:
        await update.callback_query.answer(text)
    else:
        await reply(update, context, esc(text))
    return False


# /event_add ----------------------------------------------------------------------------------

async def event_add(update: Update, context: BotContext) -> None:
    if not await allowed(update, context):
        return
    user = update.effective_user
    context.chat_state.pending = {"flow": EVENT_FLOW, "user": user.id if user else None,
                                 "step": STEPS[0], "data": {}}
    tr = context.tr(update)
    await reply(update, context, esc(tr.gettext(
        "New protest, step by step. Each answer is one message; Cancel stops at any point.")))
    await ask(update, context, STEPS[0])


async def ask(update: Update, context: BotContext, step: str, problem: str | None = None) -> None:
    tr = context.tr(update)
    _ = tr.gettext
    number = STEPS.index(step) + 1
    text = _("Step %(number)d of %(total)d.") % {"number": number, "total": len(STEPS)}
    prompt = _(PROMPTS[step])
    text = f"<b>{esc(text)}</b> {esc(prompt)}"
    if problem:
        text = f"⚠️ {esc(problem)}\n\n{text}"
    rows: list[list[InlineKeyboardButton]] = []
    if step == "timezone":
        keys = list(events.KNOWN_CITIES)
        rows = [[_button(events.KNOWN_CITIES[key][1], "tz", key) for key in keys[i:i + 3]]
                for i in range(0, len(keys), 3)]
    if step in OPTIONAL:
        rows.append([_button(_("Skip"), "skip")])
    rows.append([_button(_("Cancel"), "discard")])
    await reply(update, context, text, InlineKeyboardMarkup(rows))


async def on_event_text(update: Update, context: BotContext, text: str) -> None:
    tr = context.tr(update)
    _ = tr.gettext
    pending = context.chat_state.pending
    assert pending is not None
    step, data = pending["step"], pending["data"]
    value: object = None
    problem = None
    if step == "city":
        value = events.parse_city(text, events.all_events(context.library, context.store))
        problem = _("Please give the city's name in English first, then “/” and Russian.")
    elif step in ("venue", "organiser"):
        value = events.bilingual(text)
        problem = _("Please keep it under 200 characters, English / Russian.")
    elif step == "note":
        value = events.bilingual(text, MAX_NOTE)
        problem = _("Please keep it under 600 characters, English / Russian.")
    elif step == "address":
        value = text.strip()[:MAX_FIELD] or None
        problem = _("Please type the address.")
    elif step == "starts":
        parsed = events.parse_starts(text)
        value = parsed.isoformat() if parsed else None
        problem = _("I could not read that date. Use 2026-12-16 12:00 or 16.12.2026 12:00.")
    elif step == "timezone":
        value = canonical_zone(text)
        problem = _("I do not know that time zone. Type a name such as Europe/Vienna.")
    elif step == "link":
        value = parse_http_link(text)
        problem = _("Please send a link starting with https://, or press Skip.")
    if value is None:
        await ask(update, context, step, problem)
        return
    data[step] = value
    await advance(update, context)


async def advance(update: Update, context: BotContext) -> None:
    pending = context.chat_state.pending
    assert pending is not None
    data = pending["data"]
    remaining = [step for step in STEPS if step not in data]
    if remaining:
        pending["step"] = remaining[0]
        await ask(update, context, remaining[0])
        return
    tr = context.tr(update)
    event, problem = build_event(tr, context, data)
    if event is None:
        data.pop("starts", None)
        pending["step"] = "starts"
        await ask(update, context, "starts", problem)
        return
    pending["event"] = event.model_dump(mode="json")
    preview = "\n\n".join(events.describe(translator(lang), event) for lang in ("en", "ru"))
    markup = InlineKeyboardMarkup([[_button(tr.gettext("Publish"), "publish"),
                                    _button(tr.gettext("Cancel"), "discard")]])
    heading = tr.gettext("Check and publish:")
    await reply(update, context, f"{esc(heading)}\n\n{preview}", markup)


def build_event(tr: Translator, context: BotContext,
                data: dict) -> tuple[ProtestEvent | None, str | None]:
    starts = datetime.fromisoformat(data["starts"])
    taken = [e.id for e in events.all_events(context.library, context.store)]
    try:
        event = ProtestEvent(
            id=events.new_event_id(data["city"]["en"], starts, taken),
            city=Text(**data["city"]), venue=Text(**data["venue"]), address=data["address"],
            starts_at=starts, timezone=data["timezone"], organiser=Text(**data["organiser"]),
            link=data.get("link") or None, note=Text(**data["note"]) if data.get("note") else None)
    except (ValidationError, ValueError) as exc:
        return None, str(exc)[:200]
    if event_start(event) <= datetime.now(UTC):
        return None, tr.gettext("That time has already passed.")
    return event, None


async def publish(update: Update, context: BotContext) -> None:
    tr = context.tr(update)
    pending = context.chat_state.pending or {}
    document = pending.get("event")
    if pending.get("flow") != EVENT_FLOW or document is None:
        await reply(update, context, esc(tr.gettext("Nothing to publish.")), edit=True)
        return
    event = ProtestEvent.model_validate(document)
    await events.save_event(context.store, event)
    context.chat_state.pending = None
    scheduling.settings_changed(context.application)
    text = tr.gettext("Published as %(id)s. Subscribers following %(city)s will be reminded "
                      "at their chosen times.") % {"id": event.id,
                                                   "city": event.city.get(tr.language)}
    await reply(update, context, esc(text), edit=True)


# /event_cancel -------------------------------------------------------------------------------

async def event_cancel(update: Update, context: BotContext) -> None:
    if not await allowed(update, context):
        return
    tr = context.tr(update)
    wanted = command_argument(context)
    listed = events.upcoming(events.all_events(context.library, context.store), datetime.now(UTC))
    if wanted:
        listed = [e for e in listed if e.id == wanted]
    if not listed:
        await reply(update, context, esc(tr.gettext("There is no upcoming protest to cancel.")))
        return
    rows = [[_button(events.short_line(tr, e)[:60], "cancel", e.id)] for e in listed[:20]]
    await reply(update, context, esc(tr.gettext("Which protest is cancelled?")),
                InlineKeyboardMarkup(rows))


async def confirm_cancel(update: Update, context: BotContext, event_id: str) -> None:
    tr = context.tr(update)
    event = events.find_event(context.library, context.store, event_id)
    if event is None or event.cancelled:
        await reply(update, context, esc(tr.gettext("There is no upcoming protest to cancel.")),
                    edit=True)
        return
    markup = InlineKeyboardMarkup([[_button(tr.gettext("Yes, cancel it"), "cancelok", event.id),
                                    _button(tr.gettext("No"), "discard")]])
    await reply(update, context, events.describe(tr, event) + "\n\n"
                + esc(tr.gettext("Cancel this protest and tell those already reminded?")),
                markup, edit=True)


async def do_cancel(update: Update, context: BotContext, event_id: str) -> None:
    tr = context.tr(update)
    event = await events.cancel_event(context.library, context.store, event_id)
    if event is None:
        await reply(update, context, esc(tr.gettext("There is no upcoming protest to cancel.")),
                    edit=True)
        return
    told = len(await asyncio.to_thread(events.reminded_chats, context.store, event.id, event))
    service = scheduling.service(context.application)
    if told and service is not None:
        await service.start_fanout(f"x:{event.id}", {"kind": "cancel", "event": event.id})
    scheduling.settings_changed(context.application)
    text = tr.ngettext("Cancelled. %(num)d chat that was already reminded is being told.",
                       "Cancelled. %(num)d chats that were already reminded are being told.",
                       told) % {"num": told}
    await reply(update, context, esc(text), edit=True)


# /broadcast ----------------------------------------------------------------------------------

async def broadcast(update: Update, context: BotContext) -> None:
    if not await allowed(update, context):
        return
    user = update.effective_user
    context.chat_state.pending = {"flow": BROADCAST_FLOW, "user": user.id if user else None,
                                 "step": "en", "text": {}}
    tr = context.tr(update)
    await reply(update, context, esc(tr.gettext(
        "Send the message in English, formatted as you want subscribers to see it.")),
        InlineKeyboardMarkup([[_button(tr.gettext("Cancel"), "discard")]]))


async def on_broadcast_text(update: Update, context: BotContext, html_text: str) -> None:
    tr = context.tr(update)
    pending = context.chat_state.pending
    assert pending is not None
    pending["text"][pending["step"]] = html_text
    if pending["step"] == "en":
        pending["step"] = "ru"
        await reply(update, context, esc(tr.gettext(
            "Now the same message in Russian, or press Skip to send the English one to "
            "everyone.")), InlineKeyboardMarkup([[_button(tr.gettext("Skip"), "skip"),
                                                  _button(tr.gettext("Cancel"), "discard")]]))
        return
    await preview_broadcast(update, context)


async def preview_broadcast(update: Update, context: BotContext) -> None:
    tr = context.tr(update)
    pending = context.chat_state.pending
    assert pending is not None
    texts = pending["text"]
    chat = update.effective_chat
    assert chat is not None
    for language, text in texts.items():
        label = f"<b>[{language}]</b>\n"
        if visible_length(label + text) > MESSAGE_LIMIT:  # a message at the limit: no room
            label = ""
        await context.bot.send_message(chat.id, label + text)
    count = context.store.subscriber_count()
    label = tr.ngettext("Send to %(num)d subscriber", "Send to %(num)d subscribers",
                        count) % {"num": count}
    markup = InlineKeyboardMarkup([[_button(label, "bcok"),
                                    _button(tr.gettext("Cancel"), "discard")]])
    await reply(update, context, esc(tr.gettext("This is the preview. Send it?")), markup)


async def start_broadcast(update: Update, context: BotContext) -> None:
    tr = context.tr(update)
    pending = context.chat_state.pending or {}
    service = scheduling.service(context.application)
    chat = update.effective_chat
    if pending.get("flow") != BROADCAST_FLOW or not pending.get("text") or service is None:
        await reply(update, context, esc(tr.gettext("Nothing to send.")), edit=True)
        return
    context.chat_state.pending = None
    progress = await reply(update, context, esc(tr.gettext("Sending…")), edit=True)
    key = "b:" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    await service.start_fanout(key, {
        "kind": "broadcast", "text": pending["text"], "report_chat": chat.id if chat else None,
        "report_message": progress.message_id if progress else None,
        "report_language": tr.language})


# /stats and /backup --------------------------------------------------------------------------

DELIVERY_LABELS = {
    "pending": N_("being sent"),
    "sent": N_("delivered"),
    "failed": N_("failed"),
    "skipped": N_("skipped"),
    "uncertain": N_("outcome unknown"),
}
"""The store's delivery states in words an organiser reads (the keys are storage codes)."""
TOPIC_LABELS = {"all": N_("all anniversaries"), "dec16": N_("only 16 December")}


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

    deliveries = store.delivery_counts()
    upcoming = events.upcoming(events.all_events(context.library, store), datetime.now(UTC))
    heading = _("Statistics")
    lines = [
        f"<b>{esc(heading)}</b>",
        esc(_("Chats: %(chats)d, subscribed: %(subs)d") % {"chats": store.chat_count(),
                                                            "subs": len(subscribers)}),
        esc(_("By language:")) + " " + counted(Counter(s.language or "?" for s in subscribers)),
        esc(_("By topic:")) + " " + counted(Counter(_(TOPIC_LABELS.get(s.topics, s.topics))
                                                    for s in subscribers)),
        esc(_("By time zone:")) + " " + counted(Counter(s.timezone for s in subscribers)),
        esc(_("Deliveries:")) + " " + ", ".join(
            f"{esc(_(DELIVERY_LABELS.get(state, state)))}: {count}"
            for state, count in deliveries.items()),
        esc(_("Upcoming protests: %(num)d") % {"num": len(upcoming)}),
    ]
    lines.extend(esc(line) for line in safekeeping.stats_lines(tr, context.config))
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
        await reply(update, context, esc(tr.gettext(
            "Backups are not sent over Telegram unencrypted. Set BOT_BACKUP_AGE_RECIPIENT to "
            "an age public key to receive encrypted ones, or run “python -m bot backup” on "
            "the server.")))
        return
    chat = update.effective_chat
    assert chat is not None
    tables = context.store.snapshot_tables()  # consistent, and cheap on the event loop
    sealed = await asyncio.to_thread(backups.encrypt_snapshot, recipient, tables)
    name = f"snapshot-{datetime.now(UTC):%Y%m%d-%H%M%S}{backups.AGE_SUFFIX}"
    await context.bot.send_document(
        chat.id, InputFile(sealed, filename=name),
        caption=esc(tr.gettext("Snapshot of the bot's data, encrypted to the backup key. "
                               "Decrypt it with: age -d -i key.txt")))


# Buttons, typed answers, registration --------------------------------------------------------

async def on_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    if not await allowed(update, context):
        return
    parsed = callbacks.parse(query.data)
    if parsed is None:
        await query.answer()
        return
    async with flows.chat_lock(context):  # never between two steps of a flow
        await _on_button(update, context, parsed.args["op"], parsed.args.get("arg"))


async def _on_button(update: Update, context: BotContext, op: str, arg: str | None) -> None:
    query = update.callback_query
    assert query is not None
    pending = context.chat_state.pending or {}
    await query.answer()
    if op == "discard":
        context.chat_state.pending = None
        await reply(update, context, esc(context.tr(update).gettext("Cancelled.")), edit=True)
    elif op == "tz" and arg in events.KNOWN_CITIES and pending.get("step") == "timezone":
        pending["data"]["timezone"] = events.KNOWN_CITIES[arg][0]
        await advance(update, context)
    elif op == "skip" and pending.get("flow") == EVENT_FLOW and pending["step"] in OPTIONAL:
        pending["data"][pending["step"]] = ""
        await advance(update, context)
    elif op == "skip" and pending.get("flow") == BROADCAST_FLOW and pending["step"] == "ru":
        await preview_broadcast(update, context)
    elif op == "publish":
        await publish(update, context)
    elif op == "bcok":
        await start_broadcast(update, context)
    elif op == "cancel" and arg:
        await confirm_cancel(update, context, arg)
    elif op == "cancelok" and arg:
        await do_cancel(update, context, arg)


def _answers(flow: str):
    @flows.step
    async def on_answer(update: Update, context: BotContext) -> bool | None:
        message = update.effective_message
        pending = context.chat_state.pending
        if message is None or not message.text or not pending or pending.get("flow") != flow:
            return None  # the flow was left or finished: ordinary text again
        if not await allowed(update, context):
            return False
        if flow == EVENT_FLOW:
            await on_event_text(update, context, message.text)
        else:
            await on_broadcast_text(update, context, message.text_html)
        pending = context.chat_state.pending
        return bool(pending and pending.get("flow") == flow)

    return on_answer


def _entry(command: Callable[[Update, BotContext], Awaitable[None]], flow: str):
    async def enter(update: Update, context: BotContext) -> object:
        async with flows.chat_lock(context):
            await command(update, context)
        pending = context.chat_state.pending
        if pending and pending.get("flow") == flow:
            flows.stay()
        flows.done()  # refused: answered here, not "unknown command" too

    return enter


def _leaver(flow: str):
    def leave(data: ChatData) -> None:
        if data.pending and data.pending.get("flow") == flow:
            data.pending = None

    return leave


def conversations() -> list[ConversationHandler]:
    """/event_add and /broadcast, each a flow (``bot.handlers.flows``)."""
    typed = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND & flows.NEW_MESSAGES
    return [flows.conversation(
        flow,
        entry_points=[CommandHandler(flow, _entry(command, flow), filters=flows.NEW_MESSAGES)],
        typing=[MessageHandler(typed, _answers(flow))],
        leave=_leaver(flow), timeout=flows.LONG_TIMEOUT)
        for flow, command in ((EVENT_FLOW, event_add), (BROADCAST_FLOW, broadcast))]
