"""A code's candidates are first tested, in one step, for the words each must say not to be passed over for
dropping one (Refiner.refinements), an unspecified code's siblings excepted: the candidates are those found by
reading every code of the pool in full."""

from __future__ import annotations

import random

from vma.checks.support.axes.index import axis_index
from vma.checks.support.refine import candidates
from vma.reference import default_reference


class _SaysEverything:
    """What a pool's code says, to a refiner that must read every candidate in full: every word."""

    def __ge__(self, required) -> bool:
        return True


class _ReadingEveryCandidate(candidates.Refiner):
    def _said_words(self, pool_of):
        everything = _SaysEverything()
        return {y: everything for y in self._pool_words(pool_of)[0]}


def _fields(r):
    return (r.code, r.side, r.acuity, r.terms, r.phrase, r.negated, r.residual, r.variants, r.site, r.replaces,
            r.site_terms, r.loose)


def test_the_required_words_pass_over_no_candidate_that_reading_it_in_full_keeps():
    release = default_reference().icd_catalog.releases[-1]
    index = axis_index(release)
    fast, full = candidates.Refiner(index), _ReadingEveryCandidate(index)
    codes = [c for c in release.codes() if index.split_seventh(c)[1] is None]
    # every code of categories with sides, acuities, stages and headers, and a random draw of the rest
    chosen = [c for c in codes if c[:3] in ("M17", "M25", "H40", "L89", "J44", "I50", "E11", "N18", "M54", "G43")]
    chosen += random.Random(5).sample(codes, 3000)
    kept = passed_over = 0
    for code in chosen:
        a = [_fields(r) for r in fast.refinements(code)]
        assert a == [_fields(r) for r in full.refinements(code)], code
        kept += len(a)
    assert kept > 5000  # candidates were found, and found alike
    # the test ran where it passes candidates over, in pools read once for several codes: codes stating their
    # condition in full, and unspecified codes, whose siblings dropping a word are read on
    assert sum(not fast.is_header(c) and "unspecified" not in index.words(c) for c in chosen) > 1000
    assert sum(not fast.is_header(c) and "unspecified" in index.words(c) for c in chosen) > 300
    assert fast._said_words.cache_info().hits > 1000
