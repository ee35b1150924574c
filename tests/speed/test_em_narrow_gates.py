"""The literal gates the E/M readers narrow by hand let through every text their pattern matches: texts built
from each pattern's own parse, branch by branch, that the pattern matches hold one of the gate's literals."""

from __future__ import annotations

import random
import re
import re._parser as sre_parse

import pytest

from tests.speed.pattern_samples import sample
from vma.checks.support import new_or_established
from vma.checks.support.mdm import data_and_risk, wording

def _literals(literals):
    return lambda found: any(literal in found for literal in literals)


def _regex(gate):
    return lambda found: gate.gate.search(found) is not None


NARROWED = [
    *((name, pattern, _literals(new_or_established._LITERALS[pattern])) for name, pattern in (
        ("_NEW_PATIENT_STATEMENT", new_or_established._NEW_PATIENT_STATEMENT),
        ("_FIRST_PERSON_SAW", new_or_established._FIRST_PERSON_SAW),
        ("_FIRST_PERSON_PRIOR", new_or_established._FIRST_PERSON_PRIOR),
        ("_EARLIER_VISIT", new_or_established._EARLIER_VISIT),
        ("_FOLLOW_UP_VISIT", new_or_established._FOLLOW_UP_VISIT),
    )),
    *((f"test {name}", pattern, _literals(data_and_risk._TEST_GATES[name].gate_literals))
      for name, pattern in wording._TESTS if name in data_and_risk._TEST_GATES),
    ("_RECENT_ONSET", wording._RECENT_ONSET, _regex(wording._RECENT_ONSET_GATED)),
    ("_EXACERBATION", wording._EXACERBATION, _regex(wording._EXACERBATION_GATED)),
    ("_UNDIAGNOSED", wording._UNDIAGNOSED, _regex(wording._UNDIAGNOSED_GATED)),
]


@pytest.mark.parametrize("name,pattern,passes", NARROWED, ids=[n for n, _, _ in NARROWED])
def test_every_match_passes_the_narrowed_gate(name, pattern, passes):
    flags = pattern.ci.flags & ~re.I
    parsed = sre_parse.parse(pattern.pattern, flags)
    rng = random.Random(11)
    matched = 0
    for _ in range(20000):
        text = f"{rng.choice(['', 'we ', 'the ', 'for '])}{sample(parsed, rng)}{rng.choice(['', ' today', '.'])}"
        for m in re.finditer(pattern.pattern, text.lower(), flags):
            matched += 1
            assert passes(m.group(0)), (name, m.group(0))
    assert matched > 2000


def test_narrowed_patterns_read_lower_cased_text():
    """The gates speak for the pattern as it is run on lower-cased text (see LowerCasePattern)."""
    for _, pattern, _ in NARROWED:
        assert pattern.lower is not None


def test_the_drug_word_gate_lets_through_every_drug_pattern_match():
    rng = random.Random(5)
    for pattern in (wording._RX_FORM, wording._RX_WORDS, wording._RX_NAME):
        parsed = sre_parse.parse(pattern.pattern, pattern.ci.flags & ~re.I)
        for _ in range(3000):
            text = f"Continue {sample(parsed, rng)} daily."
            if pattern.search(text) is not None:
                assert wording._may_name_drug(text), text
