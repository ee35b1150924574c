"""Precision of the tabular checks: a clean chart stays clear, and the spec examples get
from each check exactly the findings their expected output lists."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SPEC_EXAMPLES, base_chart
from vma.chart import Chart
from vma.checks import run_checks
from vma.intake import parse_chart

CHECKS = ["combination", "excludes1", "sex-age"]


@pytest.mark.parametrize("check", CHECKS)
def test_clean_base_chart_is_clear(ref, check):
    report = run_checks(Chart.model_validate(base_chart()), ref, only={check})
    assert report.findings == [] and report.status == "clear"


@pytest.mark.skipif(not SPEC_EXAMPLES.is_dir(), reason="shared spec examples not found")
@pytest.mark.parametrize("check", CHECKS)
def test_spec_examples_get_only_their_expected_findings(ref, check):
    for path in sorted(SPEC_EXAMPLES.glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        parsed, _ = parse_chart(path.read_bytes())
        expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())
        wanted = [f for f in expected["findings"] if f["check"] == check]
        got = json.loads(run_checks(parsed, ref, only={check}).model_dump_json())["findings"]
        assert len(got) == len(wanted), path.name
