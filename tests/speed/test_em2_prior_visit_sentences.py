"""The prior-visit reader's sentences: a sentence is tested for a title's dot only when its last character can
lower-case into a title's last one, and the mended sentences it names are those that are not the note's own."""

from __future__ import annotations

import sys

from vma.checks.support import new_or_established
from vma.checks.support.notes.document import NoteDoc


def test_only_the_title_ends_lower_case_into_a_title_end():
    """A title ends in a letter, or in a dot after one: the endings that lower-case into those are the ones kept."""
    def lowered_into(ends: set[str]) -> set[str]:
        return {chr(c) for c in range(sys.maxunicode + 1) if chr(c).lower()[-1:] in ends}

    titles = new_or_established._TITLES
    assert lowered_into({"."}) == {"."}
    expected = lowered_into({t[-1] for t in titles if not t.endswith(".")}) \
        | {f"{c}." for c in lowered_into({t[-2] for t in titles if t.endswith(".")})}
    assert expected == set(new_or_established._TITLE_ENDS)


def test_mended_sentences_read_as_every_title_end_would():
    """The sentences with a title's dot mended are those the full test of every sentence's end gives."""
    note = NoteDoc(
        "HPI:\nSaw St. Mary's team. Her last visit with DR. Lee was fine. Visits: 3 visits. Her. Mrs\n"
        "ASSESSMENT:\nStable, per Ms. Lee.\nPLAN:\nNone.\n"
    )
    sentences, _ = new_or_established._whole_sentences(note)
    texts = [s.text for s in sentences]
    assert "Saw St. Mary's team." in texts and any(t.startswith("Her last visit with DR. Lee") for t in texts)
    assert any(t.startswith("Stable, per Ms. Lee") for t in texts)


def test_mended_sentences_are_the_ones_not_in_the_note():
    note = NoteDoc(
        "HPI:\nShe saw Dr. Nguyen in May. Her last visit with Dr. Mr. Smith was fine. Seen by St. Mary's team.\n"
        "ASSESSMENT:\nHypertension, stable. Follow up with DR. Lee. Continue lisinopril.\n"
    )
    sentences, mended = new_or_established._whole_sentences(note)
    assert mended == {id(s) for s in sentences} - {id(s) for s in note.sentences}
    assert mended


def test_sentences_holding_a_literal_are_those_whose_lower_case_holds_it():
    """One scan per literal over the sentences joined names the sentences that hold it, as a look in each would; a
    sentence whose lower case is longer, or that holds the separator, makes every sentence tried."""
    import random

    from vma.checks.support.scan import JoinedTexts

    rng = random.Random(3)
    words = ["seen", "Seen", "last", "LAST", "visit", "vis", "it", "follow", "\u0130", "\x00", "a", " ", ".", "met",
             "metformin", "with me", "with", "me"]
    literals = ("seen", "last", "visit", "follow", "met", "with me")
    for _ in range(3000):
        texts = ["".join(rng.choice(words) for _ in range(rng.randint(0, 6))) for _ in range(rng.randint(0, 6))]
        holding = JoinedTexts(texts)
        for k in range(1, len(literals) + 1):
            wanted = literals[:k]
            expected = {i for i, t in enumerate(texts) if any(w in t.lower() for w in wanted)}
            got = holding.holding(wanted)
            if any(len(t.lower()) != len(t) or "\x00" in t for t in texts):
                assert got == set(range(len(texts)))
            else:
                assert got == expected, (texts, wanted)
