"""The literal gates the E/M readers narrow by hand let through every text their pattern matches: texts built
from each pattern's own parse, branch by branch, that the pattern matches hold one of the gate's literals."""

from __future__ import annotations

import random
import re
import re._constants as sre
import re._parser as sre_parse

import pytest

from vma.checks.support import new_or_established
from vma.checks.support.mdm import data_and_risk, wording

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789 -'/.,;:"


def _in_class(items, ch: str) -> bool:
    negate, hit = False, False
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            hit |= ord(ch) == av
        elif op is sre.RANGE:
            hit |= av[0] <= ord(ch) <= av[1]
        elif op is sre.CATEGORY:
            hit |= bool(re.fullmatch({sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_SPACE: r"\s", sre.CATEGORY_WORD: r"\w",
                                      sre.CATEGORY_NOT_WORD: r"\W", sre.CATEGORY_NOT_DIGIT: r"\D",
                                      sre.CATEGORY_NOT_SPACE: r"\S"}[av], ch))
    return hit != negate


def _sample(parsed, rng: random.Random) -> str:
    """A text the parsed pattern may match (assertions and boundaries are left to the pattern to judge)."""
    out = []
    for op, av in parsed:
        if op is sre.LITERAL:
            out.append(chr(av))
        elif op is sre.NOT_LITERAL:
            out.append(rng.choice([c for c in _ALPHABET if ord(c) != av]))
        elif op is sre.IN:
            out.append(rng.choice([c for c in _ALPHABET if _in_class(av, c)] or ["a"]))
        elif op is sre.ANY:
            out.append(rng.choice(_ALPHABET))
        elif op is sre.BRANCH:
            out.append(_sample(rng.choice(av[1]), rng))
        elif op is sre.SUBPATTERN:
            out.append(_sample(av[3], rng))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high = av[0], min(av[1], av[0] + 3)
            out.extend(_sample(av[2], rng) for _ in range(rng.randint(low, high)))
    return "".join(out)


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
        text = f"{rng.choice(['', 'we ', 'the ', 'for '])}{_sample(parsed, rng)}{rng.choice(['', ' today', '.'])}"
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
            text = f"Continue {_sample(parsed, rng)} daily."
            if pattern.search(text) is not None:
                assert wording._may_name_drug(text), text
