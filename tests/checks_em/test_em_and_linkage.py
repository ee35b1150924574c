"""The em-level and dx-linkage checks on the spec examples and on their fixture charts.

The fixtures are in ``tests/fixtures/em-level/`` and ``tests/fixtures/dx-linkage/``: synthetic
notes written in the style of public de-identified office notes, encounter overrides on
tests.conftest's base chart, the proposed codes, and the findings the two checks must give (an
empty list: they stay silent); ``tests/test_check_fixtures.py`` runs them.
"""

from __future__ import annotations

import json

import pytest

from tests.checking import essence, fixture_chart, fixture_files, load_fixture
from tests.conftest import SPEC_EXAMPLES
from vma.chart import Chart
from vma.checks import run_checks
from vma.intake import parse_chart

MY_CHECKS = {"em-level", "dx-linkage"}
EXAMPLES = ("clean-office-visit", "em-time-mismatch", "inpatient-poa-query", "laterality-correct-shoulder",
            "laterality-query-elbow", "seventh-character-ankle")


def findings_of(chart: Chart, ref) -> list[dict]:
    return json.loads(run_checks(chart, ref, only=MY_CHECKS).model_dump_json())["findings"]


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


def test_there_are_enough_fixtures_per_check():
    names = [p.stem for check in sorted(MY_CHECKS) for p in fixture_files(check)]
    assert sum(n.startswith("em-") for n in names) >= 8
    assert sum(n.startswith("dx-") for n in names) >= 6


def test_every_finding_targets_its_procedure_line(ref):
    data = load_fixture("dx-linkage/dx-cerumen-wrong-pointer")
    report = run_checks(fixture_chart(data), ref, only=MY_CHECKS)
    (finding,) = report.findings
    assert finding.target == "procedure:1"
    assert "diagnosis 2 (H61.23)" in finding.message
    assert report.status == "needs_correction"


def test_info_findings_do_not_hold_the_chart(ref):
    data = load_fixture("em-level/em-undercoded-time-info")
    report = run_checks(fixture_chart(data), ref, only=MY_CHECKS)
    assert [f.action for f in report.findings] == ["info"]
    assert report.status == "clear"
