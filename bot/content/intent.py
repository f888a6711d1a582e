"""What a message is before it is a search: a greeting, thanks, a call for help, "ok".

The words are in the catalogues (``locales/*/bot.po``), one comma-separated list per intent
and language, so a translator adds the words people type in a new language; a message
matches in whichever language it is typed, whatever the reader's language is.
"""

from __future__ import annotations

from functools import cache

from bot.content.folding import words
from bot.i18n import LANGUAGES, N_, translator

# Each is translated as a list, not as a sentence: the words readers of that language type.
INTENT_WORDS = {
    "greeting": N_(
        "hello, hallo, hi, hey, hiya, howdy, hi there, good morning, "
        "good afternoon, good evening, good night, good day, greetings, start"
    ),
    "thanks": N_(
        "thanks, thanks a lot, thank you, thank you very much, many thanks, thx, ty, cheers"
    ),
    "help": N_("help, menu, commands, what can you do"),
    "ack": N_("ok, okay, yes, no, yep, nope, sure, fine, good, great, cool, nice, bye, goodbye"),
}
IGNORED_WORDS = N_(
    "a, an, the, of, in, on, at, to, for, from, and, or, is, are, was, were, be, been, it, "
    "its, this, that, these, those, there, here, about, with, by, what, whats, who, whos, "
    "whom, whose, when, where, why, how, which, happened, happen, did, do, does, tell, me, "
    "show, find, search, look, looking, please, can, could, you, your, i, my, we, our, now, "
    "today, then, very, much, any, some, year, th, st, nd, rd, s, card, info, bot"
)
"""Question words and little words a search skips ("what happened in Zhanaozen?")."""


@cache
def _lists() -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    by_intent: dict[str, set[str]] = {intent: set() for intent in INTENT_WORDS}
    ignored: set[str] = set()
    for language in LANGUAGES:
        gettext = translator(language).gettext
        for intent, phrases in INTENT_WORDS.items():
            by_intent[intent].update(words(gettext(phrases)))
        ignored.update(words(gettext(IGNORED_WORDS)))
    return {k: frozenset(v) for k, v in by_intent.items()}, frozenset(ignored)


def ignored_words() -> frozenset[str]:
    """Words a search skips, in every configured language."""
    return _lists()[1]


def intent_of(text: str) -> str | None:
    """ "greeting", "thanks", "help" or "ack" when the message is only that (or only emoji,
    punctuation and question words), else None: it is a search."""
    typed = words(text)
    by_intent, ignored = _lists()
    if not typed:
        return "ack"  # 👍, "?", "..."
    meaningful = [word for word in typed if word not in ignored and len(word) > 1]
    if not meaningful:
        return "ack"  # "what is this?"
    known = set().union(*by_intent.values())
    if any(word not in known for word in meaningful):
        return None
    for intent, vocabulary in by_intent.items():
        if all(word in vocabulary for word in meaningful):
            return intent
    return next(i for i, vocabulary in by_intent.items() if meaningful[0] in vocabulary)
