"""The "sex-age" check on fixture charts: MCE age bands and sex lists kept as tabular
ranges, the age on the date of service, and silence on charts that fit."""

from __future__ import annotations

from datetime import date

import pytest

from tests.checking import assessment, essences, note_findings
from vma.chart import age_on
from vma.checks.support.demographics.edits import chart_sex, load_edits, parse_edits

CHECK = "sex-age"
GIST = ("check", "action", "code")  # what these tests compare of each finding
PREGNANCY = "HPI\n\n{who}, 20 weeks pregnant, here for a routine prenatal visit.\n\nASSESSMENT AND PLAN\n\nNormal pregnancy, second trimester."


def patient(birth: str, sex: str = "F") -> dict:
    return {"patient": {"birth_date": birth, "sex": sex}}


# -- the data file ---------------------------------------------------------------------

def test_data_file_states_source_and_release():
    edits = load_edits()
    assert "Medicare Code Editor" in edits.source
    assert "FY2026" in edits.release or "v43" in edits.release
    cats = {e.category: (e.min_age, e.max_age) for e in edits.age}
    assert cats["newborn"] == (0, 0) and cats["pediatric"] == (0, 17)
    assert cats["maternity"] == (9, 64) and cats["adult"] == (15, 124)


def test_every_range_end_in_the_data_file_is_a_tabular_code(ref):
    release = ref.icd_for(date(2026, 11, 16))
    edits = load_edits()
    for edit in (*edits.age, *edits.sex):
        for r in edit.refs:
            assert r.first in release and r.last in release, (edit.label, r)


def test_malformed_data_is_an_error_naming_the_entry():
    with pytest.raises(ValueError, match=r"age\[0\]"):
        parse_edits({"source": "s", "release": "r", "sex": [],
                     "age": [{"category": "x", "label": "x", "min_age": 0, "max_age": 1, "codes": ["not a code"]}]})
    with pytest.raises(ValueError, match="release"):
        parse_edits({"source": "s", "age": [], "sex": []})
    with pytest.raises(ValueError, match=r"sex\[0\]"):
        parse_edits({"source": "s", "release": "r", "age": [], "sex": [{"sex": "X", "label": "x", "codes": []}]})


def test_age_is_whole_years_on_the_date_of_service():
    assert age_on(date(2008, 11, 17), date(2026, 11, 16)) == 17
    assert age_on(date(2008, 11, 16), date(2026, 11, 16)) == 18
    assert age_on(date(2026, 11, 1), date(2026, 11, 16)) == 0
    assert age_on(date(2000, 2, 29), date(2026, 2, 28)) == 25


def test_chart_sex_values():
    assert chart_sex("F") == "F" and chart_sex(" male ") == "M" and chart_sex("m") == "M"
    assert chart_sex("U") is None and chart_sex("X") is None and chart_sex(None) is None


# -- age conflicts ------------------------------------------------------------------------

def test_child_health_exam_for_an_adult_is_corrected_to_the_adult_exam(ref):
    # The tabular has the same examination for adults (Z00.0-), and nothing in the note makes it a
    # child's: the record decides the fix, so it is a correction, not a question to the provider.
    note = "HPI\n\nMr. Lee is a 52-year-old man here for a physical.\n\nASSESSMENT AND PLAN\n\nWell visit."
    out = note_findings(ref, CHECK, note, ["Z00.129"], **patient("1974-02-01", "M"))
    assert essences(out, *GIST) == [("sex-age", "correct", "Z00.129")]
    f = out[0]
    assert f["suggested_codes"] == ["Z00.00"] and f["options"] == []
    assert "52" in f["message"] and "0-17" in f["message"] and "Z00.00" in f["message"]
    assert "1974-02-01" in f["evidence"] and "52-year-old" in f["evidence"]


def test_child_health_exam_for_an_adult_whose_note_calls_it_a_child_visit_is_a_query(ref):
    note = "HPI\n\nHere for a well child check.\n\nASSESSMENT AND PLAN\n\nWell child visit."
    out = note_findings(ref, CHECK, note, ["Z00.129"], **patient("1974-02-01", "M"))
    assert essences(out, *GIST) == [("sex-age", "query", "Z00.129")]
    f = out[0]
    assert f["options"] == ["Encounter for routine child health examination without abnormal findings (Z00.129)",
                            "Other", "Clinically undetermined"]
    assert "52" in f["message"] and "0-17" in f["message"]


def test_pediatric_band_includes_age_17_and_excludes_18(ref):
    note = assessment("Routine child health examination, no abnormal findings.")
    assert note_findings(ref, CHECK, note, ["Z00.129"], **patient("2008-11-17")) == []  # 17 on 2026-11-16
    assert essences(note_findings(ref, CHECK, note, ["Z00.129"], **patient("2008-11-16")), *GIST) == [
        ("sex-age", "query", "Z00.129")]


def test_pregnancy_outside_the_maternity_band_is_a_query(ref):
    out = note_findings(ref, CHECK, PREGNANCY.format(who="Patient"), ["Z34.82", "Z3A.20"], **patient("1956-01-01"))
    assert essences(out, *GIST) == [("sex-age", "query", "Z34.82"), ("sex-age", "query", "Z3A.20")]
    assert "9-64" in out[0]["message"]


def test_pregnancy_inside_the_maternity_band_is_clear(ref):
    assert note_findings(ref, CHECK, PREGNANCY.format(who="She is a 28-year-old woman"), ["Z34.82", "Z3A.20", "O99.282"],
                         **patient("1998-05-05")) == []


def test_note_age_disagreeing_with_the_birth_date_points_at_registration(ref):
    # Birth date gives 70; the note says 34: the code fits the note, the birth date is suspect.
    out = note_findings(ref, CHECK, PREGNANCY.format(who="She is a 34-year-old woman"), ["Z34.82"],
                        **patient("1956-01-01"))
    assert essences(out, *GIST) == [("sex-age", "info", "Z34.82")]
    assert out[0]["severity"] == "error"
    assert "registration" in out[0]["message"] and "34-year-old" in out[0]["evidence"]


def test_liveborn_code_on_an_older_patient_is_a_query(ref):
    out = note_findings(ref, CHECK, assessment("Single liveborn infant."), ["Z38.00"], **patient("2024-01-10"))
    assert essences(out, *GIST) == [("sex-age", "query", "Z38.00")]
    assert "age 0" in out[0]["message"]

def test_liveborn_code_at_age_zero_is_clear(ref):
    assert note_findings(ref, CHECK, assessment("Single liveborn infant, delivered vaginally."), ["Z38.00"],
                         **patient("2026-11-14")) == []


def test_perinatal_code_later_in_life_is_only_info(ref):
    out = note_findings(ref, CHECK, assessment("Bronchopulmonary dysplasia originating in the perinatal period, stable."),
                        ["P27.1"], **patient("2019-03-01"))
    assert essences(out, *GIST) == [("sex-age", "info", "P27.1")]
    assert out[0]["severity"] == "warning" and "I.C.16.a.4" in out[0]["message"]


def test_newborn_code_for_an_adult_condition_is_corrected_to_the_condition_at_any_age(ref):
    # Jaundice that began last week in a 58-year-old is not neonatal jaundice: R17, whose
    # Excludes1 note sends only the newborn form (P55, P57-P59) to Chapter 16.
    note = assessment("Painless jaundice for one week, cause not yet determined. CT abdomen ordered.")
    out = note_findings(ref, CHECK, note, ["P59.9"], **patient("1968-06-06"))
    assert [(f["check"], f["action"], f["code"], f["suggested_codes"]) for f in out] == \
        [("sex-age", "correct", "P59.9", ["R17"])]
    assert "I.C.16.a.4" in out[0]["message"] and "jaundice" in out[0]["evidence"].lower()


@pytest.mark.parametrize("statement,cause", [
    ("Jaundice from Gilbert syndrome, benign; reassurance.", "Gilbert syndrome"),
    ("Obstructive jaundice due to choledocholithiasis. Surgical referral for ERCP.", "choledocholithiasis"),
])
def test_newborn_code_for_a_sign_of_a_named_cause_is_removed_not_turned_into_r17(ref, statement, cause):
    # The jaundice is integral to the cause the note names (I.B.4, I.B.5): R17 would replace one
    # wrong code with another; the cause is what is coded.
    out = note_findings(ref, CHECK, assessment(statement), ["P59.9"], **patient("1968-06-06"))
    assert [(f["check"], f["action"], f["code"], f["suggested_codes"]) for f in out] == \
        [("sex-age", "correct", "P59.9", [])]
    assert cause in out[0]["message"] and "I.B.5" in out[0]["message"]


def test_newborn_code_stays_info_when_the_note_ties_the_condition_to_birth(ref):
    note = assessment("Jaundice since birth from a congenital bilirubin transport defect, followed by hepatology.")
    out = note_findings(ref, CHECK, note, ["P59.9"], **patient("2019-03-01"))
    assert essences(out, *GIST) == [("sex-age", "info", "P59.9")]


def test_male_only_code_on_a_woman_whose_urinary_symptoms_say_nothing_of_a_prostate_is_corrected(ref):
    # "Lower urinary tract symptoms" is half of N40.1's words by weight, but not what makes it male:
    # without "prostate"/"prostatic" the note documents nothing of the coded condition.
    note = assessment("Overactive bladder with lower urinary tract symptoms: urgency and frequency. Bladder "
                      "training and oxybutynin.")
    out = note_findings(ref, CHECK, note, ["N40.1"], **patient("1953-02-01", "F"))
    assert [(f["check"], f["action"], f["code"], f["suggested_codes"]) for f in out] == \
        [("sex-age", "correct", "N40.1", [])]


def test_adult_bmi_code_for_a_teenager_is_a_query(ref):
    out = note_findings(ref, CHECK, assessment("Obesity, BMI 32."), ["E66.9", "Z68.32"], **patient("2010-06-01"))
    assert essences(out, *GIST) == [("sex-age", "query", "Z68.32")]
    assert "20-124" in out[0]["message"]


def test_pediatric_bmi_code_for_an_adult_is_a_query(ref):
    out = note_findings(ref, CHECK, assessment("Obesity, BMI 32."), ["E66.9", "Z68.54"], **patient("1980-06-01"))
    assert essences(out, *GIST) == [("sex-age", "query", "Z68.54")]


def test_adult_exam_for_a_child_is_corrected_to_the_child_exam(ref):
    out = note_findings(ref, CHECK, assessment("Annual examination."), ["Z00.00"], **patient("2020-06-01"))
    assert essences(out, *GIST) == [("sex-age", "correct", "Z00.00")]
    assert out[0]["suggested_codes"] == ["Z00.129"]


# -- sex conflicts ----------------------------------------------------------------------------

def test_prostate_code_for_a_female_is_info_never_a_query(ref):
    out = note_findings(ref, CHECK, assessment("Benign prostatic hyperplasia without urinary symptoms."), ["N40.0"],
                        **patient("1950-01-01", "F"))
    assert essences(out, *GIST) == [("sex-age", "info", "N40.0")]
    assert out[0]["severity"] == "warning" and "2024-10-01" in out[0]["message"]


def test_pregnancy_code_for_a_male_with_the_note_saying_woman_names_registration(ref):
    out = note_findings(ref, CHECK, PREGNANCY.format(who="She is a 28-year-old woman"), ["Z34.82"],
                        **patient("1998-05-05", "M"))
    assert essences(out, *GIST) == [("sex-age", "info", "Z34.82")]
    assert "registration" in out[0]["message"] and "woman" in out[0]["evidence"]


def test_range_and_subcategory_range_entries(ref):
    # "C51-C58" holds C53.9; "D07.0-D07.3" holds D07.39; "D07.4-D07.6" holds D07.5 and D07.69.
    # The note documents none of them, so each is a correction that removes the code.
    for code, sex in (("C53.9", "M"), ("D07.39", "M"), ("D07.5", "F"), ("D07.69", "F"), ("Q53.10", "F")):
        out = note_findings(ref, CHECK, assessment("Follow-up."), [code], **patient("1970-01-01", sex))
        assert essences(out, *GIST) == [("sex-age", "correct", code)], code
        assert out[0]["suggested_codes"] == [], code


def test_codes_of_both_sexes_are_clear(ref):
    # Breast, urinary and genital-neutral codes; Q56 (indeterminate sex) is in neither list.
    for sex in ("F", "M"):
        assert note_findings(ref, CHECK, assessment("Follow-up."), ["N63.10", "N39.0", "Q56.4", "C67.9", "I10"],
                             **patient("1970-01-01", sex)) == []


def test_unknown_sex_and_missing_birth_date_give_nothing(ref):
    out = note_findings(ref, CHECK, assessment("Follow-up."), ["N40.0"], **patient("1950-01-01", "U"))
    assert essences(out, *GIST) == []
    assert note_findings(ref, CHECK, assessment("Follow-up."), ["Z00.129"], patient={"birth_date": None, "sex": "U"}) == []
    assert note_findings(ref, CHECK, assessment("Follow-up."), ["Z00.129"], patient={"birth_date": "not a date"}) == []


def test_birth_date_after_the_date_of_service_gives_no_age_finding(ref):
    assert note_findings(ref, CHECK, assessment("Follow-up."), ["Z00.00"], **patient("2030-01-01")) == []
