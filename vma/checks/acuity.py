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

from vma.checks import CheckContext, register
from vma.checks.support.acuity_findings import acuity_findings
from vma.findings import Finding


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
    return acuity_findings(ctx)
