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

from vma.checks import CheckContext, register
from vma.checks.support.laterality_findings import laterality_findings
from vma.findings import Finding


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
    return laterality_findings(ctx)
