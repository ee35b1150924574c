"""Texts a regular expression may match, built from its own parse branch by branch: what the tests of a literal
gate feed a pattern, so that every alternative of it is tried, not only those the notes we hold happen to use."""

from __future__ import annotations

import random
import re
import re._constants as sre

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789 -'/.,;:"
_CATEGORIES = {sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_SPACE: r"\s", sre.CATEGORY_WORD: r"\w",
               sre.CATEGORY_NOT_WORD: r"\W", sre.CATEGORY_NOT_DIGIT: r"\D", sre.CATEGORY_NOT_SPACE: r"\S"}


def in_class(items, ch: str) -> bool:
    """Whether ``ch`` is in the parsed character class ``items``."""
    negate, hit = False, False
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            hit |= ord(ch) == av
        elif op is sre.RANGE:
            hit |= av[0] <= ord(ch) <= av[1]
        elif op is sre.CATEGORY:
            hit |= bool(re.fullmatch(_CATEGORIES[av], ch))
    return hit != negate


def sample(parsed, rng: random.Random) -> str:
    """A text the parsed pattern may match: assertions and boundaries are left to the pattern to judge, and a
    repeat is taken at most three times more than its least."""
    out = []
    for op, av in parsed:
        if op is sre.LITERAL:
            out.append(chr(av))
        elif op is sre.NOT_LITERAL:
            out.append(rng.choice([c for c in ALPHABET if ord(c) != av]))
        elif op is sre.IN:
            out.append(rng.choice([c for c in ALPHABET if in_class(av, c)] or ["a"]))
        elif op is sre.ANY:
            out.append(rng.choice(ALPHABET))
        elif op is sre.BRANCH:
            out.append(sample(rng.choice(av[1]), rng))
        elif op is sre.SUBPATTERN:
            out.append(sample(av[3], rng))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high = av[0], min(av[1], av[0] + 3)
            out.extend(sample(av[2], rng) for _ in range(rng.randint(low, high)))
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue
        else:
            raise AssertionError(f"no sample for {op}")
    return "".join(out)

