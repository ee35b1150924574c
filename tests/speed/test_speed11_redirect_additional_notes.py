"""The combination check matches the chart's codes only against the "use additional code" notes it reads the note for
(tobacco, or a detector's codes): the same additional-code findings as matching every note naming a code, on the
labelled charts and on charts given random codes with such notes, diabetes codes and the drug and tobacco wording the
detectors read."""

from __future__ import annotations

import random

import pytest

from tests.speed.output_record import chart_files
from vma.checks import CheckContext
from vma.checks.support.combinations import findings
from vma.checks.support.combinations.picture import TOBACCO_REFS
from vma.intake import parse_chart
from vma.reference import default_reference
from vma.reference.icd10cm import note_code_refs

FILES = {label: path for label, path in chart_files().items() if path.suffix == ".json"}
_WORDING = ("Takes Lantus 20 units nightly.", "Continues metformin 500 mg twice daily.", "On Ozempic weekly.",
            "Current smoker, 1 ppd.", "CKD stage 3b.", "Chronic systolic heart failure.", "Never smoker.")


def _every_note(release, code):
    """_additional_notes as it was: every note naming a code."""
    return tuple(findings._AdditionalNote(where, note, any(r.covers(t) for r in refs for t in TOBACCO_REFS))
                 for where, note in release.inherited_notes(code, "useAdditionalCode") if (refs := note_code_refs(note)))


def _found(ctx, codes):
    out = list(findings._additional_code_findings(ctx, codes, list(range(len(codes))), set()))
    return [(f.code, f.action, f.message, f.evidence, tuple(f.suggested_codes), f.target) for f in out]


def _charts():
    ref = default_reference()
    rng = random.Random(17)
    out = []
    paths = list(FILES.values())
    for path in paths:
        chart, _ = parse_chart(path.read_bytes())
        out.append((CheckContext(chart, ref), None))
    if not out:
        return out
    release = out[0][0].icd
    pool = [c for c in sorted(release.codes()) if release.is_billable(c)
            and c.startswith(("E11", "E10", "J44", "I25", "N18", "I50", "I11", "I12", "I13", "O24", "K70", "F17", "L97",
                              "B95", "N39", "Z79", "Z72"))]
    for i in range(150):
        path = paths[i % len(paths)]
        raw = path.read_bytes()
        chart, _ = parse_chart(raw)
        if chart.note is not None and chart.note.text:
            chart.note.text += "\n\nPLAN\n\n" + " ".join(rng.sample(_WORDING, 3))
        out.append((CheckContext(chart, ref), rng.sample(pool, rng.randint(1, 4))))
    return out


@pytest.mark.skipif(not FILES, reason="no labelled chart here")
def test_the_notes_read_give_the_findings_of_every_note(monkeypatch):
    charts = _charts()
    release = charts[0][0].icd

    def read():
        out = []
        for ctx, codes in charts:
            codes = codes or [dx.code for _, dx, _ in ctx.known_diagnoses()]
            out.append(_found(CheckContext(ctx.chart, default_reference()), [c for c in codes if c in release]))
        return out

    shortcut = read()
    # the notes left out are many: every code's notes naming a code the check never reads the note for
    left_out = sum(len(_every_note(release, c)) - len(findings._additional_notes(release, c))
                   for ctx, codes in charts for c in (codes or []) if c in release)
    assert left_out > 20
    with monkeypatch.context() as m:
        m.setattr(findings, "_additional_notes", _every_note)
        every = read()
    assert sum(map(len, every)) > 20
    assert shortcut == every
