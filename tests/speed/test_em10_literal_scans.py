"""Literal scans of joined texts: a literal that stands nowhere is turned away after one search, the literals of many
patterns are found in one pass of a trie over the texts, and the tests a sentence may name are those each test's own
literals would name."""

from __future__ import annotations

import random

import pytest

from tests.speed.output_record import chart_notes
from vma.checks.support.mdm import data_and_risk
from vma.checks.support.mdm.wording import _TESTS
from vma.checks.support.scan import JoinedTexts, LiteralFinder

_WORDS = ["ct", "CT", "cta", "act", "echo", "stress", "stress echo", "Echocardiogram", "lab", "labs", " screen",
          "screen", "a", "ab", "abc", "b", " ", ".", "\x00", "\u0130", "x-ray", "ray", "xr"]
_LITERALS = ("ct", "cta", "ctab", "echo", "echocardiogram", "stress echo", "lab", " screen", "a", "ab", "abc", "ray",
             "x-ray", "zzz")


def _random_texts(rng: random.Random) -> list[str]:
    return ["".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 7))) for _ in range(rng.randint(0, 7))]


def _usable(texts: list[str]) -> bool:
    return all(len(t.lower()) == len(t) and "\x00" not in t for t in texts)


def test_each_literal_is_found_in_the_texts_that_hold_it():
    """``places`` and ``holding`` name the texts whose lower case holds a literal, whether it stands nowhere (one
    search), once, or in several texts."""
    rng = random.Random(10)
    for _ in range(3000):
        texts = _random_texts(rng)
        joined = JoinedTexts(texts)
        if joined.text is None:
            assert texts == [] or not _usable(texts)
            assert joined.holding(_LITERALS) == set(range(len(texts)))
            continue
        for literal in rng.sample(_LITERALS, len(_LITERALS)):
            expected = {i for i, t in enumerate(texts) if literal in t.lower()}
            assert set(joined.places(literal)) == expected, (texts, literal)
            assert joined.holding((literal, "zzz")) == expected, (texts, literal)
        assert joined.holding(_LITERALS) == {i for i, t in enumerate(texts) if any(w in t.lower() for w in _LITERALS)}


def test_one_pass_finds_every_literal_a_search_for_each_finds():
    """Literals that begin with others, stand inside others or overlap them are each found where they stand."""
    rng = random.Random(11)
    finder = LiteralFinder(_LITERALS)
    for _ in range(3000):
        texts = [t for t in _random_texts(rng) if "\x00" not in t]
        joined = JoinedTexts(texts)
        if joined.text is None:
            continue
        expected = {i: {w for w in _LITERALS if w in t.lower()} for i, t in enumerate(texts)}
        assert finder.held(joined) == {i: held for i, held in expected.items() if held}, texts


def _tests_held_one_test_at_a_time(joined: JoinedTexts) -> dict[int, list[int]]:
    """Each test's literals looked for on their own (``holding``), as the tests were read before."""
    held: dict[int, list[int]] = {}
    for k, (name, rx) in enumerate(_TESTS):
        for i in joined.holding(data_and_risk._TEST_GATES.get(name, rx).gate_literals):
            held.setdefault(i, []).append(k)
    return {i: held[i] for i in sorted(held)}


@pytest.fixture(scope="module")
def notes():
    return chart_notes()


def test_tests_held_are_each_tests_own(notes):
    """The tests a sentence or a heading is tried for, on the recorded notes and on texts built from the tests'
    literals, are those each test's own literals name."""
    assert notes
    for note in notes:
        for texts in ([s.text for s in note.sentences], [s.title for s in note.sections]):
            joined = JoinedTexts(texts)
            assert data_and_risk._tests_held(joined) == _tests_held_one_test_at_a_time(joined)
    literals = sorted({w for name, rx in _TESTS for w in data_and_risk._TEST_GATES.get(name, rx).gate_literals})
    rng = random.Random(12)
    for _ in range(300):
        texts = [" ".join(rng.choice(literals + ["Labs", "EKG", "the", "\u0130"]) for _ in range(rng.randint(0, 5)))
                 for _ in range(rng.randint(0, 6))]
        joined = JoinedTexts(texts)
        assert data_and_risk._tests_held(joined) == _tests_held_one_test_at_a_time(joined), texts
