"""Gate words: a gate's trie regex read back into its words, and the sentences each gate lets through found by
looking for those words agree with the gate's own regex."""

from __future__ import annotations

from vma.checks.support.episode import _scanners
from vma.checks.support.gate_words import gate_words, gates_passed, lowered_sentences, trie_words
from vma.checks.support.notes.patterns import _trie_regex


def test_trie_words_reads_back_what_the_trie_was_built_from():
    words = {"cef", "cillin", "in ", "a.b", "x(y)", "just ", "day"}
    assert sorted(trie_words(_trie_regex(words))) == sorted(words)
    for _, pattern in _scanners():
        words = gate_words(pattern)
        if words is not None:
            assert _trie_regex(set(words)) == pattern.gate.pattern


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
