"""Which of some sentences each of several gated patterns may match, from one ``str.find`` per gate word.

A pattern's gate (see :mod:`vma.checks.support.notes.patterns`) finds something in a sentence exactly when
one of its literals (``LowerCasePattern.gate_literals``) is in the sentence's lower-cased text. sre tries the
trie at every character (some 30 ns each); ``str.find`` skips through the text for one word many times faster.
A reader that runs a dozen gated patterns over the same sentences (the episode cues) looks for each word of
their gates once, over the sentences joined, instead of running a dozen gate scans over the note.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache
from typing import Sequence

from vma.checks.support.notes.document import Sentence
from vma.checks.support.notes.patterns import LowerCasePattern

_SEP = "\x00"  # in no gate word, so no word found runs from one sentence into the next


def gates_passed(lowered: Sequence[str], patterns: tuple[LowerCasePattern, ...]) -> list[set[int] | None]:
    """For each pattern, the indexes of the texts (lower-cased sentences whose lower-casing kept their length)
    where its gate finds something; None for a pattern without a gate, which every text passes."""
    words, picks = _gate_plan(patterns)
    text = _SEP.join(lowered)
    starts, at = [], 0
    for t in lowered:
        starts.append(at)
        at += len(t) + 1
    last = len(starts) - 1
    find = text.find
    holding: list[set[int]] = []  # by word, in the plan's order
    for word in words:
        hits: set[int] = set()
        at = find(word)
        while at != -1:
            i = bisect_right(starts, at) - 1
            hits.add(i)
            if i == last:
                break
            at = find(word, starts[i + 1])  # one hit is enough: go on from the next text
        holding.append(hits)
    return [None if pick is None else set().union(*[holding[w] for w in pick]) for pick in picks]


@lru_cache(maxsize=64)
def _gate_plan(patterns: tuple[LowerCasePattern, ...]) -> tuple[tuple[str, ...], tuple[tuple[int, ...] | None, ...]]:
    """The gate words of some patterns, each once (a word of several gates is looked for once), and for
    each pattern the places of its words among them (None: no gate). A reader passes the same patterns
    for every note, so this is worked out once per set of patterns."""
    words: dict[str, int] = {}
    picks = []
    for pattern in patterns:
        literals = pattern.gate_literals
        picks.append(None if literals is None else tuple(words.setdefault(w, len(words)) for w in literals))
    return tuple(words), tuple(picks)


def lowered_sentences(sentences: Sequence[Sentence]) -> list[str] | None:
    """The sentences' lower-cased texts, or None when one of them changes length on lower-casing (its
    gated patterns then run on it with re.I, as :class:`LowerCasePattern` does) or holds the separator."""
    lowered = [s.text.lower() for s in sentences]
    if any(len(low) != len(s.text) or _SEP in low for low, s in zip(lowered, sentences)):
        return None
    return lowered
