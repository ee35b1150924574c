"""The stated age is read as before: an infant's age ("9-month-old") is looked for only where no age in years
stands and the sentence holds "day", "week" or "month"."""

from __future__ import annotations

from types import SimpleNamespace

from tests.speed.output_record import chart_notes
from vma.checks.support.demographics import edits
from vma.checks.support.demographics.edits import Stated, stated_demographics
from vma.checks.support.notes.document import NoteDoc

_MADE_UP = [
    "HPI\n\nRandy is a 9-month-old male. He is 3 years old.",
    "HPI\n\nA 2 WEEK OLD girl.",
    "HPI\n\nA 10-day-old boy, told to return.",
    "HPI\n\nShe is a 4 month old infant. Her brother is 6 yo.",
    "HPI\n\nA 2-wee\u212a-old girl.",
    "HPI\n\nHe is 45 y/o. She was told to hold the cold pack.",
    "HPI\n\nThe patient is old. No age given.",
]


def _reference(ctx) -> Stated:
    """The reading without the shortcut."""
    for sentence in ctx.note.sentences:
        low = sentence.text.lower()
        if "old" not in low and "yo" not in low and "y/o" not in low:
            continue
        m = edits._STATED_AGE.search(sentence.text)
        infant = edits._STATED_INFANT.search(sentence.text)
        if not m and not infant:
            continue
        age = int(m.group(1) or m.group(2)) if m else 0
        sex_m = edits._STATED_SEX.search(sentence.text)
        sex = edits._SEX_WORDS[sex_m.group(1).lower()] if sex_m else None
        return Stated(age, sex, sentence)
    return Stated(None, None, None)


def _notes() -> list[NoteDoc]:
    return [NoteDoc(t) for t in _MADE_UP] + chart_notes()


def test_the_stated_age_and_sex_are_read_as_before():
    infants = 0
    for note in _notes():
        ctx = SimpleNamespace(note=note)
        found = stated_demographics(ctx)
        assert found == _reference(ctx), note.text[:80]
        infants += found.age == 0
    assert infants >= 3
