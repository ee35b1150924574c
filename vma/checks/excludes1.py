"""Excludes1: two codes on the chart that the tabular says are never reported together.

What it finds
    A pair of proposed ICD-10-CM codes where an Excludes1 note on one code, or
    on any of its ancestors (subcategory, category, block, chapter), names the
    other code: a plain code ("P29.2"), a category with its subdivisions
    ("E10.-") or a range ("O10-O11"). The notes come from the tabular of the
    release in force on the date of service, never from a hand list. A pair is
    reported once, even when each code's notes name the other.

Why it matters
    An Excludes1 note means "NOT CODED HERE": the two conditions cannot occur
    together (type 1 with type 2 diabetes, a congenital with an acquired form)
    and reporting both is a coding error that payer edits reject, unless the
    two conditions are unrelated to each other (Guideline I.A.12.a exception).

Example
    E10.9 (Type 1 diabetes mellitus without complications) and E11.9 (Type 2
    diabetes mellitus without complications), both named in the assessment:
    E11's Excludes1 note lists "type 1 diabetes mellitus (E10.-)". Query: which
    condition does the patient have, with options E10.9 / E11.9 / both
    (unrelated) / Other / Clinically undetermined.

Resolution (query or info)
    ``query`` when the note documents both conditions (each is named in a
    sentence that is not negated, not uncertain in the outpatient setting and
    not history only): only the provider knows which condition is present, or
    whether the two are unrelated, and Guideline I.A.12.a says to query when it
    is not clear whether the two are related. ``correct`` is never used: the
    coder cannot tell from an Excludes1 note alone which code to drop.
    ``info`` when the note itself states the two are unrelated (the exception
    applies, nothing to ask), or when the note does not clearly document one of
    the two conditions (the reader could not find it; the coder reviews the
    pair rather than the provider being asked on a guess).
    The query's answer replaces both codes of the pair (``target`` is
    ``diagnosis:<i>,<j>``) with the chosen option's codes.

References
    ICD-10-CM Official Guidelines for Coding and Reporting FY2026: I.A.12.a
    (Excludes1: "the two conditions cannot occur together"; exception when
    the conditions are unrelated; "If it is not clear whether the two
    conditions involving an Excludes1 note are related or not, query the
    provider"), I.A.12 (notes apply to the code and its subdivisions), IV.H
    (uncertain diagnoses, outpatient). CMS ICD-10-CM Tabular List (Excludes1
    notes). AHIMA/ACDIS Guidelines for Achieving a Compliant Query Practice
    (2022 update).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator

from vma.axes import AxisIndex, Mention, axis_index, cite_all, code_label, condition_mentions
from vma.checks import CheckContext, register
from vma.findings import Choice, Finding, query_choices
from vma.reference.icd10cm import IcdRelease, note_code_refs

CHECK_ID = "excludes1"

# The provider saying so is the I.A.12.a exception; the cue must share a sentence with a condition.
_UNRELATED = re.compile(r"\b(?:unrelated|not related|independent(?:ly)? of|separate (?:from|condition|process))\b",
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
_SEGMENT = re.compile(r"\(([^()]*)\)")
_FIRST_CODE = re.compile(r"\b[A-Z][0-9][0-9A-Z]")
_Q_SUBCATEGORY = re.compile(r"^\.(\d+)-?$")
_Q_SUBRANGE = re.compile(r"^\.(\d+)-\.(\d+)$")
_Q_POSITION = re.compile(r"^(?:(fifth|5th|seventh|7th)[- ]characters?|(fifth to sixth) characters)\s*\.?([0-9A-Z]+)$",
                         re.I)
_Q_FINAL = re.compile(r"^final characters\s*-?([0-9A-Z]+)$", re.I)


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
    return tests


def excluding_notes(release: IcdRelease, code: str, other: str) -> list[tuple[str, str]]:
    """(where, note) for each Excludes1 note on ``code`` or above it that names ``other``."""
    hits = []
    for where, note in release.inherited_notes(code, "excludes1"):
        if any(test(other) for test in note_predicates(note)):
            hits.append((where, note))
    return hits


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


def _distinct_phrases(index: AxisIndex, code: str, other: str) -> set[tuple[str, ...]]:
    """Words naming ``code``'s condition that ``other``'s wording lacks ("type 1" for E10.9
    against E11.9). A bare number only counts with the word before it, so "A1c 7.1" is not "type 1"."""
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


def documenting_mentions(ctx: CheckContext, index: AxisIndex, code: str, other: str) -> list[Mention]:
    """Mentions that document ``code`` as distinct from ``other``.

    The two conditions of an Excludes1 pair share most of their words ("Type 2
    diabetes mellitus" half-matches type 1), so a sentence counts for a code only
    when it also holds a word that tells the code apart from the other.
    """
    distinct = _distinct_phrases(index, code, other)
    out = []
    for m in condition_mentions(ctx.note, index, code, ctx.outpatient):
        if not m.counts:
            continue
        words = tuple(t.norm for t in m.words)
        if distinct and not any(_holds(words, p) for p in distinct):
            continue
        out.append(m)
    return out


def _where_label(where: str) -> str:
    if where.startswith("chapter:"):
        return f"chapter {where.split(':', 1)[1]}"
    return where


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    known = ctx.known_diagnoses()
    if len(known) < 2:
        return
    release = ctx.icd
    index = axis_index(release)
    codes = [dx.code for _, dx, _ in known]
    for i, j, exclusions in excluded_pairs(release, codes):
        pos_a, dx_a, _ = known[i]
        pos_b, dx_b, _ = known[j]
        a, b = dx_a.code, dx_b.code
        first = exclusions[0]
        rule = (f'{first.owner} falls under an Excludes1 note at {_where_label(first.where)}: '
                f'"{first.note}"')
        mentions_a = documenting_mentions(ctx, index, a, b)
        mentions_b = documenting_mentions(ctx, index, b, a)
        cited = list(dict.fromkeys([m.sentence for m in mentions_a[:2]] + [m.sentence for m in mentions_b[:2]]))
        evidence = cite_all(cited, limit=4) or rule
        desc_a, desc_b = release.description(a), release.description(b)
        pair = f"{a} ({desc_a}) and {b} ({desc_b})"
        unrelated = [m.sentence for m in mentions_a + mentions_b if _UNRELATED.search(m.sentence.text)]
        target = f"diagnosis:{pos_a},{pos_b}"
        if unrelated:
            yield Finding(check=CHECK_ID, action="info", severity="info", code=b,
                          message=(f"{pair} are normally not reported together ({rule}); the note states the "
                                   "conditions are unrelated, which the Excludes1 exception allows "
                                   "(Guideline I.A.12.a)."),
                          evidence=cite_all(unrelated), target=target)
            continue
        if not mentions_a or not mentions_b:
            missing = a if not mentions_a else b
            yield Finding(check=CHECK_ID, action="info", severity="warning", code=b,
                          message=(f"{pair} are not reported together ({rule}). The note does not clearly "
                                   f"document {missing} ({release.description(missing)}); review which code "
                                   "the record supports."),
                          evidence=evidence, target=target)
            continue
        both_label = f"Both, as unrelated conditions ({a} and {b})"
        choices = [Choice(label=code_label(index, a), codes=[a]),
                   Choice(label=code_label(index, b), codes=[b]),
                   Choice(label=both_label, codes=[a, b])]
        question = (f"The note documents {desc_a[0].lower()}{desc_a[1:]} and {desc_b[0].lower()}{desc_b[1:]}. "
                    "ICD-10-CM classifies these as conditions that do not occur together unless they are "
                    "unrelated. Based on your clinical judgment, which condition(s) did the patient have at "
                    "this encounter?")
        yield Finding(check=CHECK_ID, action="query", severity="error", code=b,
                      message=(f"{pair} are not reported together ({rule}), unless the conditions are "
                               "unrelated; the note documents both."),
                      evidence=evidence, question=question, choices=query_choices(choices), target=target)


@register(CHECK_ID)
def check(ctx: CheckContext) -> list[Finding]:
    return list(_findings(ctx))
