"""tokens() reads ASCII text without an apostrophe through byte translation instead of sre, with the same result."""

import random
from itertools import accumulate

from vma.checks.support.notes import words as word_reading
from vma.checks.support.notes.words import tokens

_PIECES = ["L", "C", "T", "l", "4", "5", "12", " ", "  ", "-", "\x00", "\t", "\n", "a", "B", "x", "herniated", "disc",
           "Due to", "toe", "ARM", "L4", "C5-C6", "xL4", "4L", "stage", "IIb", "type", "ii", "CHF", "pad", "PAD", "on",
           "RA", "GAD-7 score", "DM2", ".", ",", "(", ")", "smoker", "former", "low back pain", "poorly controlled",
           "diabetes", "renal", "stones", "kidney", "_", "T12", "'s", "é"]


def _split_reading(text: str) -> list:
    parts, raws, words, phrased = word_reading._split_words(text)
    bounds = list(accumulate(map(len, parts)))
    starts, ends = bounds[0:-1:2], bounds[1::2]
    if word_reading._SPECIAL_WORDS.isdisjoint(words):
        out = list(map(word_reading._make_token, zip(words, raws, starts, ends)))
    else:
        out = word_reading._tokens_expanded(text, words, raws, starts, ends)
    return word_reading._with_phrase_terms(text, out) if phrased else out


def test_tokens_read_as_the_split_reading():
    rng = random.Random(12)
    for _ in range(30000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 12)))
        got = tokens(text)
        assert got == _split_reading(text), text
        assert all(type(t) is word_reading.Token for t in got), text
