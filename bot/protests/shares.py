"""Upcoming protests as inline-mode items, shared into chats with a link back to the list."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from telegram.helpers import create_deep_linked_url

from bot.content.cards import attr, esc, shorten
from bot.content.inline import DESCRIPTION_LIMIT, TITLE_LIMIT, EventShare, SharedItem, result_id
from bot.content.schema import ProtestEvent
from bot.i18n import Translator
from bot.protests import model, wording
from bot.protests.repository import ProtestRepository

EVENTS_PAYLOAD = "protests"
"""Deep link under a shared protest: /start with it opens the list of protests."""


def event_shares(protests: ProtestRepository, now: datetime) -> list[EventShare]:
    """Upcoming protests as shareable items."""
    shares = []
    for event in model.upcoming(protests.all(), now):
        names = (*event.city.texts.values(), *event.venue.texts.values())
        shares.append(
            EventShare(event.id, names, model.event_start(event), partial(_event_item, event))
        )
    return shares


def _event_item(event: ProtestEvent, tr: Translator, bot_username: str) -> SharedItem:
    _ = tr.gettext
    title = _("Protest in %(city)s") % {"city": event.city.get(tr.language)}
    link = create_deep_linked_url(bot_username, EVENTS_PAYLOAD)
    text = "\n\n".join(
        [
            wording.describe(tr, event),
            "<i>"
            + esc(_("Announced by the organiser; check the bot before you go, plans change."))
            + "</i>",
            f'<a href="{attr(link)}">' + esc(_("All upcoming protests in the bot")) + "</a>",
        ]
    )
    return SharedItem(
        result_id=result_id("e", event.id, tr.language),
        title=shorten(title, TITLE_LIMIT),
        description=shorten(wording.short_line(tr, event), DESCRIPTION_LIMIT),
        text=text,
        link=link,
        link_label=_("Open in the bot"),
        share_query=event.city.get(tr.language),
    )
