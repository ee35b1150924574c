"""Which of a note's sentences a pattern may match, from one scan of the whole note.

A :class:`~vma.checks.support.notes.patterns.LowerCasePattern` turns a sentence away when its literal gate finds nothing in
it; a check that scans every sentence for a pattern pays one gate search per sentence, most of them
failing. The gate is a plain literal alternation, so it finds something in a sentence exactly when
one of its literals stands in the sentences joined by a character no literal holds, inside that sentence:
a search for each literal over the joined text names the sentences worth trying, and the others would
have given no match anyway.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import AbstractSet

from vma.checks.support.notes.document import NoteDoc, Sentence
from vma.checks.support.notes.patterns import LowerCasePattern

_SEP = "\x00"  # in no pattern's literals, so no gate hit runs from one sentence into the next
_NOWHERE: AbstractSet[int] = frozenset()  # the texts holding a literal none holds, shared


class JoinedTexts:
    """Texts lower-cased and joined once, and which of them hold a literal, each literal looked for once with
    str.find over them all: a reader trying several patterns on the same texts asks only those that hold one of a
    pattern's literals. Where lower-casing changes the length of some text, or a text holds the separator, the
    pattern reads that text as written (see LowerCasePattern) and every text counts as holding every literal."""

    __slots__ = ("text", "starts", "count", "_holding")

    def __init__(self, texts: list[str]):
        joined = _SEP.join(texts)
        lowered = joined.lower()  # lower-casing gives each character one or more: the whole keeps its length
        usable = len(lowered) == len(joined) and joined.count(_SEP) == len(texts) - 1  # only where each text does
        self.text = lowered if usable else None
        self.starts = [0, *accumulate(len(t) + 1 for t in texts)][:len(texts)]
        self.count = len(texts)
        self._holding: dict[str, AbstractSet[int]] = {}

    def _scan(self, literal: str) -> AbstractSet[int]:
        find = self.text.find
        at = find(literal)
        if at < 0:
            return _NOWHERE  # most literals stand in no text: one search, and nothing built for them
        starts, last = self.starts, self.count - 1
        held: set[int] = set()
        while True:  # after a hit, from the next text on
            i = bisect_right(starts, at) - 1
            held.add(i)
            if i == last:
                return held
            at = find(literal, starts[i + 1])
            if at < 0:
                return held

    def holding(self, literals) -> set[int]:
        """The indices of the texts holding one of ``literals``; every text where there are no literals (None: a
        pattern without a gate) or the joined text is not usable. A new set, the caller's to change."""
        if literals is None or self.text is None:
            return set(range(self.count))
        found: set[int] = set()
        holding, text = self._holding, self.text
        for literal in literals:
            held = holding.get(literal)
            if held is None:
                # Most literals stand nowhere: a plain look turns them away without placing anything.
                held = holding[literal] = self._scan(literal) if literal in text else _NOWHERE
            if held:
                found |= held
        return found

    def places(self, literal: str) -> AbstractSet[int]:
        """The indices of the texts holding ``literal``, the joined text being usable: a set to read, not to change.
        A reader trying many patterns that share literals asks each literal once, not each pattern's."""
        held = self._holding.get(literal)
        if held is None:
            held = self._holding[literal] = self._scan(literal)
        return held


class _Joined(JoinedTexts):
    """A note's sentences (or some sections' only), with their texts joined as :class:`JoinedTexts` joins them."""

    __slots__ = ("sentences",)

    def __init__(self, sentences: list[Sentence]):
        super().__init__([s.text for s in sentences])
        self.sentences = sentences
        if not sentences:
            self.text = ""  # no sentence: no literal stands anywhere


def _joined(note: NoteDoc, sections: tuple[str, ...] | None) -> _Joined:
    key = ("scan.joined", sections)
    found = note.memo.get(key)
    if found is None:
        sentences = note.sentences if sections is None else [s for s in note.sentences if s.section in sections]
        found = note.memo[key] = _Joined(sentences)
    return found


def gated(note: NoteDoc, pattern: LowerCasePattern, sections: tuple[str, ...] | None = None) -> list[Sentence]:
    """The note's sentences (those of ``sections`` only, when given), in order, that pass the pattern's
    gate (every one when it has none): ``pattern.search`` on any other of them finds nothing. Naming the
    sections a caller reads keeps the rest (the examination, the review of systems) out of what it tries."""
    key = ("scan.gated", pattern, sections)  # the pattern itself, not its id: the memo keeps it alive
    found = note.memo.get(key)
    if found is not None:
        return found
    literals = pattern.gate_literals
    # The whole note's joined text serves every choice of sections: a section's sentences stand together in it,
    # so the gate is searched over the stretches the chosen sections make up, and nowhere else. Where some
    # sentence of the note keeps it from being built, the sections' own text is read, as when there is no gate.
    joined = _joined(note, None) if literals is not None else None
    if joined is not None and joined.text is not None:
        stretches = _stretches(note, sections)
    else:
        joined = _joined(note, sections)
        stretches = [(0, len(joined.starts) - 1, len(joined.text))] if joined.text is not None and joined.starts else []
    if literals is None or joined.text is None:
        found = list(joined.sentences)
    else:
        # Each literal is looked for with str.find, which skips through the text many times faster than sre tries
        # the gate's alternation at every letter that may start one; after a hit, from the next sentence on.
        sentences, starts, find = joined.sentences, joined.starts, joined.text.find
        hit = set()
        span = (starts[stretches[0][0]], stretches[-1][2]) if stretches else (0, 0)
        for literal in literals:
            # Most literals stand nowhere in the note: one search over all the runs at once turns such a literal
            # away; a run that ends before its first place there holds none of it.
            first_at = find(literal, *span)
            if first_at < 0:
                continue
            for first, last, end in stretches:
                if end <= first_at:
                    continue
                at = find(literal, starts[first], end)
                while at >= 0:
                    i = bisect_right(starts, at) - 1
                    hit.add(i)
                    if i == last:
                        break
                    at = find(literal, starts[i + 1], end)
        found = [sentences[i] for i in sorted(hit)]
    note.memo[key] = found
    return found


def _stretches(note: NoteDoc, sections: tuple[str, ...] | None) -> list[tuple[int, int, int]]:
    """The runs of the note's sentences in ``sections`` (all of them when None), each as its first and last
    sentence and where the last ends in the whole note's joined text."""
    key = ("scan.stretches", sections)
    found = note.memo.get(key)
    if found is None:
        joined = _joined(note, None)
        sentences, starts = joined.sentences, joined.starts
        found, first = [], None
        for i, s in enumerate(sentences):
            if sections is None or s.section in sections:
                if first is None:
                    first = i
                if i + 1 == len(sentences) or not (sections is None or sentences[i + 1].section in sections):
                    found.append((first, i, starts[i] + len(s.text)))
                    first = None
        note.memo[key] = found
    return found


class LiteralFinder:
    """Which of some joined texts hold which of a fixed set of literals. Each literal is looked for with str's own
    search (:meth:`JoinedTexts.places`), which skips through the text many bytes at a step: sre trying a trie of the
    literals at every place of the text, as this did, cost some eight hundred instructions a character, the
    searches for the hundred and sixty literals of the tests' gates over the same text half as many in all. Only
    the literals standing somewhere in the joined text are placed."""

    __slots__ = ("_literals",)

    def __init__(self, literals):
        self._literals = tuple(dict.fromkeys(literals))

    def held(self, joined: JoinedTexts) -> dict[int, set[str]]:
        """The literals each text holds, by its index, for the texts holding some (the joined text usable)."""
        found: dict[int, set[str]] = {}
        text = joined.text
        for literal in [literal for literal in self._literals if literal in text]:  # most stand nowhere
            for i in joined.places(literal):
                found.setdefault(i, set()).add(literal)
        return found
