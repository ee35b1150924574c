"""Diagnosis linkage: a procedure points at no diagnosis, a missing one, or one that does not support it.

What it finds
    Each service line's diagnosis pointers (1-based positions in the chart's
    diagnoses, contract section 4): a line with no pointer, a pointer to a
    position that does not exist, the same position twice, or more than four
    pointers. A problem-oriented office visit (99202-99215) whose first
    pointer is a screening or examination code (Z00-Z13) while the chart codes
    a problem. A procedure whose pointed diagnoses all fall outside the
    ICD-10-CM ranges that plausibly support it, per the project's rule set in
    vma/reference/data/dx_linkage_rules.json (for example cerumen removal
    69210 linked only to hypertension).

Why it matters
    The claim carries at most four diagnosis pointers per line (NUCC 1500 item
    24E, 837P SV107); a line without a valid pointer is rejected by the
    clearinghouse, and a line linked to a diagnosis that does not explain it
    is denied as not medically necessary even when the chart holds the right
    diagnosis.

Example
    Cerumen removal 69210 pointing at diagnosis 1 (I10, hypertension) while
    diagnosis 2 is H61.23 (impacted cerumen, bilateral): correct the pointer
    to 2. An ECG line with pointers [3] on a chart with two diagnoses: correct.

Resolution (correct or query)
    ``correct`` (target ``procedure:<index>``) when the pointers are missing,
    dangling, repeated or too many, and when another diagnosis on the chart
    supports the procedure; the message names the positions to point at.
    ``info`` when no diagnosis on the chart fits the procedure's rule (a
    conservative rule set cannot be sure) and for a screening code listed first
    on a problem-oriented visit. Never a query: pointers are a coding matter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from vma.chart import Procedure
from vma.checks import CheckContext, register
from vma.findings import Finding

DX_LINKAGE = "dx-linkage"
RULES_PATH = Path(__file__).resolve().parent.parent / "reference" / "data" / "dx_linkage_rules.json"
MAX_POINTERS = 4


@dataclass(frozen=True)
class CodeRange:
    """A range of codes compared by prefix ("M00-M99", "Z23", "20600-20611"); "*" covers everything."""

    first: str
    last: str

    @classmethod
    def parse(cls, text: str) -> "CodeRange":
        first, _, last = text.replace(".", "").upper().partition("-")
        return cls(first, last or first)

    def covers(self, code: str) -> bool:
        if self.first == "*":
            return True
        bare = code.replace(".", "").upper()
        return self.first <= bare[:len(self.first)] and bare[:len(self.last)] <= self.last


def _ranges(items: list[str]) -> tuple[CodeRange, ...]:
    return tuple(CodeRange.parse(i) for i in items)


@dataclass(frozen=True)
class LinkageRule:
    procedures: tuple[CodeRange, ...]
    label: str
    plausible: tuple[CodeRange, ...]
    why: str

    def applies_to(self, code: str) -> bool:
        return any(r.covers(code) and len(code) == len(r.first) for r in self.procedures)

    def supports(self, icd_code: str) -> bool:
        return any(r.covers(icd_code) for r in self.plausible)


# Codes answered per rule set, kept for the next chart (a server runs for long): bounded, and emptied when full.
_MEMO_LIMIT = 10_000


@dataclass(frozen=True)
class LinkageRules:
    rules: tuple[LinkageRule, ...]
    problem_visits: tuple[CodeRange, ...]
    screening: tuple[CodeRange, ...]
    # (question, code) -> answer: every chart asks the same few codes, and each answer walks every range
    _memo: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def _remembered(self, key: tuple, compute, arg):
        memo = self._memo
        try:
            return memo[key]
        except KeyError:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            answer = memo[key] = compute(arg)
            return answer

    def for_procedure(self, code: str) -> LinkageRule | None:
        return self._remembered(("procedure", code), self._for_procedure, code)

    def _for_procedure(self, code: str) -> LinkageRule | None:
        return next((r for r in self.rules if r.applies_to(code)), None)

    def is_problem_visit(self, code: str) -> bool:
        return self._remembered(("problem visit", code), self._is_problem_visit, code)

    def _is_problem_visit(self, code: str) -> bool:
        return any(r.covers(code) and len(code) == len(r.first) for r in self.problem_visits)

    def is_screening(self, icd_code: str) -> bool:
        return self._remembered(("screening", icd_code), self._is_screening, icd_code)

    def _is_screening(self, icd_code: str) -> bool:
        return any(r.covers(icd_code) for r in self.screening)

    def supports(self, rule: LinkageRule, icd_code: str) -> bool:
        """``rule.supports(icd_code)`` for one of these rules, remembered by rule and code (the rule by its
        identity: these rules hold it for as long as the memo lives)."""
        return self._remembered(("supports", id(rule), icd_code), rule.supports, icd_code)


@lru_cache(maxsize=1)
def linkage_rules() -> LinkageRules:
    data = json.loads(RULES_PATH.read_text())
    em = data["problem_oriented_em"]
    return LinkageRules(
        rules=tuple(LinkageRule(_ranges(r["procedures"]), r["label"], _ranges(r["plausible"]), r["why"])
                    for r in data["rules"]),
        problem_visits=_ranges(em["procedures"]),
        screening=_ranges(em["screening_first_listed"]),
    )


def _positions(ctx: CheckContext, positions: list[int]) -> str:
    return ", ".join(f"{p} ({ctx.chart.diagnoses[p - 1].code})" for p in positions)


def _pointer_problem(ctx: CheckContext, proc: Procedure) -> str | None:
    count = len(ctx.chart.diagnoses)
    pointers = proc.diagnosis_pointers
    if not pointers:
        return f"{proc.code} points at no diagnosis."
    dangling = [p for p in pointers if not 1 <= p <= count]
    if dangling:
        return (f"{proc.code} points at diagnosis position{'s' if len(dangling) > 1 else ''} "
                f"{', '.join(map(str, dangling))}, but the chart lists {count} diagnos{'es' if count != 1 else 'is'}.")
    repeated = sorted({p for p in pointers if pointers.count(p) > 1})
    if repeated:
        return f"{proc.code} points at diagnosis {', '.join(map(str, repeated))} more than once."
    if len(pointers) > MAX_POINTERS:
        return (f"{proc.code} has {len(pointers)} diagnosis pointers; a service line carries at most "
                f"{MAX_POINTERS} (claim item 24E).")
    return None


def _pointer_advice(ctx: CheckContext, proc: Procedure, rules: LinkageRules) -> str:
    count = len(ctx.chart.diagnoses)
    rule = rules.for_procedure(proc.code)
    if rule is not None:
        fitting = [i + 1 for i, dx in enumerate(ctx.chart.diagnoses) if rules.supports(rule, dx.code)][:MAX_POINTERS]
        if fitting:
            return f" Point it at diagnosis {_positions(ctx, fitting)}, which can support {rule.label}."
    if count == 1:
        return f" Point it at diagnosis {_positions(ctx, [1])}."
    return (f" Point it at up to {MAX_POINTERS} of the chart's diagnoses ({_positions(ctx, list(range(1, count + 1)))}), "
            "the one chiefly responsible for the service first.")


def _pointed(ctx: CheckContext, proc: Procedure) -> list[str]:
    return [ctx.chart.diagnoses[p - 1].code for p in proc.diagnosis_pointers]


def _line_findings(ctx: CheckContext, index: int, proc: Procedure, rules: LinkageRules) -> Iterator[Finding]:
    where = f"procedure:{index}"
    problem = _pointer_problem(ctx, proc)
    if problem is not None:
        yield Finding(check=DX_LINKAGE, action="correct", code=proc.code,
                      message=problem + _pointer_advice(ctx, proc, rules),
                      evidence=f"procedures[{index}].diagnosis_pointers: {proc.diagnosis_pointers}", target=where)
        return
    pointed = _pointed(ctx, proc)
    if rules.is_problem_visit(proc.code) and rules.is_screening(pointed[0]):
        problems = [i + 1 for i, dx in enumerate(ctx.chart.diagnoses) if not dx.code.startswith("Z")]
        if problems:
            yield Finding(check=DX_LINKAGE, action="info", severity="info", code=proc.code,
                          message=(f"{proc.code} is a problem-oriented visit but its first diagnosis is the "
                                   f"screening/examination code {pointed[0]}, while the chart codes "
                                   f"{_positions(ctx, problems)}. List the problem addressed first; a preventive "
                                   f"examination is reported with the preventive service codes."),
                          evidence=f"procedures[{index}].diagnosis_pointers: {proc.diagnosis_pointers}",
                          target=where)
    rule = rules.for_procedure(proc.code)
    if rule is None or any(rules.supports(rule, code) for code in pointed):
        return
    fitting = [i + 1 for i, dx in enumerate(ctx.chart.diagnoses) if rules.supports(rule, dx.code)][:MAX_POINTERS]
    opening = (f"{proc.code} ({rule.label}) points only at {', '.join(pointed)}, outside the diagnoses that "
               f"plausibly support it ({rule.why.rstrip('.')})")
    evidence = f"procedures[{index}].diagnosis_pointers: {proc.diagnosis_pointers}"
    if fitting:
        yield Finding(check=DX_LINKAGE, action="correct", code=proc.code,
                      message=f"{opening}. Point it at diagnosis {_positions(ctx, fitting)}.",
                      evidence=evidence, target=where)
    else:
        yield Finding(check=DX_LINKAGE, action="info", severity="warning", code=proc.code,
                      message=(f"{opening}. No diagnosis on the chart fits; check that the diagnosis the "
                               f"procedure treated is coded."),
                      evidence=evidence, target=where)


@register(
    DX_LINKAGE,
    actions=("correct", "info"),
    references=(
        "NUCC 1500 Claim Form Reference Instruction Manual, item 24E",
        "ASC X12 837P SV107",
        "ICD-10-CM Official Guidelines FY2026 IV.A, IV.D, I.C.21.c.2, I.C.21.c.13",
        "Rule set and its sources: vma/reference/data/dx_linkage_rules.json",
    ),
)
def check(ctx: CheckContext) -> Iterator[Finding]:
    if not ctx.chart.diagnoses:
        return  # nothing to point at: missing-element reports the absent diagnoses
    rules = linkage_rules()
    for index, proc in enumerate(ctx.procedures):
        yield from _line_findings(ctx, index, proc, rules)
