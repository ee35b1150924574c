"""Gate words: the sentences each gate lets through, found by looking for its literals, agree with the gate's
own regex."""

from __future__ import annotations

import random

import pytest

from vma.checks.support.episode import _scanners
from vma.checks.support.gate_words import gates_passed, lowered_sentences


def test_gates_passed_matches_each_gate_regex():
    texts = ["He fell yesterday and hurt his wrist.", "X-rays were obtained today.", "Follow up in 2 weeks.",
             "No acute distress.", "Status post ORIF 3 years ago.", "The day before, he was seen in the ED."]
    patterns = tuple(pattern for _, pattern in _scanners())

    class Sentence:
        def __init__(self, text: str):
            self.text = text

    lowered = lowered_sentences([Sentence(t) for t in texts])
    for pattern, hits in zip(patterns, gates_passed(lowered, patterns)):
        expected = {i for i, t in enumerate(lowered) if pattern.gate is None or pattern.gate.search(t)}
        assert (set(range(len(texts))) if hits is None else hits) == expected


def test_text_changing_length_when_lower_cased_is_left_to_the_patterns():
    class Sentence:
        text = "\u0130stanbul"  # lower-cases to two characters

    assert lowered_sentences([Sentence()]) is None


class _Sentence:
    def __init__(self, text: str):
        self.text = text


@pytest.mark.parametrize("seed", range(15))
def test_gates_passed_matches_each_gate_regex_on_random_sentences(seed):
    """Random sentences made of gate words (run together, cut, repeated) and odd characters, read twice
    (the second time from the gate words worked out once for these patterns)."""
    rng = random.Random(seed)
    patterns = tuple(pattern for _, pattern in _scanners())
    words = sorted({w for p in patterns for w in (p.gate_literals or ())})
    pieces = [*words, " ", ".", "-", "x", "é", "\n", "0"]
    texts = ["".join(rng.choice(pieces) if rng.random() < 0.6 else rng.choice(words)[: rng.randint(1, 6)]
                     for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(1, 9))]
    lowered = lowered_sentences([_Sentence(t) for t in texts])
    assert lowered is not None
    for _ in range(2):
        for pattern, hits in zip(patterns, gates_passed(lowered, patterns)):
            expected = {i for i, t in enumerate(lowered) if pattern.gate is None or pattern.gate.search(t)}
            assert (set(range(len(texts))) if hits is None else hits) == expected
    # a subset of the patterns, in another order, gets its own reading
    some = tuple(reversed(patterns[::2]))
    for pattern, hits in zip(some, gates_passed(lowered, some)):
        expected = {i for i, t in enumerate(lowered) if pattern.gate is None or pattern.gate.search(t)}
        assert (set(range(len(texts))) if hits is None else hits) == expected
