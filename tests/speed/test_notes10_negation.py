"""is_negated_at's str and bytes shortcuts (the "non" look, the denial words after the word, the cue words before it)
answer as the patterns they stand for do."""

import random
import re

from tests.speed.test_notes2_negation import _PIECES, _full_reading
from vma.checks.support.notes import words as W

_MORE = ("absent", "excluded", "doubtful", "not likely", "not present", "NOT FAVORED", "not suspected", "ruled  out",
         "Resolved", "NON", "Non-", "non ", "snon", "/no", "no/", "free", "rules", "absence", "ñ", "ſ", "\u0131", "\n")
_SEPARATORS = ("", " ", " ", ", ", "/", ".", "-")


def _sentences(rng: random.Random, count: int):
    pieces = _PIECES + _MORE
    for _ in range(count):
        yield "".join(rng.choice(pieces) + rng.choice(_SEPARATORS) for _ in range(rng.randint(1, 14)))


def test_negation_agrees_with_the_full_reading_where_the_shortcuts_decide():
    rng = random.Random(10)
    for sentence in _sentences(rng, 15000):
        for pos in {m.start() for m in re.finditer(r"\w+", sentence)} | {rng.randint(0, len(sentence))}:
            assert W.is_negated_at(sentence, pos) == _full_reading(sentence, pos), (sentence, pos)


def test_the_cue_words_are_the_words_the_pattern_reads():
    rng = random.Random(11)
    for sentence in _sentences(rng, 5000):
        low = sentence.lower()
        for pos in range(len(low) + 1):
            fast = low[:pos].encode("ascii", "replace").translate(W._CUE_WORD_BYTES).split()
            assert [w.decode() for w in fast] == W._NEGATION_WORD.findall(low[:pos]), (low, pos)


def test_the_denial_words_hold_every_literal_of_the_patterns_gate():
    hints = ("not ", "resolved", "ruled out", "absent", "unlikely", "excluded", "doubtful")
    for literal in W._NEGATED_AFTER_FAST.gate_literals:
        assert any(hint in literal for hint in hints), literal
