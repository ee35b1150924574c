"""The shared spec examples through the whole engine and the `vma check` command.

Each example's `.expected.json` is what a good checker prints; we compare the
parts that carry meaning (check, action, code, suggested codes, and for queries
the options), not the prose.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SPEC_EXAMPLES
from tests.checking import essence
from vma.checks import run_checks
from vma.intake import parse_chart

if not SPEC_EXAMPLES.is_dir():
    pytest.skip(f"shared spec examples not found at {SPEC_EXAMPLES}", allow_module_level=True)

CHARTS = sorted(p for p in SPEC_EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json"))


def expected_for(path: Path) -> dict:
    return json.loads(path.with_name(path.stem + ".expected.json").read_text())


@pytest.mark.parametrize("path", CHARTS, ids=[p.stem for p in CHARTS])
def test_example_gives_expected_findings(path: Path, ref):
    chart, _ = parse_chart(path.read_bytes())
    report = json.loads(run_checks(chart, ref).model_dump_json())
    expected = expected_for(path)
    assert report["chart_id"] == expected["chart_id"]
    assert [essence(f) for f in report["findings"]] == [essence(f) for f in expected["findings"]]
    assert report["status"] == expected["status"]


def test_hl7_example_gives_the_same_line_as_its_json(ref):
    hl7_path = SPEC_EXAMPLES / "laterality-correct-shoulder.hl7"
    chart, fmt = parse_chart(hl7_path.read_bytes())
    assert fmt == "hl7"
    report = json.loads(run_checks(chart, ref).model_dump_json())
    expected = json.loads((SPEC_EXAMPLES / "laterality-correct-shoulder.expected.json").read_text())
    assert [essence(f) for f in report["findings"]] == [essence(f) for f in expected["findings"]]


def test_check_command_json_lines_and_exit_codes(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"chart_id": "X", "patient": {}, "encounter": {}, "provider": {}, "note": {}, "procedures": [{"code": "99213", "units": "two"}]}')
    clean = SPEC_EXAMPLES / "clean-office-visit.json"
    run = subprocess.run([sys.executable, "-m", "vma.cli", "check", "--json", str(clean), str(bad)],
                         capture_output=True, text=True)
    assert run.returncode == 2
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert lines[0]["status"] == "clear"
    assert lines[1]["status"] == "invalid"
    assert "bad.json" in run.stderr and "procedures.0.units" in run.stderr

    run = subprocess.run([sys.executable, "-m", "vma.cli", "check", str(clean)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr

    query = SPEC_EXAMPLES / "laterality-query-elbow.json"
    run = subprocess.run([sys.executable, "-m", "vma.cli", "check", str(clean), str(query)], capture_output=True, text=True)
    assert run.returncode == 1
    assert "M19.029" in run.stdout and "Clinically undetermined" in run.stdout


def test_check_reads_stdin():
    clean = (SPEC_EXAMPLES / "clean-office-visit.json").read_bytes()
    run = subprocess.run([sys.executable, "-m", "vma.cli", "check", "--json", "-"], input=clean, capture_output=True)
    assert run.returncode == 0
    assert json.loads(run.stdout)["chart_id"] == "ENC-900101"
