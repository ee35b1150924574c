"""sex-age passes over a note word whose first letter begins none of the words looked for: same_word never
matches such a word, so the gate changes no answer (random, inflected and odd words included)."""

from __future__ import annotations

import random

import pytest

from tests.checking import record_chart
from vma.checks import CheckContext
from vma.checks.support.axes.words import same_word
from vma.checks.support.demographics import decide
from vma.checks.support.demographics.decide import _first_letters

TERMS = ["pregnancy", "pregnancies", "newborn", "child", "children", "infant", "prostate", "ovary", "ovaries",
         "menopause", "postmenopausal", "adolescent", "testis", "testes", "uterus", "", "well", "1st", "élan"]


def _word(rng: random.Random) -> str:
    if rng.random() < 0.5:
        base = rng.choice(TERMS)
        return rng.choice([base, base + "s", base + "es", base[:-1] + "ies", base[1:], base.upper(), base[:-2]])
    return "".join(rng.choice("abcepstuy19é-'") for _ in range(rng.randint(0, 12)))


@pytest.mark.parametrize("seed", range(20))
def test_a_word_same_word_matches_begins_with_one_of_the_first_letters(seed):
    rng = random.Random(seed)
    words = {_word(rng) for _ in range(rng.randint(1, 5))}
    firsts = _first_letters(words)
    for _ in range(400):
        note_word = _word(rng)
        if any(same_word(note_word, w) for w in words):
            assert note_word[:1] in firsts


def _ungated_touches(ctx, words):
    for sentence, toks in ctx.note.tokenized:
        for t in toks:
            if any(same_word(t.norm, w) for w in words) and not decide.is_negated_at(sentence.text, t.start):
                return sentence
    return None


@pytest.mark.parametrize("words", [{"pregnancy"}, {"prostate", "testis"}, {"child", "infant"}, {"menopause"},
                                   {"zzz"}, {"ovaries", "uterus"}])
def test_touches_finds_what_every_word_compared_finds(ref, words):
    text = ("HPI: 34 year old seen for pregnancies follow-up; no prostate issues. Children at home. "
            "Assessment: postmenopausal bleeding; ovary cyst; uterus enlarged; testes normal.")
    ctx = CheckContext(record_chart(note={"text": text}), ref)
    assert decide._touches(ctx, words) == _ungated_touches(ctx, words)
