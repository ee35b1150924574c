"""The words of an ASCII sentence with an apostrophe, read with its possessives blanked (sentence_norms), are what
token_norms reads by splitting it around its words; and a note's word index is what it was."""

from __future__ import annotations

import random

from tests.test_notes_speed import _devset_notes, _texts
from vma.checks.support.notes import sentence_norms as module
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.notes.words import token_norms, tokens

_PIECES = ["a", "s", "S", "'", "'s", "'S", "s's", "''", "x", "ab", "Patient", "patient's", "McMurphy's", "L4", "L",
           "4", "C5-6", "T", "1", "DM", "dm", "HTN's", "stage", "ii", "Type", "due", "to", "low", "back", "smoking",
           "'smoking", "arm", "arms", "renal", "_", "-", ".", ",", " ", " ", "don't", "patients'", "0's", "9"]


def _apostrophe_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 12)))
        out.append(text if "'" in text else text + "'")
    return out


def test_possessive_norms_are_token_norms():
    texts = _apostrophe_texts(60000, 31)
    texts += [s.text for note in _devset_notes() for s in NoteDoc(note).sentences if "'" in s.text and s.text.isascii()]
    for text in texts:
        assert module._possessive_norms(text) == token_norms(text), text


def test_sentence_norms_are_what_they_were(monkeypatch):
    rng = random.Random(32)
    notes = [[rng.choice(_apostrophe_texts(1, rng.random()) + [t]) for t in _texts(rng.randint(0, 8), rng.random())]
             for _ in range(3000)]
    notes += [[s.text for s in NoteDoc(note).sentences] for note in _devset_notes()]
    fast = [module.sentence_norms(texts) for texts in notes]
    monkeypatch.setattr(module, "_possessive_norms", token_norms)  # each text split around its words, as it was
    assert fast == [module.sentence_norms(texts) for texts in notes]
    for texts, norms in zip(notes, fast):
        for text, words in zip(texts, norms):
            assert words is None or words == [t.norm for t in tokens(text)], text


def test_the_word_index_reads_the_sentences_texts():
    for text in [*_devset_notes(), *_texts(300, 33)]:
        note = NoteDoc(text)
        assert note.word_norms == [[t.norm for t in tokens(s.text)] for s in note.sentences], text
