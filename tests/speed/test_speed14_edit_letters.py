"""The CMS sex and age edits that hold a code are found among those with a range of the code's first letter
only: the same edits, in the same order, as trying every range of every edit."""

from __future__ import annotations

from vma.checks.support.demographics.edits import load_edits
from vma.reference import default_reference


def test_every_codes_edits_are_those_every_range_gives():
    edits = load_edits()
    release = default_reference().icd_catalog.releases[-1]
    codes = [*release.codes(), "Z3A.10", "O09.529", "P07.01", "N40.0", "C61", "z00.129", "", "9", "ZZZ"]
    held = 0
    for code in codes:
        every = (tuple(e for e in edits.age if e.covers(code)), tuple(e for e in edits.sex if e.covers(code)))
        assert edits.covering(code) == every, code
        held += bool(every[0] or every[1])
    assert held > 4000  # the edits hold many codes, so the two ways were compared where they answer
