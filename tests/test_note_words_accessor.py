"""NoteWords.words, the public read of the note's word set: every word of every sentence, and not assignable."""

import pytest

from vma.checks.support.axes.evidence import NoteWords


def test_words_is_every_sentences_words():
    norms = [["left", "knee", "pain"], [], ["knee", "effusion", "left"], ["htn"]]
    at = NoteWords(norms)
    assert at.words == {"left", "knee", "pain", "effusion", "htn"}
    assert at.words == set().union(*map(set, norms))
    with pytest.raises(AttributeError):
        at.words = set()  # type: ignore[misc]


def test_words_of_a_note_with_no_sentences():
    assert NoteWords([]).words == set()
