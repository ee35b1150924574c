"""The codes the record does not keep: what excludes1 and sex-age drop from the chart.

No other check refines a code the record does not keep, or adds a code beside it: the decision
is read here, from the support modules that own it, never by running another check.
"""

from __future__ import annotations

from vma.checks import CheckContext
from vma.checks.support.demographics.decide import sex_age_findings
from vma.checks.support.exclusions.decide import excludes1_findings


def _diagnosis_positions(target: str | None) -> list[int]:
    """The positions a finding targets ("diagnosis:0,2" -> [0, 2]); none for another kind of target."""
    if not (target or "").startswith("diagnosis:"):
        return []
    return [int(part) for part in target.split(":", 1)[1].split(",") if part.isdigit()]


def removed_positions(ctx: CheckContext) -> set[int]:
    """Diagnosis positions that the excludes1 or sex-age corrections drop from the chart."""
    codes = [dx.code for dx in ctx.chart.diagnoses]
    return {p for findings in (excludes1_findings(ctx), sex_age_findings(ctx)) for f in findings
            if f.action == "correct"
            for p in _diagnosis_positions(f.target) if p < len(codes) and codes[p] not in f.suggested_codes}


def queried_positions(ctx: CheckContext) -> set[int]:
    """Diagnosis positions in an Excludes1 query: the provider is asked which of two codes the patient
    has, and the answer may drop either."""
    return {p for f in excludes1_findings(ctx) if f.action == "query" for p in _diagnosis_positions(f.target)}
