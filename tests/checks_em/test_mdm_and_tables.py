"""The MDM reader element by element, the E/M table and the linkage rule set."""

from __future__ import annotations

import json

import pytest

from tests.conftest import base_chart
from vma.chart import Chart
from vma.checks import run_checks
from vma.checks.dx_linkage import RULES_PATH, CodeRange, linkage_rules
from vma.checks.em_level import TABLE_PATH, em_table
from vma.checks.support.mdm.data_and_risk import risk_of_management
from vma.checks.support.mdm.problems import problem_items
from vma.checks.support.mdm.reader import estimate_mdm
from vma.checks.support.mdm.wording import HIGH, LOW, MODERATE, STRAIGHTFORWARD
from vma.checks.support.notes.document import NoteDoc


def mdm_of(text: str, coded=()):
    return estimate_mdm(NoteDoc.from_chart_note(text, None), list(coded))


def test_numbered_items_with_inline_plans_are_separate_problems():
    note = NoteDoc.from_chart_note(
        "ASSESSMENT AND PLAN\n\n1. Hyperlipidemia. Continue atorvastatin 40 mg.\n2. Obesity. Diet counseling.\n\n"
        "Total time spent: 25 minutes.", None)
    items = problem_items(note)
    assert [i.label for i in items] == ["Hyperlipidemia", "Obesity"]
    assert items[0].body == ["Continue atorvastatin 40 mg."]


@pytest.mark.parametrize("wording, level", [
    ("Hypertension, uncontrolled. Increase amlodipine to 10 mg daily.", MODERATE),
    ("Hypertension, not at goal. Increase amlodipine to 10 mg daily.", MODERATE),
    ("Hypertension, stable. Continue amlodipine 5 mg daily.", LOW),
    ("Hypertension without exacerbation. Continue amlodipine 5 mg daily.", LOW),
    ("Community-acquired pneumonia with fever. Start amoxicillin 1 g three times daily.", MODERATE),
    ("Chest pain, possible unstable angina versus reflux. Stress test ordered.", MODERATE),
    ("Acute pulmonary embolism. Sent to the emergency department by ambulance.", HIGH),
])
def test_problem_element(wording, level):
    assert mdm_of(f"ASSESSMENT AND PLAN\n\n{wording}").problems_level == level


def test_two_stable_chronic_problems_are_moderate_and_coded_problems_count_when_the_note_lists_fewer():
    one = "ASSESSMENT AND PLAN\n\nHypertension, stable. Continue lisinopril 10 mg daily."
    assert mdm_of(one).problems_level == LOW
    assert mdm_of(one, coded=["coded I10", "coded E78.5"]).problems_level == MODERATE


@pytest.mark.parametrize("wording, level", [
    ("Rest and fluids.", STRAIGHTFORWARD),
    ("Tylenol 500 mg as needed.", LOW),
    ("Referral to physical therapy.", LOW),
    ("Continue metoprolol 25 mg twice daily.", MODERATE),
    ("We will prescribe a course of antibiotics.", MODERATE),
    ("No prescription medications were given.", STRAIGHTFORWARD),
    ("We discussed and recommended a right total knee arthroplasty.", MODERATE),
    ("Admit to the hospital for IV antibiotics.", HIGH),
    ("She does not need hospitalization at this time.", STRAIGHTFORWARD),
])
def test_risk_element(wording, level):
    assert risk_of_management(NoteDoc.from_chart_note(f"PLAN\n\n{wording}", None))[0] == level


@pytest.mark.parametrize("wording, prescription", [
    ("Amoxicillin.", True), ("Continue lisinopril.", True), ("Start anastrozole.", True),
    ("Ceftriaxone 1 g IM given.", True), ("Recheck cholesterol and alkaline phosphatase.", False),
    ("Follow up in April.", False), ("Likely viral; saline rinses.", False),
])
def test_drug_names_without_a_dose_read_as_prescription_management(wording, prescription):
    level, _ = risk_of_management(NoteDoc.from_chart_note(f"PLAN\n\n{wording}", None))
    assert (level == MODERATE) is prescription


def test_any_documented_plan_reaches_low_risk():
    assert mdm_of("ASSESSMENT AND PLAN\n\nCough. Rest and fluids.").risk_level == LOW
    assert mdm_of("ASSESSMENT AND PLAN\n\nCough.").risk_level == STRAIGHTFORWARD


def test_data_element_counts_unique_tests_notes_historian_interpretation_and_discussion():
    base = "ASSESSMENT AND PLAN\n\nCough.\n\nPLAN\n\n"
    assert mdm_of(base + "Chest x-ray ordered.").data_level == STRAIGHTFORWARD
    assert mdm_of(base + "Chest x-ray and CBC ordered.").data_level == LOW
    assert mdm_of(base + "History obtained from her mother.").data_level == LOW
    assert mdm_of(base + "Chest x-ray, CBC and basic metabolic panel ordered.").data_level == MODERATE
    assert mdm_of(base + "I personally reviewed the chest x-ray images.").data_level == MODERATE
    estimate = mdm_of(base + "Chest x-ray, CBC and BMP ordered. I discussed the plan with Dr. Lee, her pulmonologist.")
    assert estimate.external_discussion and estimate.data_level == HIGH


def test_mdm_is_the_level_two_of_three_elements_reach():
    estimate = mdm_of("ASSESSMENT AND PLAN\n\nHypertension, uncontrolled. Diet and exercise.")
    assert (estimate.problems_level, estimate.data_level, estimate.risk_level) == (MODERATE, STRAIGHTFORWARD, LOW)
    assert estimate.level == LOW


def test_em_table_follows_its_source_file():
    data = json.loads(TABLE_PATH.read_text())
    assert data["source"] and data["families"]["new"]["levels"][0] == {"code": "99202", "mdm": "straightforward",
                                                                          "minutes": 15}
    table = em_table()
    assert table.time_rank("established", 19) == 1 and table.time_rank("established", 20) == 2
    assert table.time_rank("new", 14) is None and table.time_rank("new", 60) == 4
    assert table.at_rank("new", 0).code == "99202"
    cpt, medicare = table.prolonged["99417"], table.prolonged["G2212"]
    assert [cpt.units_supported("99215", m) for m in (54, 55, 69, 70)] == [0, 1, 1, 2]
    assert [cpt.units_supported("99205", m) for m in (74, 75, 90)] == [0, 1, 2]
    assert [medicare.units_supported("99215", m) for m in (68, 69, 84)] == [0, 1, 2]
    assert medicare.units_supported("99205", 88) == 0 and medicare.units_supported("99205", 89) == 1


def test_linkage_rules_are_labelled_as_the_projects_own_and_cover_the_listed_families():
    data = json.loads(RULES_PATH.read_text())
    assert "project's own rule set" in data["status"] and data["source"]
    rules = linkage_rules()
    for code in ("20610", "11042", "17000", "69210", "93000", "36415", "81002", "87880", "94010", "96372",
                 "90471", "10060", "12002"):
        assert rules.for_procedure(code) is not None, code
    assert rules.for_procedure("99213") is None and rules.for_procedure("206100") is None


@pytest.mark.parametrize("spec, code, covered", [
    ("M00-M99", "M17.11", True), ("M00-M99", "L03.115", False), ("S00-T88", "T81.31XA", True),
    ("Z23", "Z23", True), ("Z00-Z13", "Z13.89", True), ("Z00-Z13", "Z23", False), ("O00-O9A", "O9A.211", True),
    ("*", "A00.0", True),
])
def test_code_ranges_compare_by_prefix(spec, code, covered):
    assert CodeRange.parse(spec).covers(code) is covered


@pytest.mark.parametrize("pointers", [[0], [-1], [2, 2], [1, 2, 3, 4, 5, 6]])
def test_odd_pointers_are_findings_not_crashes(pointers, ref):
    chart = Chart.model_validate(base_chart(procedures=[{"code": "99213", "diagnosis_pointers": pointers}]))
    (finding,) = run_checks(chart, ref, only={"dx-linkage"}).findings
    assert finding.action == "correct" and finding.target == "procedure:0"


def test_charts_without_note_diagnoses_or_procedures_stay_silent(ref):
    for overrides in ({"note": {"text": ""}}, {"diagnoses": [], "procedures": []},
                      {"procedures": [{"code": "99214", "diagnosis_pointers": [1]}], "note": {"text": "Seen."}}):
        chart = Chart.model_validate(base_chart(**overrides))
        assert run_checks(chart, ref, only={"em-level", "dx-linkage"}).findings == []
