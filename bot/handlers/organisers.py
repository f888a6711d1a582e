"""Organisers: who may (``allowed``), their buttons and flows, and the protests they publish
and cancel (/event_add, /event_cancel). /broadcast is in ``handlers.broadcast``, /stats and
/backup in ``handlers.reports``; the form's logic in ``protests.form``.

Only user ids in BOT_ADMIN_IDS, and only in a private chat with the bot (a step-by-step form
in a group would catch other people's messages). Everyone else gets the same neutral answer,
so the commands reveal nothing. Fan-outs run as background jobs, never inside the handler.

Each flow is a ConversationHandler (``flow``) with one state, its typed answers and its own
buttons (``answer``, ``choice``), and a typed draft (``handlers.drafts``). A flow's button
pressed when the flow is not open reaches the catch-all (``refused_or_out_of_date``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import NoReturn

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import callbacks, zones
from bot.content.cards import esc
from bot.content.schema import ProtestEvent
from bot.context import BotContext
from bot.handlers import conversations, drafts
from bot.handlers.drafts import D, EventDraft
from bot.handlers.replies import (
    Handler,
    action_button,
    command_argument,
    is_admin,
    pressed,
    reply,
    stale_button,
)
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
    """An organisers' button outside the flows (/event_cancel's): refused like the commands.
    ``act`` gets the button's argument."""

    @functools.wraps(act)
    async def on_press(update: Update, context: BotContext) -> None:
        query, data = pressed(update, context)
        if not await allowed(update, context):
            return
        await query.answer()
        await act(update, context, data.args.get("arg"))

    return on_press


Start = Callable[[Update, BotContext], Awaitable[bool]]
"""A flow's command: True if the flow is now open (it put its draft), False if it was
refused or there is nothing to do."""
Answer = Callable[[Update, BotContext, D, Message], Awaitable[bool]]
"""A typed answer to the flow's step, with the flow's draft: True while the flow goes on."""
Choice = Callable[[Update, BotContext, D, str | None], Awaitable[bool]]
"""A press of one of the flow's buttons (and its argument): True while the flow goes on."""
TYPED = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND & conversations.NEW_MESSAGES


def flow(kind: type[D], start: Start, steps: list[BaseHandler]) -> ConversationHandler:
    """An organisers' flow (``bot.handlers.conversations``): ``/<kind.flow>`` starts it, and
    ``steps`` (``answer`` and ``choice``) take it on until one ends it, a command leaves it or
    it times out; its draft is then forgotten."""

    async def enter(update: Update, context: BotContext) -> object:
        if await start(update, context):
            conversations.stay(kind.flow)
        conversations.done()  # refused: answered here, not "unknown command" too

    return conversations.conversation(
        kind.flow,
        entry_points=[CommandHandler(kind.flow, enter, filters=conversations.NEW_MESSAGES)],
        states={kind.flow: steps},
        timeout=conversations.LONG_TIMEOUT,
        leave=lambda update, context: drafts.drop(update, context, kind),
    )


def answer(kind: type[D], on_text: Answer[D]) -> MessageHandler:
    """The flow's handler of typed answers."""

    async def on_answer(update: Update, context: BotContext) -> object:
        message = update.effective_message
        found = drafts.draft(update, context, kind)
        if found is None or message is None or not message.text:
            return conversations.END  # its draft is gone: the text goes on, as any text
        goes_on = await allowed(update, context) and await on_text(update, context, found, message)
        return _then(update, context, kind, goes_on)

    return MessageHandler(TYPED, on_answer)


def choice(kind: type[D], op: str, act: Choice[D]) -> CallbackQueryHandler:
    """The flow's handler of its ``op`` buttons."""

    async def on_press(update: Update, context: BotContext) -> object:
        query, data = pressed(update, context)
        found = drafts.draft(update, context, kind)
        if found is None:
            return conversations.END  # its draft is gone: the catch-all says "out of date"
        if not await allowed(update, context):
            return _then(update, context, kind, goes_on=False)
        await query.answer()
        goes_on = await act(update, context, found, data.args.get("arg"))
        return _then(update, context, kind, goes_on)

    return CallbackQueryHandler(on_press, pattern=callbacks.pattern(ACTION, op))


def _then(update: Update, context: BotContext, kind: type[D], goes_on: bool) -> NoReturn:
    if goes_on:
        conversations.stay(kind.flow)
    drafts.drop(update, context, kind)
    conversations.done()


async def cancelled(update: Update, context: BotContext, _draft: object, _arg: str | None) -> bool:
    """Cancel, at any step of a flow: the flow is over."""
    await say_cancelled(update, context)
    return False


async def say_cancelled(update: Update, context: BotContext) -> None:
    await reply(update, context, esc(context.tr(update).gettext("Cancelled.")), edit=True)


def cancel_button(tr: Translator, op: str = "discard") -> InlineKeyboardButton:
    """Cancel, as ``op``: each flow has its own (``discard`` is /event_add's)."""
    return button(tr.gettext("Cancel"), op)


def cancel_markup(tr: Translator, op: str = "discard") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[cancel_button(tr, op)]])


async def refused_or_out_of_date(update: Update, context: BotContext) -> None:
    """A button no handler took (the catch-all, last in group 0): an organisers' button is
    refused like their commands for anyone else, and out of date for an organiser (its flow
    is over); any other button is out of date."""
    query = update.callback_query
    data = query.data if query is not None and isinstance(query.data, str) else None
    parsed = callbacks.parse(data)
    if parsed is not None and parsed.action == ACTION and not await allowed(update, context):
        return
    await stale_button(update, context)


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


async def event_add(update: Update, context: BotContext) -> bool:
    if not await allowed(update, context):
        return False
    drafts.start(update, context, EventDraft())
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
    return True


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
    rows.append([cancel_button(tr)])
    return InlineKeyboardMarkup(rows)


async def on_event_text(
    update: Update, context: BotContext, draft: EventDraft, message: Message
) -> bool:
    assert message.text is not None
    step = draft.step
    known = context.protests.all()
    value, problem = read_answer(context.tr(update), step, message.text, known)
    if step == "starts" and value is not None and already_passed(str(value), LATEST_ZONE):
        # The zone comes next; a time already past in the latest one is past everywhere.
        value, problem = None, context.tr(update).gettext("That time has already passed.")
    if value is None:
        await ask(update, context, step, problem)
        return True
    draft.data[step] = value
    await advance(update, context, draft)
    return True


async def advance(update: Update, context: BotContext, draft: EventDraft) -> None:
    data = draft.data
    remaining = [step for step in STEPS if step not in data]
    if remaining:
        draft.step = remaining[0]
        await ask(update, context, remaining[0])
        return
    tr = context.tr(update)
    taken = [e.id for e in context.protests.all()]
    event, problem = build_event(tr, data, taken)
    if event is None:
        data.pop("starts", None)
        draft.step = "starts"
        await ask(update, context, "starts", problem)
        return
    draft.event = event
    preview = "\n\n".join(wording.describe(translator(lang), event) for lang in ("en", "ru"))
    heading = tr.gettext("Check and publish:")
    await reply(update, context, f"{esc(heading)}\n\n{preview}", publish_markup(tr))


def publish_markup(tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(tr.gettext("Publish"), "publish"), cancel_button(tr)]])


async def on_zone(update: Update, context: BotContext, draft: EventDraft, arg: str | None) -> bool:
    """A city's button at the time zone step."""
    if arg in zones.KNOWN_CITIES and draft.step == "timezone":
        draft.data["timezone"] = zones.KNOWN_CITIES[arg][0]
        await advance(update, context, draft)
    return True


async def on_skip(
    update: Update, context: BotContext, draft: EventDraft, _arg: str | None
) -> bool:
    """Skip an optional step (the link, the note)."""
    if draft.step in OPTIONAL:
        draft.data[draft.step] = ""
        await advance(update, context, draft)
    return True


async def on_publish(
    update: Update, context: BotContext, draft: EventDraft, _arg: str | None
) -> bool:
    tr = context.tr(update)
    event = draft.event
    if event is None:
        await reply(update, context, esc(tr.gettext("Nothing to publish.")), edit=True)
        return True
    await context.protests.save(event)
    await protests_changed(context)
    service.settings_changed(context.application)
    text = tr.gettext(
        "Published as %(id)s. Subscribers following %(city)s will be reminded "
        "at their chosen times."
    ) % {"id": event.id, "city": event.city.get(tr.language)}
    await reply(update, context, esc(text), edit=True)
    return False


async def protests_changed(context: BotContext) -> int:
    """Record what changed (the calendar's sequence) and start the change notices."""
    reminder_service = service.service(context.application)
    return await reminder_service.fanouts.protests_changed() if reminder_service is not None else 0


def event_conversation() -> ConversationHandler:
    return flow(
        EventDraft,
        event_add,
        [
            answer(EventDraft, on_event_text),
            choice(EventDraft, "tz", on_zone),
            choice(EventDraft, "skip", on_skip),
            choice(EventDraft, "publish", on_publish),
            choice(EventDraft, "discard", cancelled),
        ],
    )


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
                button(tr.gettext("No"), "cancelno"),
            ]
        ]
    )


@organiser_button
async def on_keep_protest(update: Update, context: BotContext, _arg: str | None) -> None:
    """No, under /event_cancel."""
    await say_cancelled(update, context)


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
