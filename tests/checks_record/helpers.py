"""Shared helpers for the record-level check tests."""

from __future__ import annotations

from datetime import date

from tests.conftest import base_chart
from vma.chart import Chart
from vma.checks import CheckContext, all_checks, run_checks


def chart(**overrides) -> Chart:
    return Chart.model_validate(base_chart(**overrides))


def findings(ref, check_id: str, today: date | None = None, module: str | None = None, **overrides):
    """The findings of one check on a base chart with overrides, run through the check function itself
    (so ``today`` can be pinned on the context)."""
    ctx = CheckContext(chart(**overrides), ref)
    if today is not None:
        ctx.today = today
    out = []
    for spec in all_checks():
        if spec.id == check_id and (module is None or spec.module == f"vma.checks.{module}"):
            out.extend(spec.fn(ctx))
    return out


def engine(ref, **overrides):
    return run_checks(chart(**overrides), ref)
