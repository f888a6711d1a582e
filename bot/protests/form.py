"""The /event_add form without Telegram: its steps, reading one typed answer, building the event.

The organisers' handlers (``handlers.organisers``, ``handlers.event_edit``) only ask, show
and store.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import ValidationError

from bot.content.schema import ProtestEvent, Text, parse_http_link
from bot.i18n import N_, Translator
from bot.protests import model
from bot.protests.model import event_start
from bot.zones import canonical_zone, zone

MAX_FIELD, MAX_NOTE = model.MAX_FIELD, 600

STEPS = ("city", "venue", "address", "starts", "timezone", "organiser", "link", "note")
PROMPTS = {
    "city": N_("The city, in English and Russian separated by “/”, for example: Almaty / Алматы."),
    "venue": N_(
        "The venue, in English / Russian, for example: Embassy of Kazakhstan / "
        "Посольство Казахстана."
    ),
    "address": N_("The street address, as written locally."),
    "starts": N_(
        "Date and start time at the venue, for example 2026-12-16 12:00 or 16.12.2026 12:00."
    ),
    "timezone": N_("The venue's time zone: press a city or type a name such as Europe/Vienna."),
    "organiser": N_("Who organises it, in English / Russian."),
    "link": N_("A link with more information (https://…), or press Skip."),
    "note": N_("A short note for participants, in English / Russian, or press Skip."),
}
OPTIONAL = frozenset({"link", "note"})
LATEST_ZONE = "Etc/GMT+12"
"""UTC−12, where a local time comes last: a time already past there is past everywhere."""


def read_answer(
    tr: Translator, step: str, text: str, known: list[ProtestEvent]
) -> tuple[object | None, str | None]:
    """The step's value from the typed text, or None and what to say about it."""
    _ = tr.gettext
    if step == "city":
        return (
            model.parse_city(text, known),
            _("Please give the city's name in English first, then “/” and Russian."),
        )
    if step in ("venue", "organiser"):
        return (
            model.bilingual(text),
            _("Please keep it under 200 characters, English / Russian."),
        )
    if step == "note":
        return (
            model.bilingual(text, MAX_NOTE),
            _("Please keep it under 600 characters, English / Russian."),
        )
    if step == "address":
        return text.strip()[:MAX_FIELD] or None, _("Please type the address.")
    if step == "starts":
        parsed = model.parse_starts(text)
        return (
            parsed.isoformat() if parsed else None,
            _("I could not read that date. Use 2026-12-16 12:00 or 16.12.2026 12:00."),
        )
    if step == "timezone":
        return (
            canonical_zone(text),
            _("I do not know that time zone. Type a name such as Europe/Vienna."),
        )
    if step == "link":
        return (
            parse_http_link(text),
            _("Please send a link starting with https://, or press Skip."),
        )
    return None, None


def current_values(event: ProtestEvent) -> dict[str, object]:
    """Each step's value for an existing protest, as the form keeps it (``Keep`` takes it)."""
    return {
        "city": event.city.model_dump(),
        "venue": event.venue.model_dump(),
        "address": event.address,
        "starts": event.starts_at.isoformat(),
        "timezone": event.timezone,
        "organiser": event.organiser.model_dump(),
        "link": event.link or "",
        "note": event.note.model_dump() if event.note else "",
    }


def shown(value: object) -> str:
    """A step's value as the organiser typed it ("—" for a skipped one)."""
    if isinstance(value, dict):
        return f"{value['en']} / {value['ru']}"
    if isinstance(value, str) and len(value) == 19 and value[4] == "-" and value[10] == "T":
        return value[:16].replace("T", " ")  # a start time
    return str(value) if value else "—"


def already_passed(starts: str, timezone: str) -> bool:
    """Whether a start time read from the form (local, ISO) is already past in that zone."""
    local = datetime.fromisoformat(starts).replace(tzinfo=zone(timezone))
    return local <= datetime.now(UTC)


def build_event(
    tr: Translator, data: dict, taken: list[str], event_id: str | None = None
) -> tuple[ProtestEvent | None, str | None]:
    """The event from every step's value, or None and what is wrong (``taken``: ids in use;
    ``event_id``: the protest being edited, which keeps its id)."""
    starts = datetime.fromisoformat(data["starts"])
    try:
        event = ProtestEvent(
            id=event_id or model.new_event_id(data["city"]["en"], starts, taken),
            city=Text(**data["city"]),
            venue=Text(**data["venue"]),
            address=data["address"],
            starts_at=starts,
            timezone=data["timezone"],
            organiser=Text(**data["organiser"]),
            link=data.get("link") or None,
            note=Text(**data["note"]) if data.get("note") else None,
        )
    except (ValidationError, ValueError) as exc:
        return None, str(exc)[:200]
    if event_start(event) <= datetime.now(UTC):
        return None, tr.gettext("That time has already passed.")
    return event, None
