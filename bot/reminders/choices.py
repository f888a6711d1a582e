"""What pressing a reminder setting does to a chat's ``ChatSettings``, without Telegram.

Shared by a chat's own panel (``handlers.panel``, ``handlers.timezone``) and a channel's
(``handlers.channels``). Each function takes the button's argument as it came (it may be
forged) and returns the new settings, or None when the argument is not one the panel offers.
"""

from __future__ import annotations

import dataclasses

from bot import zones
from bot.content.schema import Text
from bot.i18n import LANGUAGE_NAMES
from bot.reminders.schedule import LEAD_CHOICES
from bot.store.models import MAX_FOLLOWS, ChatSettings
from bot.zones import DELIVERY_HOURS

TOPICS = ("all", "dec16")


def city_label(key: str, language: str, known: dict[str, Text] | None = None) -> str:
    """A protest city's name: the bot's own list, then the cities events name, then the key."""
    if key in zones.CITY_NAMES.get(language, {}):
        return zones.CITY_NAMES[language][key]
    if key in zones.KNOWN_CITIES:
        return zones.KNOWN_CITIES[key][2 if language in ("ru", *zones.CITY_NAMES) else 1]
    if known and key in known:
        return known[key].get(language)
    return key.replace("-", " ").title()


def zone_label(settings: ChatSettings, language: str, city: str | None = None) -> str:
    """The chat's time zone as a reader knows it: the city pressed (or a protest city the chat
    follows in that zone, or the one city of the list there), else the typed IANA name."""
    in_zone = [
        key for key, (name, _en, _ru) in zones.KNOWN_CITIES.items() if name == settings.timezone
    ]
    followed = [key for key in settings.cities if key in in_zone]
    if city in in_zone:
        return city_label(city, language)
    if followed or len(in_zone) == 1:
        return city_label((followed or in_zone)[0], language)
    return settings.timezone


def with_topic(settings: ChatSettings, arg: str | None) -> ChatSettings | None:
    return dataclasses.replace(settings, topics=arg) if arg in TOPICS else None


def with_lead_toggled(settings: ChatSettings, arg: str | None) -> ChatSettings | None:
    if not (arg and arg.isdecimal() and int(arg) in LEAD_CHOICES):
        return None
    leads = set(settings.leads) ^ {int(arg)}
    return dataclasses.replace(settings, leads=sorted(leads, reverse=True))


def with_hour(settings: ChatSettings, arg: str | None) -> ChatSettings | None:
    if not (arg and arg.isdecimal() and int(arg) in DELIVERY_HOURS):
        return None
    return dataclasses.replace(settings, hour=int(arg))


def with_language(settings: ChatSettings, arg: str | None) -> ChatSettings | None:
    return dataclasses.replace(settings, language=arg) if arg in LANGUAGE_NAMES else None


def zone_button(arg: str | None) -> tuple[str, str | None] | None:
    """A time zone button's (zone name, city key): a city of the bot's list, or UTC."""
    if arg == "utc":
        return "UTC", None
    if arg in zones.KNOWN_CITIES:
        return zones.KNOWN_CITIES[arg][0], arg
    return None


def with_zone(settings: ChatSettings, zone_name: str, city: str | None) -> ChatSettings:
    settings = dataclasses.replace(settings, timezone=zone_name)
    if city and not settings.cities:
        # Someone who lives by Almaty time most likely wants Almaty's protests too.
        settings = dataclasses.replace(settings, cities=[city])
    return settings


MAX_CITIES = 100
"""Cities one chat may pick one by one; past that, "All cities" is the choice (and the store
refuses more than 200, so a 201st press must never reach it)."""


def with_city_toggled(settings: ChatSettings, key: str) -> ChatSettings:
    """``*`` (all cities) and single cities exclude each other."""
    if key == "*":
        cities = [] if "*" in settings.cities else ["*"]
    else:
        chosen = [city for city in settings.cities if city != "*"]
        if key not in chosen and len(chosen) >= MAX_CITIES:
            return settings
        cities = [c for c in chosen if c != key] if key in chosen else [*chosen, key]
    return dataclasses.replace(settings, cities=cities)


def with_follow(settings: ChatSettings, card_id: str, follow: bool) -> ChatSettings | None:
    """Following a card on or off; None when nothing changes (or the chat follows as many
    cards as it may)."""
    if (card_id in settings.follows) == follow:
        return None
    if follow:
        if len(settings.follows) >= MAX_FOLLOWS:
            return None
        return dataclasses.replace(settings, follows=[*settings.follows, card_id])
    return dataclasses.replace(
        settings, follows=[one for one in settings.follows if one != card_id]
    )
