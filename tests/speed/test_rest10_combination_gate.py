"""The combination check's look at a note's words (``picture._may_state``) gives what reading every run of letters of
the note gives: for a few words it first looks for each in the runs, and it keeps only the runs some caller asks
about. Checked on the notes we hold, their sentences one by one, and sentences that hold the words inside others."""

from __future__ import annotations

import random

import pytest

from tests.speed.output_record import chart_notes
from vma.checks.support.combinations import picture
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.notes.patterns import _folds_onto_ascii

_SETS = {
    "smoking": (picture._SMOKING_WORDS, picture._SMOKING_STARTS),
    "insulin": (picture._INSULIN_WORDS, ()),
    "oral": (picture._ORAL_ANTIDIABETIC_WORDS, ()),
    "injectable": (picture._INJECTABLE_NON_INSULIN_WORDS, ()),
    "one word": (frozenset({"tobacco"}), ()),
    "a start only": (frozenset(), ("smok",)),
    "asked by nobody": (frozenset({"aspirin", "x"}), ()),
}
_AROUND = ["", "non", "pre", "s", "ed", "-", " ", "1", "\u00e9", "\u2014"]


def _reading_every_run(doc: NoteDoc, words: frozenset[str], starts: tuple[str, ...]) -> bool:
    joined = " ".join(s.text for s in doc.sentences)
    if _folds_onto_ascii(joined):
        return True
    runs = " " + joined.encode("ascii", "replace").translate(picture._LETTER_BYTES).decode("ascii")
    return not words.isdisjoint(runs.split()) or any(" " + start in runs for start in starts)


def _made_up() -> list[str]:
    """Each asked word and start alone, and inside another word, in upper and lower case."""
    rng = random.Random(10)
    out = []
    for words, starts in _SETS.values():
        for word in sorted(words) + list(starts):
            for _ in range(6):
                text = f"Patient {rng.choice(_AROUND)}{word}{rng.choice(_AROUND)} noted."
                out.append(text.upper() if rng.random() < 0.3 else text)
    return out + ["\u212a tobacco", "Never smoker.", "Ice pack applied.", "Evaporated milk.", ""]


@pytest.fixture(scope="module")
def texts() -> list[tuple[str, dict[str, str] | None]]:
    notes = chart_notes()
    return ([(doc.text, doc._given_sections) for doc in notes]
            + [(s.text, None) for doc in notes for s in doc.sentences] + [(t, None) for t in _made_up()])


@pytest.mark.parametrize("name", sorted(_SETS))
def test_the_look_at_the_words_gives_what_reading_every_run_gives(name, texts):
    words, starts = _SETS[name]
    stated = 0
    for text, sections in texts:
        expected = _reading_every_run(NoteDoc(text, sections), words, starts)
        stated += expected
        assert picture._may_state(NoteDoc(text, sections), words, starts) == expected, text
        # and once the note's words are read for another caller
        doc = NoteDoc(text, sections)
        picture._may_state(doc, picture._INSULIN_WORDS)
        assert picture._may_state(doc, words, starts) == expected, text
    assert stated  # the texts reach both answers


def test_a_few_words_are_looked_for_before_the_note_is_split():
    doc = NoteDoc("Type 2 diabetes. Denies alcohol use.")
    assert not picture._may_state(doc, picture._SMOKING_WORDS, picture._SMOKING_STARTS)
    assert "combination.letter_words" not in doc.memo
