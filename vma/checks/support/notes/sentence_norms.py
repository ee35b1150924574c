"""The normalised words of all a note's sentences at once (what the note's word index reads), in a few C-level
passes over the sentences joined, instead of a regex split and a lower-casing per sentence."""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate, chain

from vma.checks.support.notes.words import (
    _LEVEL_HEADS, _LOWER_WORD_BYTES, _PHRASE_STARTS, _PHRASE_TERMS, _RAW_WORD_BYTES, _ROMAN_CONTEXT, _SPECIAL_WORDS,
    _first_four, _first_two, token_norms)
from vma.compiled_patterns import compile_pattern

_SEPARATOR = "\x00"
# ASCII letters lower-cased, digits kept, the separator kept and every other byte a space: on ASCII text without
# an apostrophe (which may make a possessive of a word), str.split() of the result gives the words of tokens(),
# lower-cased. A non-ASCII character becomes one "?" when encoded, so every piece keeps its place.
_WORD_BYTES = bytes(c | 0x20 if 65 <= c <= 90 else c if 97 <= c <= 122 or 48 <= c <= 57 or c == 0 else 32
                    for c in range(256))
# A phrase of _PHRASE_TERMS is read only where one of its gate words stands in the lower-cased text; they are
# letters and spaces, which the table keeps as they are there. A spinal level needs a capital L, C or T before a
# digit.
_PHRASE_GATES = tuple(sorted({g for gate, _, _ in _PHRASE_TERMS for g in gate}))
_LEVEL_HEAD = compile_pattern("[LCT][0-9]")
# L, C and T as "L", digits as "0", every other byte a space: the encoded text so translated holds "L0" exactly where
# _LEVEL_HEAD matches the text (each character encodes to one byte), found in C instead of sre trying a character
# class at every character.
_LEVEL_BYTES = bytes(76 if c in b"LCT" else 48 if 48 <= c <= 57 else 32 for c in range(256))
_ROMAN_NUMERAL = compile_pattern(r"(?:i{1,3}|iv|v)[abc]?")  # what tokens() turns into digits after _ROMAN_CONTEXT


def sentence_norms(texts: list[str]) -> list[list[str] | None]:
    """:func:`token_norms` of each text: its words lower-cased, or None where tokens() may change them (an
    abbreviation, a Roman numeral, a phrase term)."""
    joined = _SEPARATOR.join(texts)
    encoded = joined.encode("ascii", "replace")
    translated = encoded.translate(_WORD_BYTES).decode("ascii")
    plain = translated.split(_SEPARATOR)
    if len(plain) != len(texts):  # a text holds the separator itself
        return [token_norms(t) for t in texts]
    norms: list[list[str] | None] = list(map(str.split, plain))
    # The texts whose words are read as tokens() reads them already (see token_norms), and those that tokens() may
    # change, each with whether a gate word stands in it.
    read = set()
    if not joined.isascii():
        for i, text in enumerate(texts):
            if "'" in text or not text.isascii():
                norms[i] = token_norms(text)
                read.add(i)
    elif "'" in joined:
        # The few texts with an apostrophe, each found from the one before: its place is the count of separators
        # before its first apostrophe.
        at = joined.find("'")
        while at >= 0:
            i = joined.count(_SEPARATOR, 0, at)
            norms[i] = _possessive_norms(texts[i])
            read.add(i)
            after = joined.find(_SEPARATOR, at)
            at = joined.find("'", after) if after >= 0 else -1
    suspects: dict[int, bool] = {}
    if not _SPECIAL_WORDS.isdisjoint(chain.from_iterable(filter(None, norms))):
        for i, words in enumerate(norms):
            if words and not _SPECIAL_WORDS.isdisjoint(words) and i not in read:
                suspects[i] = False  # an abbreviation, or a stage/type/grade/class before a Roman numeral
    starts = None
    for gate in _PHRASE_GATES:
        at = translated.find(gate)
        while at >= 0:
            starts = starts or [*accumulate(len(t) + 1 for t in texts)]
            i = bisect_right(starts, at)
            if i not in read:
                suspects[i] = True
            at = translated.find(gate, starts[i]) if i + 1 < len(texts) else -1
    if b"L0" in encoded.translate(_LEVEL_BYTES) and _LEVEL_HEAD.search(joined):
        starts = starts or [*accumulate(len(t) + 1 for t in texts)]
        for m in _LEVEL_HEAD.finditer(joined):
            i = bisect_right(starts, m.start())
            norms[i] = None
            suspects.pop(i, None)
    for i, gated in suspects.items():
        if _may_change(norms[i], gated):
            norms[i] = None
    return norms


def _may_change(words: list[str], gated: bool) -> bool:
    """Whether tokens() may give other words than ``words`` for an ASCII text without an apostrophe or a spinal
    level, whose words they are, where one of _PHRASE_GATES stands or not (``gated``): by an abbreviation, a Roman
    numeral after a stage/type/grade/class, or a phrase term."""
    if not _SPECIAL_WORDS.isdisjoint(words):
        if not _ROMAN_CONTEXT.issuperset(_SPECIAL_WORDS.intersection(words)):
            return True  # an abbreviation
        # A word is turned into a digit only after one of _ROMAN_CONTEXT (no abbreviation's expansion ends in one),
        # and only when it reads as a Roman numeral.
        for before, word in zip(words, words[1:]):
            if before in _ROMAN_CONTEXT and _ROMAN_NUMERAL.fullmatch(word):
                return True
    # A phrase is read only when one of the words starts as one of _PHRASE_STARTS (the text has no spinal level).
    return gated and not _PHRASE_STARTS.isdisjoint(map(_first_four, words))


# A possessive as tokens() reads one in ASCII text: "'s" right after a letter or digit of a word.
_POSSESSIVE = compile_pattern("(?<=[A-Za-z0-9])'s")


def _possessive_norms(text: str) -> list[str] | None:
    """:func:`token_norms` of an ASCII text with an apostrophe. A word of tokens() is a run of ASCII letters and
    digits with the "'s" right after it, dropped from its norm; each such "'s" blanked, the text's words are those
    of a text without an apostrophe (an apostrophe elsewhere parts words, as a space does). In "x's's" the second
    "'s" follows the first's "s", no word's: such a text is read by token_norms itself."""
    if "'s's" in text:
        return token_norms(text)
    encoded = _POSSESSIVE.sub("  ", text).encode("ascii")
    words = encoded.translate(_LOWER_WORD_BYTES).decode("ascii").split()
    if not _SPECIAL_WORDS.isdisjoint(words) or not _PHRASE_STARTS.isdisjoint(map(_first_four, words)):
        return None  # an abbreviation, a Roman numeral's context or a phrase's first word: what token_norms says
    # A spinal level's first two characters are a word's own, possessive or not (a one-letter word's "'" is no
    # digit): where one may stand, the words as written tell.
    if _LEVEL_HEAD.search(text) is not None and not _LEVEL_HEADS.isdisjoint(
            map(_first_two, encoded.translate(_RAW_WORD_BYTES).decode("ascii").split())):
        return None
    return words
