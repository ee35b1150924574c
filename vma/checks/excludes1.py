"""Excludes1: two codes on the chart that the tabular says are never reported together.

What it finds
    A pair of proposed ICD-10-CM codes where an Excludes1 note on one code, or
    on any of its ancestors (subcategory, category, block, chapter), names the
    other code: a plain code ("P29.2"), a category with its subdivisions
    ("E10.-") or a range ("O10-O11"). The notes come from the tabular of the
    release in force on the date of service, never from a hand list. A pair is
    reported once, even when each code's notes name the other. Excludes2 notes
    ("not included here", both may be coded) are never read.

Why it matters
    An Excludes1 note means "NOT CODED HERE": the two conditions cannot occur
    together (type 1 with type 2 diabetes, a congenital with an acquired form,
    a symptom with the diagnosis that explains it) and reporting both is a
    coding error that payer edits reject, unless the two conditions are
    unrelated to each other (Guideline I.A.12.a exception).

Example
    J45.909 (Unspecified asthma, uncomplicated) with R06.2 (Wheezing); the
    assessment says "Newly diagnosed allergic asthma" and the exam notes
    wheezing. J45 excludes "wheezing NOS (R06.2)": the wheeze is a sign of the
    asthma the note diagnoses. Correct: remove R06.2, keep J45.909.
    E10.9 with E11.9 where the assessment names "Type 1 diabetes mellitus" and
    "Type 2 diabetes mellitus" as two problems: only the provider can say which,
    so the pair is a query (E10.9 / E11.9 / both, unrelated / Other /
    Clinically undetermined).

Resolution (correct, query or info)
    Decided in this order, as a coder reads the record:

    1. ``info`` when the note states the two conditions are unrelated: the
       Excludes1 exception applies (I.A.12.a) and there is nothing to fix.
    2. ``correct`` when one code is a sign, symptom or abnormal finding
       (chapter 18, R00-R99) and the note documents the other, definitive
       diagnosis, and either the Excludes1 note names that condition in the
       note's own words (R10.1- "abdominal pain" excluded at a code whose
       title the note states) or the note links the two ("pain due to",
       "from", "secondary to"): the symptom is integral to it, remove the R
       code (I.B.4, I.B.5, IV.D). A chapter-wide note that merely lists the
       symptom under a distant diagnosis does not make it integral. When the
       note states the diagnosis only as negated or (outpatient) uncertain
       and documents the symptom, the symptom is kept and the diagnosis
       removed (IV.D, IV.H).
    3. ``correct`` when one code is a combination code whose tabular wording
       ("A with B", "A due to B", including its inclusion terms) already holds
       every word of the other code's description ("Intervertebral disc
       disorders with radiculopathy, lumbar region" holds "Radiculopathy,
       lumbar region"): remove the narrower code (I.B.9). The narrower code is
       kept instead only when the note negates the combination's condition.
    4. ``correct`` for the diabetes types (E08-E13): the type the note states
       wins, and diabetes with no type stated anywhere in the record is type 2
       (I.C.4.a, I.C.4.a.2); the other type is removed. A type that is neither
       ("type 1.5", "LADA", "type 1 and/or 2") is a query with the E10, E11
       and E13 codes as options, never "both": the two types cannot coexist.
       Coronary disease without angina (I25.10) with an angina code is
       corrected to the combination I25.11- of the angina type the note
       documents: the guidelines presume the link (I.C.9.b) unless the note
       names another cause of the angina.
    5. ``correct`` when the note documents exactly one of the two conditions
       and negates, states as uncertain (outpatient) or contradicts the other,
       or never mentions the other when that other is a symptom code: keep the
       documented one.
    6. ``query`` otherwise: both conditions are documented as separate active
       conditions, or neither is, or only one is and the other is a definitive
       diagnosis the reader could not find (a reading miss is not grounds to
       drop a diagnosis). Guideline I.A.12.a says to query when it is not clear
       whether the two conditions are related.

    A correction names the code to remove as ``code`` and the code kept in
    ``suggested_codes``; a query's options carry the codes of each answer. Both
    apply to the two positions of the pair (``target`` is
    ``diagnosis:<i>,<j>``): the chosen codes replace the pair.
"""

from __future__ import annotations

from vma.checks import CheckContext, register
from vma.checks.support.exclusions.decide import excludes1_findings
from vma.checks.support.exclusions.pairs import CHECK_ID
from vma.findings import Finding


@register(
    CHECK_ID,
    actions=("correct", "query", "info"),
    references=(
        'ICD-10-CM Official Guidelines for Coding and Reporting FY2026: I.A.12.a (Excludes1: "the two '
        'conditions cannot occur together"; exception when the conditions are unrelated; "If it is not clear '
        'whether the two conditions involving an Excludes1 note are related or not, query the provider"), '
        'I.A.12 (notes apply to the code and its subdivisions), I.A.15 ("with" links two conditions), I.B.4 and '
        "I.B.5 (signs and symptoms are not coded when a related definitive diagnosis is established; symptoms "
        "routinely associated with a disease process are not assigned as additional codes), I.B.9 (combination "
        "codes: do not add a code for what the combination code already says), I.C.9.b (coronary disease with "
        "angina: combination codes, the causal link presumed), I.C.4.a (diabetes coded by type), I.C.4.a.2 "
        "(type not documented: default E11), IV.D (codes for signs and symptoms when a definitive diagnosis is "
        "not established), IV.H (uncertain diagnoses, outpatient)",
        "CMS ICD-10-CM Tabular List (Excludes1 notes, inclusion terms)",
        "AHIMA/ACDIS Guidelines for Achieving a Compliant Query Practice (2022 update)",
    ),
)
def check(ctx: CheckContext) -> list[Finding]:
    return excludes1_findings(ctx)
