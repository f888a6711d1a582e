"""What /privacy says: what the bot keeps about a chat, for how long, who sees it, and how
/forget removes it. Plain text from gettext, no Telegram, so the words can be checked against
what the store really keeps (``bot.store``) and read in every language of the catalogues.

Each paragraph is one catalogue entry, whole sentences, so a translator sees it entire; the
snapshots have a paragraph of their own, since their retention is set apart
(``ops.backups``).
"""

from __future__ import annotations

from bot.content.cards import esc, heading
from bot.i18n import N_, Translator
from bot.ops import backups

SECTIONS = (
    (
        N_("What we keep about this chat"),
        (
            N_(
                "The chat's id and type (private chat, group or channel), its language, time zone "
                "and reminder hour, its choices (which anniversaries, how many days before, which "
                "protest cities) and whether it is subscribed."
            ),
            N_(
                "A delivery log: which day's reminder or which announcement went to the chat and "
                "whether it arrived, so that nothing is sent twice. It is kept for 60 days."
            ),
            N_(
                "For each upcoming protest, marks that are keyed hashes: codes made from an id "
                "with a secret of that protest, which name nobody without the secret. One says we "
                "told this chat about the protest, so that a change or a cancellation reaches "
                "exactly those told. Another says a person pressed “✋ I plan to come” (made from "
                "that person's own id, in a group too), so that each person counts once. The "
                "marks and the secret are deleted 12 hours after the protest starts."
            ),
            N_(
                "If you follow a case (🔔 Follow), the bot stores only the ids of the cards this "
                "chat follows, against the chat's id, so it can tell you of news in them; /forget "
                "deletes them with everything else."
            ),
        ),
    ),
    (
        N_("What we never keep"),
        (
            N_(
                "Names, usernames, phone numbers, locations, the text of your messages, and any "
                "list of who plans to come to a protest. A correction you send goes to the "
                "editors "
                "and is not kept; an organisers' announcement is kept only until it has been "
                "sent."
            ),
        ),
    ),
    (
        N_("Who sees it"),
        (
            N_(
                "The bot's organisers see counts only: subscribers by language, topic and time "
                "zone, deliveries, and how many plan to come to each protest; never a chat id or "
                "a "
                "name. A backup sent to them over Telegram is encrypted to a key that is not on "
                "the server, and it holds no protest marks."
            ),
        ),
    ),
    (
        N_("How to delete it"),
        (
            N_(
                "/forget deletes everything about this chat at once: its settings, the cases it "
                "follows, its delivery log, its protest marks (sent in our private chat, your “✋ "
                "I "
                "plan to come” too) and the spare copy the server keeps of each file. Only the "
                "daily "
                "snapshots below still hold the chat, for at most %(days)d days. /unsubscribe "
                "only "
                "stops the reminders and keeps your choices."
            ),
        ),
    ),
    (
        N_("Snapshots"),
        (
            N_(
                "The server also takes daily snapshots of the settings and the delivery log (7 "
                "daily and 4 weekly are kept), without protest marks. /forget does not reach a "
                "snapshot already taken: the chat stays in it until it is rotated out, at most "
                "%(days)d days later."
            ),
        ),
    ),
)


def privacy_text(tr: Translator) -> str:
    """/privacy as Telegram HTML, in the reader's language."""
    blocks = []
    for title, paragraphs in SECTIONS:
        mark = "• " if len(paragraphs) > 1 else ""
        blocks.append(
            "\n".join(
                [
                    heading(tr.gettext(title)),
                    *(mark + esc(paragraph(tr, text)) for text in paragraphs),
                ]
            )
        )
    return "\n\n".join(blocks)


def paragraph(tr: Translator, text: str) -> str:
    """One paragraph translated; the snapshots' retention comes from the code that rotates
    them (``safekeeping.KEPT_FOR_DAYS``), the same number /forget's answer gives."""
    translated = tr.gettext(text)
    return translated % {"days": backups.KEPT_FOR_DAYS} if "%(days)d" in text else translated
