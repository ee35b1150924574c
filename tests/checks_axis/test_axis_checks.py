"""The axis checks (laterality, acuity, specificity, seventh-character) on the spec
examples and on fixture charts written in the style of public de-identified notes.

Each fixture in ``fixtures/`` holds a note, the proposed diagnosis codes and the
findings these four checks must give (check, action, code, suggested codes, and
for queries the options); an empty list means they must stay silent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SPEC_EXAMPLES, base_chart
from vma.chart import Chart
from vma.checks import run_checks
from vma.intake import parse_chart

AXIS_CHECKS = {"laterality", "acuity", "specificity", "seventh-character"}
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))
EXAMPLES = ("laterality-query-elbow", "laterality-correct-shoulder", "seventh-character-ankle",
            "clean-office-visit", "em-time-mismatch", "inpatient-poa-query")


def essence(finding: dict) -> dict:
    out = {k: finding[k] for k in ("check", "action", "code", "suggested_codes")}
    if finding["action"] == "query":
        out["options"] = finding["options"]
    return out


def axis_findings(chart: Chart, ref) -> list[dict]:
    report = json.loads(run_checks(chart, ref, only=AXIS_CHECKS).model_dump_json())
    return report["findings"]


@pytest.mark.skipif(not SPEC_EXAMPLES.is_dir(), reason="shared spec examples not found")
@pytest.mark.parametrize("name", EXAMPLES)
def test_spec_examples_give_exactly_the_axis_findings_expected(name, ref):
    chart, _ = parse_chart((SPEC_EXAMPLES / f"{name}.json").read_bytes())
    expected = json.loads((SPEC_EXAMPLES / f"{name}.expected.json").read_text())
    wanted = [essence(f) for f in expected["findings"] if f["check"] in AXIS_CHECKS]
    assert [essence(f) for f in axis_findings(chart, ref)] == wanted


def fixture_chart(data: dict) -> Chart:
    raw = base_chart(note={"text": data["note"]},
                     diagnoses=[{"code": c, "poa": "Y" if data.get("setting") == "inpatient" else None}
                                for c in data["diagnoses"]],
                     procedures=[{"code": "99213", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}])
    if data.get("setting"):
        raw["encounter"]["setting"] = data["setting"]
    return Chart.model_validate(raw)


def test_there_are_at_least_six_fixtures_per_check():
    counts = {check: 0 for check in AXIS_CHECKS}
    for path in FIXTURE_FILES:
        name = path.stem
        prefix = {"lat": "laterality", "acu": "acuity", "spec": "specificity", "7th": "seventh-character"}[
            name.split("-")[0]]
        counts[prefix] += 1
    assert min(counts.values()) >= 6, counts


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_fixture_chart(path: Path, ref):
    data = json.loads(path.read_text())
    got = [essence(f) for f in axis_findings(fixture_chart(data), ref)]
    assert got == data["expected"], data["description"]


def test_findings_cite_the_note_and_queries_are_not_leading(ref):
    banned = ("please document", "should be", "reimburse", "payment", "drg")
    for path in FIXTURE_FILES:
        data = json.loads(path.read_text())
        report = run_checks(fixture_chart(data), ref, only=AXIS_CHECKS)
        for f in report.findings:
            assert f.severity == "error" and f.target and f.target.startswith("diagnosis:")
            assert f.code in f.message
            if f.action == "query":
                text = f"{f.question} {f.message}".lower()
                assert not any(b in text for b in banned), (path.stem, f.question)
                assert f.options[-2:] == ["Other", "Clinically undetermined"]
                assert all(c.codes for c in f.choices if c.kind == "code")
