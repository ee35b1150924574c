"""What the note says of a coded condition: where it is mentioned, the side given for its site, the acuity stated with it, the distinguishing terms it documents."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress, count, repeat
from operator import contains

from vma.checks.support.axes.index import AxisIndex, AxisSibling, CodeAxis
from vma.checks.support.axes.sides import SIDE_WORDS, plain_sides, sides_at_site
from vma.checks.support.axes.words import _PUNCT, ACUITY_TERMS, BILATERAL, LEFT, RIGHT, acuity_of, same_word
from vma.checks.support.notes.document import NoteDoc, Sentence
from vma.checks.support.notes.patterns import lower_case_pattern
from vma.checks.support.notes.words import (
    ASSESSMENT_SECTIONS,
    HISTORY_SECTIONS,
    Token,
    is_negated_at,
    is_past_or_planned,
    is_uncertain_at,
)
from vma.compiled_patterns import compile_pattern

# -- what the note says --------------------------------------------------------------------------

@dataclass(frozen=True)
class Mention:
    """A sentence naming the coded condition."""

    sentence: Sentence
    words: tuple[Token, ...]
    first: int  # index in ``words`` of the first condition word
    negated: bool
    uncertain: bool
    index: int = -1  # the sentence's place in the note

    @property
    def in_assessment(self) -> bool:
        return self.sentence.section in ASSESSMENT_SECTIONS

    @property
    def in_history(self) -> bool:
        return self.sentence.section in HISTORY_SECTIONS

    @property
    def counts(self) -> bool:
        """A mention that documents the condition for this encounter."""
        return not (self.negated or self.uncertain or self.in_history)


_new_object, _set_field = object.__new__, object.__setattr__


class NoteWords:
    """Where each word of a note stands, so that finding a condition's words is a look-up, not a
    scan of every word of every sentence for every coded condition: for each word, the sentences
    it is in and its first position there. Built once per note (:func:`note_words`). A chart looks
    up a few dozen words of the hundreds a note holds, so a word's places are found when it is first
    looked up, from each sentence's set of words, in C, rather than indexed for every word in Python."""

    def __init__(self, word_norms: list[list[str]]):
        self._norms = word_norms
        self._sentence_words = list(map(set, word_norms))
        self._words: set[str] = set().union(*self._sentence_words)
        self._first: dict[str, dict[int, int]] = {}
        self._long: dict[str, list[str]] | None = None
        self._where: dict[str, dict[int, int]] = {}

    @property
    def words(self) -> set[str]:
        """Every word the note uses, as the word index reads them; shared, not a copy: readers must not change it."""
        return self._words

    def holds_any(self, si: int, words: frozenset[str]) -> bool:
        """Some of ``words`` stands in the ``si``-th sentence, as a word of its own."""
        return not words.isdisjoint(self._sentence_words[si])

    def _first_at(self, word: str) -> dict[int, int]:
        """Sentence index -> first position of ``word``, one of the note's words; in sentence order."""
        found = self._first.get(word)
        if found is None:
            norms = self._norms
            holding = compress(count(), map(contains, self._sentence_words, repeat(word)))
            found = self._first[word] = {si: norms[si].index(word) for si in holding}
        return found

    def _first_stands(self, word: str) -> tuple[int, int]:
        """Where ``word`` first stands in the note: (sentence index, position)."""
        return next(iter(self._first_at(word).items()))

    def where(self, term: str) -> dict[int, int]:
        """Sentence index -> first position of a word that stands for ``term`` (:func:`same_word`)."""
        found = self._where.get(term)
        if found is None:
            words = self._words
            inflections = _inflections(term)
            # Most look-ups are of a word the note never uses: a set test in C says so.
            forms = [f for f in inflections if f in words] if not words.isdisjoint(inflections) else []
            if len(term) >= 8:
                # Near inflections of a long word, by first letter: the note's own long words are tried,
                # in the order they first stand in the note.
                if self._long is None:
                    self._long = {}
                    for word in words:
                        if len(word) >= 8:
                            self._long.setdefault(word[0], []).append(word)
                candidates = self._long.get(term[0])
                if candidates:
                    # Only a word whose length alone keeps same_word's ratio bound may be near (see _near_lengths).
                    shortest, longest = _near_lengths(len(term))
                    near = [w for w in candidates
                            if shortest <= len(w) <= longest and w not in forms and same_word(w, term)]
                    if near:
                        forms += sorted(near, key=self._first_stands)
            if len(forms) == 1:
                found = self._first_at(forms[0])  # shared with the index, and never changed by a reader
            else:
                found = {}
                for word in forms:
                    for si, ti in self._first_at(word).items():
                        if ti < found.get(si, ti + 1):
                            found[si] = ti
            self._where[term] = found
        return found


@lru_cache(maxsize=256)  # keyed by the length of a tabular word
def _near_lengths(n: int) -> tuple[int, int]:
    """The shortest and longest lengths of a word of 8 letters or more that :func:`same_word` may find near a word
    of ``n`` letters other than by inflection: those whose length alone keeps its ratio bound (the same sum as
    there, which falls as the lengths draw apart, so they make one run)."""
    kept = [m for m in range(8, 2 * n + 1) if (1.0 - abs(m - n) / (m + n)) * 100 >= 92]
    return (kept[0], kept[-1]) if kept else (1, 0)


@lru_cache(maxsize=1 << 14)  # the tabular's words (condition, site and cue words), not the note's
def _inflections(term: str) -> tuple[str, ...]:
    """The plural and singular forms of ``term`` that stand for it (:func:`same_word`), the term first."""
    forms = [term, term + "s", term + "es"]
    if term.endswith("s"):
        forms += [term[:-1], term[:-2]]
    if term.endswith("y"):
        forms.append(term[:-1] + "ies")
    elif term.endswith("ies"):
        forms.append(term[:-3] + "y")
    return tuple(dict.fromkeys(f for f in forms if same_word(f, term)))


def note_words(note: NoteDoc) -> NoteWords:
    if "note_words" not in note.memo:
        note.memo["note_words"] = NoteWords(note.word_norms)
    return note.memo["note_words"]


def sentence_index(note: NoteDoc, sentence: Sentence) -> int | None:
    """The sentence's place in the note (None for a sentence of no note's)."""
    at = note.memo.get("sentence_index")
    if at is None:
        at = note.memo["sentence_index"] = {id(s): i for i, s in enumerate(note.sentences)}
    return at.get(id(sentence))


def sentence_words(note: NoteDoc, sentence: Sentence) -> list[Token] | None:
    """The words of one of the note's sentences (None for a sentence of no note's), without tokenising the rest."""
    i = sentence_index(note, sentence)
    return None if i is None else note.tokenized[i][1]


def condition_mentions(note: NoteDoc, index: AxisIndex, code: str, outpatient: bool) -> list[Mention]:
    """Sentences that name the condition of ``code``, each marked negated / uncertain.

    A sentence names it when it holds at least half the weight of one way the tabular names the
    condition (words weighted by rarity). Uncertain wording ("likely", "rule out") only
    disqualifies a mention in the outpatient setting (Guideline IV.H); inpatient coders may code
    it (II.H).
    """
    key = ("condition_mentions", id(index), code, outpatient)
    memo = note.memo
    if key in memo:
        return memo[key]
    words = note_words(note)
    # A term's places, once looked up, are read from the look-up's own table, without a call.
    where, looked_up = words.where, words._where
    best: dict[int, tuple[float, int]] = {}
    for terms, total, heaviest, slack in index.condition_term_sets(code):
        # A set whose words missing from the note weigh more than half of it names the condition in no
        # sentence: its heaviest words are looked up first, and most sets fail on the first.
        missing = 0.0
        for term, weight in heaviest:
            places = looked_up.get(term)
            if not (where(term) if places is None else places):
                missing += weight
                if missing > slack:
                    break
        if missing > slack:
            continue
        got: dict[int, float] = {}
        first: dict[int, int] = {}
        for term, weight in terms:
            places = looked_up.get(term)
            for si, ti in (where(term) if places is None else places).items():
                got[si] = got.get(si, 0.0) + weight
                if ti < first.get(si, ti + 1):
                    first[si] = ti
        for si, weight in got.items():
            share = weight / total
            if share > best.get(si, (0.0, 0))[0]:
                best[si] = (share, first[si])
    out = []
    # Conditions that share words are named at the same place ("type 2 diabetes mellitus with ..." for each
    # E11 code), and a condition is read in both settings: each place's mention is made once per note, and
    # its negation read once for both settings, the wording cues being the costly part.
    made = memo.get("mentions_made")
    if made is None:
        made = memo["mentions_made"] = {}
    for si in sorted(best):
        share, at = best[si]
        if share < 0.5:
            continue
        mention = made.get((si, at, outpatient))
        if mention is None:
            other = made.get((si, at, not outpatient))
            if other is None:
                sentence, tokens = note.tokenized[si]
                words = tuple(tokens)
                negated = is_negated_at(sentence.text, words[at].start)
            else:
                sentence, words, negated = other.sentence, other.words, other.negated
            # Mention(sentence, words, at, negated, uncertain, si), its fields set in one step: a frozen
            # dataclass's __init__ sets each through object.__setattr__.
            mention = made[si, at, outpatient] = _new_object(Mention)
            _set_field(mention, "__dict__", {
                "sentence": sentence, "words": words, "first": at, "negated": negated,
                "uncertain": outpatient and is_uncertain_at(sentence.text, words[at].start), "index": si})
        out.append(mention)
    memo[key] = out
    return out


# -- sides ------------------------------------------------------------------------------------------

def _gap_has_break(sentence: str, a: Token, b: Token) -> bool:
    gap = sentence[a.end:b.start]
    return gap != " " and bool(_PUNCT.search(gap))  # a gap of one space, the most common, holds no break


_SIDE_NAMES = {"right": RIGHT, "left": LEFT, "bilateral": BILATERAL}
_CLAUSE_SPLIT = compile_pattern(r"[,;]")
_BARE_SIDE_CLAUSE = compile_pattern(r"^\s*(right|left|bilateral|bilaterally)(?:[\s-]+sided?)?\s*$", re.I)


def sides_at_condition(sentence: str, words: tuple[Token, ...], first: int) -> set[str]:
    """Sides written on the condition itself when no site word is there: "right-sided
    sciatica", "Acute otitis media, bilateral." (a clause that is only a side)."""
    found: set[str] = set()
    for j in range(first - 1, max(-1, first - 3), -1):
        if _gap_has_break(sentence, words[j], words[j + 1]):
            break
        side = _SIDE_NAMES.get(words[j].norm)
        if side and not is_negated_at(sentence, words[j].start):
            found |= {RIGHT, LEFT} if side == BILATERAL else {side}
    # (only the clause after the first is read: the text is split no further)
    for clause in _CLAUSE_SPLIT.split(sentence[words[first].start:].rstrip(". "), 2)[1:2]:
        m = _BARE_SIDE_CLAUSE.match(clause)
        if m:
            side = m.group(1).lower()
            found |= {RIGHT, LEFT} if side.startswith("bilateral") else {side}
    return found


@dataclass
class AxisEvidence:
    """What a note says on one axis for one coded condition.

    ``assessment``: values stated with the condition in the assessment/plan;
    ``linked``: values stated with the condition anywhere in this encounter's
    documentation; ``anywhere`` (laterality): sides given for the body site in
    any sentence of the encounter. ``cited`` are the sentences behind them.
    """

    assessment: set[str] = field(default_factory=set)
    linked: set[str] = field(default_factory=set)
    anywhere: set[str] = field(default_factory=set)
    cited: list[Sentence] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)

    @property
    def documented(self) -> bool:
        return any(m.counts for m in self.mentions)

    @property
    def in_assessment(self) -> bool:
        return any(m.counts and m.in_assessment for m in self.mentions)

    def decided(self) -> frozenset[str] | None:
        """The value the note settles, or None when it is silent or conflicting.

        The assessment speaks first; a different value stated with the same
        condition elsewhere is a conflict. For laterality, a site that the note
        only ever gives one side (or both) settles it even when the diagnosis
        line names no side.
        """
        if self.assessment:
            return frozenset(self.assessment) if self.linked == self.assessment else None
        if self.linked:
            return frozenset(self.linked) if not self.anywhere - self.linked else None
        if self.anywhere and len(self.anywhere) == 1:
            return frozenset(self.anywhere)
        return None

    @property
    def linked_to_condition(self) -> bool:
        return bool(self.assessment or self.linked)


def _cite(ev: AxisEvidence, sentence: Sentence) -> None:
    if sentence not in ev.cited:
        ev.cited.append(sentence)


# A past, settled condition of the site, told in the history of this one.
_LONG_PAST = compile_pattern(
    r"\b(?:\d+|a|one|two|three|four|five|six|seven|eight|nine|ten|several|many|a few|a couple of) years? ago\b"
    r"|\bin (?:19|20)\d\d\b|\bas a (?:child|teenager|kid)\b"
    r"|\b(?:old|prior|previous|remote) (?:\w+ )?(?:injur\w*|fracture|sprain|surgery|replacement|arthroscopy|repair)\b",
    re.I)


# The same, run without re.I on the lower-cased sentence behind its literal gate (see LowerCasePattern): most
# sentences have none of its words.
_LONG_PAST_FAST = lower_case_pattern(_LONG_PAST)


def sides_at(note: NoteDoc, i: int, head: str) -> frozenset[str]:
    """:func:`sides_at_site` in the note's ``i``-th sentence for the site word ``head``, read once per note: each
    code of a chart at that site, and the examination of it, ask again. A sentence with no side word (but an
    eye's) gives none, its words never split."""
    memo = note.memo.get("sides_at")
    if memo is None:
        memo = note.memo["sides_at"] = {}
    found = memo.get((i, head))
    if found is None:
        if head != "eye" and not note_words(note).holds_any(i, SIDE_WORDS):
            found = frozenset()
        else:
            # (a sentence whose words stand as they are is read without building its tokens)
            text = note.sentences[i].text
            plain = note.tokenized.plain_norms
            sides = plain_sides(text, plain[i] if plain is not None else None, head)
            found = frozenset(sides_at_site(text, note.tokenized[i][1], (head,)) if sides is None else sides)
        memo[i, head] = found
    return found


def side_evidence(note: NoteDoc, index: AxisIndex, axis: CodeAxis, outpatient: bool) -> AxisEvidence:
    ev = AxisEvidence(mentions=condition_mentions(note, index, axis.code, outpatient))
    mention_at = {m.index: m for m in ev.mentions}
    # Only sentences naming the site, or the condition, can give its side.
    head = axis.site[-1] if axis.site else None
    at_site = note_words(note).where(head) if head else {}
    sentences = note.sentences
    for i in sorted(at_site.keys() | mention_at.keys()):
        sentence = sentences[i]
        if sentence.section in HISTORY_SECTIONS:
            continue
        sides = sides_at(note, i, head) if i in at_site else frozenset()
        mention = mention_at.get(i)
        if not sides and mention is not None and mention.counts:
            sides = sides_at_condition(sentence.text, mention.words, mention.first)
        if not sides:
            continue
        if sentence.section not in ASSESSMENT_SECTIONS and _LONG_PAST_FAST.search(sentence.text):
            continue  # "he sprained his left ankle 2 years ago": another, past condition of the site
        if mention is not None and mention.counts:
            ev.linked |= sides
            if mention.in_assessment:
                ev.assessment |= sides
        ev.anywhere |= sides
        _cite(ev, sentence)
    return ev


# -- acuity ---------------------------------------------------------------------------------------------

def acuity_near(sentence: str, words: tuple[Token, ...], first: int) -> str | None:
    """Acuity stated just before the condition words: "acute on chronic systolic heart
    failure", "acute exacerbation of chronic ...", "chronic cholecystitis"."""
    found: set[str] = set()
    for j in range(first - 1, max(-1, first - 6), -1):
        if _gap_has_break(sentence, words[j], words[j + 1]):
            break
        if words[j].norm in ACUITY_TERMS:
            found.add(words[j].norm)
    for j in range(first, min(len(words), first + 4)):  # "cholecystitis, acute on chronic" is rare; inline only
        if words[j].norm in ACUITY_TERMS and not _gap_has_break(sentence, words[first], words[j]):
            found.add(words[j].norm)
    return acuity_of(frozenset(found))


def acuity_evidence(note: NoteDoc, index: AxisIndex, axis: CodeAxis, outpatient: bool) -> AxisEvidence:
    ev = AxisEvidence(mentions=condition_mentions(note, index, axis.code, outpatient))
    for m in ev.mentions:
        if not m.counts or is_past_or_planned(m.sentence.text, m.words[m.first].start):
            continue
        value = acuity_near(m.sentence.text, m.words, m.first)
        if value:
            ev.linked.add(value)
            if m.in_assessment:
                ev.assessment.add(value)
            _cite(ev, m.sentence)
    return ev


# -- distinguishing terms (specificity) ---------------------------------------------------------------------

def phrase_in(words: tuple[Token, ...], phrase: tuple[str, ...]) -> bool:
    """All words of the phrase in the sentence; words holding a digit must stand next to
    the word before them in the phrase ("stage 3", not "3 weeks ... stage")."""
    positions = []
    for term in phrase:
        hits = [i for i, t in enumerate(words) if same_word(t.norm, term)]
        if not hits:
            return False
        positions.append(hits)
    for k, term in enumerate(phrase):
        if k and any(c.isdigit() for c in term):
            if not any(p - 1 in positions[k - 1] for p in positions[k]):
                return False
    return True


def documented_siblings(note: NoteDoc, index: AxisIndex, axis: CodeAxis, outpatient: bool
                        ) -> tuple[list[AxisSibling], list[Mention]]:
    """Siblings whose distinguishing words the note states with the condition (not negated,
    not uncertain), the most specific kept when one's words include another's."""
    mentions = [m for m in condition_mentions(note, index, axis.code, outpatient) if m.counts]
    hits: list[AxisSibling] = []
    cited: list[Mention] = []
    for sib in axis.siblings:
        for m in mentions:
            if not phrase_in(m.words, sib.phrase):
                continue
            at = [t.start for t in m.words if any(same_word(t.norm, w) for w in sib.phrase)]
            if not any(
                    is_negated_at(m.sentence.text, p) or outpatient and is_uncertain_at(m.sentence.text, p)
                    for p in at):
                hits.append(sib)
                if m not in cited:
                    cited.append(m)
                break
    best = [s for s in hits if not any(set(s.terms) < set(o.terms) for o in hits)]
    return best, cited
