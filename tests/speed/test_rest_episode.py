"""The shortcut for a code coded as an initial encounter: the note is read for routine care and sequela
statements alone, which must say exactly what the whole reading says of them."""

from __future__ import annotations

import json

import pytest

from tests.speed.output_record import chart_files
from vma.checks.support.episode import SEQUELA, SUBSEQUENT, episode_evidence, may_leave_initial
from vma.checks.support.notes.document import NoteDoc

_TEXTS = [
    "HPI\n\nHe fell yesterday and hurt his wrist.\n\nASSESSMENT AND PLAN\n\nWrist sprain. Splint applied.",
    "HPI\n\nReturns for follow-up of his ankle sprain.\n\nASSESSMENT\n\nAnkle sprain, healing well.",
    "HPI\n\nHe is here for follow up.\n\nPLAN\n\nFollow up in 2 weeks.",
    "PLAN\n\nStatus post ORIF 3 years ago. Status post ORIF of the wrist.",
    "ASSESSMENT\n\nScar from a burn of the hand. No sequelae.",
    "ASSESSMENT\n\nLaceration of the hand. Sutures removed today.",
    "ASSESSMENT\n\nNo callus formation yet. Not healing.",
]


def _chart_notes() -> list[str]:
    notes = []
    for path in chart_files().values():
        if path.suffix != ".json":
            continue
        chart = json.loads(path.read_text())
        note = chart.get("note") if isinstance(chart, dict) else None
        if not isinstance(note, dict):
            continue
        notes.append(NoteDoc.from_chart_note(note.get("text"), note.get("sections")))
    return notes


@pytest.mark.parametrize("text", _TEXTS)
def test_leaving_initial_agrees_with_the_whole_reading(text):
    alone, whole = NoteDoc(text), NoteDoc(text)
    ev = episode_evidence(whole)
    assert may_leave_initial(alone) == (ev.has(SUBSEQUENT) or ev.has(SEQUELA))
    assert may_leave_initial(whole) == may_leave_initial(alone)


def test_leaving_initial_agrees_on_real_notes():
    for doc in _chart_notes():
        alone = NoteDoc(doc.text, doc._given_sections)
        ev = episode_evidence(doc)
        assert may_leave_initial(alone) == (ev.has(SUBSEQUENT) or ev.has(SEQUELA))
