"""One search for everything people type: typed text, /card, /prisoner, /anniversary and
inline mode all ask ``SearchIndex.search`` and so give the same first card.

In order: a greeting or "ok" is not a search (``intent``); a card's name or alias typed
whole (any case, script, word order or Russian case) is that card; a date is the card of
that day (``dates``); otherwise every word is looked up in the names and aliases (typos
forgiven, via rapidfuzz) and in the card texts, names weighing most. Pure and synchronous:
callers may run it in a thread or cache it.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.content.dates import DateQuery, month_names, parse_date
from bot.content.folding import keys, skeleton, words
from bot.content.intent import ignored_words, intent_of
from bot.content.schema import Card
from bot.i18n import LANGUAGES

MAX_CHOICE = 5
"""At most this many cards are offered when none clearly wins."""
NAME_FUZZY_CUTOFF = 80
"""rapidfuzz ratio (0-100) from which a name word counts as a typo of the typed one."""
FUZZY_SPREAD = 5
"""Name words this much less alike than the closest one are not the typo's."""
TEXT_FUZZY_CUTOFF = 88
TEXT_FUZZY_MIN = 6
"""Words in the texts forgive a typo only when long: short words have too many neighbours."""
SUGGEST_CUTOFF = 65
MIN_WORD = 2
MAX_TERMS = 8
"""Words of a query that count: no name or question needs more, and each costs a fuzzy pass
over the vocabulary (a pasted paragraph must stay cheap)."""
NAME_WEIGHT = 2.0
"""A word in a card's name or alias counts twice as much as the same word in its text."""
YEAR_BONUS = 0.5
CLEAR_MARGIN = 0.5
"""The best card opens when it beats the next by this much (names and texts combined)."""


@dataclass(frozen=True, slots=True)
class Match:
    key: str
    score: float


@dataclass(frozen=True, slots=True)
class SearchResult:
    """What a query found; ``opens`` says the first card is the answer, not one of a choice."""

    cards: tuple[Card, ...] = ()
    opens: bool = False
    intent: str | None = None
    """"greeting", "thanks", "help" or "ack": answer kindly, show no card."""
    date: DateQuery | None = None
    nearest: tuple[Card, ...] = ()
    """For a date with no card: the dated cards just before and after it."""
    suggestions: tuple[Card, ...] = ()
    """Loose guesses, when nothing matched."""
    scores: tuple[Match, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class _Name:
    card_id: str
    words: tuple[frozenset[str], ...]
    skeletons: tuple[str, ...]


@dataclass(slots=True)
class _Scoring:
    scores: dict[str, float]
    by_name: dict[str, float]
    """The part of each score its names and aliases give."""
    named: set[str]
    """Cards a typed word names (in a name or alias, not only in the text)."""
    covered: set[str]
    """Cards one of whose names every typed word is in."""
    complete: set[str]
    """Cards one of whose names is the typed words, no more, no fewer (typos allowed)."""
    all_in_text: set[str]


class SearchIndex:
    """Names, aliases and texts of the cards, indexed once per content load."""

    def __init__(self, cards: Iterable[Card]) -> None:
        self.cards = {card.id: card for card in cards}
        self._ignored = ignored_words()
        month_names()  # built now (Babel's locale data), not by the first date typed
        self._names: list[_Name] = []
        self._names_by_key: dict[str, set[int]] = defaultdict(set)
        self._name_words: dict[str, set[int]] = defaultdict(set)  # skeleton → names
        text: dict[str, set[str]] = defaultdict(set)  # key → card ids
        self._kinds: dict[tuple[str, ...] | None, set[str]] = {}
        for card in self.cards.values():
            for name in _card_names(card):
                self._add_name(card.id, name)
            # Each word once per card, in the order first met (so the keys and the fuzzy
            # vocabulary come in the same order): a card's texts repeat most of their words.
            met = dict.fromkeys(word for text in _card_texts(card) for word in words(text))
            for word in met:
                if word not in self._ignored and len(skeleton(word)) >= MIN_WORD:
                    for key in keys(word):
                        text[key].add(card.id)
        # Kept as tuples: ten thousand small sets are a quarter of the index's memory.
        self._text: dict[str, tuple[str, ...]] = {key: tuple(ids) for key, ids in text.items()}
        self._vocabulary = sorted(self._name_words)
        self._text_vocabulary = [k for k in self._text if len(k) >= TEXT_FUZZY_MIN]
        total = max(1, len(self.cards))
        self._idf = {key: math.log(1 + total / len(ids)) for key, ids in self._text.items()}

    def _add_name(self, card_id: str, name: str) -> None:
        content = self._content(name)
        if not content:
            return
        index = len(self._names)
        self._names.append(
            _Name(
                card_id,
                tuple(keys(word) for word in content),
                tuple(skeleton(word) for word in content),
            )
        )
        for word in content:
            self._name_words[skeleton(word)].add(index)
            for key in keys(word):
                self._names_by_key[key].add(index)

    def _allowed(self, kinds: Sequence[str] | None) -> set[str]:
        key = tuple(kinds) if kinds is not None else None
        if key not in self._kinds:
            self._kinds[key] = {
                cid for cid, card in self.cards.items() if key is None or card.kind in key
            }
        return self._kinds[key]

    def _content(self, text: str) -> list[str]:
        return [w for w in words(text) if w not in self._ignored and len(skeleton(w)) >= MIN_WORD]

    # -- the search ------------------------------------------------------------------------

    def search(self, query: str, kinds: Sequence[str] | None = None) -> SearchResult:
        """What ``query`` finds among the cards of ``kinds`` (all kinds when None)."""
        intent = intent_of(query)
        if intent is not None:
            return SearchResult(intent=intent)
        allowed = self._allowed(kinds)
        content = self._content(query)
        years = [int(w) for w in content if w.isdecimal() and len(w) == 4]
        terms = [w for w in content if not (w.isdecimal() and len(w) == 4)][:MAX_TERMS]
        asked = parse_date(query, self._ignored) if _dated(kinds) else None
        if asked is not None and asked.day is not None:
            return self._by_date(asked, allowed)
        exact = self._exact(terms, allowed) if terms else []
        named = [self.cards[cid] for cid in exact]
        if named and (not years or any(card.year in years for card in named)):
            named = [card for card in named if not years or card.year in years]
            return SearchResult(tuple(named), opens=len(named) == 1)
        if asked is not None:
            return self._by_date(asked, allowed)
        return self._by_words(terms, years, allowed)

    def _by_words(self, terms: list[str], years: list[int], allowed: set[str]) -> SearchResult:
        """Cards ranked by the words typed, names first; one opens only when it clearly wins."""
        scoring = self._score(terms, allowed)
        scored = scoring.scores
        if years:  # "Zhanaozen 2021": the cards named that are of that year, if any
            of_year = {
                cid: score + YEAR_BONUS
                for cid, score in scored.items()
                if self.cards[cid].year in years
            }
            if any(cid in scoring.named for cid in of_year):
                scored = {cid: score for cid, score in of_year.items() if cid in scoring.named}
            if not terms:  # a year alone: that year's dated cards
                scored = {cid: 1.0 for cid in allowed if self.cards[cid].year in years}
        ranked = sorted(scored.items(), key=lambda item: (-item[1], self._order(item[0])))
        if not ranked:
            return SearchResult(suggestions=self._suggest(terms, allowed))
        winner = self._winner(scoring, [cid for cid, _ in ranked])
        if winner is not None:
            ranked.sort(key=lambda item: item[0] != winner)
        best = ranked[0][1]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        # When names match, the choice is between the cards named ("Kanat": the two Kanats,
        # not every card whose text mentions one).
        named_first = ranked[0][0] in scoring.named
        chosen = [
            self.cards[cid]
            for cid, score in ranked
            if score >= best / 2 and (not named_first or cid in scoring.named)
        ][:MAX_CHOICE]
        opens = (
            winner is not None
            or len(chosen) == 1
            or (best - second >= CLEAR_MARGIN and self._wins_on_its_own(scoring, ranked))
        )
        return SearchResult(
            tuple(chosen), opens=opens, scores=tuple(Match(cid, score) for cid, score in ranked)
        )

    @staticmethod
    def _wins_on_its_own(scoring: _Scoring, ranked: list[tuple[str, float]]) -> bool:
        """A lead in the texts alone does not open a card when the next has as good a name
        ("Serik": three people; one card's text says it more often): only a better name
        does, or, among cards no name matches, having every typed word."""
        top = ranked[0][0]
        if top not in scoring.named:
            return top in scoring.all_in_text
        runner_up = ranked[1][0] if len(ranked) > 1 else None
        return scoring.by_name[top] > scoring.by_name.get(runner_up or "", 0.0)

    def _winner(self, scoring: _Scoring, ranked: list[str]) -> str | None:
        """The card a name makes the answer: the only one named by exactly the typed words
        (typos allowed), else the only person all of them name ("Vadim", "Larisa")."""
        complete = [cid for cid in ranked if cid in scoring.complete]
        if len(complete) == 1:
            return complete[0]
        people = [
            cid
            for cid in ranked
            if cid in scoring.covered and self.cards[cid].kind != "anniversary"
        ]
        return people[0] if len(people) == 1 else None

    def _exact(self, terms: list[str], allowed: set[str]) -> list[str]:
        """Cards one of whose names is exactly the typed words, in any order and form."""
        term_keys = [keys(term) for term in terms]
        candidates: set[int] | None = None
        for found in term_keys:
            names = set().union(*(self._names_by_key.get(k, set()) for k in found))
            candidates = names if candidates is None else candidates & names
        hits: dict[str, bool] = {}
        spelled = sorted(skeleton(term) for term in terms)
        for index in sorted(candidates or ()):
            name = self._names[index]
            if (
                name.card_id in allowed
                and len(name.words) == len(terms)
                and _covers(term_keys, list(name.words))
            ):
                # Spelled alike beats alike only once stemmed (Kenzhebaev, not Kenzhebaeva).
                strong = sorted(name.skeletons) == spelled
                hits[name.card_id] = hits.get(name.card_id, False) or strong
        return [cid for cid, strong in hits.items() if strong] or list(hits)

    def _score(self, terms: list[str], allowed: set[str]) -> _Scoring:
        """Each card's score: how much of the query its best name covers, plus its text."""
        result = _Scoring({}, {}, set(), set(), set(), set())
        if not terms:
            return result
        per_name: dict[int, float] = defaultdict(float)
        hit_count: dict[int, int] = defaultdict(int)
        text_hits: dict[str, float] = defaultdict(float)
        text_count: dict[str, int] = defaultdict(int)
        idf_total = 0.0
        for term in terms:
            for index, weight in self._name_hits(term).items():
                per_name[index] += weight
                hit_count[index] += 1
            if term.isdecimal():
                continue  # numbers count in names ("trial of 37"), not scattered in texts
            found, idf = self._text_hits(term)
            idf_total += idf
            for cid in found:
                text_hits[cid] += idf
                text_count[cid] += 1
        scores: dict[str, float] = defaultdict(float)
        for index, total in per_name.items():
            name = self._names[index]
            cid = name.card_id
            if cid not in allowed:
                continue
            covered = total / len(terms) * (0.75 + 0.25 * min(1.0, total / len(name.words)))
            scores[cid] = max(scores[cid], NAME_WEIGHT * covered)
            result.named.add(cid)
            if hit_count[index] == len(terms):
                result.covered.add(cid)
                if len(name.words) == len(terms):
                    result.complete.add(cid)
        result.by_name = dict(scores)
        for cid, weight in text_hits.items():
            if cid in allowed:
                scores[cid] += weight / (idf_total or 1.0)
                if text_count[cid] == len(terms):
                    result.all_in_text.add(cid)
        result.scores = dict(scores)
        return result

    def _name_hits(self, term: str) -> dict[int, float]:
        """Names containing the term: 1 for the word in any form, 0.9 for a word it begins,
        less for a typo."""
        hits: dict[int, float] = {}
        for key in keys(term):
            for index in self._names_by_key.get(key, ()):
                hits[index] = 1.0
        wanted = skeleton(term)
        if len(wanted) >= 3:
            start = bisect_left(self._vocabulary, wanted)
            for word in self._vocabulary[start : bisect_left(self._vocabulary, wanted + "~")]:
                for index in self._name_words[word]:
                    hits.setdefault(index, 0.9)
        if not hits and len(wanted) >= 4:
            close = process.extract(
                wanted,
                self._vocabulary,
                scorer=fuzz.ratio,
                score_cutoff=NAME_FUZZY_CUTOFF,
                limit=5,
            )
            # A typo is of one name: only the closest words count ("Dosmagambetova" is
            # Dosmagambetov, not also Besmagambetov).
            best = max((score for _word, score, _ in close), default=0.0)
            for word, score, _ in close:
                if score >= best - FUZZY_SPREAD:
                    for index in self._name_words[word]:
                        hits[index] = max(hits.get(index, 0.0), 0.85 * score / 100)
        return hits

    def _text_hits(self, term: str) -> tuple[set[str], float]:
        """Cards whose texts use the term (any form), and how telling it is (idf)."""
        found: set[str] = set()
        idf = 0.0
        for key in keys(term):
            if key in self._text:
                found.update(self._text[key])
                idf = max(idf, self._idf[key])
        if not found and len(term) >= TEXT_FUZZY_MIN:
            for key, _score, _ in process.extract(
                skeleton(term),
                self._text_vocabulary,
                scorer=fuzz.ratio,
                score_cutoff=TEXT_FUZZY_CUTOFF,
                limit=3,
            ):
                found.update(self._text[key])
                idf = max(idf, self._idf[key])
        return found, idf or math.log(1 + len(self.cards))

    def _suggest(self, terms: list[str], allowed: set[str]) -> tuple[Card, ...]:
        seen: dict[str, Card] = {}
        for term in terms:
            for word, _score, _ in process.extract(
                skeleton(term),
                self._vocabulary,
                scorer=fuzz.ratio,
                score_cutoff=SUGGEST_CUTOFF,
                limit=6,
            ):
                for index in sorted(self._name_words[word]):
                    cid = self._names[index].card_id
                    if cid in allowed:
                        seen.setdefault(cid, self.cards[cid])
        return tuple(list(seen.values())[:3])

    # -- dates -----------------------------------------------------------------------------

    def _by_date(self, asked: DateQuery, allowed: set[str]) -> SearchResult:
        dated = [c for cid, c in self.cards.items() if cid in allowed and c.date]
        if asked.day is None:  # a month: its cards, in date order
            month = [
                c
                for c in dated
                if _month_of(c) == asked.month and (asked.year is None or c.year == asked.year)
            ]
            month.sort(key=lambda c: c.date or "")
            return SearchResult(tuple(month), opens=len(month) == 1, date=asked)
        on_day = [c for c in dated if c.anniversary_day == (asked.month, asked.day)]
        if asked.year is not None:
            on_day = [c for c in on_day if c.year == asked.year] or on_day
        if on_day:
            on_day.sort(key=lambda c: (not c.commemorated, c.year or 0))
            opens = len(on_day) == 1 or (
                bool(on_day[0].commemorated) and not on_day[1].commemorated
            )
            return SearchResult(tuple(on_day), opens=opens, date=asked)
        # The calendar goes round: before 10 February comes 21 December. On a day with
        # several cards the commemoration stands for it (21 May: the Shetpe verdicts).
        days = sorted(
            (c for c in dated if c.anniversary_day),
            key=lambda c: (c.anniversary_day, not c.commemorated, c.year or 0),
        )
        if not days:
            return SearchResult(date=asked)
        asked_day = (asked.month, asked.day)
        before = [c for c in days if (c.anniversary_day or (0, 0)) < asked_day] or days
        after = [c for c in days if (c.anniversary_day or (0, 0)) > asked_day] or days
        last_day = before[-1].anniversary_day
        around = [next(c for c in before if c.anniversary_day == last_day), *after[:1]]
        nearest = tuple({card.id: card for card in around}.values())
        return SearchResult(date=asked, nearest=nearest)

    def _order(self, card_id: str) -> tuple[int, str]:
        """Ties: people and commemorations before other dated facts, then by id."""
        card = self.cards[card_id]
        return (0 if card.kind != "anniversary" or card.commemorated else 1), card_id


class LazyIndex:
    """A ``SearchIndex`` built on first use, once, whichever thread asks first: building it
    (every word of every card folded and stemmed, Babel's month names, the catalogues' word
    lists) is a fifth of a second the bot need not spend before it starts polling."""

    def __init__(self, cards: Iterable[Card]) -> None:
        self._cards: list[Card] | None = list(cards)
        self._index: SearchIndex | None = None
        self._lock = threading.Lock()

    def get(self) -> SearchIndex:
        index = self._index
        if index is None:
            with self._lock:
                if self._index is None:
                    assert self._cards is not None
                    self._index = SearchIndex(self._cards)
                    self._cards = None
                index = self._index
        return index

    @property
    def built(self) -> bool:
        return self._index is not None

    def search(self, query: str, kinds: Sequence[str] | None = None) -> SearchResult:
        return self.get().search(query, kinds)


def _covers(term_keys: list[frozenset[str]], name_words: list[frozenset[str]]) -> bool:
    """Each typed word matches a different word of the name (a small bipartite match)."""
    if not term_keys:
        return True
    first, rest = term_keys[0], term_keys[1:]
    for position, word in enumerate(name_words):
        if first & word and _covers(rest, name_words[:position] + name_words[position + 1 :]):
            return True
    return False


def _dated(kinds: Sequence[str] | None) -> bool:
    return kinds is None or "anniversary" in kinds


def _month_of(card: Card) -> int | None:
    parts = (card.date or "").split("-")
    return int(parts[1]) if len(parts) > 1 else None


def _card_names(card: Card) -> list[str]:
    return list(dict.fromkeys([*(card.name.get(lang) for lang in LANGUAGES), *card.aliases]))


def _card_texts(card: Card) -> list[str]:
    return [fact.get(lang) for fact in card.facts() for lang in LANGUAGES]
