"""The word similarity the axis checks use is rapidfuzz's ratio, to the same float."""

from __future__ import annotations

import random

import pytest

from vma.axes import indel_ratio, same_word


@pytest.mark.parametrize("a,b,expected", [
    ("", "", 100.0), ("", "abc", 0.0), ("abc", "", 0.0), ("abc", "abc", 100.0),
    ("kitten", "sitting", 100 * (1 - 5 / 13)),
    ("hypertension", "hypotension", (1.0 - 3 / 23) * 100),
    ("osteoarthritis", "osteoarthritic", (1.0 - 2 / 28) * 100),
])
def test_known_values(a, b, expected):
    assert indel_ratio(a, b) == expected


def test_same_as_rapidfuzz_on_words_and_their_misspellings():
    fuzz = pytest.importorskip("rapidfuzz.fuzz")
    rnd = random.Random(11)
    words = ["hypertension", "hypotension", "osteoarthritis", "cholecystitis", "bronchitis", "fibrillation",
             "tendinopathy", "radiculopathy", "hyperlipidemia", "hyperglycemia", "hypoglycemia", "retinopathy",
             "neuropathy", "nephropathy", "pneumonia", "exacerbation", "obstructive", "gastroesophageal"]
    pairs = [(a, b) for a in words for b in words]
    for w in words:
        for _ in range(200):
            chars = list(w)
            i = rnd.randrange(len(chars))
            op = rnd.randrange(3)
            if op == 0:
                chars[i] = rnd.choice("abcdefghijklmnopqrstuvwxyz")
            elif op == 1:
                del chars[i]
            else:
                chars.insert(i, rnd.choice("aeiouy"))
            pairs.append((w, "".join(chars)))
    for a, b in pairs:
        assert indel_ratio(a, b) == fuzz.ratio(a, b), (a, b)


def test_the_fuzzy_bound_keeps_near_words_apart():
    assert not same_word("hypotension", "hypertension")
    assert same_word("osteoarthritic", "osteoarthritis")
