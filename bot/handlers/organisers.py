"""Organisers: who may (``allowed``), their buttons and flows, and the protests they publish
and cancel (/event_add, /event_cancel). /broadcast is in ``handlers.broadcast``, /stats and
/backup in ``handlers.reports``; the form's logic in ``protests.form``.

Only user ids in BOT_ADMIN_IDS, and only in a private chat with the bot (a step-by-step form
in a group would catch other people's messages). Everyone else gets the same neutral answer,
so the commands reveal nothing. Fan-outs run as background jobs, never inside the handler.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot import callbacks, zones
from bot.content.cards import esc
from bot.content.schema import ProtestEvent
from bot.context import BotContext
from bot.handlers import conversations
from bot.handlers.replies import Handler, action_button, command_argument, is_admin, pressed, reply
from bot.i18n import Translator, translator
from bot.protests import model, wording
from bot.protests.form import (
    LATEST_ZONE,
    OPTIONAL,
    PROMPTS,
    STEPS,
    already_passed,
    build_event,
    read_answer,
)
from bot.reminders import broadcasts, service

ACTION = callbacks.ADMIN
EVENT_FLOW = "event_add"

button = functools.partial(action_button, ACTION)
"""``button(label, op[, arg])``: a button of the organisers' flows."""


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


# Buttons and flows, shared by every organisers' command --------------------------------------

Press = Callable[[Update, BotContext, str | None], Awaitable[None]]


def organiser_button(act: Press) -> Handler:
    """An organisers' button: refused like the commands. ``act`` gets the button's argument."""

    @functools.wraps(act)
    async def on_press(update: Update, context: BotContext) -> None:
        query, data = pressed(update, context)
        if not await allowed(update, context):
            return
        await query.answer()
        await act(update, context, data.args.get("arg"))

    return on_press


@organiser_button
async def on_discard(update: Update, context: BotContext, _arg: str | None) -> None:
    """Cancel, at any step of any organisers' flow, and No under /event_cancel."""
    context.chat_state.pending = None
    await reply(update, context, esc(context.tr(update).gettext("Cancelled.")), edit=True)


def cancel_markup(tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(tr.gettext("Cancel"), "discard")]])


TextStep = Callable[[Update, BotContext, Message], Awaitable[None]]


def flow_conversation(flow: str, command: Handler, on_text: TextStep) -> ConversationHandler:
    """An organisers' flow (``bot.handlers.conversations``): ``/<flow>`` starts it,
    ``on_text`` takes each typed answer while ``ChatData.pending`` is this flow's."""
    typed = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND & conversations.NEW_MESSAGES

    async def enter(update: Update, context: BotContext) -> object:
        await command(update, context)
        pending = context.chat_state.pending
        if pending and pending.get("flow") == flow:
            conversations.stay()
        conversations.done()  # refused: answered here, not "unknown command" too

    @conversations.step
    async def on_answer(update: Update, context: BotContext) -> bool | None:
        message = update.effective_message
        pending = context.chat_state.pending
        if message is None or not message.text or not pending or pending.get("flow") != flow:
            return None  # the flow was left or finished: ordinary text again
        if not await allowed(update, context):
            return False
        await on_text(update, context, message)
        pending = context.chat_state.pending
        return bool(pending and pending.get("flow") == flow)

    def leave(_update: Update, context: BotContext) -> None:
        data = context.chat_state
        if data.pending and data.pending.get("flow") == flow:
            data.pending = None

    return conversations.conversation(
        flow,
        entry_points=[CommandHandler(flow, enter, filters=conversations.NEW_MESSAGES)],
        states={conversations.TYPING: [MessageHandler(typed, on_answer)]},
        timeout=conversations.LONG_TIMEOUT,
        leave=leave,
    )


def open_flow(update: Update, context: BotContext, flow: str, **state: object) -> None:
    """An organiser's flow begins: its state lives in the chat, owned by the one who opened it."""
    user = update.effective_user
    context.chat_state.pending = {"flow": flow, "user": user.id if user else None, **state}


def upcoming_named(context: BotContext) -> list[ProtestEvent]:
    """The upcoming protests, or only the one whose id follows the command
    (``/event_cancel <id>``, ``/event_edit <id>``, ``/event_message <id>``)."""
    listed = model.upcoming(context.protests.all(), datetime.now(UTC))
    wanted = command_argument(context)
    return [event for event in listed if event.id == wanted] if wanted else listed


def step_prompt(tr: Translator, step: str) -> str:
    """ "Step n of N." and what the step asks for, as HTML: the same in /event_add and
    /event_edit."""
    heading = tr.gettext("Step %(number)d of %(total)d.") % {
        "number": STEPS.index(step) + 1,
        "total": len(STEPS),
    }
    return f"<b>{esc(heading)}</b> {esc(tr.gettext(PROMPTS[step]))}"


def zone_rows(op: str) -> list[list[InlineKeyboardButton]]:
    """The known cities' zones, three buttons a row, pressed as ``op``."""
    keys = list(zones.KNOWN_CITIES)
    return [
        [button(zones.KNOWN_CITIES[key][1], op, key) for key in keys[i : i + 3]]
        for i in range(0, len(keys), 3)
    ]


# /event_add ----------------------------------------------------------------------------------


async def event_add(update: Update, context: BotContext) -> None:
    if not await allowed(update, context):
        return
    open_flow(update, context, EVENT_FLOW, step=STEPS[0], data={})
    tr = context.tr(update)
    await reply(
        update,
        context,
        esc(
            tr.gettext(
                "New protest, step by step. Each answer is one message; Cancel stops at any point."
            )
        ),
    )
    await ask(update, context, STEPS[0])


async def ask(update: Update, context: BotContext, step: str, problem: str | None = None) -> None:
    tr = context.tr(update)
    text = step_prompt(tr, step)
    if problem:
        text = f"⚠️ {esc(problem)}\n\n{text}"
    await reply(update, context, text, step_markup(tr, step))


def step_markup(tr: Translator, step: str) -> InlineKeyboardMarkup:
    rows = zone_rows("tz") if step == "timezone" else []
    if step in OPTIONAL:
        rows.append([button(tr.gettext("Skip"), "skip")])
    rows.append([button(tr.gettext("Cancel"), "discard")])
    return InlineKeyboardMarkup(rows)


async def on_event_text(update: Update, context: BotContext, message: Message) -> None:
    pending = context.chat_state.pending
    assert pending is not None and message.text is not None
    step = pending["step"]
    known = context.protests.all()
    value, problem = read_answer(context.tr(update), step, message.text, known)
    if step == "starts" and value is not None and already_passed(str(value), LATEST_ZONE):
        # The zone comes next; a time already past in the latest one is past everywhere.
        value, problem = None, context.tr(update).gettext("That time has already passed.")
    if value is None:
        await ask(update, context, step, problem)
        return
    pending["data"][step] = value
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
    taken = [e.id for e in context.protests.all()]
    event, problem = build_event(tr, data, taken)
    if event is None:
        data.pop("starts", None)
        pending["step"] = "starts"
        await ask(update, context, "starts", problem)
        return
    pending["event"] = event.model_dump(mode="json")
    preview = "\n\n".join(wording.describe(translator(lang), event) for lang in ("en", "ru"))
    heading = tr.gettext("Check and publish:")
    await reply(update, context, f"{esc(heading)}\n\n{preview}", publish_markup(tr))


def publish_markup(tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(tr.gettext("Publish"), "publish"), button(tr.gettext("Cancel"), "discard")]]
    )


@organiser_button
async def on_zone(update: Update, context: BotContext, arg: str | None) -> None:
    """A city's button at the time zone step."""
    pending = context.chat_state.pending or {}
    if arg in zones.KNOWN_CITIES and pending.get("step") == "timezone":
        pending["data"]["timezone"] = zones.KNOWN_CITIES[arg][0]
        await advance(update, context)


@organiser_button
async def on_skip(update: Update, context: BotContext, _arg: str | None) -> None:
    """Skip an optional step (the link, the note)."""
    pending = context.chat_state.pending or {}
    if pending.get("flow") == EVENT_FLOW and pending["step"] in OPTIONAL:
        pending["data"][pending["step"]] = ""
        await advance(update, context)


@organiser_button
async def on_publish(update: Update, context: BotContext, _arg: str | None) -> None:
    tr = context.tr(update)
    pending = context.chat_state.pending or {}
    document = pending.get("event")
    if pending.get("flow") != EVENT_FLOW or document is None:
        await reply(update, context, esc(tr.gettext("Nothing to publish.")), edit=True)
        return
    event = ProtestEvent.model_validate(document)
    await context.protests.save(event)
    context.chat_state.pending = None
    await protests_changed(context)
    service.settings_changed(context.application)
    text = tr.gettext(
        "Published as %(id)s. Subscribers following %(city)s will be reminded "
        "at their chosen times."
    ) % {"id": event.id, "city": event.city.get(tr.language)}
    await reply(update, context, esc(text), edit=True)


async def protests_changed(context: BotContext) -> int:
    """Record what changed (the calendar's sequence) and start the change notices."""
    reminder_service = service.service(context.application)
    return await reminder_service.fanouts.protests_changed() if reminder_service is not None else 0


def event_conversation() -> ConversationHandler:
    return flow_conversation(EVENT_FLOW, event_add, on_event_text)


# /event_cancel -------------------------------------------------------------------------------


async def event_cancel(update: Update, context: BotContext) -> None:
    if not await allowed(update, context):
        return
    tr = context.tr(update)
    listed = upcoming_named(context)
    if not listed:
        await reply(update, context, esc(tr.gettext("There is no upcoming protest to cancel.")))
        return
    coming = {e.id: context.store.marks.coming_count(e.id) for e in listed}
    await reply(
        update,
        context,
        esc(tr.gettext("Which protest is cancelled?")),
        cancel_list_markup(tr, listed, coming),
    )


def cancel_list_markup(
    tr: Translator, listed: list[ProtestEvent], coming: dict[str, int] | None = None
) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(organiser_line(tr, e, coming), "cancel", e.id)] for e in listed[:20]]
    )


def organiser_line(
    tr: Translator, event: ProtestEvent, coming: dict[str, int] | None = None
) -> str:
    """A protest's line in the organisers' lists, with how many plan to come."""
    count = f" · ✋ {coming[event.id]}" if coming and event.id in coming else ""
    return wording.short_line(tr, event)[: 60 - len(count)] + count


def confirm_cancel_markup(tr: Translator, event: ProtestEvent) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(tr.gettext("Yes, cancel it"), "cancelok", event.id),
                button(tr.gettext("No"), "discard"),
            ]
        ]
    )


@organiser_button
async def on_cancel(update: Update, context: BotContext, event_id: str | None) -> None:
    """A protest chosen under /event_cancel: asked once more."""
    if not event_id:
        return
    tr = context.tr(update)
    event = context.protests.find(event_id)
    if event is None or event.cancelled:
        await reply(
            update, context, esc(tr.gettext("There is no upcoming protest to cancel.")), edit=True
        )
        return
    await reply(
        update,
        context,
        wording.describe(tr, event)
        + "\n\n"
        + esc(tr.gettext("Cancel this protest and tell those already reminded?")),
        confirm_cancel_markup(tr, event),
        edit=True,
    )


@organiser_button
async def on_cancel_confirmed(update: Update, context: BotContext, event_id: str | None) -> None:
    """ "Yes, cancel it": cancelled, and those already reminded told (a fan-out)."""
    if not event_id:
        return
    tr = context.tr(update)
    event = await context.protests.cancel(event_id)
    if event is None:
        await reply(
            update, context, esc(tr.gettext("There is no upcoming protest to cancel.")), edit=True
        )
        return
    await protests_changed(context)
    told = len(await asyncio.to_thread(broadcasts.reminded_chats, context.store, event.id, event))
    reminder_service = service.service(context.application)
    if told and reminder_service is not None:
        await reminder_service.fanouts.start_fanout(
            f"x:{event.id}", {"kind": "cancel", "event": event.id}
        )
    service.settings_changed(context.application)
    text = tr.ngettext(
        "Cancelled. %(num)d chat that was already reminded is being told.",
        "Cancelled. %(num)d chats that were already reminded are being told.",
        told,
    ) % {"num": told}
    await reply(update, context, esc(text), edit=True)
