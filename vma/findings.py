"""Findings: what a check reports, and the per-chart report (contract section 5)."""

from __future__ import annotations

from json.encoder import encode_basestring as _json_text  # what the compact encoder writes a string as
from typing import Literal, get_args

from vma.records import Field, ListOf, Nested, OneOf, Record, Text

Action = Literal["query", "correct", "info"]
Severity = Literal["error", "warning", "info"]
Status = Literal["clear", "needs_query", "needs_correction", "invalid", "incomplete"]

# The finding that stands for a check that raised instead of finishing (contract section 5): the chart
# is ``incomplete``, never clear, and never goes to the coders until the check runs through.
CHECK_FAILED = "check-failed"

OTHER = "Other"
UNDETERMINED = "Clinically undetermined"


class Choice(Record):
    """One answer a provider can give to a query.

    ``codes`` are the codes that replace the finding's code when chosen (two for
    "right and left" where no bilateral code exists); ``poa`` is the indicator
    set by a POA answer; ``kind`` tells the escape answers apart.
    """

    label = Field(Text())
    codes = Field(ListOf(Text()), factory=list)
    poa = Field(Text(), optional=True)
    kind = Field(OneOf("code", "poa", "other", "undetermined", "confirm", "value"), default="code")
    value = Field(Text(), optional=True)


# Printed only when set (contract section 5): a check-failed finding's check, a payer rule's own fields.
_SHOWN_WHEN_SET = ("failed_check", "rule_id", "payer_id", "references")


class Finding(Record):
    check = Field(Text())
    action = Field(OneOf(*get_args(Action)))
    severity = Field(OneOf(*get_args(Severity)), default="error")
    code = Field(Text(), optional=True)
    message = Field(Text())
    evidence = Field(Text(), default="")
    suggested_codes = Field(ListOf(Text()), factory=list)
    question = Field(Text(), optional=True)
    options = Field(ListOf(Text()), factory=list)
    # Internal: structured answers and where the finding applies. Not part of
    # the JSON contract, so excluded from dumps.
    choices = Field(ListOf(Nested(Choice)), factory=list, exclude=True)
    target = Field(Text(), optional=True, exclude=True)  # "diagnosis:1", "procedure:0", "chart"
    # Only on a ``check-failed`` finding: the ID of the check that failed (also named in the message).
    failed_check = Field(Text(), optional=True)
    # Only on a ``payer-rule`` finding (contract section 5): the rule and the pack's payer, and the
    # rule's own references (the payer's policy it cites).
    rule_id = Field(Text(), optional=True)
    payer_id = Field(Text(), optional=True)
    references = Field(ListOf(Text()), optional=True)

    def model_post_init(self, __context: object) -> None:
        if self.choices and not self.options:
            self.options = [c.label for c in self.choices]

    def model_dump(self, mode: str = "python", exclude_none: bool = False, include: set[str] | None = None) -> dict:
        data = super().model_dump(mode, exclude_none, include)
        for key in _SHOWN_WHEN_SET:
            if data.get(key) is None:
                data.pop(key, None)
        return data


def check_failed(check_id: str, error: BaseException) -> Finding:
    """The finding for a check that raised. Names the check and the kind of error only: an exception's
    text can quote the note, so it stays in the server log, never in the finding."""
    return Finding(
        check=CHECK_FAILED, action="info", severity="error", failed_check=check_id,
        message=(f"The {check_id} check failed on this chart ({type(error).__name__}) and did not finish, so the "
                 "chart was not fully checked: it is incomplete, not clear, and must not go to coding until the "
                 "check runs through."),
    )


class ChartReport(Record):
    chart_id = Field(Text())
    status = Field(OneOf(*get_args(Status)))
    findings = Field(ListOf(Nested(Finding)), factory=list)

    @classmethod
    def from_findings(cls, chart_id: str, findings: list[Finding]) -> "ChartReport":
        status = status_of(findings)
        if type(chart_id) is str and chart_id.isascii() and all(isinstance(f, Finding) for f in findings):
            # What reading these three would keep, set as it is: a report strips nothing, a status worked out
            # here is one of its values, and the findings go in a list of the report's own.
            report = cls.__new__(cls)
            report.__dict__.update(chart_id=chart_id, status=status, findings=list(findings), model_extra=None)
            return report
        return cls(chart_id=chart_id, status=status, findings=findings)

    def model_dump_json(self) -> str:
        findings = self.findings
        if type(findings) is list and not findings and type(self.chart_id) is str and type(self.status) is str:
            # A chart with no findings, most of a folder: its line as the encoder writes it.
            return f'{{"chart_id":{_json_text(self.chart_id)},"status":{_json_text(self.status)},"findings":[]}}'
        return super().model_dump_json()


def status_of(findings: list[Finding]) -> Status:
    actions = set()
    for f in findings:
        if f.check == CHECK_FAILED:
            return "incomplete"
        actions.add(f.action)
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
