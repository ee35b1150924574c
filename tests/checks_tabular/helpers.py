"""Fixture charts for the tabular checks, built from tests.conftest.base_chart."""

from __future__ import annotations

import json

from tests.conftest import base_chart
from vma.chart import Chart
from vma.checks import run_checks


def chart(note: str, codes: list[str], **overrides) -> Chart:
    raw = base_chart(note={"text": note}, diagnoses=[{"code": c, "poa": None} for c in codes], **overrides)
    return Chart.model_validate(raw)


def findings(ref, check_id: str, note: str, codes: list[str], **overrides) -> list[dict]:
    report = run_checks(chart(note, codes, **overrides), ref, only={check_id})
    return json.loads(report.model_dump_json())["findings"]


def assessment(*lines: str) -> str:
    body = "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))
    return f"CHIEF COMPLAINT\n\nFollow-up.\n\nASSESSMENT AND PLAN\n\n{body}\n\nI spent 25 minutes with the patient today."
