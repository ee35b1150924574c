"""LiteralFinder.held, which looks for each literal with str's search in place of one sre pass of a trie of them
all, names for each text the literals its lower case holds, and nothing for a text holding none: the tests' gates
(unique_tests) read exactly the sentences and tests they read before."""

from __future__ import annotations

import random

from tests.speed.output_record import chart_notes
from vma.checks.support.mdm.data_and_risk import _test_gates
from vma.checks.support.scan import JoinedTexts, LiteralFinder

_PIECES = ["ct", "CT", "echo", "ecg", "EKG", "a1c", "lab", "labs", "b", "mp", "bmp", "cmp", " ", ".", ",", "x",
           "scr", "een", " screen", "lipid panel", "lipid", "panel", "\u0130", "k", "\u212a", "ultra", "sound"]
_LITERALS = ("ct", "echo", "ecg", "ekg", "a1c", "lab", "labs", "bmp", "cmp", "mp", " screen", "lipid panel",
             "ultrasound", "kk", "zzz", "e", "sound")


def _expected(texts: list[str], literals) -> dict[int, set[str]]:
    """Each text's literals, found one by one in its own lower case."""
    found = {i: {literal for literal in literals if literal in t.lower()} for i, t in enumerate(texts)}
    return {i: held for i, held in found.items() if held}


def test_held_names_each_texts_literals_on_generated_texts():
    rng = random.Random(1107)
    tried = 0
    for _ in range(4000):
        texts = ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(1, 7))]
        joined = JoinedTexts(texts)
        if joined.text is None:
            continue  # the callers read every text then, without a finder
        literals = rng.sample(_LITERALS, rng.randint(1, len(_LITERALS)))
        assert LiteralFinder(literals).held(joined) == _expected(texts, literals), (texts, literals)
        tried += 1
    assert tried > 1500  # most generated texts can be joined


def test_held_with_the_tests_gates_on_the_notes_we_hold():
    finder = _test_gates()[0]
    literals = finder._literals
    for note in chart_notes():
        for texts in ([s.text for s in note.sentences],
                      [s.text for s in note.sentences if s.section in ("results", "assessment", "plan")],
                      [section.title for section in note.sections]):
            joined = JoinedTexts(texts)
            if joined.text is not None:
                assert finder.held(joined) == _expected(texts, literals)
