"""Sex and age: a diagnosis code that conflicts with the patient's sex or age.

What it finds
    A proposed ICD-10-CM code that the CMS Medicare Code Editor (MCE) limits
    to one sex (female-only: pregnancy chapter O00-O9A, female genital organs
    N70-N98, C51-C58 ...; male-only: N40-N53, C60-C63 ...) or to an age band
    (newborn age 0: Z38.-, Z05.-, Z00.11-; pediatric 0-17: Z00.12-; maternity
    9-64: O00-O9A, Z34.- ...; adult 15-124: Z00.0- ...), plus the tabular's
    own BMI age bands at Z68. The age is the patient's age in whole years on
    the date of service, from ``patient.birth_date``. The bands and lists are
    kept as tabular ranges in ``vma/reference/data/sex_age_edits.json`` with
    their source and release; nothing is hand-listed code by code.

Why it matters
    The MCE age edit treats such a code as "clinically and virtually
    impossible" for the age and returns the claim: either the code or the
    birth date is wrong, and either error follows the patient. A sex-specific
    code whose condition the note never documents is a code the record does
    not support, whatever the claim edits say.

Example
    Z00.129 (Encounter for routine child health examination without abnormal
    findings) for a patient aged 62 whose note records an annual exam:
    correct to Z00.00 (Encounter for general adult medical examination
    without abnormal findings). N97.9 (Female infertility, unspecified) on a
    male patient whose note documents an infertility work-up: correct to
    N46.9 (Male infertility, unspecified). O26.891 on a patient recorded as
    male whose note documents the pregnancy: info for the coder.

Resolution (correct, query or info)
    Age conflict: ``correct`` (error) when the tabular has a code of the same
    meaning for the patient's age band and the note does not document the
    age-specific condition (it never calls the visit a child's, an adult's
    ...). The counterpart is found in the tabular, not a hand list: another
    age-edited group of the same category whose band holds the patient's age
    (the only one), tied to the coded group by its description (the same
    words but the age words) or by an Excludes1 note naming the coded group
    by its age words ("general health check-up of infant or child
    (Z00.12.-)" at Z00.0); below it, the code that adds the same words to its
    group as the coded code does ("without abnormal findings": Z00.129 ->
    Z00.00), so the other axis is kept. Otherwise ``query`` (error) asking
    the provider to confirm the diagnosis, with the coded condition, "Other"
    and "Clinically undetermined" (a yes/no-style confirmation of a
    documented diagnosis is a compliant query). When the note states an age
    ("52-year-old") that differs from the birth date's and fits the code,
    the birth date is the likelier error: ``info`` (error) for the coder to
    have registration fix it, not a question to the provider.
    Chapter 16 perinatal codes after age 0: ``info`` (warning) when the note
    ties the condition to the perinatal period (Guideline I.C.16.a.4 keeps its
    code for life); when it does not, and the tabular sends only the newborn
    form to Chapter 16 from a code of the same condition (R17 "Excludes1:
    neonatal jaundice (P55, P57-P59)"), ``correct`` to that code; when the
    note names the condition's cause ("jaundice from Gilbert syndrome"),
    ``correct`` with no suggestion: the sign is integral to the cause, which
    is coded instead (I.B.4, I.B.5), and the newborn code is removed.
    Sex conflict: never a query (the patient's sex is settled by
    registration, not by asking the physician). ``info`` (warning) when the
    note documents the coded condition (its words, not negated, in any
    section, or the words of its organ), when the note describes the patient
    as of the code's sex (registration is then the likelier error), or when
    it records a transgender or intersex patient: CMS deactivated the MCE
    diagnosis sex-conflict edit from 2024-10-01 and such a code can be
    right. ``correct`` (error) when the note documents nothing of the coded
    condition: to the tabular's code of the same description with the other
    sex's word (N97.9 Female infertility -> N46.9 Male infertility) when the
    note documents that condition without the code's sex, else with no
    suggestion (the code is removed).
    Sexes other than M/F, and a missing or unreadable birth date or date of
    service, give no finding here (missing-element and invalid-date report
    those).
"""

from __future__ import annotations

from vma.checks import CheckContext, register
from vma.checks.support.demographics.decide import sex_age_findings
from vma.checks.support.demographics.edits import CHECK_ID
from vma.findings import Finding


@register(
    CHECK_ID,
    actions=("correct", "query", "info"),
    references=(
        'CMS Medicare Code Editor, Definitions of Medicare Code Edits (ICD-10 MCE, v41-v43): edit 4 "Age '
        'conflict" (newborn 0, pediatric 0-17, maternity 9-64, adult 15-124) and edit 5 "Sex conflict" '
        "(deactivated for diagnoses from 2024-10-01)",
        "ICD-10-CM Tabular List: Z00.0 and Z00.12 (adult and child health examinations, Excludes1 at Z00.0), "
        "the note at Z68 (BMI adult codes 20 years and older; pediatric 2-19)",
        "ICD-10-CM Official Guidelines FY2026 I.A.12.a (Excludes1: the two conditions are mutually exclusive), "
        "the introduction (code assignment rests on the provider's documentation) and IV.J (code the conditions "
        "documented for the encounter), I.C.15.a (Chapter 15 codes on maternal records only), I.C.16.a.1 and "
        "I.C.16.a.4 (Chapter 16 codes on newborn records; used throughout life when the condition persists), "
        "I.C.21.c.13 (routine examinations with and without abnormal findings)",
        "AHIMA/ACDIS Guidelines for Achieving a Compliant Query Practice (2022 update)",
    ),
)
def check(ctx: CheckContext) -> list[Finding]:
    return sex_age_findings(ctx)
