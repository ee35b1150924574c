"""Laterality: the side of a diagnosis is unspecified in the code, or contradicts the note.

What it finds
    A proposed ICD-10-CM code whose tabular siblings differ from it only by
    side ("right", "left", "bilateral") while the code itself says
    "unspecified <site>", or a code whose side contradicts the note. The
    siblings come from the tabular (vma.checks.support.axes), never from a hand list, so every
    lateralised code of the release is covered.

Why it matters
    Unspecified-side codes are denied or returned by many payers and hide what
    was treated; a wrong side is a documentation error that follows the
    patient. Guideline I.B.13 asks for the side when the record gives it.

Example
    M25.519 (Pain in unspecified shoulder) while the assessment says "Left
    shoulder pain": correct to M25.512. G56.00 (Carpal tunnel syndrome,
    unspecified upper limb) with "Bilateral carpal tunnel syndrome": correct to
    G56.03. M19.029 (Primary osteoarthritis,
    unspecified elbow) while the history mentions both elbows and the
    assessment names no side: query with M19.021 / M19.022 / both.

Resolution (correct or query)
    ``correct`` when the note settles the side: the assessment states the side
    with the condition and nothing stated with the condition elsewhere
    contradicts it, or the condition's body site is only ever given one side (or
    both). The suggestion settles every other axis the note documents at once
    (vma.checks.support.refine): when more than the side changes, ``specificity`` reports it.
    Both sides with no bilateral code: right and left codes (Guideline I.B.13).
    A code giving the other side than the note: ``correct``. A side counts only
    where the note ties it to the condition's site (the body part of the code's
    description), never a side of another body part, a negated side ("no pain
    on the right") or, outpatient, an uncertain diagnosis (Guideline IV.H).
    ``query`` with the sibling codes, "right and left" when the tabular has no
    bilateral code, "Other" and "Clinically undetermined" when the code leaves
    the side open and the note does not settle it, or when the code gives a side
    and the note gives both sides for the condition in different places.
"""

from __future__ import annotations

from typing import Iterator

from vma.checks.support.axes.evidence import AxisEvidence, side_evidence
from vma.checks.support.axes.index import AxisIndex, AxisSibling, CodeAxis, axis_index
from vma.checks.support.axes.wording import cite_all, code_label, condition_name, with_seventh
from vma.checks.support.axes.words import BILATERAL, LATERALITY, LEFT, RIGHT
from vma.checks import CheckContext, register
from vma.checks.support.axis_findings import both_sides_label as _both_sides_label, correction, decisions, plural as _plural
from vma.findings import Choice, Finding, query_choices
from vma.checks.support.notes.document import SECTION_LABELS, NoteDoc
from vma.checks.support.notes.words import tokens

BOTH = frozenset({RIGHT, LEFT})


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
    from vma.checks.support.axes.evidence import sides_at_site

    words_of = {id(sentence): words for sentence, words in note.tokenized}  # tokenised once per note
    for sentence in ev.cited:
        label = SECTION_LABELS.get(sentence.section, sentence.section.replace("_", " ").capitalize())
        by_section[label] |= sides_at_site(sentence.text, words_of.get(id(sentence)) or tokens(sentence.text), (site,))
    parts = [f"the {label if label.isupper() else label.lower()} "
             f"{'mention' if label.lower().endswith('results') else 'mentions'} the {_side_words(sides)} {site}"
             for label, sides in by_section.items() if sides]
    opening = f"{condition[0].upper()}{condition[1:]} is documented"
    if ev.assessment:
        opening += "."  # with a side there, which the parts of the note listed next dispute
    else:
        opening += " in the assessment without a side." if ev.in_assessment else " without a side."
    if not parts:
        return f"{opening} The record does not name a side for the {site}."
    return f"{opening} In this note, " + "; ".join(parts) + "."


def _query(ctx: CheckContext, index: AxisIndex, position: int, code: str, axis: CodeAxis, seventh: str | None,
           conflict: bool) -> Finding:
    ev = side_evidence(ctx.note, index, axis, ctx.outpatient)
    site = axis.site[-1] if axis.site else "side"  # "Brow ptosis, left": the side is on the condition itself
    condition = condition_name(axis.description)
    siblings = list(axis.siblings)
    if axis.value is not None:  # a coded side the note disputes: the coded code is one of the answers
        siblings.insert(0, AxisSibling(axis.code, axis.description, axis.value, ()))
        siblings.sort(key=lambda s: (RIGHT, LEFT, BILATERAL).index(s.value) if s.value in (RIGHT, LEFT, BILATERAL)
                      else 9)
    choices = [Choice(label=code_label(index, c), codes=[c])
               for c in (with_seventh(index, s.code, seventh) for s in siblings)]
    right = next((s for s in siblings if s.value == RIGHT), None)
    left = next((s for s in siblings if s.value == LEFT), None)
    if not any(s.value == BILATERAL for s in siblings) and right and left:
        r, lft = with_seventh(index, right.code, seventh), with_seventh(index, left.code, seventh)
        both = _both_sides_label(index.release.description(r) or "", site)
        choices.append(Choice(label=f"{both} ({r} and {lft})", codes=[r, lft]))
    described = f"{code} ({index.release.description(code)})"
    if conflict:
        message = (f"{described} gives the {axis.value} side, but the note gives both sides for the {site} with the "
                   f"{condition} in different places.")
    elif len(ev.anywhere) > 1:
        message = (f"{described} has no side, and the note gives conflicting sides for the {site} without stating "
                   f"which the {condition} affects.")
    else:
        message = f"{described} has no side, and the note does not state which {site} the {condition} affects."
    question = (f"{_indicators(ctx.note, ev, site, condition)} Which {site} or {_plural(site)} are affected by the "
                f"{condition} addressed at this visit?")
    mentions = [m.sentence for m in ev.mentions if m.counts][:1]
    return Finding(check=LATERALITY, action="query", code=code, message=message,
                   evidence=cite_all(mentions + ev.cited), question=question,
                   choices=query_choices(choices), target=f"diagnosis:{position}")


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    index = axis_index(ctx.icd)
    for position, d in decisions(ctx, LATERALITY):
        if d.action == "correct":
            yield correction(ctx, index, position, d, LATERALITY)
            continue
        axis = index.axis(d.base, LATERALITY)
        if axis is not None:
            yield _query(ctx, index, position, d.code, axis, d.seventh, d.reason == "side-conflict")


@register(
    "laterality",
    actions=("correct", "query"),
    references=(
        'ICD-10-CM Official Guidelines for Coding and Reporting FY2026: I.B.13 (laterality; "when a bilateral '
        "code is not provided and the condition is bilateral, assign separate codes for both the left and right "
        'side"), I.B.2 (code to the highest specificity documented), IV.H (uncertain diagnoses, outpatient)',
        "AHIMA/ACDIS Guidelines for Achieving a Compliant Query Practice (2022 update)",
    ),
)
def check(ctx: CheckContext) -> list[Finding]:
    return list(_findings(ctx))
