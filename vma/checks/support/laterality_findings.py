"""The laterality findings of a chart: a side the note gives for the coded condition's site, or a side query."""

from __future__ import annotations

from typing import Iterator

from vma.checks import CheckContext
from vma.checks.support.axes.evidence import AxisEvidence, sentence_words, side_evidence, sides_at_site
from vma.checks.support.axes.index import AxisIndex, AxisSibling, CodeAxis, axis_index
from vma.checks.support.axes.wording import cite_all, code_label, condition_name, with_seventh
from vma.checks.support.axes.words import BILATERAL, LATERALITY, LEFT, RIGHT
from vma.checks.support.axis_findings import both_sides_label as _both_sides_label
from vma.checks.support.axis_findings import correction, decisions
from vma.checks.support.axis_findings import plural as _plural
from vma.checks.support.notes.document import SECTION_LABELS, NoteDoc
from vma.checks.support.notes.words import tokens
from vma.findings import Choice, Finding, query_choices

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

    for sentence in ev.cited:
        label = SECTION_LABELS.get(sentence.section, sentence.section.replace("_", " ").capitalize())
        by_section[label] |= sides_at_site(sentence.text, sentence_words(note, sentence) or tokens(sentence.text),
                                             (site,))
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


def laterality_findings(ctx: CheckContext) -> list[Finding]:
    """The laterality findings of a chart, computed once: the check reports them, and ``non-billable-code``
    leaves a header they already report to them."""
    return ctx.shared(LATERALITY, _findings)
