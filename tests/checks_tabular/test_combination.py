"""The "combination" check on fixture charts: hypertension and diabetes combination
codes, "use additional code" notes fired only when the note documents the code to
add, manifestation codes, and silence on clean charts."""

from __future__ import annotations


import pytest

from tests.checks_tabular.helpers import assessment, findings
from vma.checks.combination import hypertension_target, picture

CHECK = "combination"


def essence(out: list[dict]) -> list[tuple]:
    return [(f["check"], f["action"], f["code"], f["suggested_codes"]) for f in out]


# -- hypertension (Guideline I.C.9.a) --------------------------------------------------------

@pytest.mark.parametrize("codes, target", [
    (["I10"], "I10"),
    (["I10", "I50.22"], "I11.0"),
    (["I10", "I51.7"], "I11.9"),
    (["I10", "N18.4"], "I12.9"),
    (["I10", "N18.6"], "I12.0"),
    (["I10", "N18.30", "I50.9"], "I13.0"),
    (["I10", "N18.5", "I50.32"], "I13.2"),
    (["I10", "N18.2", "I51.9"], "I13.10"),
    (["I10", "N18.6", "I51.89"], "I13.11"),
    (["I11.9", "I50.9"], "I11.0"),
    (["I12.9", "N18.3", "I50.9"], "I13.0"),
])
def test_hypertension_target_follows_the_guideline_table(codes, target):
    assert hypertension_target(picture(codes)) == target


def test_hypertension_with_heart_failure_is_corrected_to_i11_0(ref):
    out = findings(ref, CHECK, assessment("Hypertension, controlled.", "Chronic systolic heart failure, on carvedilol."),
                   ["I10", "I50.22"])
    assert essence(out) == [("combination", "correct", "I10", ["I11.0"])]
    assert "I50.22" in out[0]["message"] and "I.C.9.a" in out[0]["message"]


def test_hypertension_with_ckd_is_corrected_to_i12(ref):
    out = findings(ref, CHECK, assessment("Hypertension.", "Chronic kidney disease stage 4."), ["I10", "N18.4"])
    assert essence(out) == [("combination", "correct", "I10", ["I12.9"])]
    out = findings(ref, CHECK, assessment("Hypertension.", "ESRD on hemodialysis."), ["I10", "N18.6"])
    assert essence(out) == [("combination", "correct", "I10", ["I12.0"])]


def test_hypertension_with_heart_failure_and_ckd_is_corrected_to_i13(ref):
    out = findings(ref, CHECK, assessment("Hypertension.", "CKD stage 3b.", "Chronic diastolic heart failure."),
                   ["I10", "N18.32", "I50.32"])
    assert essence(out) == [("combination", "correct", "I10", ["I13.0"])]


def test_outdated_combination_code_is_upgraded(ref):
    out = findings(ref, CHECK, assessment("Hypertensive heart disease.", "Chronic kidney disease stage 2."),
                   ["I11.9", "N18.2"])
    assert essence(out) == [("combination", "correct", "I11.9", ["I13.10"])]


def test_cardiomegaly_is_not_kept_as_an_additional_code(ref):
    out = findings(ref, CHECK, assessment("Hypertension.", "Cardiomegaly on chest x-ray."), ["I10", "I51.7"])
    assert essence(out) == [("combination", "correct", "I10", ["I11.9"])]
    assert "not reported separately" in out[0]["message"]


def test_heart_failure_documented_as_unrelated_stays_separate(ref):
    note = assessment("Essential hypertension, controlled.",
                      "Chronic systolic heart failure due to viral cardiomyopathy, not related to her hypertension.")
    assert findings(ref, CHECK, note, ["I10", "I50.22"]) == []


def test_ckd_unrelated_to_hypertension_keeps_heart_combination_only(ref):
    note = assessment("Hypertension.", "Chronic heart failure.",
                      "CKD stage 3a from polycystic kidneys, not due to hypertension.")
    out = findings(ref, CHECK, note, ["I10", "I50.9", "N18.31"])
    assert essence(out) == [("combination", "correct", "I10", ["I11.0"])]


def test_correct_combination_codes_stay_clear(ref):
    note = assessment("Hypertensive heart and chronic kidney disease with chronic systolic heart failure.",
                      "CKD stage 4.")
    assert findings(ref, CHECK, note, ["I13.0", "I50.22", "N18.4"]) == []
    assert findings(ref, CHECK, assessment("Hypertension with heart failure.", "Heart failure, type not known."),
                    ["I11.0", "I50.9"]) == []


# -- diabetes with CKD (Guideline I.A.15 "with") ----------------------------------------------

def test_diabetes_without_complications_next_to_ckd_is_corrected(ref):
    out = findings(ref, CHECK, assessment("Type 2 diabetes mellitus.", "CKD stage 3a."), ["E11.9", "N18.31"])
    assert essence(out) == [("combination", "correct", "E11.9", ["E11.22"])]


def test_ckd_from_another_cause_keeps_diabetes_without_complications(ref):
    note = assessment("Type 2 diabetes mellitus, diet controlled.",
                      "CKD stage 3a due to lithium nephropathy, not due to diabetes.")
    assert findings(ref, CHECK, note, ["E11.9", "N18.31"]) == []


# -- use additional code ------------------------------------------------------------------------

def test_long_term_insulin_documented_adds_z79_4(ref):
    out = findings(ref, CHECK, assessment("Type 2 diabetes mellitus. Lantus 20 units nightly, continue."), ["E11.9"])
    assert essence(out) == [("combination", "correct", "E11.9", ["E11.9", "Z79.4"])]
    assert "Lantus" in out[0]["evidence"]


def test_insulin_and_oral_drug_add_both_codes(ref):
    out = findings(ref, CHECK, assessment("Type 2 diabetes mellitus on insulin glargine and metformin 1000 mg BID."),
                   ["E11.65"])
    assert essence(out) == [("combination", "correct", "E11.65", ["E11.65", "Z79.4", "Z79.84"])]


def test_injectable_non_insulin_adds_z79_85(ref):
    out = findings(ref, CHECK, assessment("Type 2 diabetes mellitus, continue Trulicity 1.5 mg weekly."), ["E11.9"])
    assert essence(out) == [("combination", "correct", "E11.9", ["E11.9", "Z79.85"])]


def test_sliding_scale_insulin_is_temporary_and_adds_nothing(ref):
    note = assessment("Type 2 diabetes mellitus. Metformin held while inpatient; sliding-scale insulin.")
    assert findings(ref, CHECK, note, ["E11.9"], encounter={"setting": "inpatient"}) == []


def test_insulin_already_coded_or_denied_adds_nothing(ref):
    assert findings(ref, CHECK, assessment("Type 2 diabetes mellitus on insulin glargine."), ["E11.9", "Z79.4"]) == []
    assert findings(ref, CHECK, assessment("Type 2 diabetes mellitus, diet controlled, not on insulin."),
                    ["E11.9"]) == []


def test_type_1_diabetes_has_no_insulin_note(ref):
    assert findings(ref, CHECK, assessment("Type 1 diabetes mellitus on insulin pump."), ["E10.9"]) == []


def test_ckd_stage_added_to_diabetic_ckd(ref):
    out = findings(ref, CHECK, assessment("Type 2 diabetes mellitus with CKD stage IIIb."), ["E11.22"])
    assert essence(out) == [("combination", "correct", "E11.22", ["E11.22", "N18.32"])]


def test_ckd_without_stage_adds_n18_9_and_conflicting_stages_add_nothing(ref):
    out = findings(ref, CHECK, assessment("Hypertensive CKD, stage not yet determined by nephrology."), ["I12.9"])
    assert essence(out) == [("combination", "correct", "I12.9", ["I12.9", "N18.9"])]
    note = assessment("Type 2 diabetes with CKD stage 3a.", "Prior note said CKD stage 4.")
    assert findings(ref, CHECK, note, ["E11.22"]) == []


def test_stage_outside_the_note_range_is_not_suggested(ref):
    # I12.9 asks for N18.1-N18.4 or N18.9; ESRD belongs with I12.0, not as an additional code here.
    assert findings(ref, CHECK, assessment("Hypertensive kidney disease with ESRD on dialysis."), ["I12.9"]) == []


def test_heart_failure_type_added_to_i11_0(ref):
    out = findings(ref, CHECK, assessment("Hypertensive heart disease with acute on chronic diastolic heart failure."),
                   ["I11.0"])
    assert essence(out) == [("combination", "correct", "I11.0", ["I11.0", "I50.33"])]
    out = findings(ref, CHECK, assessment("Hypertensive heart disease with CHF, type not documented."), ["I11.0"])
    assert essence(out) == [("combination", "correct", "I11.0", ["I11.0", "I50.9"])]


def test_unsettled_heart_failure_wording_is_left_to_the_coder(ref):
    note = assessment("Hypertensive heart disease with heart failure with mildly reduced ejection fraction.")
    assert findings(ref, CHECK, note, ["I11.0"]) == []


def test_additional_code_brought_by_a_combination_is_not_asked_twice(ref):
    out = findings(ref, CHECK, assessment("Hypertension.", "Chronic systolic heart failure."), ["I10", "I50.22"])
    assert len(out) == 1


def test_current_smoking_under_a_tobacco_note_is_info(ref):
    note = ("SOCIAL HISTORY\n\nCurrent smoker, 1 ppd for 20 years.\n\nASSESSMENT AND PLAN\n\n"
            "1. Essential hypertension, controlled.")
    out = findings(ref, CHECK, note, ["I10"])
    assert [(f["action"], f["code"]) for f in out] == [("info", "I10")]
    assert "Z72.0" in out[0]["message"]


def test_tobacco_coded_or_not_smoking_gives_nothing(ref):
    note = "SOCIAL HISTORY\n\nCurrent smoker, 1 ppd.\n\nASSESSMENT AND PLAN\n\n1. Essential hypertension."
    assert findings(ref, CHECK, note, ["I10", "F17.210"]) == []
    for social in ("Former smoker, quit 2010.", "Never smoker.", "Non-smoker.", "Denies tobacco use."):
        note = f"SOCIAL HISTORY\n\n{social}\n\nASSESSMENT AND PLAN\n\n1. Essential hypertension."
        assert findings(ref, CHECK, note, ["I10"]) == [], social


# -- manifestation codes --------------------------------------------------------------------------

def test_manifestation_without_its_underlying_disease_is_info(ref):
    out = findings(ref, CHECK, assessment("Polyneuropathy."), ["G63"])
    assert [(f["action"], f["code"]) for f in out] == [("info", "G63")]


def test_manifestation_after_its_underlying_disease_is_clear(ref):
    assert findings(ref, CHECK, assessment("Amyloidosis with polyneuropathy."), ["E85.4", "G63"]) == []
    out = findings(ref, CHECK, assessment("Amyloidosis with polyneuropathy."), ["G63", "E85.4"])
    assert [(f["action"], f["code"]) for f in out] == [("info", "G63")]
    assert "sequenced after" in out[0]["message"]


# -- clean charts -----------------------------------------------------------------------------------

@pytest.mark.parametrize("codes", [["I10"], ["E11.9", "Z79.84"], ["J18.9"], ["M19.029", "M10.9"], ["K21.9"]])
def test_clean_charts_stay_clear(ref, codes):
    assert findings(ref, CHECK, assessment("Chronic conditions reviewed, stable."), codes) == []



def test_combination_evidence_quotes_the_assessment(ref):
    out = findings(ref, CHECK, assessment("Hypertension, controlled.", "Chronic systolic heart failure, on carvedilol."),
                   ["I10", "I50.22"])
    assert "diagnoses: I10, I50.22" in out[0]["evidence"]
    assert "Hypertension, controlled" in out[0]["evidence"] and "systolic heart failure" in out[0]["evidence"]
