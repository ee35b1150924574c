"""The tabular's Excludes1 notes read as pairs of chart codes, and where the note names each code's condition."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

from vma.checks import CheckContext
from vma.checks.support.axes.evidence import Mention, condition_mentions
from vma.checks.support.axes.index import AxisIndex
from vma.checks.support.notes.words import clause_bounds, is_negated_at
from vma.compiled_patterns import compile_pattern
from vma.reference.icd10cm import IcdRelease, note_code_refs, per_release

CHECK_ID = "excludes1"

# The provider saying so is the I.A.12.a exception; the cue must share a sentence with a condition.
_UNRELATED = compile_pattern(r"\b(?:unrelated|not related|independent(?:ly)? of|separate (?:from|condition|process))\b",
                        re.I)


@dataclass(frozen=True)
class Exclusion:
    owner: str   # the code whose notes hold the Excludes1 ("E11.9")
    where: str   # where the note is written ("E11", a block id, "chapter:4")
    note: str    # the note text
    excluded: str  # the other code on the chart that the note names


# Qualified references: "(E08-E13 with .42)", "(B27.- with fifth character 2)", "(S02.- with 7th
# character B)", "(I69. with final characters -23)". The range alone would cover codes the note does not
# mean (N08 excludes only diabetes ".21", not E11.22), so the qualifier is applied, and a qualifier that
# cannot be read ("with ketoacidosis") drops the reference rather than guessing.
_SEGMENT = compile_pattern(r"\(([^()]*)\)")
_FIRST_CODE = compile_pattern(r"\b[A-Z][0-9][0-9A-Z]")
_Q_SUBCATEGORY = compile_pattern(r"^\.(\d+)-?$")
_Q_SUBRANGE = compile_pattern(r"^\.(\d+)-\.(\d+)$")
_Q_POSITION = compile_pattern(r"^(?:(fifth|5th|seventh|7th)[- ]characters?|(fifth to sixth) characters)\s*\.?([0-9A-Z]+)$",
                         re.I)
_Q_FINAL = compile_pattern(r"^final characters\s*-?([0-9A-Z]+)$", re.I)


def _qualifier(text: str) -> Callable[[str], bool] | None:
    q = " ".join(text.split()).rstrip(".")
    m = _Q_SUBCATEGORY.match(q)
    if m:
        digits = m.group(1)
        return lambda bare: bare[3:].startswith(digits)
    m = _Q_SUBRANGE.match(q)
    if m:
        lo, hi = m.group(1), m.group(2)
        return lambda bare: lo <= bare[3:3 + len(lo)] and bare[3:3 + len(hi)] <= hi
    m = _Q_POSITION.match(q)
    if m:
        which, span, value = (m.group(1) or "").lower(), m.group(2), m.group(3).upper()
        start = 4 if span or which in ("fifth", "5th") else 6
        return lambda bare: bare[start:start + len(value)] == value
    m = _Q_FINAL.match(q)
    if m:
        tail = m.group(1).upper()
        return lambda bare: bare.endswith(tail)
    return None


def note_predicates(note: str) -> list[Callable[[str], bool]]:
    """One test per code reference of an Excludes1 note, qualifiers applied."""
    return list(_note_predicates(note))


@lru_cache(maxsize=4096)  # Excludes1 notes are reference text, never a chart's; each chart asks the same ones again
def _note_predicates(note: str) -> tuple[Callable[[str], bool], ...]:
    segments = _SEGMENT.findall(note) or [note]
    tests: list[Callable[[str], bool]] = []
    for seg in segments:
        first = _FIRST_CODE.search(seg)
        with_at = re.search(r"\s*\bwith\b", seg[first.end():]) if first else None
        if with_at is None:
            tests.extend(ref.covers for ref in note_code_refs(seg))
            continue
        cut = first.end() + with_at.start()
        qualify = _qualifier(seg[first.end() + with_at.end():])
        if qualify is None:
            continue
        for ref in note_code_refs(seg[:cut]):
            tests.append(lambda code, ref=ref, qualify=qualify: ref.covers(code) and qualify(code.replace(".", "")))
    return tuple(tests)


def excluding_notes(release: IcdRelease, code: str, other: str) -> list[tuple[str, str]]:
    """(where, note) for each Excludes1 note on ``code`` or above it that names ``other``."""
    return list(_excluding(release)(code, other))


@per_release
def _excluding(release: IcdRelease) -> Callable[[str, str], tuple[tuple[str, str], ...]]:
    """:func:`excluding_notes` of the release, kept for the pairs of codes charts bring again."""

    @lru_cache(maxsize=65536)  # by pair of codes, never a chart's note
    def excluding(code: str, other: str) -> tuple[tuple[str, str], ...]:
        return tuple((where, note) for where, note in release.inherited_notes(code, "excludes1")
                     if any(test(other) for test in _note_predicates(note)))

    return excluding


def excluded_pairs(release: IcdRelease, codes: list[str]) -> list[tuple[int, int, list[Exclusion]]]:
    """(i, j, exclusions) for each pair of positions whose codes exclude one another, i < j."""
    out = []
    for i, a in enumerate(codes):
        for j in range(i + 1, len(codes)):
            b = codes[j]
            if a == b:
                continue  # a repeated code is a duplicate, not an Excludes1 conflict
            found = [Exclusion(a, w, n, b) for w, n in excluding_notes(release, a, b)]
            found += [Exclusion(b, w, n, a) for w, n in excluding_notes(release, b, a)]
            if found:
                out.append((i, j, found))
    return out


@per_release
def _phrases_held(index: AxisIndex) -> dict[tuple[str, str], frozenset[tuple[str, ...]]]:
    return {}


def _distinct_phrases(index: AxisIndex, code: str, other: str) -> frozenset[tuple[str, ...]]:
    """Words naming ``code``'s condition that ``other``'s wording lacks ("type 1" for E10.9
    against E11.9). A bare number only counts with the word before it, so "A1c 7.1" is not "type 1".
    Tabular wording only: worked out once per pair of codes."""
    held = _phrases_held(index)
    found = held.get((code, other))
    if found is None:
        found = held[code, other] = frozenset(_read_distinct_phrases(index, code, other))
    return found


def _read_distinct_phrases(index: AxisIndex, code: str, other: str) -> set[tuple[str, ...]]:
    theirs = {w for terms in index.condition_terms(other) for w, _ in terms}
    out: set[tuple[str, ...]] = set()
    for terms in index.condition_terms(code):
        seq = [w for w, _ in terms]
        for i, word in enumerate(seq):
            if word in theirs:
                continue
            if any(ch.isdigit() for ch in word) and len(word) <= 3 and i > 0:
                out.add((seq[i - 1], word))
            else:
                out.add((word,))
    return out


def _holds(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(words[k:k + n] == phrase for k in range(len(words) - n + 1))


def _first_at(words: tuple[str, ...], phrases: set[tuple[str, ...]]) -> int | None:
    """Where the first of ``phrases`` starts in ``words``, or None."""
    return min((k for p in phrases for k in range(len(words) - len(p) + 1) if words[k:k + len(p)] == p),
               default=None)


def _naming_mentions(ctx: CheckContext, index: AxisIndex, code: str, other: str) -> list[Mention]:
    """Mentions of ``code``'s condition that tell it apart from ``other``'s, whatever their status.

    The two conditions of an Excludes1 pair share most of their words ("Type 2
    diabetes mellitus" half-matches type 1), so a sentence counts for a code only
    when it also holds a word that tells the code apart from the other, or when it
    names the shared condition without the words that would make it the other
    ("Panic disorder without agoraphobia" is F41.0, not F40.01 Agoraphobia with
    panic disorder).
    """
    distinct = _distinct_phrases(index, code, other)
    theirs = _distinct_phrases(index, other, code)
    out = []
    for m in condition_mentions(ctx.note, index, code, ctx.outpatient):
        if not distinct:
            out.append(m)
            continue
        words = tuple(t.norm for t in m.words)
        at = _first_at(words, distinct)
        if at is None:
            other_at = _first_at(words, theirs) if theirs else -1
            if other_at is None or (other_at >= 0 and is_negated_at(m.sentence.text, m.words[other_at].start)):
                out.append(m)
            continue
        # The telling word may be negated on its own: "panic disorder without agoraphobia" names panic
        # disorder and denies the agoraphobia of F40.01.
        if not m.negated and at != m.first and is_negated_at(m.sentence.text, m.words[at].start):
            m = replace(m, negated=True)
        out.append(m)
    return out


def documenting_mentions(ctx: CheckContext, index: AxisIndex, code: str, other: str) -> list[Mention]:
    """Mentions that document ``code`` (for this encounter) as distinct from ``other``."""
    return [m for m in _naming_mentions(ctx, index, code, other) if m.counts and not _not_established(ctx, m)]


# Work-up wording names a condition that is not established (Guideline IV.D/IV.H read "rule out" the
# same way); the notes module's uncertainty cues do not list these.
_WORKUP = compile_pattern(r"\b(?:evaluat(?:e|ed|ing|ion) (?:for|of)|work(?:ing)?[- ]?up (?:for|of)|screen(?:ed|ing)? for|"
                     r"assess(?:ed|ing|ment)? for|check(?:ed|ing)? for|test(?:ed|ing)? for|monitor(?:ed|ing)? for|"
                     r"at risk (?:for|of)|risk (?:for|of)|to exclude)\b", re.I)
# Another person's condition ("her mother has diabetes") documents nothing about the patient. A relative
# who only reports ("mother reports he has been wheezing", pediatric notes) does not match.
_KIN = compile_pattern(r"\bfamily history\b|\bfhx?\b|\b(?:mother|father|sister|brother|sibling|grandmother|grandfather|"
                  r"aunt|uncle|cousin)(?:'s)?\s+(?:has|had|have|with|was|is|also|who|suffers|died)\b", re.I)


def _clause(sentence: str, pos: int) -> str:
    start, end = clause_bounds(sentence, pos)
    return sentence[start:end]


def _not_established(ctx: CheckContext, m: Mention) -> bool:
    """A work-up or someone else's condition: not a diagnosis of this patient at this encounter."""
    text = _clause(m.sentence.text, m.words[m.first].start)
    return bool(_KIN.search(text) or (ctx.outpatient and _WORKUP.search(text)))
