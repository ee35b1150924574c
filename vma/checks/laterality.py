"""Laterality: the side of a diagnosis is unspecified in the code, or contradicts the note.

What it finds
    A proposed ICD-10-CM code whose tabular siblings differ from it only by
    side ("right", "left", "bilateral") while the code itself says
    "unspecified <site>", or a code whose side contradicts the note. The
    siblings come from the tabular (vma.axes), never from a hand list, so every
    lateralised code of the release is covered.

Why it matters
    Unspecified-side codes are denied or returned by many payers and hide what
    was treated; a wrong side is a documentation error that follows the
    patient. Guideline I.B.13 asks for the side when the record gives it.

Example
    M25.519 (Pain in unspecified shoulder) while the assessment says "Left
    shoulder pain": correct to M25.512. M19.029 (Primary osteoarthritis,
    unspecified elbow) while the history mentions both elbows and the
    assessment names no side: query with M19.021 / M19.022 / both.

Resolution (correct or query)
    ``correct`` when the note settles one sibling: the assessment states the
    side with the condition and nothing stated with the condition elsewhere
    contradicts it, or the body site is only ever given one side (or both).
    Both sides with no bilateral code: right and left codes (Guideline I.B.13).
    A code giving the other side than the note: ``correct``. Otherwise
    ``query`` with the sibling codes, "right and left" when the tabular has no
    bilateral code, "Other" and "Clinically undetermined". Negated mentions and,
    outpatient, uncertain diagnoses (Guideline IV.H) are not evidence.

References
    ICD-10-CM Official Guidelines for Coding and Reporting FY2026: I.B.13
    (laterality; "when a bilateral code is not provided and the condition is
    bilateral, assign separate codes for both the left and right side"),
    I.A.19 / I.B.1 (code to the highest specificity documented), IV.H
    (uncertain diagnoses, outpatient). AHIMA/ACDIS Guidelines for Achieving a
    Compliant Query Practice (2022 update).
"""

from __future__ import annotations

import re
from typing import Iterator

from vma.axes import BILATERAL, LATERALITY, LEFT, RIGHT, AxisEvidence, AxisIndex, CodeAxis, axis_index, \
    cite_all, code_label, condition_name, side_evidence, uncertain_remark, with_seventh
from vma.checks import CheckContext, register
from vma.findings import Choice, Finding, query_choices
from vma.notes import SECTION_LABELS, NoteDoc, tokens

BOTH = frozenset({RIGHT, LEFT})


def _plural(word: str) -> str:
    if word == "foot":
        return "feet"
    if word.endswith(("s", "x", "sh", "ch")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _both_sides_label(description: str, site_head: str) -> str:
    """ "Primary osteoarthritis, right elbow" -> "Primary osteoarthritis, right and left elbows"."""
    rx = re.compile(rf"\bright\b((?:\s+[\w'-]+){{0,3}}?\s+){re.escape(site_head)}\b", re.I)
    m = rx.search(description)
    if not m:
        return re.sub(r"\bright\b", "right and left", description, count=1)
    return description[:m.start()] + f"right and left{m.group(1)}{_plural(site_head)}" + description[m.end():]


def _targets(axis: CodeAxis, sides: frozenset[str]) -> list[str]:
    """Base codes for documented sides: the bilateral code, or right and left codes (I.B.13)."""
    if sides == BOTH:
        bilateral = axis.sibling_for(BILATERAL)
        if bilateral:
            return [bilateral.code]
        right, left = axis.sibling_for(RIGHT), axis.sibling_for(LEFT)
        return [right.code, left.code] if right and left else []
    sib = axis.sibling_for(next(iter(sides)))
    return [sib.code] if sib else []


def _side_words(sides: frozenset[str] | set[str]) -> str:
    if set(sides) == BOTH:
        return "right and left"
    return next(iter(sides))


def _indicators(note: NoteDoc, ev: AxisEvidence, site: str, condition: str) -> str:
    """Clinical indicators for the question: which sides each part of the note gives."""
    by_section: dict[str, set[str]] = {}
    for sentence in ev.cited:
        label = SECTION_LABELS.get(sentence.section, sentence.section.replace("_", " ").capitalize())
        by_section.setdefault(label, set())
    # The sides per section are recomputed from the evidence sentences' own words.
    from vma.axes import sides_at_site

    words_of = {id(sentence): words for sentence, words in note.tokenized}  # tokenised once per note
    for sentence in ev.cited:
        label = SECTION_LABELS.get(sentence.section, sentence.section.replace("_", " ").capitalize())
        by_section[label] |= sides_at_site(sentence.text, words_of.get(id(sentence)) or tokens(sentence.text), (site,))
    parts = [f"the {label if label.isupper() else label.lower()} mentions the {_side_words(sides)} {site}"
             for label, sides in by_section.items() if sides]
    opening = f"{condition[0].upper()}{condition[1:]} is documented"
    opening += " in the assessment without a side." if ev.in_assessment else " without a side."
    if not parts:
        return f"{opening} The record does not name a side for the {site}."
    return f"{opening} In this note, " + "; ".join(parts) + "."


def _finding_for(ctx: CheckContext, index: AxisIndex, position: int, code: str, axis: CodeAxis,
                 seventh: str | None) -> Finding | None:
    ev = side_evidence(ctx.note, index, axis, ctx.outpatient)
    decided = ev.decided()
    site = axis.site[-1] if axis.site else "side"  # "Brow ptosis, left": the side is on the condition itself
    if decided is not None:
        targets = [with_seventh(index, t, seventh) for t in _targets(axis, decided)]
        coded = frozenset(BOTH if axis.value == BILATERAL else {axis.value}) if axis.value else None
        if coded is not None and (decided == coded or not ev.linked_to_condition):
            return None  # the coded side agrees, or the note's side is not tied to this condition
        if targets:
            where = "throughout" if not (ev.anywhere - decided) else "in the assessment"
            if coded is None:
                message = (f"{code} ({index.release.description(code)}) does not specify the side; the note "
                           f"documents the {_side_words(decided)} {site} {where}.")
            else:
                message = (f"{code} ({index.release.description(code)}) gives the {axis.value} side, but the "
                           f"note documents the {_side_words(decided)} {site} {where}.")
            message += uncertain_remark(ev.cited) if ctx.outpatient else ""
            return Finding(check=LATERALITY, action="correct", code=code, message=message,
                           evidence=cite_all(ev.cited), suggested_codes=targets, target=f"diagnosis:{position}")
    if axis.value is not None:
        return None  # a coded side is left alone unless the note clearly says otherwise
    condition = condition_name(axis.description)
    choices = [Choice(label=code_label(index, c), codes=[c])
               for c in (with_seventh(index, s.code, seventh) for s in axis.siblings)]
    if axis.sibling_for(BILATERAL) is None and axis.sibling_for(RIGHT) and axis.sibling_for(LEFT):
        right = with_seventh(index, axis.sibling_for(RIGHT).code, seventh)
        left = with_seventh(index, axis.sibling_for(LEFT).code, seventh)
        both = _both_sides_label(index.release.description(right) or "", site)
        choices.append(Choice(label=f"{both} ({right} and {left})", codes=[right, left]))
    if len(ev.anywhere) > 1:
        message = (f"{code} ({index.release.description(code)}) has no side, and the note gives conflicting "
                   f"sides for the {site} without stating which the {condition} affects.")
    else:
        message = (f"{code} ({index.release.description(code)}) has no side, and the note does not state "
                   f"which {site} the {condition} affects.")
    question = (f"{_indicators(ctx.note, ev, site, condition)} Which {site} or {_plural(site)} are affected by the "
                f"{condition} addressed at this visit?")
    mentions = [m.sentence for m in ev.mentions if m.counts][:1]
    return Finding(check=LATERALITY, action="query", code=code, message=message,
                   evidence=cite_all(mentions + ev.cited), question=question,
                   choices=query_choices(choices), target=f"diagnosis:{position}")


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    index = axis_index(ctx.icd)
    for position, dx, _entry in ctx.known_diagnoses():
        base, seventh = index.split_seventh(dx.code)
        axis = index.axis(base, LATERALITY)
        if axis is None:
            continue
        finding = _finding_for(ctx, index, position, dx.code, axis, seventh)
        if finding is not None:
            yield finding


@register("laterality")
def check(ctx: CheckContext) -> list[Finding]:
    return list(_findings(ctx))
