"""Gate words: the sentences each gate lets through, found by looking for its literals, agree with the gate's
own regex."""

from __future__ import annotations

from vma.checks.support.episode import _scanners
from vma.checks.support.gate_words import gates_passed, lowered_sentences


def test_gates_passed_matches_each_gate_regex():
    texts = ["He fell yesterday and hurt his wrist.", "X-rays were obtained today.", "Follow up in 2 weeks.",
             "No acute distress.", "Status post ORIF 3 years ago.", "The day before, he was seen in the ED."]
    patterns = [pattern for _, pattern in _scanners()]

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
