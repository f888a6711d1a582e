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
from bot.handlers import drafts
from bot.handlers.drafts import EditDraft
from bot.handlers.organisers import (
    allowed,
    answer,
    button,
    cancel_button,
    cancelled,
    choice,
    flow,
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

CANCEL = "editno"


async def event_edit(update: Update, context: BotContext) -> bool:
    """The upcoming protests, one button each: the one pressed is edited."""
    if not await allowed(update, context):
        return False
    tr = context.tr(update)
    listed = upcoming_named(context)
    if not listed:
        await reply(update, context, esc(tr.gettext("There is no upcoming protest to change.")))
        return False
    drafts.start(update, context, EditDraft())
    coming = {e.id: context.store.marks.coming_count(e.id) for e in listed}
    await reply(
        update, context, esc(tr.gettext("Which protest changes?")), pick_markup(tr, listed, coming)
    )
    return True


def pick_markup(
    tr: Translator, listed: list[ProtestEvent], coming: dict[str, int] | None = None
) -> InlineKeyboardMarkup:
    rows = [[button(organiser_line(tr, e, coming), "edit", e.id)] for e in listed[:20]]
    rows.append([cancel_button(tr, CANCEL)])
    return InlineKeyboardMarkup(rows)


async def on_pick(
    update: Update, context: BotContext, draft: EditDraft, event_id: str | None
) -> bool:
    """The protest to change: its first step."""
    event = context.protests.find(event_id) if event_id else None
    tr = context.tr(update)
    if event is None or event.cancelled:
        await reply(
            update, context, esc(tr.gettext("There is no upcoming protest to change.")), edit=True
        )
        return True
    draft.event_id, draft.current, draft.step, draft.data = (
        event.id,
        current_values(event),
        STEPS[0],
        {},
    )
    await ask(update, context, draft, STEPS[0])
    return True


async def ask(
    update: Update, context: BotContext, draft: EditDraft, step: str, problem: str | None = None
) -> None:
    tr = context.tr(update)
    now = tr.gettext("Now: %(value)s") % {"value": shown(draft.current[step])}
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
    rows.append([cancel_button(tr, CANCEL)])
    return InlineKeyboardMarkup(rows)


async def on_text(update: Update, context: BotContext, draft: EditDraft, message: Message) -> bool:
    assert message.text is not None
    step = draft.step
    tr = context.tr(update)
    if step is None:
        await reply(update, context, esc(tr.gettext("Please press one of the protests above.")))
        return True
    known = context.protests.all()
    value, problem = read_answer(tr, step, message.text, known)
    if (
        step == "starts"
        and value is not None
        and already_passed(str(value), str(draft.data.get("timezone", draft.current["timezone"])))
    ):
        value, problem = None, tr.gettext("That time has already passed.")
    if value is None:
        await ask(update, context, draft, step, problem)
        return True
    draft.data[step] = value
    return await advance(update, context, draft)


async def take(
    update: Update, context: BotContext, draft: EditDraft, value: object | None
) -> bool:
    """A button's answer to the step (None: keep the current value)."""
    step = draft.step
    if step is None:
        return True
    draft.data[step] = draft.current[step] if value is None else value
    return await advance(update, context, draft)


async def on_keep(update: Update, context: BotContext, draft: EditDraft, _arg: str | None) -> bool:
    """Keep: the step's current value stays."""
    return await take(update, context, draft, None)


async def on_remove(
    update: Update, context: BotContext, draft: EditDraft, _arg: str | None
) -> bool:
    """Remove the link or the note."""
    if draft.step in OPTIONAL:
        return await take(update, context, draft, "")
    return True


async def on_zone(update: Update, context: BotContext, draft: EditDraft, arg: str | None) -> bool:
    """A city's button at the time zone step."""
    if arg in zones.KNOWN_CITIES and draft.step == "timezone":
        return await take(update, context, draft, zones.KNOWN_CITIES[arg][0])
    return True


async def advance(update: Update, context: BotContext, draft: EditDraft) -> bool:
    """The next step, or the preview once every step is answered (False: the protest is gone,
    and the flow with it)."""
    data = draft.data
    remaining = [step for step in STEPS if step not in data]
    if remaining:
        draft.step = remaining[0]
        await ask(update, context, draft, remaining[0])
        return True
    tr = context.tr(update)
    old = context.protests.find(draft.event_id) if draft.event_id else None
    if old is None or old.cancelled:
        await reply(update, context, esc(tr.gettext("There is no upcoming protest to change.")))
        return False
    new, problem = build_event(tr, data, [], event_id=old.id)
    if new is None:
        data.pop("starts", None)
        draft.step = "starts"
        await ask(update, context, draft, "starts", problem)
        return True
    draft.step = "preview"
    draft.new = new
    await reply(update, context, preview(tr, old, new), publish_markup(tr, old, new))
    return True


def preview(tr: Translator, old: ProtestEvent, new: ProtestEvent) -> str:
    """What changes (old → new), then the protest as subscribers will see it, both languages."""
    lines = wording.change_lines(tr, old, new)
    if not lines:
        return esc(tr.gettext("Nothing changes."))
    whole = "\n\n".join(wording.describe(translator(lang), new) for lang in ("en", "ru"))
    heading = tr.gettext("What changes:")
    return f"<b>{esc(heading)}</b>\n" + "\n".join(lines) + "\n\n" + whole


def publish_markup(tr: Translator, old: ProtestEvent, new: ProtestEvent) -> InlineKeyboardMarkup:
    cancel = cancel_button(tr, CANCEL)
    if not wording.change_lines(tr, old, new):
        return InlineKeyboardMarkup([[cancel]])
    return InlineKeyboardMarkup([[button(tr.gettext("Publish"), "editok"), cancel]])


async def on_publish(
    update: Update, context: BotContext, draft: EditDraft, _arg: str | None
) -> bool:
    """Publish: the new version stored, and those already told of the protest told once."""
    tr = context.tr(update)
    new = draft.new
    if new is None:
        await reply(update, context, esc(tr.gettext("Nothing to publish.")), edit=True)
        return True
    old = context.protests.find(new.id)
    if old is None or old.cancelled:
        await reply(
            update, context, esc(tr.gettext("There is no upcoming protest to change.")), edit=True
        )
        return False
    await context.protests.save(new)
    await protests_changed(context)
    service.settings_changed(context.application)
    text = tr.gettext(
        "Changed. Everyone already told of this protest gets one notice of "
        "the change; later reminders and the calendar files show the new "
        "details."
    )
    await reply(update, context, esc(text), edit=True)
    return False


def conversation() -> ConversationHandler:
    return flow(
        EditDraft,
        event_edit,
        [
            answer(EditDraft, on_text),
            choice(EditDraft, "edit", on_pick),
            choice(EditDraft, "keep", on_keep),
            choice(EditDraft, "etz", on_zone),
            choice(EditDraft, "eskip", on_remove),
            choice(EditDraft, "editok", on_publish),
            choice(EditDraft, CANCEL, cancelled),
        ],
    )
