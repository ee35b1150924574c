"""A candidate documentation() skips because none of the words it needs stands with the condition would have
documented nothing: reading every candidate in full gives the same Documentation on every labelled chart."""

from __future__ import annotations

import pytest

from tests.speed.output_record import chart_files
from vma.checks import CheckContext
from vma.checks.support.axes.index import axis_index
from vma.checks.support.refine import documented
from vma.intake import parse_chart
from vma.reference import default_reference

FILES = {label: path for label, path in chart_files().items() if path.suffix == ".json"}


def _read(path) -> dict:
    """What documentation() finds for each diagnosis of the chart, in comparable form."""
    chart, _ = parse_chart(path.read_bytes())
    ctx = CheckContext(chart, default_reference())
    index = axis_index(ctx.icd)
    out = {}
    for _position, dx, _entry in ctx.known_diagnoses():
        base = index.split_seventh(dx.code)[0]
        if base not in index.release:
            continue
        doc = documented.documentation(ctx.note, index, base, ctx.outpatient)
        out[dx.code] = (
            [(k, [s.start for s in v]) for k, v in doc.terms.items()],
            [(k, [s.start for s in v]) for k, v in doc.full.items()],
            sorted(doc.hinted), sorted(doc.by_inclusion), doc.defaulted)
    return out


def _ungated(ref, code):
    return tuple(reading._replace(gate=None) for reading in _gated(ref, code))


_gated = documented._reading_plan


@pytest.mark.skipif(not FILES, reason="no labelled chart here")
def test_skipping_candidates_whose_words_are_absent_changes_no_documentation(monkeypatch):
    gated = {label: _read(path) for label, path in FILES.items()}
    monkeypatch.setattr(documented, "_reading_plan", _ungated)
    for label, path in FILES.items():
        assert _read(path) == gated[label], label
