"""poa on fixture inpatient charts."""

from __future__ import annotations

import json

import pytest

from tests.checking import check_findings, engine
from tests.conftest import SPEC_EXAMPLES
from vma.checks.poa import EXEMPT_FILE, is_poa_exempt, load_exempt
from vma.intake import parse_chart

POA_OPTIONS = ["Present at the time of inpatient admission (POA Y)", "Developed after inpatient admission (POA N)",
               "Other", "Clinically undetermined (POA W)"]
INPATIENT = {"setting": "inpatient", "place_of_service": "21", "admission_date": "2026-11-15"}
NOTE = {"text": (
    "HOSPITAL PROGRESS NOTE\n\nSUBJECTIVE\n\nAdmitted through the emergency department with cellulitis of the "
    "left leg. Three days of vomiting before admission.\n\nOBJECTIVE\n\nPotassium 3.1 mmol/L this morning; "
    "potassium was 3.0 in the emergency department.\n\nASSESSMENT AND PLAN\n\n1. Cellulitis of left lower limb. "
    "Continue cefazolin.\n2. Hypokalemia. Potassium 3.1 after vomiting. Oral potassium replacement.\n"
    "3. Type 2 diabetes mellitus without complications. Sliding-scale insulin.")}


def run(ref, *dx, encounter=INPATIENT, note=NOTE):
    return check_findings(ref, "poa", encounter=encounter, note=note,
                          diagnoses=[{"code": c, "poa": p} for c, p in dx])


def test_every_indicator_given_is_clear(ref):
    assert run(ref, ("L03.116", "Y"), ("E87.6", "N"), ("E11.9", "W"), ("Z79.4", "1")) == []
    assert run(ref, ("L03.116", "U")) == []


def test_missing_poa_is_queried_with_the_poa_answers(ref):
    f, = run(ref, ("L03.116", "Y"), ("E87.6", None), ("E11.9", "Y"))
    assert f.check == "poa" and f.action == "query" and f.code == "E87.6" and f.target == "diagnosis:1"
    assert f.options == POA_OPTIONS
    assert [c.poa for c in f.choices] == ["Y", "N", None, "W"]
    assert [c.kind for c in f.choices] == ["poa", "poa", "other", "undetermined"]
    assert f.suggested_codes == []


def test_question_cites_timing_and_does_not_lead(ref):
    f, = run(ref, ("L03.116", "Y"), ("E87.6", None), ("E11.9", "Y"))
    assert "hypokalemia" in f.question.lower()
    assert "emergency department" in f.question and "vomiting before admission" in f.question
    assert "cellulitis" not in f.question.lower()  # another diagnosis's admission story is not evidence
    for word in ("should", "payment", "reimburse", "DRG", "quality"):
        assert word.lower() not in f.question.lower()
    assert f.question.endswith("was the hypokalemia present at the time the inpatient admission was ordered?")


def test_invalid_poa_value_is_queried(ref):
    f, = run(ref, ("E87.6", "X"))
    assert "'X'" in f.message and f.options == POA_OPTIONS
    f, = run(ref, ("E87.6", "YES"))
    assert "'YES'" in f.message


def test_lowercase_and_numeric_values_are_normalised(ref):
    assert run(ref, ("E87.6", "y"), ("Z79.4", 1)) == []


@pytest.mark.parametrize("code", ["Z79.4", "Z79.84", "Z68.41", "Z87.891", "Y92.009", "Y93.01", "I25.2",
                                  "Q21.1", "S82.101S", "I69.351", "Z3A.38", "Z85.3"])
def test_exempt_codes_need_no_indicator(ref, code):
    assert is_poa_exempt(code)
    assert run(ref, (code, None)) == []


@pytest.mark.parametrize("code", ["E87.1", "J18.9", "S82.101A", "I25.10", "Z66", "N17.9",
                                  "V00.811A"])
def test_non_exempt_codes(code):
    assert not is_poa_exempt(code)


def test_exemption_one_on_a_disease_code_is_queried(ref):
    f, = run(ref, ("E87.6", "1"))
    assert "not on the POA-exempt list" in f.message


def test_exemption_one_on_a_factor_code_is_taken_as_given(ref):
    assert run(ref, ("Z66", "1")) == []


def test_outpatient_charts_are_never_judged(ref):
    assert run(ref, ("E87.6", None), encounter={"setting": "office", "place_of_service": "11"}) == []
    assert run(ref, ("E87.6", None), encounter={"setting": "emergency", "place_of_service": "23"}) == []


def test_pos_21_without_setting_is_inpatient(ref):
    f, = run(ref, ("E87.6", None), encounter={"setting": None, "place_of_service": "21"})
    assert f.check == "poa"


def test_codes_not_in_the_release_are_left_to_invalid_code(ref):
    assert run(ref, ("E87.99", None)) == []


def test_several_missing_give_one_query_each(ref):
    found = run(ref, ("L03.116", None), ("E87.6", None), ("Z79.4", None))
    assert [f.code for f in found] == ["L03.116", "E87.6"]


def test_no_timing_in_record(ref):
    note = {"text": "ASSESSMENT\n\nHypokalemia. Oral potassium."}
    f, = run(ref, ("E87.6", None), note=note)
    assert "does not state when it began" in f.question


def test_exempt_list_names_its_source():
    data = json.loads(EXEMPT_FILE.read_text())
    assert "Appendix I" in data["source"] and "CMS" in data["source"]
    assert len(load_exempt()) == len(data["entries"])


@pytest.mark.skipif(not SPEC_EXAMPLES.is_dir(), reason="shared spec examples not found")
def test_spec_inpatient_example(ref):
    chart, _ = parse_chart((SPEC_EXAMPLES / "inpatient-poa-query.json").read_bytes())
    from vma.checks import run_checks

    report = run_checks(chart, ref, only={"poa"})
    f, = report.findings
    assert (f.code, f.options) == ("E87.1", POA_OPTIONS)
    assert "emergency department" in f.question and "poor oral intake" in f.question


def test_inpatient_chart_through_the_engine(ref):
    report = engine(ref, encounter=INPATIENT, note=NOTE, procedures=[],
                    diagnoses=[{"code": "L03.116", "poa": "Y"}, {"code": "E87.6", "poa": None}])
    assert "poa" in [f.check for f in report.findings] and report.status == "needs_query"


def test_the_cms_exempt_file_replaces_the_bundled_ranges(tmp_path):
    from vma.config import Settings
    from vma.reference import ReferenceData

    # The CMS layout: order number, code without the dot, long title; one header line.
    cms = tmp_path / "POAexemptCodesFY27.txt"
    cms.write_text("Order27\tPOAexemptCode\tDescription\n"
                   "00001\tZ794\tLong term (current) use of insulin\n"
                   "00002\tE871\tHypo-osmolality and hyponatremia\n", encoding="utf-8")
    ref_cms = ReferenceData(Settings(vma_poa_exempt_file=str(cms)))
    # E87.1 is exempt by this (synthetic) list, so no query; L03.116 is not on it, so a 1 is not accepted.
    out = check_findings(ref_cms, "poa", encounter=INPATIENT, note=NOTE,
                         diagnoses=[{"code": "E87.1", "poa": None}, {"code": "L03.116", "poa": "1"}])
    assert [(f.code, f.action) for f in out] == [("L03.116", "query")]
    assert is_poa_exempt("Z79.4", str(cms)) and not is_poa_exempt("Z79.84", str(cms))


def test_an_empty_cms_exempt_file_is_an_error_naming_the_variable(tmp_path):
    from vma.checks.poa import load_cms_exempt_list

    empty = tmp_path / "empty.txt"
    empty.write_text("Order\tPOAexemptCode\tDescription\n")
    with pytest.raises(ValueError, match="VMA_POA_EXEMPT_FILE"):
        load_cms_exempt_list(str(empty))
