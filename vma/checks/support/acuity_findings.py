"""The acuity findings of a chart: acute, chronic, or acute on chronic as the note documents it, or an acuity query."""

from __future__ import annotations

from typing import Iterator

from vma.checks import CheckContext
from vma.checks.support.axes.evidence import acuity_evidence
from vma.checks.support.axes.index import axis_index
from vma.checks.support.axes.wording import cite_all, code_label, condition_name, with_seventh
from vma.checks.support.axes.words import ACUITY
from vma.checks.support.axis_findings import correction, decisions, specificity_query
from vma.findings import Choice, Finding, query_choices


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    index = axis_index(ctx.icd)
    for position, d in decisions(ctx, ACUITY):
        if d.action == "correct":
            yield correction(ctx, index, position, d, ACUITY)
            continue
        if d.reason == "partial":  # "exacerbation" with no "chronic": acute or acute on chronic, asked
            yield specificity_query(ctx, index, position, d, ACUITY)
            continue
        axis = index.axis(d.base, ACUITY)
        if axis is None:
            continue
        code, seventh = d.code, d.seventh
        description = index.release.description(code)
        ev = acuity_evidence(ctx.note, index, axis, ctx.outpatient)
        condition = condition_name(axis.description, without_acuity=True)
        mentions = [m.sentence for m in ev.mentions if m.counts]
        if mentions:
            indicators = (f"{condition[0].upper()}{condition[1:]} is documented"
                          f"{' in the assessment' if ev.in_assessment else ''} without acuity")
            indicators += (f", and the note states it as {' and as '.join(sorted(ev.linked))} in different places."
                           if len(ev.linked) > 1 else ".")
        else:
            indicators = f"The note does not describe the {condition} coded as {code}."
        choices = [Choice(label=code_label(index, c), codes=[c])
                   for c in (with_seventh(index, s.code, seventh) for s in axis.siblings)]
        yield Finding(check=ACUITY, action="query", code=code,
                      message=f"{code} ({description}) does not specify acuity, and the note does not state "
                              f"whether the {condition} is acute, chronic, or acute on chronic.",
                      evidence=cite_all(mentions + ev.cited),
                      question=f"{indicators} Based on your clinical judgment, what is the acuity of the "
                               f"{condition} addressed at this visit?",
                      choices=query_choices(choices), target=f"diagnosis:{position}")


def acuity_findings(ctx: CheckContext) -> list[Finding]:
    """The acuity findings of a chart, computed once: the check reports them, and ``non-billable-code``
    leaves a header they already report to them."""
    return ctx.shared(ACUITY, _findings)
