"""The shortcut for a code coded as an initial encounter: the note is read for routine care and sequela
statements alone, which must say exactly what the whole reading says of them."""

from __future__ import annotations

import pytest

from tests.speed.output_record import chart_notes
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



@pytest.mark.parametrize("text", _TEXTS)
def test_leaving_initial_agrees_with_the_whole_reading(text):
    alone, whole = NoteDoc(text), NoteDoc(text)
    ev = episode_evidence(whole)
    assert may_leave_initial(alone) == (ev.has(SUBSEQUENT) or ev.has(SEQUELA))
    assert may_leave_initial(whole) == may_leave_initial(alone)


def test_leaving_initial_agrees_on_real_notes():
    for doc in chart_notes():
        alone = NoteDoc(doc.text, doc._given_sections)
        ev = episode_evidence(doc)
        assert may_leave_initial(alone) == (ev.has(SUBSEQUENT) or ev.has(SEQUELA))


_SENTENCES = [
    "He fell 3 days ago.", "Injured 2 hours after the fall.", "Seen yesterday.", "Pain began 2 weeks ago.",
    "Seen last week.", "Started ibuprofen 600mg.", "Naproxen 500 mg twice daily.", "Insulin 10 units.",
    "Referred to physical therapy.", "Physical therapy referral.", "Injection given.", "Fracture is healing well.",
    "Six weeks out from surgery.", "Two weeks after the injury.", "Here for recheck.", "Returns for re-evaluation.",
    "Back for post-op visit.", "Cast removed today.", "Out of the boot.", "Weaned off crutches.",
    "Follow up of his ankle sprain.", "He was hit by a car.", "Motor vehicle accident.", "MVC last year.",
    "He was taken to the emergency department.", "He went to the ER.", "Had surgery in 2019.",
    "Injury 5 years ago.", "Since 2020 he has had pain.", "In 1998 he broke his arm.",
]


def _all_sentences() -> list[str]:
    texts = list(_SENTENCES)
    for doc in chart_notes():
        texts.extend(s.text for s in doc.sentences)
    return texts


def test_what_a_cue_needs_beyond_its_gate_is_in_every_sentence_it_matches():
    from vma.checks.support.episode_cues import _EPISODE_CUES, _NEEDS
    from vma.checks.support.notes.patterns import lower_case_pattern

    texts = [t.lower() for t in _all_sentences()]
    for kind, needs in _NEEDS.items():
        pattern = lower_case_pattern(_EPISODE_CUES[kind]).lower
        matched = [t for t in texts if pattern.search(t)]
        assert all(needs(t) for t in matched), kind
        assert matched, kind  # the check above looked at something
