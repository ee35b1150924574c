"""The tests' literal gates over joined sentences name exactly the sentences each test's own gate lets through."""

from __future__ import annotations

from vma.checks.support.mdm.wording import _TESTS
from vma.checks.support.scan import JoinedTexts

SENTENCES = [
    "Labs reviewed: CBC and CMP are normal.",
    "X-ray of the left knee shows no fracture; MRI ordered.",
    "Echocardiogram last year. EKG today: sinus rhythm.",
    "No imaging today.",
    "Uric acid level in 4 weeks; repeat A1c and lipid panel.",
    "CT chest, ultrasound abdomen and a sleep study were discussed.",
]


def test_each_tests_gate_names_the_sentences_its_gate_search_finds():
    joined = JoinedTexts(SENTENCES)
    named = 0
    for _name, rx in _TESTS:
        expected = set(range(len(SENTENCES))) if rx.gate is None else \
            {i for i, s in enumerate(SENTENCES) if rx.gate.search(s.lower())}
        assert joined.holding(rx.gate_literals) == expected, rx.pattern
        named += bool(expected) and rx.gate is not None
    assert named >= 10  # the sentences open many tests' gates, more than once in some


def test_a_sentence_whose_lower_case_is_longer_is_tried_for_every_test():
    joined = JoinedTexts(["\u0130nr checked.", "CBC normal."])
    for _name, rx in _TESTS:
        assert joined.holding(rx.gate_literals) == {0, 1}
