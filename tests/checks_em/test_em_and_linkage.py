"""The em-level and dx-linkage checks on the spec examples and on fixture charts.

Each fixture in ``fixtures/`` holds a synthetic note written in the style of
public de-identified office notes, encounter overrides on tests.conftest's
base chart, the proposed codes, and the findings the two checks must give
(check, action, code, suggested codes); an empty list means they stay silent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SPEC_EXAMPLES, base_chart
from vma.chart import Chart
from vma.checks import run_checks
from vma.intake import parse_chart

MY_CHECKS = {"em-level", "dx-linkage"}
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))
EXAMPLES = ("clean-office-visit", "em-time-mismatch", "inpatient-poa-query", "laterality-correct-shoulder",
            "laterality-query-elbow", "seventh-character-ankle")


def essence(finding: dict) -> dict:
    return {k: finding[k] for k in ("check", "action", "code", "suggested_codes")}


def findings_of(chart: Chart, ref) -> list[dict]:
    return json.loads(run_checks(chart, ref, only=MY_CHECKS).model_dump_json())["findings"]


def fixture_chart(data: dict) -> Chart:
    raw = base_chart(note={"text": data["note"]}, encounter=data.get("encounter", {}), patient=data.get("patient", {}),
                     diagnoses=[{"code": c, "poa": None} for c in data["diagnoses"]],
                     procedures=data["procedures"])
    return Chart.model_validate(raw)


@pytest.mark.skipif(not SPEC_EXAMPLES.is_dir(), reason="shared spec examples not found")
@pytest.mark.parametrize("name", EXAMPLES)
def test_spec_examples_give_exactly_the_expected_em_and_linkage_findings(name, ref):
    chart, _ = parse_chart((SPEC_EXAMPLES / f"{name}.json").read_bytes())
    expected = json.loads((SPEC_EXAMPLES / f"{name}.expected.json").read_text())
    wanted = [essence(f) for f in expected["findings"] if f["check"] in MY_CHECKS]
    assert [essence(f) for f in findings_of(chart, ref)] == wanted


@pytest.mark.skipif(not SPEC_EXAMPLES.is_dir(), reason="shared spec examples not found")
def test_time_mismatch_example_cites_the_time_and_the_treated_problem(ref):
    chart, _ = parse_chart((SPEC_EXAMPLES / "em-time-mismatch.json").read_bytes())
    (finding,) = findings_of(chart, ref)
    assert finding["evidence"].startswith('"I spent 22 minutes with the patient today ..."')
    assert 'Acid reflux: "Medical Reasoning: This is well controlled' in finding["evidence"]
    assert "Continue Protonix 40 mg daily" in finding["evidence"]
    assert "40 minutes" in finding["message"] and "22 minutes" in finding["message"]
    assert "99213 by time and by MDM" in finding["message"]


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_fixture_gives_its_expected_findings(path: Path, ref):
    data = json.loads(path.read_text())
    got = [essence(f) for f in findings_of(fixture_chart(data), ref)]
    assert got == data["expected"], data["description"]


def test_there_are_enough_fixtures_per_check():
    names = [p.stem for p in FIXTURE_FILES]
    assert sum(n.startswith("em-") for n in names) >= 8
    assert sum(n.startswith("dx-") for n in names) >= 6


def test_every_finding_targets_its_procedure_line(ref):
    data = json.loads((FIXTURES / "dx-cerumen-wrong-pointer.json").read_text())
    report = run_checks(fixture_chart(data), ref, only=MY_CHECKS)
    (finding,) = report.findings
    assert finding.target == "procedure:1"
    assert "diagnosis 2 (H61.23)" in finding.message
    assert report.status == "needs_correction"


def test_info_findings_do_not_hold_the_chart(ref):
    data = json.loads((FIXTURES / "em-undercoded-time-info.json").read_text())
    report = run_checks(fixture_chart(data), ref, only=MY_CHECKS)
    assert [f.action for f in report.findings] == ["info"]
    assert report.status == "clear"
