"""Which of a note's sentences a pattern may match, from one scan of the whole note.

A :class:`~vma.checks.support.notes.patterns.LowerCasePattern` turns a sentence away when its literal gate finds nothing in
it; a check that scans every sentence for a pattern pays one gate search per sentence, most of them
failing. The gate is a plain literal alternation, so it finds something in a sentence exactly when
one of its hits in the sentences joined by a character no literal holds lies inside that sentence:
one search over the joined text names the sentences worth trying, and the others would have given
no match anyway.
"""

from __future__ import annotations

from bisect import bisect_right

from vma.checks.support.notes.document import NoteDoc, Sentence
from vma.checks.support.notes.patterns import LowerCasePattern

_SEP = "\x00"  # in no pattern's literals, so no gate hit runs from one sentence into the next


class _Joined:
    __slots__ = ("sentences", "text", "starts")

    def __init__(self, sentences: list[Sentence]):
        self.sentences = sentences
        texts = [s.text for s in sentences]
        lowered = [t.lower() for t in texts]
        # A sentence whose lower-casing changes its length is read by the re.I pattern, without a gate.
        usable = all(len(a) == len(b) and _SEP not in a for a, b in zip(texts, lowered))
        self.text = _SEP.join(lowered) if usable else None
        starts, at = [], 0
        for t in texts:
            starts.append(at)
            at += len(t) + 1
        self.starts = starts


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
    sections a caller reads spares scanning the rest (the examination, the review of systems)."""
    key = ("scan.gated", pattern, sections)  # the pattern itself, not its id: the memo keeps it alive
    found = note.memo.get(key)
    if found is not None:
        return found
    joined = _joined(note, sections)
    sentences = joined.sentences
    gate = pattern.gate
    if joined.text is None or gate is None:
        found = list(sentences)
    else:
        # After a hit, the search goes on from the next sentence: one hit per sentence is enough.
        starts, text, search = joined.starts, joined.text, gate.search
        last = len(starts) - 1
        found = []
        m = search(text)
        while m is not None:
            i = bisect_right(starts, m.start()) - 1
            found.append(sentences[i])
            if i == last:
                break
            m = search(text, starts[i + 1])
    note.memo[key] = found
    return found
