"""The sides a sentence gives a body site: a side word just before the site word ("right medial elbow"), or
"bilaterally" just after it."""

from __future__ import annotations

from itertools import accumulate, compress, repeat
from operator import add

from vma.checks.support.axes.words import _PUNCT, _WORD_BYTES, BILATERAL, LEFT, RIGHT, same_word
from vma.checks.support.notes.words import Token, is_negated_at

_SIDE_BEFORE = {"right": RIGHT, "rt": RIGHT, "left": LEFT, "lt": LEFT, "bilateral": BILATERAL, "both": BILATERAL}
_SIDE_ABBREV = {"r": RIGHT, "l": LEFT}  # "R knee": only right before the site
_EYE_SIDES = {"OD": RIGHT, "OS": LEFT, "OU": BILATERAL}
_SIDE_AFTER = {"bilaterally": BILATERAL, "bilateral": BILATERAL}
# The words sides_at_site reads a side from, but for an eye's "OD", "OS" and "OU".
SIDE_WORDS = frozenset(_SIDE_BEFORE) | frozenset(_SIDE_ABBREV) | frozenset(_SIDE_AFTER)
# The sides a side word gives: bilateral is both.
_SIDES_OF = {RIGHT: frozenset({RIGHT}), LEFT: frozenset({LEFT}), BILATERAL: frozenset({RIGHT, LEFT})}


def sides_at_site(sentence: str, words: tuple[Token, ...] | list[Token], site: tuple[str, ...]) -> set[str]:
    """Sides ("right"/"left") attached to the site words in one sentence.

    A side counts when it stands within four words before the site ("right
    medial elbow", "right and left elbows"), or "bilaterally" just after it;
    negated attachments ("denies left knee pain") do not count. Bilateral is
    returned as both sides.
    """
    if not site or not words:
        return set()
    norms, raws, starts, ends = zip(*words)
    return _sides_at_head(sentence, norms, raws, starts, ends, site[-1])


def _sides_at_head(sentence: str, norms, raws, starts, ends, head: str) -> set[str]:
    """:func:`sides_at_site` for the site word ``head``, the sentence's words given as their norms, raw forms,
    starts and ends (the fields of its tokens, each in a sequence of its own); ``ends`` None where each word ends
    after its raw form (the few read are worked out then)."""
    initial = head[:1]
    eye = head == "eye"
    n = len(norms)
    found: set[str] = set()
    for i, norm in enumerate(norms):
        # same_word never matches words with another first letter: the test spares most words a call
        if norm[:1] != initial or not same_word(norm, head):
            continue
        # Walking out from the site word, a break between two words ends the walk and only a side word adds a
        # side: a side word counts when no gap between it and the site word holds a break, so the gaps are read
        # for the side words alone (the walk reads each gap it passes, most of them before no side word).
        for j in range(i - 1, max(-1, i - 5), -1):
            side = _SIDE_BEFORE.get(norms[j]) or (_SIDE_ABBREV.get(norms[j]) if j == i - 1 and raws[j].isupper()
                                                   else None)
            # (a side already found needs no second reading: adding it changes nothing)
            if side and not _SIDES_OF[side] <= found and _unbroken(sentence, raws, starts, ends, j, i) \
                    and not is_negated_at(sentence, starts[j]):
                found |= _SIDES_OF[side]
        for j in range(i + 1, min(n, i + 4)):
            side = _SIDE_AFTER.get(norms[j]) or (_EYE_SIDES.get(raws[j]) if eye else None)
            if side and not _SIDES_OF[side] <= found and _unbroken(sentence, raws, starts, ends, i, j) \
                    and not is_negated_at(sentence, starts[i]):
                found |= _SIDES_OF[side]
    return found


def _unbroken(sentence: str, raws, starts, ends, a: int, b: int) -> bool:
    """No break (:data:`_PUNCT`) between any two neighbours of the ``a``-th to ``b``-th words. A gap of one space,
    the most common, holds none: the pattern runs on the others."""
    for k in range(a, b):
        gap = sentence[ends[k] if ends is not None else starts[k] + len(raws[k]):starts[k + 1]]
        if gap != " " and _PUNCT.search(gap):
            return False
    return True


def plain_sides(text: str, norms: list[str] | None, head: str) -> set[str] | None:
    """:func:`sides_at_site` for the site word ``head`` in a sentence whose words stand as they are (``norms``, from
    the note's word index: see ``SentenceWords.plain_norms``), read from its words' places found in C without
    building its tokens; None when the sentence is not such a one (its tokens are read then). An ASCII text
    without an apostrophe so read has for words its runs of ASCII letters and digits, the words and places
    :func:`vma.checks.support.notes.words.plain_tokens` gives it."""
    if norms is None or "'" in text or not text.isascii():
        return None
    pieces = text.encode("ascii").translate(_WORD_BYTES).decode("ascii").split(" ")
    raws = list(filter(None, pieces))
    if len(raws) != len(norms):
        return None
    starts = list(compress(accumulate(map(add, map(len, pieces), repeat(1)), initial=0), pieces))
    return _sides_at_head(text, norms, raws, starts, None, head)
