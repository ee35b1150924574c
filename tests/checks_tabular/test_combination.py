"""The "combination" check on fixture charts: hypertension and diabetes combination
codes, "use additional code" notes fired only when the note documents the code to
add, manifestation codes, and silence on clean charts.

``tests/fixtures/combination/`` holds whole visit notes written in the style of public
de-identified notes (synthetic people), each with its proposed codes and the exact
combination findings it must get (an empty list: it must stay silent); the fixture runner
``tests/test_check_fixtures.py`` runs them."""

from __future__ import annotations

import pytest

from tests.checking import assessment, essences, fixture_files, note_findings
from tests.conftest import base_chart
from vma.chart import Chart
from vma.checks import run_checks
from vma.checks.support.combinations.diabetes import diabetes_link
from vma.checks.support.combinations.picture import hypertension_target, picture

CHECK = "combination"


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
    out = note_findings(ref, CHECK, assessment("Hypertension, controlled.", "Chronic systolic heart failure, on carvedilol."),
                        ["I10", "I50.22"])
    assert essences(out) == [("combination", "correct", "I10", ["I11.0"])]
    assert "I50.22" in out[0]["message"] and "I.C.9.a" in out[0]["message"]


def test_hypertension_with_ckd_is_corrected_to_i12(ref):
    out = note_findings(ref, CHECK, assessment("Hypertension.", "Chronic kidney disease stage 4."), ["I10", "N18.4"])
    assert essences(out) == [("combination", "correct", "I10", ["I12.9"])]
    out = note_findings(ref, CHECK, assessment("Hypertension.", "ESRD on hemodialysis."), ["I10", "N18.6"])
    assert essences(out) == [("combination", "correct", "I10", ["I12.0"])]


def test_hypertension_with_heart_failure_and_ckd_is_corrected_to_i13(ref):
    out = note_findings(ref, CHECK, assessment("Hypertension.", "CKD stage 3b.", "Chronic diastolic heart failure."),
                        ["I10", "N18.32", "I50.32"])
    assert essences(out) == [("combination", "correct", "I10", ["I13.0"])]


def test_outdated_combination_code_is_upgraded(ref):
    out = note_findings(ref, CHECK, assessment("Hypertensive heart disease.", "Chronic kidney disease stage 2."),
                        ["I11.9", "N18.2"])
    assert essences(out) == [("combination", "correct", "I11.9", ["I13.10"])]


def test_cardiomegaly_is_not_kept_as_an_additional_code(ref):
    out = note_findings(ref, CHECK, assessment("Hypertension.", "Cardiomegaly on chest x-ray."), ["I10", "I51.7"])
    assert essences(out) == [("combination", "correct", "I10", ["I11.9"])]
    assert "not reported separately" in out[0]["message"]


def test_heart_failure_documented_as_unrelated_stays_separate(ref):
    note = assessment("Essential hypertension, controlled.",
                      "Chronic systolic heart failure due to viral cardiomyopathy, not related to her hypertension.")
    assert note_findings(ref, CHECK, note, ["I10", "I50.22"]) == []


def test_ckd_unrelated_to_hypertension_keeps_heart_combination_only(ref):
    note = assessment("Hypertension.", "Chronic heart failure.",
                      "CKD stage 3a from polycystic kidneys, not due to hypertension.")
    out = note_findings(ref, CHECK, note, ["I10", "I50.9", "N18.31"])
    assert essences(out) == [("combination", "correct", "I10", ["I11.0"])]


def test_correct_combination_codes_stay_clear(ref):
    note = assessment("Hypertensive heart and chronic kidney disease with chronic systolic heart failure.",
                      "CKD stage 4.")
    assert note_findings(ref, CHECK, note, ["I13.0", "I50.22", "N18.4"]) == []
    assert note_findings(ref, CHECK, assessment("Hypertension with heart failure.", "Heart failure, type not known."),
                         ["I11.0", "I50.9"]) == []


# -- diabetes with CKD (Guideline I.A.15 "with") ----------------------------------------------

def test_diabetes_without_complications_next_to_ckd_is_corrected(ref):
    out = note_findings(ref, CHECK, assessment("Type 2 diabetes mellitus.", "CKD stage 3a."), ["E11.9", "N18.31"])
    assert essences(out) == [("combination", "correct", "E11.9", ["E11.22"])]


def test_ckd_from_another_cause_keeps_diabetes_without_complications(ref):
    note = assessment("Type 2 diabetes mellitus, diet controlled.",
                      "CKD stage 3a due to lithium nephropathy, not due to diabetes.")
    assert note_findings(ref, CHECK, note, ["E11.9", "N18.31"]) == []


# -- diabetes "with" its complications, read from the tabular (Guideline I.A.15) ----------------

@pytest.mark.parametrize("code, category, combination, included", [
    ("L97.519", "E11", "E11.621", False),  # E11.621's L97.5- is narrower than E11.622's L97.1-L97.9
    ("L97.429", "E11", "E11.621", False),
    ("L97.229", "E11", "E11.622", False),  # calf: only E11.622's range holds it
    ("L98.415", "E11", "E11.622", False),
    ("L97.519", "E10", "E10.621", False),  # the chart's diabetes type is kept
    ("L97.519", "E13", "E13.621", False),
    ("N18.31", "E11", "E11.22", False),
    ("N18.9", "E11", "E11.22", False),  # outside E11.22's N18.1-N18.6, named by N18's "code first"
    ("K31.84", "E10", "E10.43", False),  # K31.84 "code first ... diabetes mellitus (E08.43, ...)"
    ("G63", "E11", "E11.42", True),  # G63 Excludes1 "diabetes mellitus (E08-E13 with .42)"
    ("H28", "E11", "E11.36", True),
    ("E16.2", "E11", "E11.649", True),
    ("M14.671", "E11", "E11.610", True),  # Charcot's joint, inherited from M14.6
])
def test_diabetes_link_is_read_from_the_tabular(ref, code, category, combination, included):
    link = diabetes_link(ref.icd_for(None), code, category)
    assert link is not None and (link.combination, link.included) == (combination, included)
    assert link.notes


@pytest.mark.parametrize("code, category", [
    ("E16.2", "E09"),  # E16.2's note names E08.649, E10.649, E11.649, E13.649 only
    ("H36", "E11"),  # "E11.3-" is a subcategory: no one code to suggest
    ("N76.82", "E11"),  # its "code also" asks for diabetes "with .9" beside it
    ("G62.9", "E11"),
    ("L89.153", "E11"),  # pressure ulcers are not among the diabetic ulcer codes' sites
    ("H40.11X1", "E11"),  # E11.39 "with other diabetic ophthalmic complication" names no condition
    ("Z79.4", "E11"),
    ("E11.65", "E11"),
])
def test_no_link_where_the_tabular_names_no_single_combination_code(ref, code, category):
    assert diabetes_link(ref.icd_for(None), code, category) is None


def test_peripheral_angiopathy_named_by_an_inclusion_term_links_to_the_combination_code(ref):
    # I73.9's inclusion term "Peripheral angiopathy NOS" is word for word the "with" condition of E11.51
    # (Index: Diabetes, with, peripheral angiopathy): the link I.A.15 presumes, and E11.51 includes it.
    link = diabetes_link(ref.icd_for(None), "I73.9", "E11")
    assert link is not None and (link.combination, link.included) == ("E11.51", True)
    out = note_findings(ref, CHECK, assessment("Type 2 diabetes mellitus.", "Peripheral vascular disease."),
                        ["E11.9", "I73.9"])
    assert essences(out) == [("combination", "correct", "E11.9", ["E11.51"])]


def test_diabetic_foot_ulcer_is_corrected_and_the_message_says_the_sequence(ref):
    out = note_findings(ref, CHECK, assessment("Type 2 diabetes mellitus.", "Non-healing ulcer of the right foot."),
                        ["E11.9", "L97.519"])
    assert essences(out) == [("combination", "correct", "E11.9", ["E11.621"])]
    message = out[0]["message"]
    assert "E11.621" in message and "I.A.15" in message
    assert "L97.519 stays, sequenced after E11.621" in message
    assert "ulcer of the right foot" in out[0]["evidence"]


def test_a_specific_diabetes_code_keeps_its_place_and_the_combination_is_added(ref):
    out = note_findings(ref, CHECK, assessment("Type 2 diabetes mellitus with hyperglycemia, A1c 10.2.",
                                               "Left foot ulcer, skin breakdown only."), ["E11.65", "L97.521"])
    assert essences(out) == [("combination", "correct", "E11.65", ["E11.65", "E11.621"])]
    assert "I.C.4.a" in out[0]["message"]


def test_a_header_above_the_combination_code_is_replaced_not_kept(ref):
    out = note_findings(ref, CHECK, assessment("Type 2 diabetes mellitus.", "Right foot ulcer."), ["E11.6", "L97.519"])
    assert essences(out) == [("combination", "correct", "E11.6", ["E11.621"])]


def test_diabetes_with_ckd_and_a_ulcer_gives_both_combination_codes(ref):
    note = assessment("Type 2 diabetes mellitus.", "CKD stage 4.", "Ulcer of the left calf, fat layer exposed.")
    out = note_findings(ref, CHECK, note, ["E11.9", "N18.4", "L97.222"])
    assert essences(out) == [("combination", "correct", "E11.9", ["E11.22", "E11.622"])]


def test_diabetic_polyneuropathy_drops_g63_with_a_two_position_target(ref):
    report = run_checks(Chart.model_validate(base_chart(
        note={"text": assessment("Type 2 diabetes mellitus with polyneuropathy of both feet.")},
        diagnoses=[{"code": "I10", "poa": None}, {"code": "E11.9", "poa": None}, {"code": "G63", "poa": None}])),
        ref, only={CHECK})
    [f] = report.findings
    assert (f.code, f.suggested_codes, f.target) == ("E11.9", ["E11.42"], "diagnosis:1,2")
    assert "G63 is dropped, E11.42 includes it" in f.message


@pytest.mark.parametrize("lines, codes", [
    (("Type 2 diabetes mellitus.", "Venous stasis ulcer of the left calf."), ["E11.9", "L97.222"]),
    (("Type 2 diabetes mellitus.", "Left calf ulcer secondary to chronic venous insufficiency."), ["E11.9", "L97.222"]),
    (("Type 2 diabetes mellitus.", "Pressure ulcer of the right heel."), ["E11.9", "L97.411"]),
    (("Type 2 diabetes mellitus.", "Alcoholic polyneuropathy."), ["E11.9", "G63"]),
    (("Type 2 diabetes mellitus.", "CKD stage 3b, unrelated to her diabetes."), ["E11.9", "N18.32"]),
    (("Type 2 diabetes mellitus.", "Left calf ulcer."), ["E11.9", "L97.222", "I83.022"]),  # varicose, coded
    (("Type 2 diabetes mellitus.", "Right foot ulcer."), ["E11.621", "L97.519"]),  # already combined
    (("Type 2 diabetes mellitus.", "Right foot ulcer."), ["E11.622", "L97.519"]),  # a sibling: axis checks judge it
])
def test_another_cause_or_an_existing_combination_stays_silent(ref, lines, codes):
    # (G63 with no underlying disease coded keeps its manifestation advice, an info.)
    assert [f for f in note_findings(ref, CHECK, assessment(*lines), codes) if f["action"] != "info"] == []


def test_a_stated_diabetic_link_wins_over_an_unrelated_ulcer_elsewhere(ref):
    note = assessment("Type 2 diabetes mellitus.", "Right foot ulcer, non-healing.",
                      "Peptic ulcer disease due to NSAIDs, on omeprazole.")
    out = note_findings(ref, CHECK, note, ["E11.9", "L97.519", "K27.9"])
    assert essences(out) == [("combination", "correct", "E11.9", ["E11.621"])]


def test_a_cause_merely_coded_elsewhere_on_the_chart_does_not_undo_the_link(ref):
    # E78.5 falls under G63's "code first ... metabolic diseases (E70-E88)", but nothing ties it to the neuropathy.
    note = assessment("Type 2 diabetes mellitus.", "Peripheral polyneuropathy, on gabapentin.",
                      "Hyperlipidemia on atorvastatin.")
    out = note_findings(ref, CHECK, note, ["E11.9", "G63", "E78.5"])
    assert essences(out) == [("combination", "correct", "E11.9", ["E11.42"])]


def test_ckd_due_to_hypertension_and_diabetes_is_linked(ref):
    note = assessment("Type 2 diabetes mellitus.", "CKD stage 3 secondary to hypertension and diabetes.")
    out = note_findings(ref, CHECK, note, ["E11.9", "N18.30", "I12.9"])
    assert essences(out) == [("combination", "correct", "E11.9", ["E11.22"])]


def test_there_are_fixtures_and_traps():
    names = [p.stem for p in fixture_files(CHECK)]
    assert len([n for n in names if n.startswith("trap-")]) >= 6
    assert len([n for n in names if not n.startswith("trap-")]) >= 8


# -- use additional code ------------------------------------------------------------------------

def test_long_term_insulin_documented_adds_z79_4(ref):
    out = note_findings(ref, CHECK, assessment("Type 2 diabetes mellitus. Lantus 20 units nightly, continue."), ["E11.9"])
    assert essences(out) == [("combination", "correct", "E11.9", ["E11.9", "Z79.4"])]
    assert "Lantus" in out[0]["evidence"]


def test_insulin_and_oral_drug_add_both_codes(ref):
    out = note_findings(ref, CHECK, assessment("Type 2 diabetes mellitus on insulin glargine and metformin 1000 mg BID."),
                        ["E11.65"])
    assert essences(out) == [("combination", "correct", "E11.65", ["E11.65", "Z79.4", "Z79.84"])]


def test_injectable_non_insulin_adds_z79_85(ref):
    out = note_findings(ref, CHECK, assessment("Type 2 diabetes mellitus, continue Trulicity 1.5 mg weekly."), ["E11.9"])
    assert essences(out) == [("combination", "correct", "E11.9", ["E11.9", "Z79.85"])]


def test_sliding_scale_insulin_is_temporary_and_adds_nothing(ref):
    note = assessment("Type 2 diabetes mellitus. Metformin held while inpatient; sliding-scale insulin.")
    assert note_findings(ref, CHECK, note, ["E11.9"], encounter={"setting": "inpatient"}) == []


def test_insulin_already_coded_or_denied_adds_nothing(ref):
    assert note_findings(ref, CHECK, assessment("Type 2 diabetes mellitus on insulin glargine."), ["E11.9", "Z79.4"]) == []
    assert note_findings(ref, CHECK, assessment("Type 2 diabetes mellitus, diet controlled, not on insulin."),
                         ["E11.9"]) == []


def test_type_1_diabetes_has_no_insulin_note(ref):
    assert note_findings(ref, CHECK, assessment("Type 1 diabetes mellitus on insulin pump."), ["E10.9"]) == []


def test_ckd_stage_added_to_diabetic_ckd(ref):
    out = note_findings(ref, CHECK, assessment("Type 2 diabetes mellitus with CKD stage IIIb."), ["E11.22"])
    assert essences(out) == [("combination", "correct", "E11.22", ["E11.22", "N18.32"])]


def test_ckd_without_stage_adds_n18_9_and_conflicting_stages_add_nothing(ref):
    out = note_findings(ref, CHECK, assessment("Hypertensive CKD, stage not yet determined by nephrology."), ["I12.9"])
    assert essences(out) == [("combination", "correct", "I12.9", ["I12.9", "N18.9"])]
    note = assessment("Type 2 diabetes with CKD stage 3a.", "Prior note said CKD stage 4.")
    assert note_findings(ref, CHECK, note, ["E11.22"]) == []


def test_stage_outside_the_note_range_is_not_suggested(ref):
    # I12.9 asks for N18.1-N18.4 or N18.9; ESRD belongs with I12.0, not as an additional code here.
    assert note_findings(ref, CHECK, assessment("Hypertensive kidney disease with ESRD on dialysis."), ["I12.9"]) == []


def test_heart_failure_type_added_to_i11_0(ref):
    out = note_findings(ref, CHECK, assessment("Hypertensive heart disease with acute on chronic diastolic heart failure."),
                        ["I11.0"])
    assert essences(out) == [("combination", "correct", "I11.0", ["I11.0", "I50.33"])]
    out = note_findings(ref, CHECK, assessment("Hypertensive heart disease with CHF, type not documented."), ["I11.0"])
    assert essences(out) == [("combination", "correct", "I11.0", ["I11.0", "I50.9"])]


def test_unsettled_heart_failure_wording_is_left_to_the_coder(ref):
    note = assessment("Hypertensive heart disease with heart failure with mildly reduced ejection fraction.")
    assert note_findings(ref, CHECK, note, ["I11.0"]) == []


def test_additional_code_brought_by_a_combination_is_not_asked_twice(ref):
    out = note_findings(ref, CHECK, assessment("Hypertension.", "Chronic systolic heart failure."), ["I10", "I50.22"])
    assert len(out) == 1


def test_current_smoking_under_a_tobacco_note_is_info(ref):
    note = ("SOCIAL HISTORY\n\nCurrent smoker, 1 ppd for 20 years.\n\nASSESSMENT AND PLAN\n\n"
            "1. Essential hypertension, controlled.")
    out = note_findings(ref, CHECK, note, ["I10"])
    assert [(f["action"], f["code"]) for f in out] == [("info", "I10")]
    assert "Z72.0" in out[0]["message"]


def test_tobacco_coded_or_not_smoking_gives_nothing(ref):
    note = "SOCIAL HISTORY\n\nCurrent smoker, 1 ppd.\n\nASSESSMENT AND PLAN\n\n1. Essential hypertension."
    assert note_findings(ref, CHECK, note, ["I10", "F17.210"]) == []
    for social in ("Former smoker, quit 2010.", "Never smoker.", "Non-smoker.", "Denies tobacco use."):
        note = f"SOCIAL HISTORY\n\n{social}\n\nASSESSMENT AND PLAN\n\n1. Essential hypertension."
        assert note_findings(ref, CHECK, note, ["I10"]) == [], social


# -- manifestation codes --------------------------------------------------------------------------

def test_manifestation_without_its_underlying_disease_is_info(ref):
    out = note_findings(ref, CHECK, assessment("Polyneuropathy."), ["G63"])
    assert [(f["action"], f["code"]) for f in out] == [("info", "G63")]


def test_manifestation_after_its_underlying_disease_is_clear(ref):
    assert note_findings(ref, CHECK, assessment("Amyloidosis with polyneuropathy."), ["E85.4", "G63"]) == []
    out = note_findings(ref, CHECK, assessment("Amyloidosis with polyneuropathy."), ["G63", "E85.4"])
    assert [(f["action"], f["code"]) for f in out] == [("info", "G63")]
    assert "sequenced after" in out[0]["message"]


# -- clean charts -----------------------------------------------------------------------------------

@pytest.mark.parametrize("codes", [["I10"], ["E11.9", "Z79.84"], ["J18.9"], ["M19.029", "M10.9"], ["K21.9"]])
def test_clean_charts_stay_clear(ref, codes):
    assert note_findings(ref, CHECK, assessment("Chronic conditions reviewed, stable."), codes) == []



def test_combination_evidence_quotes_the_assessment(ref):
    out = note_findings(ref, CHECK, assessment("Hypertension, controlled.", "Chronic systolic heart failure, on carvedilol."),
                        ["I10", "I50.22"])
    assert "diagnoses: I10, I50.22" in out[0]["evidence"]
    assert "Hypertension, controlled" in out[0]["evidence"] and "systolic heart failure" in out[0]["evidence"]
