"""Payer rules: a rule of a payer rule pack (``VMA_RULES_DIR``) matched the chart.

What it finds
    Each rule, in every pack whose ``payer_id`` is the chart's
    ``coverage.payer_id`` (or ``"*"``, every payer), whose CEL ``when``
    expression is true on the chart. The finding carries the rule's ID
    (``rule_id``), the pack's ``payer_id``, the rule's message and its
    references. Packs are compiled once when they are loaded; a chart with no
    coverage meets only the ``"*"`` packs.

Why it matters
    The CMS edits (NCCI, MUE, the tabular) are what every payer shares; each
    commercial payer adds its own edits (modifier 25 with a same-day minor
    procedure, a preventive visit beside a problem-oriented E/M, frequency
    limits) that a clinic learns from its own denials. Catching them before the
    claim goes out is what a claim scrubber is bought for; kept as data, each
    clinic keeps its own and tests them against example charts.

Example
    A pack for payer 60054 with rule ACME-0001 (``when``: an E/M without
    modifier 25 and 20610 on the same chart): a chart of that payer with 99213
    and 20610 gets a ``payer-rule`` finding with ``rule_id`` ACME-0001,
    ``payer_id`` 60054, the pack's message and references.

Resolution (correct, query, info)
    As the rule says: ``correct`` (the coder fixes the claim; the message says
    how), ``query`` (only the physician can settle it: the rule's own question,
    which must pass the compliant-query lint, with its options plus "Other" and
    "Clinically undetermined"), or ``info`` (advice; does not hold the chart).
"""

from __future__ import annotations

from typing import Iterator

from vma.chart import age_on_service
from vma.checks import CheckContext, register
from vma.findings import Choice, Finding, query_choices
from vma.rules import chart_for_cel

PAYER_RULE = "payer-rule"
_SEVERITY = {"correct": "error", "query": "error", "info": "info"}


@register(
    PAYER_RULE,
    actions=("correct", "query", "info"),
    references=(
        "Contract section 7 (payer rule packs)",
        "Common Expression Language specification (github.com/google/cel-spec)",
        'AHIMA/ACDIS "Guidelines for Achieving a Compliant Query Practice" (2022 update) for query rules',
        "the payer's own policy named in each rule's ``references``",
    ),
)
def check(ctx: CheckContext) -> Iterator[Finding]:
    rules = ctx.ref.payer_rules
    if not rules.packs:
        return
    for pack, rule in rules.matching(chart_for_cel(ctx.chart), age_on_service(ctx.chart)):
        source = f" ({pack.payer_name or pack.payer_id} rule {rule.id}"
        source += f", pack {pack.version})" if pack.version else ")"
        finding = Finding(
            check=PAYER_RULE, action=rule.action, severity=_SEVERITY[rule.action],
            message=f"{rule.title}: {rule.message}{source}", evidence=f"rule {rule.id}",
            rule_id=rule.id, payer_id=pack.payer_id, references=list(rule.references), target="chart")
        if rule.action == "query":
            finding.question = rule.question
            finding.choices = query_choices([Choice(label=o, kind="value", value=o) for o in rule.options])
            finding.options = [c.label for c in finding.choices]
        yield finding
