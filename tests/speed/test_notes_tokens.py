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


def _plain_phrase_terms(text: str, words: list) -> list:
    """_with_phrase_terms as it was: each phrase's gate words looked for in turn, the spinal level pattern tried
    on every text."""
    from bisect import bisect_left

    extra = []
    low = text.lower()
    for gate, rx, terms in word_reading._PHRASE_TERMS:
        if gate and not any(g in low for g in gate) or not gate and not word_reading._SPINAL_LEVEL.search(text):
            continue
        for m in rx.finditer(text):
            start, end = m.span()
            if word_reading.is_past_or_planned(text, start):
                continue
            found = terms(m) if callable(terms) else terms
            extra.extend((end, word_reading.Token(t, m.group(), start, end)) for t in found)
    if not extra:
        return words
    out, starts, at = [], [w[2] for w in words], 0
    for end, token in sorted(extra, key=lambda e: e[0]):
        upto = bisect_left(starts, end, at)
        out += words[at:upto]
        out.append(token)
        at = upto
    return out + words[at:]


def test_phrase_terms_read_as_the_plain_reading():
    rng = random.Random(13)
    pieces = _PIECES + ["٣", "L٣", "forearm", "pharmacy", "legs", "adrenal", "previously", "out of control", "due to",
                        "S1", "C7-T1", "T2-weighted", "L5-S1 disc herniation", "ſmoker", "SMOKER", "İ"]
    for _ in range(30000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        parts, raws, words, _ = word_reading._split_words(text)
        bounds = list(accumulate(map(len, parts)))
        plain = list(map(word_reading._make_token, zip(words, raws, bounds[0:-1:2], bounds[1::2])))
        assert word_reading._with_phrase_terms(text, plain) == _plain_phrase_terms(text, plain), text
