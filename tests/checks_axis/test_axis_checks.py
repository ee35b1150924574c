"""The axis checks (laterality, acuity, specificity, seventh-character) on the spec
examples and on their fixture charts, written in the style of public de-identified notes.

The fixtures are in ``tests/fixtures/<check-id>/`` for the four checks, each with a note, the
proposed diagnosis codes and the findings these four checks must give (an empty list: they
stay silent); ``tests/test_check_fixtures.py`` runs them. Here: what every finding on them keeps.
"""

from __future__ import annotations

import json

import pytest

from tests.checking import essence, fixture_chart, fixture_files, load_fixture
from tests.conftest import SPEC_EXAMPLES
from vma.chart import Chart
from vma.checks import run_checks
from vma.intake import parse_chart

AXIS_CHECKS = {"laterality", "acuity", "specificity", "seventh-character"}
FIXTURE_FILES = [path for check in sorted(AXIS_CHECKS) for path in fixture_files(check)]
EXAMPLES = ("laterality-query-elbow", "laterality-correct-shoulder", "seventh-character-ankle",
            "clean-office-visit", "em-time-mismatch", "inpatient-poa-query")


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


def test_there_are_at_least_six_fixtures_per_check():
    counts = {check: len(fixture_files(check)) for check in AXIS_CHECKS}
    assert min(counts.values()) >= 6, counts


def test_findings_cite_the_note_and_queries_are_not_leading(ref):
    banned = ("please document", "should be", "reimburse", "payment", "drg")
    for path in FIXTURE_FILES:
        data = load_fixture(path)
        report = run_checks(fixture_chart(data), ref, only=AXIS_CHECKS)
        for f in report.findings:
            assert f.severity == "error" and f.target and f.target.startswith("diagnosis:")
            assert f.code in f.message
            if f.action == "query":
                text = f"{f.question} {f.message}".lower()
                assert not any(b in text for b in banned), (path.stem, f.question)
                assert f.options[-2:] == ["Other", "Clinically undetermined"]
                assert all(c.codes for c in f.choices if c.kind == "code")
