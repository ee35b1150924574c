"""Specificity: another axis of the code (type, stage, cause, complication) is
unspecified while the record documents a more specific tabular code.

What it finds
    A proposed ICD-10-CM code that says "unspecified" while a tabular sibling
    adds a distinguishing term on an axis other than side or acuity ("Chronic
    kidney disease, unspecified" N18.9 next to "..., stage 4" N18.4; "Acute
    pancreatitis ..., unspecified" K85.90 next to "Biliary acute pancreatitis
    ..." K85.10), and the note states that term with the coded condition. The
    siblings come from the tabular's wording (vma.axes), not hand lists.

    It reports ONLY when the record documents the more specific term. When the
    note is silent it emits nothing: querying every unspecified type (pneumonia
    organism, diabetes complications) floods physicians for codes that are
    correct as documented (Guideline I.B.1 allows unspecified codes when the
    record says no more), and a false alarm costs a physician's time.

Why it matters
    Coding to the highest specificity the documentation supports is required
    (Guideline I.B.1); the unspecified code understates severity and is
    returned by payers when the record is more specific.

Example
    N18.9 while the assessment reads "Chronic kidney disease stage 3b, stable":
    correct to N18.32.

Resolution (correct or query)
    ``correct`` only, to the sibling whose distinguishing words the note states
    with the condition (not negated; outpatient, not uncertain); when several
    match, the most specific one if it contains the others, else nothing.

References
    ICD-10-CM Official Guidelines for Coding and Reporting FY2026: I.B.1 and
    I.A.19 (code to the highest degree of specificity documented; "unspecified"
    codes when the record does not say more), IV.H (uncertain diagnoses,
    outpatient).
"""

from __future__ import annotations

from typing import Iterator

from vma.axes import SPECIFICITY, axis_index, cite_all, documented_siblings, with_seventh
from vma.checks import CheckContext, register
from vma.findings import Finding


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    index = axis_index(ctx.icd)
    for position, dx, _entry in ctx.known_diagnoses():
        base, seventh = index.split_seventh(dx.code)
        axis = index.axis(base, SPECIFICITY)
        if axis is None:
            continue
        found, mentions = documented_siblings(ctx.note, index, axis, ctx.outpatient)
        if len(found) != 1:
            continue
        sib = found[0]
        suggested = with_seventh(index, sib.code, seventh)
        yield Finding(check=SPECIFICITY, action="correct", code=dx.code,
                      message=(f"{dx.code} ({index.release.description(dx.code)}) is unspecified, but the note "
                               f"documents {' '.join(sib.phrase)}: {suggested} "
                               f"({index.release.description(suggested)})."),
                      evidence=cite_all([m.sentence for m in mentions]), suggested_codes=[suggested],
                      target=f"diagnosis:{position}")


@register("specificity")
def check(ctx: CheckContext) -> list[Finding]:
    return list(_findings(ctx))
