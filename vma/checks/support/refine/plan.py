"""What documentation() reads for a proposed code and each of its candidates, worked out once per code from
the tabular alone: never from a note."""

from __future__ import annotations

from functools import lru_cache
from operator import methodcaller
from typing import NamedTuple

from vma.checks.support.axes.index import AxisIndex
from vma.checks.support.axes.words import LATERALITY, acuity_of, fold, key_words
from vma.checks.support.refine.candidates import _INDEX_DEFAULT_TYPE, _PAIRED_SITES, Refinement, Refiner


def _narrowed(r: Refinement, terms: tuple[str, ...], phrase: tuple[str, ...]) -> Refinement:
    """The candidate with only these terms to find, and no inclusion term (dataclasses.replace, written out)."""
    return Refinement(r.code, r.side, r.acuity, terms, phrase, r.negated, r.residual, (), r.site, r.replaces,
                      r.site_terms, r.loose)


def _without_default(r: Refinement, word: str) -> tuple[Refinement, ...]:
    """The candidate with the Index's default term taken as said: its other terms, each paired site
    needing one of its words ("ankle and foot": the ankle, or the foot)."""
    terms = tuple(t for t in r.terms if t != word)
    phrase = tuple(t for t in r.phrase if t != word)
    out = [_narrowed(r, terms, phrase)]
    for pair in _PAIRED_SITES:
        if set(pair) <= set(phrase):
            for drop in pair:
                out.append(_narrowed(r, tuple(t for t in terms if t != drop), tuple(t for t in phrase if t != drop)))
    return tuple(out)


@lru_cache(maxsize=1 << 14)  # the tabular's words, asked for each candidate of each chart
def _has_digit(term: str) -> bool:
    return any(c.isdigit() for c in term)


_unmarked = methodcaller("lstrip", "~")  # an inclusion term's word without its "absent" mark


class _Reading(NamedTuple):
    """One refinement as documentation() reads it, with what it derives from the tabular alone."""

    r: Refinement
    reads: tuple[tuple[str, str, bool], ...]  # the terms read first here: (term, folded key, negated)
    variants: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # each inclusion term, and its words unmarked
    without_default: tuple[Refinement, ...]  # the candidate with the Index's default term taken as said
    without_negated: Refinement | None  # the candidate without the terms it states absent
    # Words one of which must stand in the note for the reading to find anything: each term it reads, one
    # word of its phrase (all must stand), of its phrase without the absent terms, and of each inclusion
    # term. None when it may find something whatever the note's words (the Index's default type, the plain
    # "uncomplicated" code, a candidate with no phrase to look for).
    # (its words folded, those of 8 letters or more, and their first letters)
    gate: tuple[frozenset[str], tuple[str, ...], frozenset[str]] | None
    only_default: bool  # its one term is the Index's default type
    uncomplicated: bool  # its one term is "uncomplicated"
    negated: tuple[str, ...]  # the terms it states absent
    numbered: str | None  # its phrase, when a number stands in it ("stage 3"): one term


class _Gates(NamedTuple):
    """The plan's gates turned about: for each word, the readings it opens. A note names few of a code's
    words, so the readings to walk are found from the words said rather than by testing every reading's gate
    (most codes' many candidates name a complication the note never mentions)."""

    always: tuple[int, ...]  # the readings with no gate, walked whatever the note says
    by_key: dict[str, tuple[int, ...]]  # a gate word, folded -> the readings it opens
    by_letter: dict[str, tuple[tuple[str, tuple[int, ...]], ...]]  # a long gate word's first letter -> (word, readings)


class ReadingPlan(tuple):
    """The readings of a code (:class:`_Reading`, in the tabular's order), with their gates by word."""

    gates: _Gates


def _gates(plan: tuple[_Reading, ...]) -> _Gates:
    always: list[int] = []
    by_key: dict[str, list[int]] = {}
    by_long: dict[str, list[int]] = {}
    for i, reading in enumerate(plan):
        if reading.gate is None:
            always.append(i)
            continue
        keys, long_words, _ = reading.gate
        for key in keys:
            by_key.setdefault(key, []).append(i)
        for word in long_words:
            by_long.setdefault(word, []).append(i)
    by_letter: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    for word, found in by_long.items():
        by_letter.setdefault(word[0], []).append((word, tuple(found)))
    return _Gates(tuple(always), {k: tuple(v) for k, v in by_key.items()},
                  {k: tuple(v) for k, v in by_letter.items()})


def _gate_word(words: tuple[str, ...], condition: frozenset[str]) -> str:
    """The word of a phrase that stands for it in a gate: the last not of the condition's name, else the first."""
    for word in reversed(words):
        if word not in condition:
            return word
    return words[0]


@lru_cache(maxsize=1 << 12)  # per release (one refiner each) and code: read from the tabular, never from a note
def _reading_plan(ref: Refiner, code: str) -> ReadingPlan:
    """The refinements with terms that documentation() walks. A term is read once per code (by its folded key,
    "~" when negated), never a bare number or letter (read with its word in the phrase)."""
    default = _INDEX_DEFAULT_TYPE.get(code[:3])
    looked: set[str] = set()
    plan = []
    condition: frozenset[str] | None = None
    for r in ref.refinements(code):
        if not r.terms:
            continue
        reads = []
        for t in r.terms:
            ft = ("~" if t in r.negated else "") + fold(t)
            if ft in looked or len(t) <= 2 or _has_digit(t):
                continue
            looked.add(ft)
            reads.append((t, ft, t in r.negated))
        without_negated = _narrowed(r, tuple(t for t in r.terms if t not in r.negated),
                                    tuple(t for t in r.phrase if t not in r.negated)) if r.negated else None
        variants = tuple((v, tuple(map(_unmarked, v))) for v in r.variants)
        uncomplicated = set(r.terms) == {"uncomplicated"}
        gate: tuple[frozenset[str], tuple[str, ...], frozenset[str]] | None = None
        if default is None and r.phrase and not uncomplicated and all(words for _, words in variants):
            # Each term read opens the reading; of a phrase (and of each inclusion term) every word must stand,
            # so any one may stand for it: its last word not of the condition's own name ("nephropathy" in
            # "diabetic nephropathy", "glomerulosclerosis" in "type 2 diabetes mellitus with intercapillary
            # glomerulosclerosis"), which a sentence naming the condition holds whatever else it says.
            if condition is None:
                condition = _condition_words(ref.index, code)
            needed = tuple(dict.fromkeys([t for t, _, _ in reads] + [_gate_word(r.phrase, condition)]
                                         + ([_gate_word(without_negated.phrase, condition)]
                                            if without_negated is not None and without_negated.phrase else [])
                                         + [_gate_word(words, condition) for _, words in variants]))
            long_words = tuple(w for w in needed if len(w) >= 8)
            gate = (frozenset(map(fold, needed)), long_words, frozenset(w[0] for w in long_words))
        plan.append(_Reading(
            r, tuple(reads), variants,
            _without_default(r, default) if default in r.terms and len(r.terms) > 1 else (), without_negated,
            gate, default is not None and set(r.terms) == {default}, uncomplicated, tuple(r.negated),
            " ".join(r.phrase) if any(map(_has_digit, r.phrase)) else None))
    out = ReadingPlan(plan)
    out.gates = _gates(out)
    return out


class _CodeFacts(NamedTuple):
    """What documentation() reads for a proposed code before its candidates, from the tabular alone."""

    main: str | None  # the site word the code's own side is read at
    heads: tuple[str | None, ...]  # the site words whose side is read, the main one first; none when no side is an axis
    acuity_asked: bool  # a candidate states another acuity than the code
    condition_words: frozenset[str]


@lru_cache(maxsize=1 << 12)  # per release (one refiner each) and code: read from the tabular, never from a note
def _code_facts(ref: Refiner, code: str) -> _CodeFacts:
    index = ref.index
    refs = ref.refinements(code)
    main: str | None = None
    heads: tuple[str | None, ...] = ()
    if any(r.side for r in refs):
        lat = index.axis(code, LATERALITY)
        sited = list(dict.fromkeys(r.site[-1] for r in refs if r.side and r.site))
        main = lat.site[-1] if lat is not None and lat.site else (sited[0] if sited else None)
        heads = tuple(dict.fromkeys([main, *sited]))
    x_acuity = acuity_of(key_words(index.release.description(code) or ""))
    return _CodeFacts(main, heads, any(r.acuity not in (None, x_acuity) for r in refs),
                      _condition_words(index, code))


@lru_cache(maxsize=1 << 12)  # per release (one index each) and code: the tabular's words
def _condition_words(index: AxisIndex, code: str) -> frozenset[str]:
    return frozenset(w for terms in index.condition_terms(code) for w, _ in terms)
