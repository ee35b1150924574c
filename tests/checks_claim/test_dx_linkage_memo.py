"""The linkage rules remember their answers per code: each remembered answer is the one the ranges give,
for the codes the rules name and for random and odd ones, and the memo stays bounded."""

from __future__ import annotations

import random

import pytest

from vma.checks import dx_linkage
from vma.checks.dx_linkage import LinkageRules, linkage_rules


def _codes(rules: LinkageRules, seed: int) -> list[str]:
    rng = random.Random(seed)
    named = [r.first for rule in rules.rules for r in (*rule.procedures, *rule.plausible)]
    named += [r.last for r in (*rules.problem_visits, *rules.screening)]
    out = []
    for code in named:
        out += [code, code.lower(), code[:-1], code + "9", code[:3] + "." + code[3:]]
    out += ["".join(rng.choice("ACHJMZ0123456789.") for _ in range(rng.randint(0, 8))) for _ in range(300)]
    out += ["", "*", "99213", "99214", "Z00.00", "z0000", "69210", "H61.21"]
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("seed", range(3))
def test_remembered_answers_are_the_ranges_answers(seed):
    rules = linkage_rules()
    for _ in range(2):  # asked once (worked out), then again (remembered)
        for code in _codes(rules, seed):
            rule = next((r for r in rules.rules if r.applies_to(code)), None)
            assert rules.for_procedure(code) is rule
            assert rules.is_problem_visit(code) == any(
                r.covers(code) and len(code) == len(r.first) for r in rules.problem_visits)
            assert rules.is_screening(code) == any(r.covers(code) for r in rules.screening)
            for each in rules.rules:
                assert rules.supports(each, code) == any(r.covers(code) for r in each.plausible)


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(dx_linkage, "_MEMO_LIMIT", 50)
    rules = linkage_rules()
    rules._memo.clear()
    for code in _codes(rules, 7):
        rules.is_screening(code)
        assert len(rules._memo) <= 50
    rules._memo.clear()
