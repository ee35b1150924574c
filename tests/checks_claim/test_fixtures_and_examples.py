"""What the claim edits say on every fixture chart (tests/test_check_fixtures.py compares the findings),
and the spec examples and clean charts staying clear of claim-edit findings."""

from __future__ import annotations

import json

import pytest

from tests.checking import CLAIM_CHECKS, claim_chart, fixture_files, fixture_report, line, load_fixture
from tests.conftest import SPEC_EXAMPLES
from vma.chart import chart_from_dict
from vma.checks import run_checks

# The fixtures that compare the claim edits' findings (``"compare"``: the claim checks).
FIXTURES = [p for p in fixture_files() if set(load_fixture(p).get("compare", ())) == CLAIM_CHECKS]


@pytest.mark.parametrize("path", FIXTURES, ids=[f"{p.parent.name}/{p.stem}" for p in FIXTURES])
def test_fixture_chart_claim_findings_name_the_payer_edit(path, ref):
    report = fixture_report(load_fixture(path), ref)  # every check runs; the claim edits are looked at
    for f in report.findings:
        if f.check in CLAIM_CHECKS:
            assert "payer" in f.message.lower() or "clearinghouse" in f.message.lower()


EXAMPLES = sorted(p for p in SPEC_EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json")) \
    if SPEC_EXAMPLES.is_dir() else []


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_spec_examples_get_no_claim_findings(path, ref):
    report = run_checks(chart_from_dict(json.loads(path.read_text())), ref, only=CLAIM_CHECKS)
    assert report.findings == []


@pytest.mark.parametrize("procedures,encounter", [
    ([line("99213")], {}),
    ([line("99203")], {"patient_status": "new"}),
    ([line("99214", "25"), line("11102"), line("36415")], {}),
    ([line("99213", "95")], {"setting": "telehealth", "place_of_service": "10"}),
    ([line("99232")], {"setting": "inpatient", "place_of_service": "21", "admission_date": "2026-11-14"}),
    ([line("71046", "26"), line("93000")], {}),
    ([line("97110", "GP", "CQ", units=2), line("97112", "GP", units=2)], {}),
    ([line("G0438"), line("90686"), line("G0008")], {}),
])
def test_clean_claims_stay_clear(ref, procedures, encounter):
    note = ("CHIEF COMPLAINT\n\nFollow-up by video; the patient is at home.\n\nASSESSMENT AND PLAN\n\n"
            "Essential hypertension, well controlled. Continue lisinopril 10 mg daily.")
    data = claim_chart(procedures, note=note, **encounter)
    assert run_checks(chart_from_dict(data), ref, only=CLAIM_CHECKS).findings == []


@pytest.mark.parametrize("procedures,encounter,status,checks", [
    # an empty procedure code is an invalid code, not a crash
    ([{"code": "", "modifiers": [], "units": 0, "diagnosis_pointers": []}], {}, "needs_correction",
     {"invalid-code"}),
    # blank, padded and unknown modifiers are the modifier check's to report
    ([{"code": "99213", "modifiers": ["", " 25 ", "x"], "units": 0, "diagnosis_pointers": [9, -1]}], {},
     "needs_correction", {"modifier"}),
    # a numeric place of service and an unreadable date are other checks' business: the claim edits pass
    ([line("99213")], {"place_of_service": 11, "date_of_service": "not a date", "setting": None}, "clear", set()),
    # RT, LT and 50 together on a repeated line, at a place-of-service code that does not exist
    ([line("20610"), line("20610", "RT", "LT", "50")], {"place_of_service": "1"}, "needs_query",
     {"modifier", "place-of-service"}),
])
def test_odd_lines_are_reported_not_crashed_on(ref, procedures, encounter, status, checks):
    data = claim_chart(procedures, **encounter)
    report = run_checks(chart_from_dict(data), ref, only=CLAIM_CHECKS)
    assert report.status == status
    assert {f.check for f in report.findings} == checks
    assert all(f.message for f in report.findings)
