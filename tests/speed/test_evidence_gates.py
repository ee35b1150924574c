"""condition_mentions passes over a way of naming the condition when the words the note lacks weigh more than half
of it, and makes each place's mention once per note: it finds what weighing every way in every sentence finds."""

from __future__ import annotations

import random

from vma.checks.support.axes.evidence import condition_mentions, note_words
from vma.checks.support.axes.index import axis_index
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.notes.words import is_negated_at, is_uncertain_at

_FILLER = ["patient", "reports", "no", "likely", "stable", "today", "left", "right", "chronic", "denies", "with"]


def _every_way(note: NoteDoc, index, code: str, outpatient: bool) -> list[tuple]:
    """condition_mentions as it reads without the gate: every set weighed in every sentence."""
    where = note_words(note).where
    best: dict[int, tuple[float, int]] = {}
    for terms in index.condition_terms(code):
        total = sum(w for _, w in terms)
        if not total:
            continue
        got: dict[int, float] = {}
        first: dict[int, int] = {}
        for term, weight in terms:
            for si, ti in where(term).items():
                got[si] = got.get(si, 0.0) + weight
                if ti < first.get(si, ti + 1):
                    first[si] = ti
        for si, weight in got.items():
            share = weight / total
            if share > best.get(si, (0.0, 0))[0]:
                best[si] = (share, first[si])
    out = []
    for si in sorted(best):
        share, at = best[si]
        if share < 0.5:
            continue
        sentence, words = note.tokenized[si]
        pos = words[at].start
        out.append((sentence, tuple(words), at, is_negated_at(sentence.text, pos),
                    outpatient and is_uncertain_at(sentence.text, pos)))
    return out


def _read(mentions) -> list[tuple]:
    return [(m.sentence, m.words, m.first, m.negated, m.uncertain) for m in mentions]


def test_gated_mentions_match_weighing_every_way(ref):
    release = ref.icd_for(None)
    index = axis_index(release)
    rng = random.Random(20261204)
    billable = sorted(c for c in release.codes() if release.is_billable(c))
    for code in rng.sample(billable, 400):
        words = [w for terms in index.condition_terms(code) for w, _ in terms]
        if not words:
            continue
        lines = []
        for _ in range(rng.randint(1, 6)):
            picked = [w for w in words if rng.random() < 0.55] + rng.sample(_FILLER, rng.randint(0, 3))
            rng.shuffle(picked)
            lines.append(" ".join(picked) + ".")
        for text in (f"ASSESSMENT\n\n{' '.join(lines)}", f"HPI\n\n{lines[0]}\n\nASSESSMENT\n\n{' '.join(lines[1:])}"):
            note = NoteDoc(text)
            for outpatient in (True, False, True):
                assert _read(condition_mentions(note, index, code, outpatient)) == \
                    _every_way(NoteDoc(text), index, code, outpatient), (code, text, outpatient)
