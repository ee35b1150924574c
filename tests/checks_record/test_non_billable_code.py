"""non-billable-code on fixture charts."""

from __future__ import annotations

import pytest

from tests.checking import check_findings, engine
from vma.findings import OTHER, UNDETERMINED


def run(ref, code, assessment, **overrides):
    note = {"text": f"CHIEF COMPLAINT\n\nFollow-up.\n\nASSESSMENT AND PLAN\n\n{assessment}"}
    return check_findings(ref, "non-billable-code", diagnoses=[{"code": code, "poa": None}], note=note, **overrides)


@pytest.mark.parametrize("code,assessment,expected", [
    ("M25.56", "Left knee pain. Ice and rest.", "M25.562"),
    ("E11", "Type 2 diabetes mellitus with hyperglycemia. A1c 9.1.", "E11.65"),
    ("E11", "Type 2 diabetes mellitus without complications. Continue metformin.", "E11.9"),
    ("N18", "Chronic kidney disease stage 4. Nephrology referral.", "N18.4"),
    ("J45", "Mild intermittent asthma, uncomplicated. Albuterol as needed.", "J45.20"),
    # a spinal level names one region of the tabular: L5-S1 lumbosacral, T12-L1 thoracolumbar, C7-T1
    # cervicothoracic, C5-C6 the M50.22- level code; a header listing its regions states none of them
    ("M51.2", "L5-S1 disc herniation. Physical therapy.", "M51.27"),
    ("M51.2", "T12-L1 disc herniation. Physical therapy.", "M51.25"),
    ("M50.2", "C7-T1 disc herniation. Physical therapy.", "M50.23"),
    ("M50.2", "C5-6 disc herniation. Physical therapy.", "M50.222"),
    ("M50.2", "Disc herniation at C3-C4. Physical therapy.", "M50.21"),
    # a current smoker with no complication: Index, Smoker - see Dependence, drug, nicotine, cigarettes F17.210
    ("F17.21", "Current smoker, one pack of cigarettes a day. Cessation counseling given.", "F17.210"),
])
def test_header_corrected_when_the_note_names_one_code(ref, code, assessment, expected):
    f, = run(ref, code, assessment)
    assert f.check == "non-billable-code" and f.action == "correct"
    assert f.code == code and f.suggested_codes == [expected]
    assert "Assessment" in f.evidence


def test_header_queried_with_its_billable_codes(ref):
    f, = run(ref, "M25.56", "Knee pain. Ice and rest.")
    assert f.action == "query"
    assert f.options == ["Pain in right knee (M25.561)", "Pain in left knee (M25.562)",
                         "Pain in unspecified knee (M25.569)", OTHER, UNDETERMINED]
    assert "knee" in f.question and "bill" not in f.question.lower()


def test_large_header_offers_the_next_tabular_level(ref):
    f, = run(ref, "E11", "Type 2 diabetes. Continue metformin.")
    assert f.action == "query"
    assert "Type 2 diabetes mellitus with kidney complications (E11.2-)" in f.options
    assert "Type 2 diabetes mellitus without complications (E11.9)" in f.options
    assert f.options[-2:] == [OTHER, UNDETERMINED]
    assert [c.codes for c in f.choices if c.label.endswith("(E11.2-)")] == [["E11.2"]]


def test_former_smoker_is_no_current_dependence(ref):
    assert not [f for f in run(ref, "F17.21", "Former smoker, quit 10 years ago. Lung cancer screening discussed.")
                if f.action == "correct"]


def test_negated_detail_does_not_settle_the_code(ref):
    f, = run(ref, "I25.1", "Coronary artery disease of native coronary artery. No unstable angina. Continue statin.")
    assert f.action == "query"
    assert "Atherosclerotic heart disease of native coronary artery without angina pectoris (I25.10)" in f.options


def test_uncertain_detail_does_not_settle_the_code_outpatient(ref):
    f, = run(ref, "N18", "Chronic kidney disease, possibly stage 4. Repeat labs.")
    assert f.action == "query"


def test_billable_codes_give_nothing(ref):
    assert run(ref, "M25.562", "Left knee pain.") == []
    assert run(ref, "I10", "Essential hypertension.") == []


def test_header_needing_only_a_seventh_character_is_not_a_header_here(ref):
    assert run(ref, "S93.402", "Left ankle sprain, injured yesterday.") == []


def test_invalid_codes_are_not_headers(ref):
    assert run(ref, "M25.5699", "Knee pain.") == []


def test_axis_check_finding_stands_for_the_header(ref):
    # I50.2's children differ only by acuity: the acuity check asks, this check stays silent.
    assert run(ref, "I50.2", "Systolic heart failure.") == []
    report = engine(ref, diagnoses=[{"code": "I50.2"}], procedures=[],
                    note={"text": "ASSESSMENT\n\nSystolic heart failure."})
    assert [f.check for f in report.findings] == ["acuity"]


def test_laterality_finding_stands_for_a_lateral_header(ref):
    report = engine(ref, diagnoses=[{"code": "S93.40"}], procedures=[],
                    note={"text": "ASSESSMENT\n\nLeft ankle sprain, injured yesterday. Aircast."})
    checks = [f.check for f in report.findings]
    assert "non-billable-code" not in checks and "laterality" in checks


def test_only_the_header_among_several_codes(ref):
    found = check_findings(ref, "non-billable-code", diagnoses=[{"code": "I10"}, {"code": "N18"}],
                           note={"text": "ASSESSMENT\n\nHypertension. Chronic kidney disease stage 3a."})
    assert [(f.target, f.action, f.suggested_codes) for f in found] == [("diagnosis:1", "correct", ["N18.31"])]
