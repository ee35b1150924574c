"""sex-age: codes the record does not support for the patient's age or sex are corrected to the
tabular's code of the same meaning (or removed), and stay a query or info where the note or the
tabular leaves it open. Fixture notes are synthetic, written like de-identified office notes."""

from __future__ import annotations

from datetime import date

import pytest

from tests.checking import essences, note_findings
from vma.checks.support.demographics.edits import age_counterpart, load_edits, sex_counterpart

CHECK = "sex-age"
GIST = ("action", "code", "suggested_codes")  # what these tests compare of each finding

ADULT_PHYSICAL = """CHIEF COMPLAINT

Annual physical.

HISTORY OF PRESENT ILLNESS

{who} presents today for {pronoun} yearly physical. {cap} has a history of hyperlipidemia treated with
atorvastatin and reports no new concerns. {cap} walks 3 miles most days and sleeps well.

REVIEW OF SYSTEMS

Constitutional: Denies fever, chills or weight change.
Cardiovascular: Denies chest pain or palpitations.

PHYSICAL EXAMINATION

Neck: Supple, no thyromegaly.
Cardiovascular: Regular rate and rhythm, no murmurs.
Respiratory: Lungs clear to auscultation bilaterally.

ASSESSMENT AND PLAN

1. Annual physical examination. Routine labs including lipid panel ordered. Colon cancer screening discussed.
2. Hyperlipidemia. Continue atorvastatin 20 mg daily.
"""

CHILD_CHECKUP = """CHIEF COMPLAINT

Well visit.

HISTORY OF PRESENT ILLNESS

{who} is here with {pronoun} mother for a routine checkup. Eating a varied diet, sleeping through the night,
doing well in school. Immunizations are up to date.

PHYSICAL EXAMINATION

General: Well appearing, interactive.
HEENT: Tympanic membranes clear bilaterally.
Cardiovascular: Regular rate and rhythm, no murmur.

ASSESSMENT AND PLAN

1. Routine health maintenance visit. Growth and development appropriate for age. Anticipatory guidance given.
Return in one year.
"""


def patient(birth: str, sex: str) -> dict:
    return {"patient": {"birth_date": birth, "sex": sex}}


def adult_note(name: str = "Mr. Victor Almeida is a 47-year-old man who", pronoun: str = "his") -> str:
    cap = "He" if pronoun == "his" else "She"
    return ADULT_PHYSICAL.format(who=name, pronoun=pronoun, cap=cap)


# -- age: the tabular's code of the same meaning for the patient's age band ------------------------------

@pytest.mark.parametrize("coded, expected", [("Z00.129", "Z00.00"), ("Z00.121", "Z00.01")])
def test_child_exam_code_on_an_adult_is_corrected_keeping_the_findings_axis(ref, coded, expected):
    out = note_findings(ref, CHECK, adult_note(), [coded, "E78.5"], **patient("1979-03-02", "M"))
    assert essences(out, *GIST) == [("correct", coded, [expected])]
    f = out[0]
    assert f["severity"] == "error" and f["question"] is None and f["options"] == []
    assert "0-17" in f["message"] and "15-124" in f["message"] and f"report it instead of {coded}" in f["message"]
    assert "abnormal findings" in f["message"]  # the axis that was kept is named
    assert "1979-03-02" in f["evidence"] and "47-year-old man" in f["evidence"]


@pytest.mark.parametrize("coded, expected", [("Z00.00", "Z00.129"), ("Z00.01", "Z00.121")])
def test_adult_exam_code_on_a_school_age_child_is_corrected(ref, coded, expected):
    note = CHILD_CHECKUP.format(who="Maya Castillo, 8 years old,", pronoun="her")
    out = note_findings(ref, CHECK, note, [coded], **patient("2018-05-20", "F"))
    assert essences(out, *GIST) == [("correct", coded, [expected])]


def test_stated_age_that_differs_but_stays_outside_the_band_still_corrects(ref):
    # Birth date gives 61, the note says 58: both are adults, so the adult exam code fits either way.
    note = adult_note("Ms. Helen Brandt is a 58-year-old woman who", "her")
    out = note_findings(ref, CHECK, note, ["Z00.129"], **patient("1965-02-10", "F"))
    assert essences(out, *GIST) == [("correct", "Z00.129", ["Z00.00"])]


def test_counterpart_already_on_the_chart_is_not_suggested_twice(ref):
    out = note_findings(ref, CHECK, adult_note(), ["Z00.00", "Z00.129"], **patient("1979-03-02", "M"))
    assert essences(out, *GIST) == [("correct", "Z00.129", [])]
    assert "already on the chart" in out[0]["message"] and "remove Z00.129" in out[0]["message"]


# -- age traps: silence, or today's query / info --------------------------------------------------------------

def test_child_exam_code_on_a_child_is_silent(ref):
    note = CHILD_CHECKUP.format(who="Owen Pruitt, 6 years old,", pronoun="his")
    assert note_findings(ref, CHECK, note, ["Z00.129"], **patient("2020-01-15", "M")) == []


def test_adult_or_child_exam_code_on_a_sixteen_year_old_is_silent(ref):
    # The MCE bands overlap at 15-17: both the pediatric and the adult exam codes are allowed.
    note = CHILD_CHECKUP.format(who="Jordan Reyes, 16 years old,", pronoun="his")
    for code in ("Z00.00", "Z00.129"):
        assert note_findings(ref, CHECK, note, [code], **patient("2010-03-01", "M")) == [], code


def test_adult_exam_code_on_an_infant_stays_a_query(ref):
    # At age 0 both newborn (Z00.11-) and child (Z00.12-) exams fit the band: the tabular does not decide.
    note = "CHIEF COMPLAINT\n\n6 month well visit.\n\nASSESSMENT AND PLAN\n\n1. Routine visit, growing well."
    out = note_findings(ref, CHECK, note, ["Z00.00"], **patient("2026-05-10", "F"))
    assert essences(out, *GIST) == [("query", "Z00.00", [])]


def test_note_calling_the_visit_a_well_child_check_keeps_the_query(ref):
    note = ("CHIEF COMPLAINT\n\nWell-child check.\n\nASSESSMENT AND PLAN\n\n1. Well child examination, "
            "no concerns today.")
    out = note_findings(ref, CHECK, note, ["Z00.129"], **patient("1988-07-04", "F"))
    assert essences(out, *GIST) == [("query", "Z00.129", [])]


def test_negated_age_word_does_not_hold_the_correction(ref):
    note = adult_note() + "3. No child care concerns; lives alone.\n"
    out = note_findings(ref, CHECK, note, ["Z00.129"], **patient("1979-03-02", "M"))
    assert essences(out, *GIST) == [("correct", "Z00.129", ["Z00.00"])]


def test_codes_without_an_age_counterpart_stay_a_query(ref):
    # Adult BMI values have no pediatric code of the same meaning (the pediatric codes are percentiles),
    # and supervision of pregnancy has no code outside the maternity band.
    bmi = "ASSESSMENT AND PLAN\n\n1. Obesity, BMI 33. Nutrition referral."
    assert essences(note_findings(ref, CHECK, bmi, ["E66.9", "Z68.33"], **patient("2012-04-01", "M")), *GIST) == [
        ("query", "Z68.33", [])]
    prenatal = "ASSESSMENT AND PLAN\n\n1. Normal pregnancy, second trimester."
    assert essences(note_findings(ref, CHECK, prenatal, ["Z34.82"], **patient("1957-01-01", "F")), *GIST) == [
        ("query", "Z34.82", [])]


def test_stated_age_fitting_the_code_stays_registration_info(ref):
    note = CHILD_CHECKUP.format(who="Liam Ortega is a 9-year-old boy who", pronoun="his")
    out = note_findings(ref, CHECK, note, ["Z00.129"], **patient("1979-06-01", "M"))
    assert essences(out, *GIST) == [("info", "Z00.129", [])]
    assert "registration" in out[0]["message"]


def test_age_counterpart_from_the_tabular(ref):
    release = ref.icd_for(date(2026, 11, 16))
    edits = load_edits()
    pediatric = next(e for e in edits.age if e.category == "pediatric")
    adult = next(e for e in edits.age if e.category == "adult")
    bmi_adult = next(e for e in edits.age if e.category == "bmi-adult")
    assert age_counterpart(release, edits, pediatric, "Z00.129", [62]) == ("Z00.00", adult)
    assert age_counterpart(release, edits, pediatric, "Z00.121", [30, 28]) == ("Z00.01", adult)
    assert age_counterpart(release, edits, adult, "Z00.00", [6]) == ("Z00.129", pediatric)
    assert age_counterpart(release, edits, adult, "Z00.00", [0]) is None  # Z00.11- and Z00.12- both fit
    assert age_counterpart(release, edits, bmi_adult, "Z68.33", [12]) is None


# -- sex: a sex-specific code whose condition the note never documents ------------------------------------

def test_male_only_code_on_a_woman_whose_note_never_mentions_it_is_removed(ref):
    note = adult_note("Ms. Dana Whitfield is a 64-year-old woman who", "her")
    out = note_findings(ref, CHECK, note, ["E78.5", "N40.1"], **patient("1962-08-09", "F"))
    assert essences(out, *GIST) == [("correct", "N40.1", [])]
    f = out[0]
    assert "remove it" in f["message"] and "male-only" in f["message"]
    assert "patient.sex F" in f["evidence"] and "64-year-old woman" in f["evidence"]


def test_female_only_code_with_the_condition_documented_without_sex_is_corrected_to_the_male_code(ref):
    note = """CHIEF COMPLAINT

Infertility evaluation.

HISTORY OF PRESENT ILLNESS

Mr. Arjun Mehta is a 34-year-old man seen with his partner. They have been trying to conceive for 18 months
without success. He has no history of testicular injury or mumps.

RESULTS

Semen analysis: low sperm concentration.

ASSESSMENT AND PLAN

1. Infertility. Repeat semen analysis, hormone panel and urology referral.
"""
    out = note_findings(ref, CHECK, note, ["N97.9"], **patient("1992-02-14", "M"))
    assert essences(out, *GIST) == [("correct", "N97.9", ["N46.9"])]
    assert "Male infertility" in out[0]["message"] and "Infertility." in out[0]["evidence"]


def test_sex_counterparts_from_the_tabular(ref):
    release = ref.icd_for(date(2026, 11, 16))
    edits = load_edits()
    assert sex_counterpart(release, edits, "N97.9", "M") == "N46.9"
    assert sex_counterpart(release, edits, "N46.9", "F") == "N97.9"
    assert sex_counterpart(release, edits, "R87.5", "M") == "R86.5"
    assert sex_counterpart(release, edits, "C57.9", "M") == "C63.9"
    assert sex_counterpart(release, edits, "N40.1", "F") is None  # no female code of that description
    assert sex_counterpart(release, edits, "C56.9", "M") is None


# -- sex traps: the note documents the condition, or the patient -----------------------------------------

def test_female_only_code_on_a_man_whose_note_documents_the_condition_stays_info(ref):
    note = """CHIEF COMPLAINT

Hot flashes.

HISTORY OF PRESENT ILLNESS

The patient is a 52-year-old who reports 6 months of hot flashes and night sweats. Last menstrual period
was 14 months ago.

ASSESSMENT AND PLAN

1. Menopausal symptoms. Discussed nonhormonal options; start venlafaxine.
"""
    out = note_findings(ref, CHECK, note, ["N95.1"], **patient("1974-05-05", "M"))
    assert essences(out, *GIST) == [("info", "N95.1", [])]
    assert out[0]["severity"] == "warning" and "documents the condition" in out[0]["message"]


def test_cervical_screening_for_a_transgender_man_stays_info(ref):
    note = """CHIEF COMPLAINT

Routine screening.

HISTORY OF PRESENT ILLNESS

Sam Okoro is a 31-year-old transgender man on testosterone therapy who is due for cervical cancer screening.

ASSESSMENT AND PLAN

1. Screening for cervical cancer. Pap smear with HPV co-testing collected today.
"""
    out = note_findings(ref, CHECK, note, ["Z12.4"], **patient("1995-09-30", "M"))
    assert essences(out, *GIST) == [("info", "Z12.4", [])]


def test_prostate_code_documented_by_abbreviation_stays_info(ref):
    note = "ASSESSMENT AND PLAN\n\n1. BPH with nocturia, stable on tamsulosin."
    out = note_findings(ref, CHECK, note, ["N40.1"], **patient("1950-03-03", "F"))
    assert essences(out, *GIST) == [("info", "N40.1", [])]


def test_note_referring_to_the_patient_as_the_codes_sex_points_at_registration(ref):
    note = """HISTORY OF PRESENT ILLNESS

Patient reports painful cramping with each cycle for the past year. She takes naproxen with partial relief.
She has missed two days of work this month.

ASSESSMENT AND PLAN

1. Pelvic pain with menses. Start combined oral contraceptive.
"""
    out = note_findings(ref, CHECK, note, ["N94.6"], **patient("1999-01-01", "M"))
    assert essences(out, *GIST) == [("info", "N94.6", [])]
    assert "registration" in out[0]["message"] and "She" in out[0]["evidence"]


def test_female_code_named_with_the_female_word_stays_info(ref):
    note = "ASSESSMENT AND PLAN\n\n1. Female infertility, evaluation of his partner discussed."
    out = note_findings(ref, CHECK, note, ["N97.9"], **patient("1990-01-01", "M"))
    assert essences(out, *GIST) == [("info", "N97.9", [])]


def test_sexes_other_than_male_or_female_give_nothing(ref):
    note = adult_note()
    for sex in ("U", "X", "O"):
        assert note_findings(ref, CHECK, note, ["N40.1", "N97.9"], **patient("1970-01-01", sex)) == [], sex
