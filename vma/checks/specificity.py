"""Specificity: the code leaves an axis unspecified (type, stage, severity, cause,
complication) that the record documents, or documents in part.

What it finds
    A proposed ICD-10-CM code for which a more specific code of its category says
    what the note documents: "Osteoarthritis of knee, unspecified" M17.9 next to
    "primary osteoarthritis of the left knee" (M17.12), "Heart failure,
    unspecified" I50.9 next to "acute on chronic systolic heart failure"
    (I50.23), "Unspecified asthma, uncomplicated" J45.909 next to "asthma
    exacerbation" (J45.901). The more specific codes come from the tabular's
    wording (vma.checks.support.refine), never from hand lists, and one suggestion settles every
    documented axis at once (side, acuity, type, stage), so re-checking the
    corrected chart finds nothing more. Also the classic documentation queries:
    the note documents part of what a more specific code needs but not all
    ("moderate intermittent asthma", which matches neither mild intermittent nor
    moderate persistent; "exacerbation of her congestive heart failure" with no
    type), or the condition is coded unspecified while the record shows its
    clinical indicators (heart failure with an ejection fraction or a diuretic
    change, asthma on a daily controller, CKD with an eGFR; the table and its
    sources are in vma/reference/data/cdi_indicators.json).

    Also a form of the condition that the tabular codes in another category
    (vma.checks.support.redirect): an Excludes1 note of the code naming it ("recurrent
    depressive disorder (F33.-)" at F32 beside "major depressive disorder,
    recurrent, moderate": F33.1; "lumbago with sciatica (M54.4-)" at M54.5), or,
    for an unspecified code, a category title stated as one phrase ("iron
    deficiency anemia" beside D64.9: D50.9).

    A diabetes code the combination check already corrects for a coded complication is left to
    it (one problem, one finding). When the note says nothing more, it emits nothing: querying every unspecified
    type floods physicians for codes that are correct as documented (Guidelines
    I.A.9.b and I.B.18 allow unspecified codes when the record does not say more).

Why it matters
    Coding to the highest specificity the documentation supports is required
    (Guideline I.B.2); the unspecified code understates severity, is returned by
    payers when the record is more specific, and heart failure, asthma and CKD
    are among the conditions clinical documentation programs query most.

Example
    N18.9 while the assessment reads "Chronic kidney disease stage 3b, stable":
    correct to N18.32. I50.9 with "I believe this is an exacerbation of her
    congestive heart failure. Increase Lasix": query the type and acuity with
    I50.23 / I50.33 / I50.43 / I50.813 ("Other", "Clinically undetermined").

Resolution (correct or query)
    ``correct`` to the code every one of whose added terms the note states with
    the condition (not negated; outpatient, not uncertain), the most specific
    such code when one contains the others; for a form coded elsewhere, the
    code of that category the note settles, unless another assessment
    sentence states the coded form too. ``query`` with the codes that fit
    what is documented when the note documents part of it, or with the
    condition's specific codes when its clinical indicators are in the record;
    the question quotes the indicators and never suggests an answer.
"""

from __future__ import annotations

from vma.checks import CheckContext, register
from vma.checks.support.specificity_findings import specificity_findings
from vma.findings import Finding


@register(
    "specificity",
    actions=("correct", "query"),
    references=(
        "ICD-10-CM Official Guidelines for Coding and Reporting FY2026: I.B.2 (code to the highest degree of "
        'specificity documented), I.A.9.b and I.B.18 ("unspecified" codes when the record does not say more), '
        "I.A.19 (the provider's diagnostic statement), I.A.12.a (Excludes1: the excluded form is not coded "
        "here), I.B.8 (acute and chronic), I.C.14.a (CKD stage from the provider's documentation), IV.H "
        "(uncertain diagnoses, outpatient)",
        "ICD-10-CM Index (osteoarthritis of a joint not stated otherwise is primary)",
        "AHA Coding Clinic 1Q 2016 (HFrEF/HFpEF), 3Q 2008 (decompensated = acute exacerbation)",
        "AHIMA/ACDIS Guidelines for Achieving a Compliant Query Practice (2022 update)",
        "NAEPP Expert Panel Report 3 (asthma severity)",
    ),
)
def check(ctx: CheckContext) -> list[Finding]:
    return specificity_findings(ctx)
