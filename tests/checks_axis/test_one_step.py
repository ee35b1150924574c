"""One step to the fully specified code: a chart re-checked with the axis checks' corrections
applied gets no further correction on those codes (the suggestion settled every documented axis)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.checks_axis.test_axis_checks import FIXTURE_FILES, fixture_chart
from vma.chart import Chart
from vma.checks import run_checks

CORRECTING = {"laterality", "acuity", "specificity", "non-billable-code", "seventh-character"}
CORRECTED = [p for p in FIXTURE_FILES
             if any(e["action"] == "correct" for e in json.loads(p.read_text())["expected"])]


def _apply(chart: Chart, findings) -> Chart:
    data = chart.model_dump(mode="json")
    replaced: dict[int, list[str]] = {}
    for f in findings:
        # a correction with no suggested code removes the code (a vaguer duplicate, a code the note refutes)
        if f.action == "correct" and f.target and f.target.startswith("diagnosis:"):
            replaced[int(f.target.split(":")[1])] = f.suggested_codes
    diagnoses = []
    for i, dx in enumerate(data["diagnoses"]):
        for code in replaced.get(i, [dx["code"]]):
            diagnoses.append({**dx, "code": code})
    data["diagnoses"] = diagnoses
    return Chart.model_validate(data)


@pytest.mark.parametrize("path", CORRECTED, ids=[p.stem for p in CORRECTED])
def test_corrected_chart_needs_no_second_round(path: Path, ref):
    chart = fixture_chart(json.loads(path.read_text()))
    first = run_checks(chart, ref, only=CORRECTING).findings
    fixed = _apply(chart, first)
    assert [d.code for d in fixed.diagnoses] != [d.code for d in chart.diagnoses]
    again = [f for f in run_checks(fixed, ref, only=CORRECTING).findings if f.action == "correct"]
    assert again == [], [(f.check, f.code, f.suggested_codes) for f in again]


def test_there_are_corrections_to_re_check():
    assert len(CORRECTED) >= 15
