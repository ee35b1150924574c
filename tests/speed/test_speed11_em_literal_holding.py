"""JoinedTexts.holding turns a literal that stands nowhere away with a plain look in the joined text, before placing
anything: the texts it names are still those whose lower case holds one of the literals, asked once or again."""

from __future__ import annotations

import random

from tests.speed.output_record import chart_notes
from vma.checks.support.new_or_established import _LITERALS, _whole_sentences
from vma.checks.support.scan import JoinedTexts

_WORDS = ["seen", "Seen", "last", "LAST", "visit", "vis", "it", "follow", "a", " ", ".", "met", "Metformin", "with me",
          "with", "me", "caring for", "x", "\u0130", "\x00", "known to ", "previous", "Previously"]
_LITERALS_TRIED = ("seen", "last", "visit", "follow", "met", "with me", "caring for", "known to ", "previous",
                   "zzz", "s", "me ")


def _expected(texts: list[str], literals) -> set[int]:
    if any(len(t.lower()) != len(t) or "\x00" in t for t in texts):
        return set(range(len(texts)))
    return {i for i, t in enumerate(texts) if any(literal in t.lower() for literal in literals)}


def test_holding_names_the_texts_holding_a_literal():
    rng = random.Random(131)
    for _ in range(4000):
        texts = ["".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 6))) for _ in range(rng.randint(0, 6))]
        joined = JoinedTexts(texts)
        for _ in range(3):  # asked again, the literals' places come from what the first asking found
            wanted = tuple(rng.sample(_LITERALS_TRIED, rng.randint(1, 4)))
            assert joined.holding(wanted) == _expected(texts, wanted), (texts, wanted)


def test_holding_on_the_notes_we_hold():
    for note in chart_notes():
        sentences, _ = _whole_sentences(note)
        texts = [s.text for s in sentences]
        joined = JoinedTexts(texts)
        for literals in _LITERALS.values():
            assert joined.holding(literals) == _expected(texts, literals)
