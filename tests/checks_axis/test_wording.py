"""What a coder or physician reads must read right: no doubled words ("acute on chronic
chronic"), no empty brackets, every message naming the code it is about."""

from __future__ import annotations

import json
import re

import pytest

from tests.checks_axis.test_axis_checks import FIXTURE_FILES, fixture_chart
from tests.conftest import SPEC_EXAMPLES
from vma.checks import run_checks
from vma.intake import parse_chart

_DOUBLED = re.compile(r"\b(\w+)\s+\1\b", re.I)
_ALLOWED_DOUBLES = {"that that"}


def _texts(report):
    for f in report.findings:
        yield f.check, f.message
        if f.question:
            yield f.check, f.question
        for option in f.options:
            yield f.check, option


def _problems(report) -> list[str]:
    out = []
    for check, text in _texts(report):
        doubled = [m.group(0) for m in _DOUBLED.finditer(text) if m.group(0).lower() not in _ALLOWED_DOUBLES
                   and not m.group(1).isdigit()]
        if doubled or "()" in text or "  " in text or text != text.strip():
            out.append(f"{check}: {text!r}")
    return out


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_fixture_findings_read_right(path, ref):
    report = run_checks(fixture_chart(json.loads(path.read_text())), ref)
    assert _problems(report) == []
    for f in report.findings:
        if f.code and f.check in ("laterality", "acuity", "specificity", "seventh-character"):
            assert f.code in f.message
            for code in f.suggested_codes:
                assert code in f.message  # the message names the code actually kept


@pytest.mark.skipif(not SPEC_EXAMPLES.is_dir(), reason="shared spec examples not found")
def test_spec_example_findings_read_right(ref):
    for path in sorted(p for p in SPEC_EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json")):
        chart, _ = parse_chart(path.read_bytes())
        assert _problems(run_checks(chart, ref)) == [], path.name


def test_acuity_question_never_repeats_the_acuity(ref):
    from vma.checks.support.axes.wording import condition_name

    assert condition_name("Chronic systolic (congestive) heart failure", without_acuity=True) == \
        "systolic heart failure"
    assert condition_name("Bronchitis, not specified as acute or chronic", without_acuity=True) == "bronchitis"
    assert condition_name("Unspecified asthma, uncomplicated") == "asthma"
