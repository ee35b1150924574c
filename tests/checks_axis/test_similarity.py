"""The word-similarity ratio the axis checks use is rapidfuzz's ``fuzz.ratio``, to the last bit of the
float: compared on random words, on words a few edits apart, and on the tabular's own long words."""

from __future__ import annotations

import random

import pytest
from rapidfuzz import fuzz

from vma.checks.support.axes.similarity import common_subsequence_length, indel_ratio
from vma.checks.support.axes.words import same_word

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _edited(rng: random.Random, word: str, edits: int) -> str:
    letters = list(word)
    for _ in range(edits):
        at = rng.randrange(len(letters) + 1)
        kind = rng.randrange(3)
        if kind == 0 or not letters:
            letters.insert(at, rng.choice(LETTERS))
        elif kind == 1:
            letters.pop(min(at, len(letters) - 1))
        else:
            letters[min(at, len(letters) - 1)] = rng.choice(LETTERS)
    return "".join(letters)


def test_the_ratio_is_rapidfuzz_s_on_random_and_nearby_words():
    rng = random.Random(11)
    for _ in range(20000):
        a = "".join(rng.choice(LETTERS[:rng.randint(2, 26)]) for _ in range(rng.randint(0, 30)))
        b = _edited(rng, a, rng.randint(0, 3)) if rng.random() < 0.6 else "".join(
            rng.choice(LETTERS[:rng.randint(2, 26)]) for _ in range(rng.randint(0, 30)))
        assert indel_ratio(a, b) == fuzz.ratio(a, b), (a, b)


def test_the_ratio_is_rapidfuzz_s_on_the_tabular_s_long_words():
    from vma.reference import default_reference

    release = default_reference().icd_for(None)
    words = sorted({w for code in list(release.codes())[:6000] for w in release.get(code).description.lower().split()
                    if len(w) >= 8 and w.isalpha()})
    assert len(words) > 300
    rng = random.Random(5)
    for _ in range(20000):
        a = rng.choice(words)
        b = _edited(rng, a, rng.randint(1, 3)) if rng.random() < 0.5 else rng.choice(words)
        assert indel_ratio(a, b) == fuzz.ratio(a, b), (a, b)


@pytest.mark.parametrize(("a", "b", "length"), [("", "abc", 0), ("abc", "abc", 3), ("abcbdab", "bdcaba", 4),
                                                ("hypertension", "hypotension", 10)])
def test_the_common_subsequence(a, b, length):
    assert common_subsequence_length(a, b) == common_subsequence_length(b, a) == length


def test_close_inflections_match_and_opposites_do_not():
    assert same_word("dislocations", "dislocation") and same_word("fracturing", "fractured") is False
    assert same_word("hypertension", "hypotension") is False
