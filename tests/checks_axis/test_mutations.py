"""Mutation tests on the project's labelled clean charts: take a chart a second coder marked clean,
make one of its codes less specific the way a busy coder does, and the checks must notice that code.

The mutations come from the tabular, not from a list: the code's non-billable parent (header), the
code of the other side where the code has a side, and the base code without its 7th character.
Each mutated code must get a ``correct`` or ``query`` finding, and a correction of a header or a
side must lead back to the code the note documents (the clean chart's own).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vma.checks.support.axes.index import axis_index
from vma.checks.support.axes.words import LATERALITY
from vma.chart import Chart
from vma.checks import run_checks

ROOT = Path(__file__).resolve().parents[1]
CLEAN = []
for expected in sorted(ROOT.glob("evalset*/expected.jsonl")):
    for line in expected.read_text().splitlines():
        label = json.loads(line)
        if label["status"] == "clear" and not label["expect"]:
            CLEAN.append(expected.parent / "cases" / f"{label['chart_id']}.json")


@pytest.fixture(scope="module")
def mutants(ref):
    from vma.reference.icd10cm_load import catalog

    rel = catalog().releases[-1]
    index = axis_index(rel)
    found = []
    for path in CLEAN:
        chart = json.loads(path.read_text())
        for i, dx in enumerate(chart["diagnoses"]):
            code = dx["code"]
            if code not in rel:
                continue
            base, seventh = index.split_seventh(code)
            parent = rel.parent(base)
            if parent and not rel.is_billable(parent):
                found.append((f"{path.stem}-{i}-header", "header", chart, i, code, parent))
            lat = index.axis(base, LATERALITY)
            if lat is not None and lat.value in ("right", "left"):
                other = [s.code for s in lat.siblings if s.value in ("right", "left") and s.value != lat.value]
                if other:
                    mutated = rel.with_seventh(other[0], seventh) if seventh else other[0]
                    found.append((f"{path.stem}-{i}-side", "side", chart, i, code, mutated))
            if seventh:
                found.append((f"{path.stem}-{i}-no7th", "no7th", chart, i, code, base))
    return found


def test_there_are_clean_charts_and_mutants_to_check(mutants):
    assert len(CLEAN) >= 60
    kinds = {m[1] for m in mutants}
    assert kinds == {"header", "side", "no7th"} and len(mutants) >= 150


def test_every_mutated_code_is_noticed_and_led_back_to_the_documented_code(mutants, ref):
    silent, astray = [], []
    for name, kind, chart, i, original, mutated in mutants:
        data = json.loads(json.dumps(chart))
        data["diagnoses"][i]["code"] = mutated
        report = run_checks(Chart.model_validate(data), ref)
        on_code = [f for f in report.findings if f.code == mutated and f.action in ("correct", "query")]
        if not on_code:
            silent.append(name)
        elif kind in ("side", "no7th") and not any(original in f.suggested_codes for f in on_code):
            astray.append((name, [(f.check, f.action, f.suggested_codes) for f in on_code]))
    assert silent == []
    assert astray == []
