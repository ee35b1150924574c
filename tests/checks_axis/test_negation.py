"""Negation and past-or-planned reading, the ground every check stands on: a denial reaches through a
list and a later "ruled out" or "unlikely", but "no change to" denies nothing; a past or planned event
describes no current state (NegEx/ConText termination and pseudo-negation terms)."""

from __future__ import annotations

import pytest

from vma.checks.support.notes.words import is_negated_at, is_past_or_planned


def _at(sentence: str, word: str) -> int:
    return sentence.index(word)


@pytest.mark.parametrize("sentence,word", [
    ("Denies fever, chills, or dysuria.", "dysuria"),            # a list after the cue
    ("No vomiting, melena or hematochezia.", "hematochezia"),
    ("Orthostatic hypotension was ruled out.", "hypotension"),   # the denial written after the term
    ("The rash has resolved.", "rash"),
    ("So familial hypercholesterolemia is unlikely.", "familial"),
    ("Unlikely gout given a normal uric acid.", "gout"),
    ("Non-pitting edema of both ankles.", "pitting"),             # "non-" negates its own word
    ("Negative for chest pain.", "chest"),
])
def test_denied(sentence, word):
    assert is_negated_at(sentence, _at(sentence, word))


@pytest.mark.parametrize("sentence,word", [
    ("No change to her diabetes medications.", "diabetes"),     # denies the change, not the disease
    ("No new medications; hypertension is controlled.", "hypertension"),
    ("Denies fever but reports a productive cough.", "cough"),  # "but" ends the denial's reach
    ("No fever, cough present for a week.", "cough"),           # said to be there after the list
    ("Non-pitting edema of both ankles.", "edema"),
    ("Pure hypercholesterolemia.", "hypercholesterolemia"),
    ("Likely osteoarthritis of the left knee.", "osteoarthritis"),  # uncertain, not denied
])
def test_not_denied(sentence, word):
    assert not is_negated_at(sentence, _at(sentence, word))


@pytest.mark.parametrize("sentence,word,expected", [
    ("She had two exacerbations last winter.", "exacerbations", True),
    ("Previously poorly controlled, now at goal.", "poorly", True),
    ("Diagnosed at 45; initially on metformin, now needs insulin.", "metformin", True),
    ("Heart failure exacerbation with 6 lb weight gain this week.", "exacerbation", False),
    ("Start metformin 500 mg twice daily.", "metformin", False),
])
def test_past_or_planned(sentence, word, expected):
    assert is_past_or_planned(sentence, _at(sentence, word)) is expected
