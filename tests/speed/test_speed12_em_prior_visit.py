"""The prior-visit reader's shortcuts: the sentences each statement is tried on, worked out from one pass over all
the statements' literals, are those ``JoinedTexts.holding`` names for each statement's own; a statement searched past
its gate finds what its search with the gate finds; and whether the gate opens on the note, asked of its literals,
is what the gate's own search over the lower-cased note says."""

from __future__ import annotations

import random

from tests.speed.output_record import chart_notes
from vma.checks.support import new_or_established as ne
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.scan import JoinedTexts

_STATEMENTS = (*ne._PRIOR_STATEMENTS, ne._NEW_PATIENT_STATEMENT)
_PIECES = ["I", "i ", "we ", "We have been ", "saw ", "seen ", "met ", "metformin ", "treated ", "her", " him", "the patient",
           "last ", "LAST ", "visit", "my last ", "our prior ", "previous", "follow", "-up", "returns for ", "recheck",
           "comes back ", "is back", " with me", " with us", "started ", "prescribed ", "in March", "3 weeks ago",
           "known to me", "patient of mine", "new patient", "establish care", "first visit here", "initial",
           "caring for", ".", ",", " ", "\u0130", "\u212a", "\x00", "Dr. ", "Nguyen", "today"]


def _texts(rng: random.Random) -> list[str]:
    return ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 9))) for _ in range(rng.randint(0, 7))]


def _sentence_texts() -> list[list[str]]:
    """The texts the reader joins for each labelled note: its sentences that can tell its history, mended."""
    return [[s.text for s in ne._whole_sentences(note)[0]] for note in chart_notes()]


def _expected_tried(joined: JoinedTexts) -> dict:
    return {rx: joined.holding(ne._LITERALS[rx]) for rx in ne._PRIOR_STATEMENTS}


def test_tried_is_each_statements_holding_on_generated_texts():
    rng = random.Random(1207)
    for _ in range(3000):
        texts = _texts(rng)
        assert ne._tried(JoinedTexts(texts)) == _expected_tried(JoinedTexts(texts)), texts


def test_tried_is_each_statements_holding_on_the_notes_we_hold():
    for texts in _sentence_texts():
        got = ne._tried(JoinedTexts(texts))
        assert got == _expected_tried(JoinedTexts(texts))
        # The reader asks holding of the new-patient statement after: what it gets is what a fresh reading gives.
        joined = JoinedTexts(texts)
        ne._tried(joined)
        literals = ne._LITERALS[ne._NEW_PATIENT_STATEMENT]
        assert joined.holding(literals) == JoinedTexts(texts).holding(literals)


def _same_match(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a.span() == b.span()
                                         and a.group(0) == b.group(0))


def test_search_past_gate_finds_what_search_finds():
    rng = random.Random(1208)
    texts = [t for _ in range(1500) for t in _texts(rng)]
    texts += [t for note_texts in _sentence_texts() for t in note_texts]
    for rx in _STATEMENTS:
        for text in texts:
            assert _same_match(rx.search_past_gate(text), rx.search(text)), (rx.pattern[:40], text)


def test_gate_opens_as_the_gate_searched_over_the_note():
    rng = random.Random(1209)
    notes = list(chart_notes())
    notes += [NoteDoc("HPI:\n" + " ".join(_texts(rng)) + "\nPLAN:\n" + " ".join(_texts(rng))) for _ in range(400)]
    opened = shut = 0
    for note in notes:
        texts = [s.text for s in note.sentences][:6] or [""]
        for rx in _STATEMENTS:
            expected = rx.gate is None or rx.gate.search(note.text.lower()) is not None
            opened, shut = opened + expected, shut + (not expected)
            for text in texts:
                assert ne._gate_opens(rx, text, note) == expected, (rx.pattern[:40], note.text[:80])
    assert opened and shut
