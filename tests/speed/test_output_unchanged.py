"""A speed-up changes no finding: ``vma check --json`` prints, byte for byte, what was recorded for every
labelled chart (``tests/speed/output_record.py`` says how the record is made and renewed)."""

from __future__ import annotations

import json

import pytest

from tests.speed.output_record import RECORD, chart_files, check_output

RECORDED = {r["chart"]: r for r in map(json.loads, RECORD.read_text().splitlines())}
FILES = chart_files()


def test_every_recorded_chart_is_still_here_and_every_chart_is_recorded():
    local = {label for label in RECORDED if label.startswith("tests/")}
    assert local <= set(FILES), f"recorded but gone: {sorted(local - set(FILES))[:5]}"
    assert set(FILES) <= set(RECORDED), f"not recorded: {sorted(set(FILES) - set(RECORDED))[:5]}"


@pytest.mark.parametrize("label", sorted(RECORDED))
def test_check_output_is_byte_identical_to_the_record(label):
    if label not in FILES:
        pytest.skip(f"{label} is beside the clone, in ../shared, which is not here")
    assert check_output(label, FILES[label]) == RECORDED[label]
