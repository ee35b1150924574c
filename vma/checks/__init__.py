"""The check registry.

Every check is one module in this package with a stable ID (contract section 5)
and a docstring with the fixed sections *What it finds*, *Why it matters*,
*Example* and *Resolution*. A check is a pure function of the chart and the
reference data: ``check(ctx) -> Iterable[Finding]``. It declares its ID, the
actions it may take and the references its rules rest on once, where it
registers::

    @register("laterality", actions=("correct", "query"), references=("ICD-10-CM Official Guidelines ... I.B.13",))
    def check(ctx: CheckContext) -> Iterator[Finding]: ...

No check runs another: a decision two checks read (the codes excludes1 drops) lives in
``vma.checks.support`` and is computed once per chart (:meth:`CheckContext.shared`).
The order of CHECK_MODULES is the order checks run and findings are listed.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import traceback
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterable

from vma.chart import Chart, Diagnosis, Procedure
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.once import once
from vma.findings import ChartReport, Finding, check_failed
from vma.reference import ReferenceData, default_reference
from vma.reference.icd10cm import IcdEntry, IcdRelease

log = logging.getLogger(__name__)

CHECK_MODULES = (
    "unsigned",
    "missing_element",
    "invalid_npi",
    "invalid_date",
    "invalid_code",
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
ACTIONS = ("correct", "query", "info")


@dataclass(frozen=True)
class CheckSpec:
    """What a check declares once, where it registers: its ID, the actions it may take, its references."""

    id: str
    fn: CheckFn
    actions: tuple[str, ...]
    references: tuple[str, ...]
    doc: str  # the module's docstring with its References section rendered from ``references``
    module: str


# One module per check ID, and one ID per module.
_REGISTRY: dict[str, CheckSpec] = {}


def register(check_id: str, *, actions: Iterable[str], references: Iterable[str]) -> Callable[[CheckFn], CheckFn]:
    """Declare a check: the decorator is the whole registry entry.

    ``actions`` is every action its findings may take ("correct", "query", "info"); with
    ``VMA_STRICT_CHECKS`` set (the test suite) a finding outside them fails the run. ``references``
    are the sources its rules rest on; the module's docstring carries none of its own, and the
    References section of :attr:`CheckSpec.doc` (and the README's table) is rendered from them.
    """
    actions, references = tuple(actions), tuple(references)
    unknown = [a for a in actions if a not in ACTIONS]
    if not actions or unknown:
        raise ValueError(f"check {check_id}: actions must be some of {ACTIONS}, got {actions}")
    if not references:
        raise ValueError(f"check {check_id}: declare the references its rules rest on")

    def deco(fn: CheckFn) -> CheckFn:
        module_doc = (getattr(sys.modules.get(fn.__module__), "__doc__", None) or "").rstrip()
        if re.search(r"^References\b", module_doc, re.M):
            raise ValueError(f"{fn.__module__}: references are declared in register(), not in the docstring")
        known = _REGISTRY.get(check_id)
        if known is not None and known.module != fn.__module__:
            raise ValueError(f"check {check_id} is registered by {known.module} and {fn.__module__}")
        doc = module_doc + "\n\nReferences\n" + "".join(f"    {r}\n" for r in references)
        _REGISTRY[check_id] = CheckSpec(check_id, fn, actions, references, doc, fn.__module__)
        return fn

    return deco


_ordered: tuple[int, list[CheckSpec]] | None = None
# UTC+14, where the calendar date is the latest anywhere on earth (see CheckContext.today).
_LATEST_ZONE = timezone(timedelta(hours=14))


def all_checks() -> list[CheckSpec]:
    """Every registered check in run order; imports the check modules once per process."""
    global _ordered
    if _ordered is not None and _ordered[0] == len(_REGISTRY):
        return _ordered[1]
    for name in CHECK_MODULES:
        importlib.import_module(f"{__name__}.{name}")
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


class CheckContext:
    """One chart and the reference data, as every check sees them (set a value such as ``today`` on it to
    pin it)."""

    def __init__(self, chart: Chart, ref: ReferenceData, memo: dict | None = None):
        self.chart = chart
        self.ref = ref
        self.memo = {} if memo is None else memo  # shared decisions on this chart, by key

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return (self.chart, self.ref, self.memo) == (other.chart, other.ref, other.memo)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{self.__class__.__qualname__}(chart={self.chart!r}, ref={self.ref!r})"

    def shared(self, key: str, compute: Callable[["CheckContext"], list[Finding]]) -> list[Finding]:
        """A decision more than one check reads (the codes excludes1 drops, the combination codes),
        computed once per chart by the support module that owns it; each reader gets its own list."""
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = list(compute(self))
        return list(found)

    @once
    def dos(self) -> date | None:
        return parse_date(self.chart.encounter.date_of_service)

    @once
    def today(self) -> date:
        """The current date checks judge against ("in the future"). Set it on the context to pin it.

        Defaults to the calendar date at UTC+14, the latest date anywhere on earth, so a
        chart dated today in any clinic's time zone is never taken for a future one.
        """
        return datetime.now(_LATEST_ZONE).date()

    @once
    def icd(self) -> IcdRelease:
        return self.ref.icd_for(self.dos)

    @once
    def note(self) -> NoteDoc:
        return NoteDoc.from_chart_note(self.chart.note.text, self.chart.note.sections)

    def known_diagnoses(self) -> list[tuple[int, Diagnosis, IcdEntry]]:
        """(position, diagnosis, tabular entry) for each diagnosis whose code exists in the release; several
        checks read it, so it is looked up once per chart (each reader gets its own list)."""
        return list(self._known_diagnoses)

    @once
    def _known_diagnoses(self) -> tuple[tuple[int, Diagnosis, IcdEntry], ...]:
        icd = self.icd
        return tuple((i, dx, entry) for i, dx in enumerate(self.chart.diagnoses)
                     if (entry := icd.get(dx.code)) is not None)

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
    strict = bool(os.environ.get("VMA_STRICT_CHECKS"))
    for spec in all_checks():
        if wanted is not None and spec.id not in wanted:
            continue
        try:
            # Consumed here, inside the try: a generator check raises while it is iterated.
            produced = list(spec.fn(ctx))
            if strict:
                undeclared = sorted({f.action for f in produced} - set(spec.actions))
                if undeclared:
                    raise AssertionError(f"check {spec.id} took {undeclared}, not among its declared {spec.actions}")
        except Exception as exc:
            if strict:
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
