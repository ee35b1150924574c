"""The prior-visit reader's sentences: a sentence is tested for a title's dot only when its last character can
lower-case into a title's last one, and the mended sentences it names are those that are not the note's own."""

from __future__ import annotations

import sys

from vma.checks.support import new_or_established
from vma.checks.support.notes.document import NoteDoc


def test_only_the_title_ends_lower_case_into_a_title_end():
    last_letters = {title[-1] for title in new_or_established._TITLES}
    lowered_into = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).lower()[-1:] in last_letters}
    assert lowered_into == set(new_or_established._TITLE_ENDS)


def test_mended_sentences_are_the_ones_not_in_the_note():
    note = NoteDoc(
        "HPI:\nShe saw Dr. Nguyen in May. Her last visit with Dr. Mr. Smith was fine. Seen by St. Mary's team.\n"
        "ASSESSMENT:\nHypertension, stable. Follow up with DR. Lee. Continue lisinopril.\n"
    )
    sentences, mended = new_or_established._whole_sentences(note)
    assert mended == {id(s) for s in sentences} - {id(s) for s in note.sentences}
    assert mended
