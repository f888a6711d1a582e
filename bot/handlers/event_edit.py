"""/event_edit: an organiser changes an upcoming protest, step by step as /event_add asks,
each step showing the current value with a Keep button, then a preview of what changes.

Publishing stores the new version under the same id; ``BackgroundFanOuts.protests_changed``
then raises the calendar's sequence and tells, once each, the chats already told of it.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import ConversationHandler

from bot import zones
from bot.content.cards import esc
from bot.content.schema import ProtestEvent
from bot.context import BotContext
from bot.handlers.organisers import (
    allowed,
    button,
    flow_conversation,
    open_flow,
    organiser_button,
    organiser_line,
    protests_changed,
    step_prompt,
    upcoming_named,
    zone_rows,
)
from bot.handlers.replies import reply
from bot.i18n import Translator, translator
from bot.protests import wording
from bot.protests.form import (
    OPTIONAL,
    STEPS,
    already_passed,
    build_event,
    current_values,
    read_answer,
    shown,
)
from bot.reminders import service

EDIT_FLOW = "event_edit"


async def event_edit(update: Update, context: BotContext) -> None:
    """The upcoming protests, one button each: the one pressed is edited."""
    if not await allowed(update, context):
        return
    tr = context.tr(update)
    listed = upcoming_named(context)
    if not listed:
        await reply(update, context, esc(tr.gettext("There is no upcoming protest to change.")))
        return
    open_flow(update, context, EDIT_FLOW, step=None, data={})
    coming = {e.id: context.store.marks.coming_count(e.id) for e in listed}
    await reply(
        update, context, esc(tr.gettext("Which protest changes?")), pick_markup(tr, listed, coming)
    )


def pick_markup(
    tr: Translator, listed: list[ProtestEvent], coming: dict[str, int] | None = None
) -> InlineKeyboardMarkup:
    rows = [[button(organiser_line(tr, e, coming), "edit", e.id)] for e in listed[:20]]
    rows.append([button(tr.gettext("Cancel"), "discard")])
    return InlineKeyboardMarkup(rows)


def _editing(context: BotContext) -> dict | None:
    pending = context.chat_state.pending
    return pending if pending and pending.get("flow") == EDIT_FLOW else None


@organiser_button
async def on_pick(update: Update, context: BotContext, event_id: str | None) -> None:
    """The protest to change: its first step."""
    pending = _editing(context)
    event = context.protests.find(event_id) if event_id else None
    tr = context.tr(update)
    if pending is None or event is None or event.cancelled:
        await reply(
            update, context, esc(tr.gettext("There is no upcoming protest to change.")), edit=True
        )
        return
    pending.update(event=event.id, current=current_values(event), step=STEPS[0], data={})
    await ask(update, context, STEPS[0])


async def ask(update: Update, context: BotContext, step: str, problem: str | None = None) -> None:
    pending = _editing(context)
    assert pending is not None
    tr = context.tr(update)
    now = tr.gettext("Now: %(value)s") % {"value": shown(pending["current"][step])}
    text = f"{step_prompt(tr, step)}\n{esc(now)}\n" + esc(
        tr.gettext("Type the new value, or press Keep.")
    )
    if problem:
        text = f"⚠️ {esc(problem)}\n\n{text}"
    await reply(update, context, text, step_markup(tr, step))


def step_markup(tr: Translator, step: str) -> InlineKeyboardMarkup:
    rows = zone_rows("etz") if step == "timezone" else []
    row = [button(tr.gettext("Keep"), "keep")]
    if step in OPTIONAL:
        row.append(button(tr.gettext("Remove"), "eskip"))
    rows.append(row)
    rows.append([button(tr.gettext("Cancel"), "discard")])
    return InlineKeyboardMarkup(rows)


async def on_text(update: Update, context: BotContext, message: Message) -> None:
    pending = _editing(context)
    assert pending is not None and message.text is not None
    step = pending["step"]
    tr = context.tr(update)
    if step is None:
        await reply(update, context, esc(tr.gettext("Please press one of the protests above.")))
        return
    known = context.protests.all()
    value, problem = read_answer(tr, step, message.text, known)
    if (
        step == "starts"
        and value is not None
        and already_passed(
            str(value), pending["data"].get("timezone", pending["current"]["timezone"])
        )
    ):
        value, problem = None, tr.gettext("That time has already passed.")
    if value is None:
        await ask(update, context, step, problem)
        return
    pending["data"][step] = value
    await advance(update, context)


async def take(update: Update, context: BotContext, value: object | None) -> None:
    """A button's answer to the step (None: keep the current value)."""
    pending = _editing(context)
    if pending is None or pending.get("step") is None:
        return
    step = pending["step"]
    pending["data"][step] = pending["current"][step] if value is None else value
    await advance(update, context)


@organiser_button
async def on_keep(update: Update, context: BotContext, _arg: str | None) -> None:
    """Keep: the step's current value stays."""
    await take(update, context, None)


@organiser_button
async def on_remove(update: Update, context: BotContext, _arg: str | None) -> None:
    """Remove the link or the note."""
    pending = _editing(context)
    if pending is not None and pending.get("step") in OPTIONAL:
        await take(update, context, "")


@organiser_button
async def on_zone(update: Update, context: BotContext, arg: str | None) -> None:
    """A city's button at the time zone step."""
    pending = _editing(context)
    if arg in zones.KNOWN_CITIES and pending is not None and pending["step"] == "timezone":
        await take(update, context, zones.KNOWN_CITIES[arg][0])


async def advance(update: Update, context: BotContext) -> None:
    pending = _editing(context)
    assert pending is not None
    data = pending["data"]
    remaining = [step for step in STEPS if step not in data]
    if remaining:
        pending["step"] = remaining[0]
        await ask(update, context, remaining[0])
        return
    tr = context.tr(update)
    old = context.protests.find(pending["event"])
    if old is None or old.cancelled:
        context.chat_state.pending = None
        await reply(update, context, esc(tr.gettext("There is no upcoming protest to change.")))
        return
    new, problem = build_event(tr, data, [], event_id=old.id)
    if new is None:
        data.pop("starts", None)
        pending["step"] = "starts"
        await ask(update, context, "starts", problem)
        return
    pending["step"] = "preview"
    pending["new"] = new.model_dump(mode="json")
    await reply(update, context, preview(tr, old, new), publish_markup(tr, old, new))


def preview(tr: Translator, old: ProtestEvent, new: ProtestEvent) -> str:
    """What changes (old → new), then the protest as subscribers will see it, both languages."""
    lines = wording.change_lines(tr, old, new)
    if not lines:
        return esc(tr.gettext("Nothing changes."))
    whole = "\n\n".join(wording.describe(translator(lang), new) for lang in ("en", "ru"))
    heading = tr.gettext("What changes:")
    return f"<b>{esc(heading)}</b>\n" + "\n".join(lines) + "\n\n" + whole


def publish_markup(tr: Translator, old: ProtestEvent, new: ProtestEvent) -> InlineKeyboardMarkup:
    cancel = button(tr.gettext("Cancel"), "discard")
    if not wording.change_lines(tr, old, new):
        return InlineKeyboardMarkup([[cancel]])
    return InlineKeyboardMarkup([[button(tr.gettext("Publish"), "editok"), cancel]])


@organiser_button
async def on_publish(update: Update, context: BotContext, _arg: str | None) -> None:
    """Publish: the new version stored, and those already told of the protest told once."""
    tr = context.tr(update)
    pending = _editing(context)
    if pending is None or pending.get("new") is None:
        await reply(update, context, esc(tr.gettext("Nothing to publish.")), edit=True)
        return
    new = ProtestEvent.model_validate(pending["new"])
    old = context.protests.find(new.id)
    if old is None or old.cancelled:
        context.chat_state.pending = None
        await reply(
            update, context, esc(tr.gettext("There is no upcoming protest to change.")), edit=True
        )
        return
    await context.protests.save(new)
    context.chat_state.pending = None
    await protests_changed(context)
    service.settings_changed(context.application)
    text = tr.gettext(
        "Changed. Everyone already told of this protest gets one notice of "
        "the change; later reminders and the calendar files show the new "
        "details."
    )
    await reply(update, context, esc(text), edit=True)


def conversation() -> ConversationHandler:
    return flow_conversation(EDIT_FLOW, event_edit, on_text)
