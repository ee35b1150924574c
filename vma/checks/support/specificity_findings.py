"""The specificity findings of a chart: the type, stage, severity, cause or complication the note documents, or a query among the codes that fit."""

from __future__ import annotations

from typing import Iterator

from vma.checks import CheckContext
from vma.checks.support.axes.index import axis_index
from vma.checks.support.axes.words import SPECIFICITY
from vma.checks.support.axis_findings import correction, decisions, specificity_query
from vma.checks.support.combinations.findings import combination_findings
from vma.findings import Finding


def _combined(ctx: CheckContext) -> set[str]:
    """Targets the combination check corrects: a diabetes code it links to a coded complication
    ("with", Guideline I.A.15) is its finding, not a second one here."""
    return {f.target for f in combination_findings(ctx)
            if f.action == "correct" and f.target and f.code not in f.suggested_codes
            and len(f.suggested_codes) == 1}  # an added code beside the kept one is not a replacement


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    index = axis_index(ctx.icd)
    combined: set[str] | None = None
    for position, d in decisions(ctx, SPECIFICITY):
        if d.base.startswith(("E08", "E09", "E10", "E11", "E13")):
            combined = _combined(ctx) if combined is None else combined
            if f"diagnosis:{position}" in combined:
                continue
        if index.release.is_billable(d.base) or index.needs_seventh(d.base):
            if d.action == "correct":
                yield correction(ctx, index, position, d, SPECIFICITY)
            else:
                yield specificity_query(ctx, index, position, d, SPECIFICITY)


def specificity_findings(ctx: CheckContext) -> list[Finding]:
    """The specificity findings of a chart, computed once: the check reports them, and ``non-billable-code``
    leaves a header they already report to them."""
    return ctx.shared(SPECIFICITY, _findings)
