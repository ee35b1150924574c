"""The look at a sentence's words that spares poa its timing pattern: wherever the pattern matches a sentence, the
sentence holds one of the words the shortcut asks for, and each of those words is needed by some sentence."""

from __future__ import annotations

from tests.speed.output_record import chart_notes
from vma.checks import poa
from vma.checks.support.notes.document import NoteDoc

_MADE_UP = [
    "Hyponatremia noted prior to admission.", "Seen in the ED.", "Seen in the E.R. yesterday.", "Sent from the ER.",
    "Emergency room visit.", "Hospital day 3.", "Hospital-acquired pneumonia.", "He developed a fever.",
    "Newly noted rash.", "New onset atrial fibrillation.", "Cough for 3 days.", "Swelling for 2 weeks.",
    "Present on admission.", "Admitted for sepsis.", "Upon admission, lactate 4.", "Since the admission she is weak.",
    "Pain began (before admission).", "ED: sepsis workup.", "Seen in the Emergency Department.",
    "He was \u212aept overnight after admission.", "Fever\u2014developed on day 2.",
]


def _notes() -> list[NoteDoc]:
    notes = [NoteDoc(f"HPI\n\n{t}") for t in _MADE_UP]
    for doc in chart_notes():
        notes.append(doc)
        notes.extend(NoteDoc(f"HPI\n\n{s.text}") for s in doc.sentences)
    return notes


def _matching(notes) -> list[tuple[NoteDoc, int]]:
    return [(doc, i) for doc in notes for i, s in enumerate(doc.sentences) if poa._TIMING.search(s.text)]


def test_every_sentence_the_timing_pattern_matches_is_kept():
    matching = _matching(_notes())
    assert len(matching) > len(_MADE_UP)
    for doc, i in matching:
        assert poa._may_tell_timing(doc)[i], doc.sentences[i].text


def test_each_word_is_needed_by_some_sentence(monkeypatch):
    matching = _matching(_notes())
    words = poa._TIMING_WORDS
    for left_out in sorted(words):
        monkeypatch.setattr(poa, "_TIMING_WORDS", words - {left_out})
        assert any(not poa._may_tell_timing(NoteDoc(doc.text, doc._given_sections))[i] for doc, i in matching), left_out
    monkeypatch.setattr(poa, "_TIMING_WORDS", words)
