"""Combination: a combination code, "code first" or "use additional code" the chart misses.

What it finds
    1. Hypertension with heart or kidney involvement coded apart: I10 with a
       heart failure code (I50.-) instead of I11.0; I10 with I51.4, I51.5,
       I51.7, I51.89 or I51.9 instead of I11.9; I10 with chronic kidney disease
       (N18.-) instead of I12.-; heart and kidney together instead of I13.-;
       and a hypertensive code that no longer matches the other codes (I11.9
       next to I50.-, I12.- next to I50.-, I11.0 next to N18.-). The guideline
       presumes the causal link.
    2. Diabetes coded apart from a condition the classification links to it
       with "with": E11.9 beside a foot ulcer (L97.5-) instead of E11.621,
       beside CKD (N18.-) instead of E11.22, beside polyneuropathy in diseases
       classified elsewhere (G63) instead of E11.42. The links are read from
       the tabular of the release, per chart code: a "use additional code"
       note on an E08-E13 combination code naming the code (E11.621: L97.4-,
       L97.5-), a "code first" or "code also" note on the code naming the
       combination code (N18: E11.22; K31.84: E11.43), or an Excludes1 note
       sending the condition "in diabetes" to it (G63: E08-E13 with .42, the
       other code then dropped). The narrowest reference wins (L97.519: E11.621
       over E11.622); the diabetes type of the coded E08-E13 code is kept; only
       combination codes whose title names the condition are presumed ("with
       other specified complication" needs the provider's link).
    3. A "use additional code" note on a proposed code (or its category, block
       or chapter) whose code is absent while the note documents it: long-term
       insulin (Z79.4), oral (Z79.84) or injectable non-insulin (Z79.85)
       antidiabetic drugs; the stage of chronic kidney disease (N18.-); the
       type of heart failure (I50.-). Tobacco use or dependence documented
       under a note asking for it (F17.-, Z72.0, Z87.891): info.
    4. A manifestation code ("... in diseases classified elsewhere") whose
       "code first" note names no code on the chart: info.
    Notes come from the tabular of the release in force on the date of
    service. Nothing fires for a "use additional code" note the record does
    not document (most say "if applicable").

Why it matters
    Coding hypertension and heart failure separately when a combination code
    exists misstates the condition and is returned by payers; a missing
    additional code (insulin use, CKD stage, heart failure type) leaves out
    what the tabular requires to complete the picture.

Example
    I10 and I50.22 while the assessment reads "Hypertension. Chronic systolic
    heart failure, on carvedilol": correct I10 to I11.0, sequenced first (I50.22
    stays after it as the additional code). E11.9 and L97.519 for "Diabetes.
    Non-healing ulcer, right foot": correct E11.9 to E11.621 (L97.519 after it).
    E11.9 with "Lantus 20 units nightly" and no Z79.4: correct to E11.9 plus
    Z79.4.

Resolution (correct or info)
    ``correct`` when the codes on the chart and the guideline's presumption
    settle it, or the note states what the additional code needs;
    ``suggested_codes`` replace the finding's code: ["I11.0"] for I10, or the
    code kept plus the code added (["E11.9", "Z79.4"]); several diabetic
    complications give several combination codes in one suggestion
    (["E11.22", "E11.621"]). A target naming two positions ("diagnosis:0,3")
    drops the other code the combination code includes (G63 into E11.42).
    The message names the sequence the "code first" notes ask for. No finding
    when the provider documents that the conditions are unrelated or the
    condition has another cause ("venous stasis ulcer", "CKD due to lithium
    nephropathy, not due to diabetes"), or the chart codes another cause the
    condition's "code first" note names (I87.31- for a leg ulcer) (I.A.15,
    I.C.9.a: "coded separately if the provider has documented they are
    unrelated"), when
    insulin is temporary or sliding-scale (I.C.4.a.3), or when the note does
    not document the additional condition. ``info`` for tobacco (use versus
    dependence is the provider's wording to choose) and for manifestation
    codes without their underlying disease.
"""

from __future__ import annotations

from vma.checks import CheckContext, register
from vma.checks.support.combinations.findings import combination_findings
from vma.checks.support.combinations.picture import CHECK_ID
from vma.findings import Finding


@register(
    CHECK_ID,
    actions=("correct", "info"),
    references=(
        "ICD-10-CM Official Guidelines for Coding and Reporting FY2026: I.A.12.a (Excludes1), I.A.13 "
        '(etiology/manifestation, "code first", "use additional code"), I.A.15 ("with" presumes a causal '
        "relationship), I.B.9 (combination codes), I.C.4.a (as many diabetes codes as needed to describe all "
        "complications), I.C.4.a.2 and I.C.4.a.3 (diabetes complications; long-term insulin, oral and "
        "injectable non-insulin drugs; not for temporary insulin), I.C.9.a.1-3 (hypertension with heart "
        "disease, with CKD, with both), I.C.14.a (CKD stage)",
        "CMS ICD-10-CM Tabular List notes",
    ),
)
def check(ctx: CheckContext) -> list[Finding]:
    return combination_findings(ctx)
