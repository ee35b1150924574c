"""The context's known diagnoses, looked up once per chart, are what looking each code up again gives."""

from __future__ import annotations

import random

import pytest

from tests.checking import record_chart
from vma.checks import CheckContext

CODES = ["I10", "M25.561", "S93.402A", "E11.9", "Z79.84", "m25561", "j189", "S93.401", "XYZ", "", "E11",
         "M25.5A", "T21.11A", "R05.9", "I10"]


def _looked_up_again(ctx: CheckContext):
    return [(i, dx, ctx.icd.get(dx.code)) for i, dx in enumerate(ctx.chart.diagnoses)
            if ctx.icd.get(dx.code) is not None]


@pytest.mark.parametrize("seed", range(12))
def test_known_diagnoses_are_each_code_looked_up(ref, seed):
    rng = random.Random(seed)
    codes = [rng.choice(CODES) for _ in range(rng.randint(0, 8))]
    codes += ["".join(rng.choice("ABEIMSZ0123456789.") for _ in range(rng.randint(1, 8)))]
    ctx = CheckContext(record_chart(diagnoses=[{"code": c, "poa": None} for c in codes]), ref)
    expected = _looked_up_again(ctx)
    first = ctx.known_diagnoses()
    assert first == expected
    first.clear()  # a reader's list is its own
    assert ctx.known_diagnoses() == expected
    assert any(code in ("I10", "E11.9") for code in codes) <= bool(expected)
