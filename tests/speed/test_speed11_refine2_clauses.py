"""_beside_condition, which finds the condition's words once per sentence and looks for a clause mark between two
words in place, reads what it read finding them on every call and searching the slice between them; and
sides_at_condition, which splits off only the clause after the condition's, reads the sides it read splitting the
whole rest of the sentence."""

from __future__ import annotations

import random
import re

import pytest

from tests.speed.output_record import chart_notes
from vma.checks.support.axes import evidence
from vma.checks.support.axes.evidence import Mention
from vma.checks.support.axes.words import BILATERAL, LEFT, RIGHT
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.notes.words import is_negated_at
from vma.checks.support.refine import documented

WORDS = ("right", "left", "bilateral", "Bilateral", "bilaterally", "no", "denies", "chronic", "acute", "asthma",
         "heart", "failure", "exacerbation", "of", "her", "moderate", "intermittent", "knee", "pain", "sided",
         "right-sided", "the", "and", "with", "is", "a", "disease", "that", "needs", "persistent", "severe")
MARKS = ("", "", "", "", ",", ".", ";", ":", " -", ", right", "; left", ", bilateral", ", bilaterally.")


def _beside_every_call(m: Mention, term: str, condition_words: frozenset[str], reach: int = 4) -> bool:
    """_beside_condition as it was: the condition's words found, and the slice between two words searched, on
    every call."""
    w = documented._words(m, {})
    named = [i for word in condition_words for i in w.positions(word)]
    text = m.sentence.text
    for i in w.positions(term):
        for j in named:
            if i != j and abs(i - j) <= reach:
                lo, hi = sorted((w.tokens[i], w.tokens[j]), key=lambda t: t.start)
                if not re.search(r"[.;:]", text[lo.end:hi.start]):
                    return True
    return False


def _sides_splitting_everything(sentence: str, words, first: int) -> set[str]:
    """sides_at_condition as it was, splitting the whole rest of the sentence at every clause mark."""
    found: set[str] = set()
    for j in range(first - 1, max(-1, first - 3), -1):
        if evidence._gap_has_break(sentence, words[j], words[j + 1]):
            break
        side = {"right": RIGHT, "left": LEFT, "bilateral": BILATERAL}.get(words[j].norm)
        if side and not is_negated_at(sentence, words[j].start):
            found |= {RIGHT, LEFT} if side == BILATERAL else {side}
    for clause in re.split(r"[,;]", sentence[words[first].start:].rstrip(". "))[1:2]:
        m = evidence._BARE_SIDE_CLAUSE.match(clause)
        if m:
            side = m.group(1).lower()
            found |= {RIGHT, LEFT} if side.startswith("bilateral") else {side}
    return found


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) + rng.choice(MARKS) for _ in range(rng.randint(1, 16))).strip()


def _compare(notes, rng: random.Random) -> tuple[int, int, int]:
    compared = beside = sided = 0
    for note in notes:
        cache: dict = {}  # shared by every read of the note, as _read_candidates shares it
        for i, (sentence, tokens) in enumerate(note.tokenized):
            words = tuple(tokens)
            if not words:
                continue
            norms = [t.norm for t in words]
            for first in range(len(words)):
                m = Mention(sentence, words, first, False, False, i)
                found = evidence.sides_at_condition(sentence.text, words, first)
                assert found == _sides_splitting_everything(sentence.text, words, first), (sentence.text, first)
                sided += bool(found)
            m = Mention(sentence, words, 0, False, False, i)
            for condition_words in (frozenset(rng.sample(norms, min(len(norms), rng.randint(1, 3)))),
                                    frozenset({"asthma", "failure", "heart"}), frozenset({"knee"})):
                for term in rng.sample(norms, min(len(norms), 6)) + ["chronic", "exacerbation"]:
                    got = documented._beside_condition(m, term, condition_words, cache)
                    assert got == _beside_every_call(m, term, condition_words), (sentence.text, term, condition_words)
                    compared += 1
                    beside += got
    return compared, beside, sided


def test_reads_beside_the_condition_and_on_it_are_the_old_ones_on_generated_notes():
    rng = random.Random(7)
    notes = [NoteDoc("\n".join(_text(rng) + "." for _ in range(10))) for _ in range(150)]
    compared, beside, sided = _compare(notes, rng)
    print(compared, beside, sided)
    assert compared > 5000 and beside > 1000 and sided > 500


def test_reads_beside_the_condition_and_on_it_are_the_old_ones_on_the_recorded_notes():
    notes = chart_notes()
    if not notes:
        pytest.skip("no recorded chart here")
    compared, beside, sided = _compare(notes, random.Random(3))
    print(compared, beside, sided)
    assert compared > 5000 and beside > 500 and sided > 20
