"""Findings: what a check reports, and the per-chart report (contract section 5)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Action = Literal["query", "correct", "info"]
Severity = Literal["error", "warning", "info"]
Status = Literal["clear", "needs_query", "needs_correction", "invalid"]

OTHER = "Other"
UNDETERMINED = "Clinically undetermined"


class Choice(BaseModel):
    """One answer a provider can give to a query.

    ``codes`` are the codes that replace the finding's code when chosen (two for
    "right and left" where no bilateral code exists); ``poa`` is the indicator
    set by a POA answer; ``kind`` tells the escape answers apart.
    """

    label: str
    codes: list[str] = Field(default_factory=list)
    poa: str | None = None
    kind: Literal["code", "poa", "other", "undetermined", "confirm", "value"] = "code"
    value: str | None = None


class Finding(BaseModel):
    check: str
    action: Action
    severity: Severity = "error"
    code: str | None = None
    message: str
    evidence: str = ""
    suggested_codes: list[str] = Field(default_factory=list)
    question: str | None = None
    options: list[str] = Field(default_factory=list)
    # Internal: structured answers and where the finding applies. Not part of
    # the JSON contract, so excluded from dumps.
    choices: list[Choice] = Field(default_factory=list, exclude=True)
    target: str | None = Field(default=None, exclude=True)  # "diagnosis:1", "procedure:0", "chart"

    def model_post_init(self, __context: object) -> None:
        if self.choices and not self.options:
            self.options = [c.label for c in self.choices]


class ChartReport(BaseModel):
    chart_id: str
    status: Status
    findings: list[Finding] = Field(default_factory=list)

    @classmethod
    def from_findings(cls, chart_id: str, findings: list[Finding]) -> "ChartReport":
        return cls(chart_id=chart_id, status=status_of(findings), findings=findings)


def status_of(findings: list[Finding]) -> Status:
    actions = {f.action for f in findings}
    if "query" in actions:
        return "needs_query"
    if "correct" in actions:
        return "needs_correction"
    return "clear"


def query_choices(code_choices: list[Choice]) -> list[Choice]:
    """A compliant multiple-choice set: the clinical options plus the two escape answers."""
    return [
        *code_choices,
        Choice(label=OTHER, kind="other"),
        Choice(label=UNDETERMINED, kind="undetermined"),
    ]
