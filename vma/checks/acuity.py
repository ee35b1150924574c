"""Acuity: acute, chronic, or acute on chronic is unspecified in the code, or contradicts the note.

What it finds
    A proposed ICD-10-CM code whose tabular siblings differ from it only by
    acuity ("Cholecystitis, unspecified" K81.9 next to "Acute cholecystitis"
    K81.0, "Chronic cholecystitis" K81.1, "Acute cholecystitis with chronic
    cholecystitis" K81.2), including codes that say "not specified as acute or
    chronic" whose acute and chronic forms sit in other categories of the same
    chapter (J40 -> J20.9 / J42); and codes whose acuity contradicts the note.
    The pairs come from the tabular's wording (vma.checks.support.axes), not from hand lists.

Why it matters
    Acute, chronic and acute-on-chronic forms are different conditions with
    different severity (heart failure I50.21/I50.22/I50.23); the unspecified
    form understates what was treated.

Example
    I50.20 (Unspecified systolic heart failure) while the assessment says
    "Acute on chronic systolic heart failure": correct to I50.23. K81.9 with a
    note that never says acute or chronic: query with K81.0 / K81.1 / K81.2.

Resolution (correct or query)
    ``correct`` when the acuity stated with the condition (assessment first,
    not contradicted elsewhere) matches exactly one sibling, or when a coded
    acuity contradicts it; "exacerbation" and "decompensated" read as acute, and
    as acute on chronic when the note documents the condition as chronic (AHA
    Coding Clinic 3Q 2008). When the note also documents a type or
    another axis, the suggestion settles it at once and ``specificity``
    reports it (vma.checks.support.refine). ``query`` with the acuity siblings, "Other" and
    "Clinically undetermined" when the code leaves acuity open and the note
    does not settle it. Negated mentions and, outpatient, uncertain diagnoses
    (Guideline IV.H) are not evidence.
"""

from __future__ import annotations

from typing import Iterator

from vma.checks.support.axes.evidence import acuity_evidence
from vma.checks.support.axes.index import axis_index
from vma.checks.support.axes.wording import cite_all, code_label, condition_name, with_seventh
from vma.checks.support.axes.words import ACUITY
from vma.checks import CheckContext, register
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


@register(
    "acuity",
    actions=("correct", "query"),
    references=(
        "ICD-10-CM Official Guidelines for Coding and Reporting FY2026: I.B.8 (acute and chronic conditions: "
        "code both when the index lists both, acute first), I.B.2 (highest specificity documented), IV.H "
        "(uncertain diagnoses, outpatient)",
        'AHA Coding Clinic 3Q 2008 ("decompensated" heart failure is an acute exacerbation, acute on chronic '
        "when the chronic condition is documented)",
        "AHIMA/ACDIS Guidelines for Achieving a Compliant Query Practice (2022 update)",
    ),
)
def check(ctx: CheckContext) -> list[Finding]:
    return list(_findings(ctx))
