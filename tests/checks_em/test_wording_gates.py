"""The MDM wording's pre-filters never turn away a sentence the full reading would count: each gated reading
answers as the plain one on the labelled charts' sentences and on strings built from the patterns' own words."""

from __future__ import annotations

import random

from tests.checks_em.test_problem_gates import LINES
from vma.checks.support.mdm import wording
from vma.checks.support.mdm.wording import (
    _NOT_BRANDS,
    _NOT_DRUGS,
    _OFFICE_DRUG,
    _OTC,
    _RX,
    _RX_BRAND,
    _RX_DOSE,
    _RX_FORM,
    _RX_NAME,
    _RX_OFFICE,
    _RX_WORDS,
    _VACCINE,
    OTC_DRUGS,
    _first_unnegated,
    _prescription,
)
from vma.checks.support.notes.words import is_negated_at

_WORDS = ["continue", "Continue", "start", "Start", "lisinopril", "Lisinopril", "Keppra", "Jardiance", "10", "mg",
          "20", "units", "insulin", "cream", "his", "the", "with", "on", "taking", "no", "not", "declines", "Tylenol",
          "tylenol", "500", "injection", "vaccine", "IM", "im", "flu", "shot", "prescription", "rx", "refill",
          "Physical", "therapy", "Cardiology", "2.5", "%", ".", ";", ",", "\u0130", "\u0661\u0662", "mcg", "given",
          "Metformin", "amoxicillin", "Ozempic", "baseline", "saline", "A", "I", "x"]


def random_strings(words: list[str], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) for _ in range(n)]


def _plain_prescription(text: str) -> str | None:
    """_prescription without its digit and capital gates."""
    for m in _RX_DOSE.finditer(text):
        if m.group(1).lower() not in OTC_DRUGS and not is_negated_at(text, m.start()):
            return _RX
    for rx in (_RX_FORM, _RX_WORDS, _RX_NAME):
        for m in rx.finditer(text):
            if m.group(0).lower() not in _NOT_DRUGS and not _OTC.search(m.group(0)) \
                    and not is_negated_at(text, m.start()):
                return _RX
    for m in _RX_BRAND.finditer(text):
        word = m.group(1).lower()
        if not text[m.start(1)].isupper() or not text[m.start(1) + 1:m.end(1)].replace("-", "").islower():
            continue
        if word not in _NOT_BRANDS and not word.endswith(("ology", "ics", "ist")) and not _OTC.search(word) \
                and not is_negated_at(text, m.start()):
            return _RX
    if _first_unnegated(_OFFICE_DRUG, text) and not _VACCINE.search(text):
        return _RX_OFFICE
    return None


def test_prescription_answers_as_without_its_gates():
    texts = LINES + random_strings(_WORDS, 6000, 3) + ["Continue Keppra", "start 10 mg lisinopril", "1 Start Eliquis"]
    answers = set()
    for text in texts:
        answer = _prescription(text)
        assert answer == _plain_prescription(text), text
        answers.add(answer)
    assert answers == {None, _RX, _RX_OFFICE}


def test_the_digit_gate_is_the_dose_patterns_digit():
    assert wording._DIGIT.search("\u0661") and _RX_DOSE.search("start lisinopril \u0661 mg")
