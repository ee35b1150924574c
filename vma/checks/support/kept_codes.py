"""The codes the record does not keep: what excludes1 and sex-age drop from the chart.

No other check refines a code the record does not keep, or adds a code beside it: the decision
is read here, from the support modules that own it, never by running another check.
"""

from __future__ import annotations

from vma.checks import CheckContext
from vma.checks.support.demographics.decide import sex_age_findings
from vma.checks.support.exclusions.decide import excludes1_findings


def removed_positions(ctx: CheckContext) -> set[int]:
    """Diagnosis positions that the excludes1 or sex-age corrections drop from the chart."""
    dropped: set[int] = set()
    codes = [dx.code for dx in ctx.chart.diagnoses]
    for findings in (excludes1_findings(ctx), sex_age_findings(ctx)):
        for f in findings:
            if f.action != "correct" or not (f.target or "").startswith("diagnosis:"):
                continue
            for part in f.target.split(":", 1)[1].split(","):
                if part.isdigit() and int(part) < len(codes) and codes[int(part)] not in f.suggested_codes:
                    dropped.add(int(part))
    return dropped


def queried_positions(ctx: CheckContext) -> set[int]:
    """Diagnosis positions in an Excludes1 query: the provider is asked which of two codes the patient
    has, and the answer may drop either."""
    queried: set[int] = set()
    for f in excludes1_findings(ctx):
        if f.action == "query" and (f.target or "").startswith("diagnosis:"):
            queried |= {int(part) for part in f.target.split(":", 1)[1].split(",") if part.isdigit()}
    return queried
