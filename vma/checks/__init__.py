"""The check registry.

Every check is a module in this package with a stable ID (contract section 5)
and a docstring with the fixed sections *What it finds*, *Why it matters*,
*Example*, *Resolution* and *References*. A check is a pure function of the
chart and the reference data: ``check(ctx) -> Iterable[Finding]``.

Register with ``@register("laterality")``. Module import order is the order
checks run and findings are listed.
"""

from __future__ import annotations

import importlib
import logging
import os
import traceback
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Callable, Iterable

from vma.chart import Chart, Diagnosis, Procedure
from vma.findings import ChartReport, Finding, check_failed
from vma.notes import NoteDoc
from vma.reference import ReferenceData, default_reference
from vma.reference.icd10cm import IcdEntry, IcdRelease

log = logging.getLogger(__name__)

CHECK_MODULES = (
    "unsigned",
    "missing_element",
    "invalid_npi",
    "invalid_date",
    "invalid_code",
    "invalid_procedure_code",
    "non_billable_code",
    "seventh_character",
    "laterality",
    "acuity",
    "specificity",
    "poa",
    "excludes1",
    "combination",
    "em_level",
    "dx_linkage",
    "modifier",
    "ncci_ptp",
    "mue",
    "place_of_service",
    "sex_age",
    "payer_rule",
)

CheckFn = Callable[["CheckContext"], Iterable[Finding]]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    fn: CheckFn
    doc: str
    module: str


# Keyed by (check id, module): one ID may be served by more than one module
# (``invalid-code`` for diagnoses and for procedure codes), never the reverse.
_REGISTRY: dict[tuple[str, str], CheckSpec] = {}


def register(check_id: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check. Its findings on a chart are computed once per check context: a check that
    must know what another decides about a code (a code another check removes is not refined or
    added to) asks :meth:`CheckContext.findings_of`, and the run that lists them reuses the result."""
    def deco(fn: CheckFn) -> CheckFn:
        import sys
        from functools import wraps

        key = (check_id, fn.__module__)

        @wraps(fn)
        def once(ctx: "CheckContext") -> list[Finding]:
            found = ctx.results.get(key)
            if found is None:
                found = ctx.results[key] = list(fn(ctx))
            return list(found)

        mod = sys.modules.get(fn.__module__)
        _REGISTRY[key] = CheckSpec(check_id, once, (mod.__doc__ if mod else "") or "", fn.__module__)
        return once

    return deco


_ordered: tuple[int, list[CheckSpec]] | None = None


def all_checks() -> list[CheckSpec]:
    """Every registered check in run order; imports the check modules once per process."""
    global _ordered
    if _ordered is not None and _ordered[0] == len(_REGISTRY):
        return _ordered[1]
    for name in CHECK_MODULES:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    order = {f"{__name__}.{n}": i for i, n in enumerate(CHECK_MODULES)}
    specs = sorted(_REGISTRY.values(), key=lambda s: order.get(s.module, 999))
    _ordered = (len(_REGISTRY), specs)
    return specs


def parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


@dataclass
class CheckContext:
    chart: Chart
    ref: ReferenceData
    results: dict = field(default_factory=dict, repr=False)  # (check id, module) -> its findings on this chart

    def findings_of(self, check_id: str) -> list[Finding]:
        """The findings of every module of a check on this chart (each computed once)."""
        out: list[Finding] = []
        for spec in all_checks():
            if spec.id == check_id:
                out.extend(spec.fn(self))
        return out

    def removed_positions(self) -> set[int]:
        """Diagnosis positions that the excludes1 or sex-age corrections drop from the chart: no other
        check refines or adds to a code the record does not keep."""
        dropped: set[int] = set()
        codes = [dx.code for dx in self.chart.diagnoses]
        for check_id in ("excludes1", "sex-age"):
            for f in self.findings_of(check_id):
                if f.action != "correct" or not (f.target or "").startswith("diagnosis:"):
                    continue
                for part in f.target.split(":", 1)[1].split(","):
                    if part.isdigit() and int(part) < len(codes) and codes[int(part)] not in f.suggested_codes:
                        dropped.add(int(part))
        return dropped

    @cached_property
    def dos(self) -> date | None:
        return parse_date(self.chart.encounter.date_of_service)

    @cached_property
    def today(self) -> date:
        """The current date checks judge against ("in the future"). Set it on the context to pin it.

        Defaults to the calendar date at UTC+14, the latest date anywhere on earth, so a
        chart dated today in any clinic's time zone is never taken for a future one.
        """
        from datetime import datetime, timedelta, timezone

        return datetime.now(timezone(timedelta(hours=14))).date()

    @cached_property
    def icd(self) -> IcdRelease:
        return self.ref.icd_for(self.dos)

    @cached_property
    def note(self) -> NoteDoc:
        return NoteDoc.from_chart_note(self.chart.note.text, self.chart.note.sections)

    def known_diagnoses(self) -> list[tuple[int, Diagnosis, IcdEntry]]:
        """(position, diagnosis, tabular entry) for each diagnosis whose code exists in the release."""
        out = []
        for i, dx in enumerate(self.chart.diagnoses):
            entry = self.icd.get(dx.code)
            if entry is not None:
                out.append((i, dx, entry))
        return out

    @property
    def procedures(self) -> list[Procedure]:
        return self.chart.procedures

    @property
    def outpatient(self) -> bool:
        return self.chart.encounter.setting != "inpatient"


def run_checks(chart: Chart, ref: ReferenceData | None = None, only: Iterable[str] | None = None) -> ChartReport:
    """Every check (or those in ``only``) on one chart.

    A check that raises never lets the chart pass: the other checks still run (their findings
    stand), and the report gets a ``check-failed`` finding naming the check, which makes its
    status ``incomplete`` (never ``clear``; contract section 5). With ``VMA_STRICT_CHECKS`` set
    (the test suite) the exception is raised instead, so a defect fails its test.
    """
    ctx = CheckContext(chart, ref or default_reference())
    wanted = set(only) if only else None
    findings: list[Finding] = []
    failed: list[Finding] = []
    for spec in all_checks():
        if wanted is not None and spec.id not in wanted:
            continue
        try:
            # Consumed here, inside the try: a generator check raises while it is iterated.
            produced = list(spec.fn(ctx))
        except Exception as exc:
            if os.environ.get("VMA_STRICT_CHECKS"):
                raise
            # Where it failed goes to the operator's log (the frames, not the error's text: that may quote
            # the note); the finding names the check and the error type only.
            log.error("check %s failed on chart %s with %s; traceback (most recent call last):\n%s", spec.id,
                      chart.chart_id, type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)).rstrip())
            if not any(f.failed_check == spec.id for f in failed):
                failed.append(check_failed(spec.id, exc))
            continue
        findings.extend(produced)
    return ChartReport.from_findings(chart.chart_id, [*failed, *findings])
