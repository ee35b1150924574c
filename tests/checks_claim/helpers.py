"""Building claim fixture charts and running only the claim edits on them."""

from __future__ import annotations

from vma.chart import chart_from_dict
from vma.checks import run_checks
from tests.conftest import base_chart

CLAIM_CHECKS = {"invalid-code", "modifier", "ncci-ptp", "mue", "place-of-service"}


def line(code: str, *modifiers: str, units: int = 1, pointers=(1,)) -> dict:
    return {"code": code, "modifiers": list(modifiers), "units": units, "diagnosis_pointers": list(pointers)}


def chart(procedures: list[dict], note: str | None = None, diagnoses: list[str] | None = None, **encounter) -> dict:
    overrides: dict = {"procedures": procedures}
    if note is not None:
        overrides["note"] = {"text": note}
    if diagnoses is not None:
        overrides["diagnoses"] = [{"code": c, "poa": None} for c in diagnoses]
    if encounter:
        overrides["encounter"] = encounter
    return base_chart(**overrides)


def findings(data: dict, ref, checks=None):
    report = run_checks(chart_from_dict(data), ref, only=set(checks) if checks else CLAIM_CHECKS)
    return report.findings


def of(found, check_id: str):
    return [f for f in found if f.check == check_id]
