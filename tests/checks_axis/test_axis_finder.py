"""The axis finder over the whole tabular: a sample of billable codes runs without error
and the axes it finds are well formed."""

from __future__ import annotations

import random

from vma.checks.support.axes.evidence import condition_mentions
from vma.checks.support.axes.index import axis_index
from vma.checks.support.axes.words import ACUITY, LATERALITY, SPECIFICITY
from vma.checks.support.notes.document import NoteDoc


def test_axis_finder_runs_over_2000_billable_codes(ref):
    release = ref.icd_for(None)
    index = axis_index(release)
    billable = sorted(c for c in release.codes() if release.is_billable(c))
    sample = random.Random(20261116).sample(billable, 2000)
    note = NoteDoc("ASSESSMENT\n\nRight knee pain. Chronic kidney disease stage 3a. Acute bronchitis.")
    seen = {LATERALITY: 0, ACUITY: 0, SPECIFICITY: 0}
    for code in sample:
        for name, axis in index.axes(code).items():
            seen[name] += 1
            assert axis.siblings and all(s.code in release for s in axis.siblings)
            assert index.split_seventh(code)[0] == axis.code
            assert axis.code not in {s.code for s in axis.siblings}
            if name == LATERALITY:
                assert {s.value for s in axis.siblings} <= {"right", "left", "bilateral"}
        condition_mentions(note, index, code, outpatient=True)
    # Laterality is everywhere in the musculoskeletal, eye, ear and injury chapters.
    assert seen[LATERALITY] > 200 and seen[ACUITY] > 0 and seen[SPECIFICITY] > 50, seen


def test_seventh_character_leaves_are_recognised(ref):
    index = axis_index(ref.icd_for(None))
    assert index.needs_seventh("S93.402") and index.needs_seventh("T21.11")
    assert not index.needs_seventh("S93.40") and not index.needs_seventh("M25.519")
    assert index.split_seventh("S82.61XA") == ("S82.61", "A")
    assert index.split_seventh("M25.519") == ("M25.519", None)
