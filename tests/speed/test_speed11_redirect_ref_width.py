"""How many codes a diabetes note's range covers: the categories tried are those whose second character lies between
the range's own, not every category of its letter; the same width for every range the tabular's notes name and for
ranges drawn at random (reversed, one category wide, characters outside the code alphabet)."""

from __future__ import annotations

import random

import pytest

from tests.speed.output_record import labelled_release
from vma.checks.support.combinations import diabetes
from vma.reference.icd10cm import CodeRef, note_code_refs


def _every_category(release, ref: CodeRef) -> int:
    """_ref_width as it was: every category of the range's letter tried."""
    lo, hi = ref.first, ref.last
    if lo == hi:
        return 1 + sum(1 for _ in release.descendants(lo)) if lo in release else diabetes._UNBOUNDED
    if lo[0] != hi[0]:
        return diabetes._UNBOUNDED
    count = 0
    for a in diabetes._ALNUM:
        for b in diabetes._ALNUM:
            category = lo[0] + a + b
            if lo[:3] <= category <= hi[:3] and category in release:
                count += sum(1 for c in (category, *release.descendants(category)) if ref.covers(c))
    return count or diabetes._UNBOUNDED


def test_the_width_of_each_range_is_that_of_trying_every_category():
    release = labelled_release()
    if release is None:
        pytest.skip("no labelled chart here")
    rng = random.Random(13)
    refs = {r for rule in (diabetes.diabetes_table(release).rules(c) for c in diabetes.DIABETES_CATEGORIES)
            for r in (x for d in rule for x in d.refs)}
    codes = sorted(release.codes())
    for code in codes:
        for kind in ("useAdditionalCode", "codeFirst", "excludes1", "codeAlso"):
            for note in release.notes(code, kind):
                refs.update(r for r in note_code_refs(note) if r.first != r.last)
    ranged = [r for r in refs if r.first != r.last]
    assert len(ranged) > 50
    alphabet = diabetes._ALNUM + "a.-"
    for _ in range(300):
        letter = rng.choice("ELMNIST")
        lo = letter + rng.choice(alphabet) + rng.choice(alphabet) + rng.choice(("", ".1", ".9", ".-"))
        hi = letter + rng.choice(alphabet) + rng.choice(alphabet) + rng.choice(("", ".1", ".9"))
        ranged.append(CodeRef(lo, hi))
    ranged += [CodeRef("L97.1", "L97.9"), CodeRef("N18.1", "N18.6"), CodeRef("E08", "E13"), CodeRef("L9", "L97")]
    wide = 0
    for ref in ranged:
        got = diabetes._ref_width(release, ref)
        assert got == _every_category(release, ref), (ref.first, ref.last)
        wide += got != diabetes._UNBOUNDED
    assert wide > 50
