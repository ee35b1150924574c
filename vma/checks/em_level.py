"""E/M level: the office visit level billed is not supported by the documented time or MDM.

What it finds
    On office or other outpatient E/M lines (99202-99205 new, 99211-99215
    established; telehealth visits billed with these codes too):
    a level above both what the total time on the date of service supports and
    what the note's medical decision making supports (estimated generously by
    vma.mdm: problems addressed, data reviewed, risk of management, two of
    three); a new-patient code for an established patient or the reverse; a
    prolonged-service line (99417, Medicare G2212) without the total time it
    needs. Also advises when the documented time supports a higher level than
    the one billed. Inpatient, observation, emergency and other E/M families
    are out of scope and left alone.

Why it matters
    A level the documentation does not support is an overpayment that audits
    recover (and a pattern of them is a compliance risk); a level below what the
    time supports leaves earned revenue unbilled. New/established codes are
    paid on different scales and are denied when they contradict the
    practice's history with the patient.

Example
    99215 billed, "I spent 22 minutes with the patient today", one stable
    chronic problem (reflux, continue Protonix 40 mg): time supports 99213 (20
    minutes), MDM is low (one stable chronic illness, prescription drug
    management but little data): correct to 99213.

Resolution (correct or query)
    ``correct`` to the highest level either time or MDM supports, and to the
    code of the same level in the patient's family (new/established); remove or
    reduce a prolonged-service line the time does not support. ``info`` when the
    documented time supports a higher level than billed. Never a query: the
    level follows from what is written, and asking a provider to add to the
    record for a higher level is a leading query.

References
    AMA CPT E/M Services Guidelines (2021; times revised 2024) and the MDM
    table; CPT 99417; CMS CY2021 PFS final rule (85 FR 84472) for G2212; CMS
    MLN006764 "Evaluation and Management Services Guide". Table with sources:
    vma/reference/data/em_office.json.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Callable, Iterator

from vma.chart import Procedure
from vma.checks import CheckContext, register
from vma.findings import Finding
from vma.mdm import LEVEL_NAMES, MdmEstimate, MdmReader, ProblemItem
from vma.notes import quote

EM_LEVEL = "em-level"
TABLE_PATH = Path(__file__).resolve().parent.parent / "reference" / "data" / "em_office.json"
MDM_RANKS = {name: rank for rank, name in LEVEL_NAMES.items()}


@dataclass(frozen=True)
class VisitLevel:
    code: str
    family: str  # "new" or "established"
    rank: int  # 0 for 99211 (no MDM or time), else the MDM rank 1..4
    minutes: int | None


@dataclass(frozen=True)
class ProlongedRule:
    code: str
    rule: str  # "CPT" or "Medicare"
    first_unit_at: dict[str, int]  # primary code -> total minutes for the first unit
    each_unit_minutes: int

    def units_supported(self, primary: str, minutes: int) -> int:
        start = self.first_unit_at[primary]
        return 0 if minutes < start else 1 + (minutes - start) // self.each_unit_minutes


class EmOfficeTable:
    def __init__(self, data: dict):
        self.levels: dict[str, VisitLevel] = {}
        self.families: dict[str, list[VisitLevel]] = {}
        for family, spec in data["families"].items():
            rows = [VisitLevel(row["code"], family, MDM_RANKS.get(row["mdm"], 0), row["minutes"])
                    for row in spec["levels"]]
            self.families[family] = rows
            self.levels.update((row.code, row) for row in rows)
        self.prolonged = {p["code"]: ProlongedRule(p["code"], p["rule"], dict(p["with"]), p["each_unit_minutes"])
                          for p in data["prolonged"]}

    def level(self, code: str) -> VisitLevel | None:
        return self.levels.get(code)

    def at_rank(self, family: str, rank: int) -> VisitLevel:
        """The family's code at ``rank``, or its lowest code above it (new patients have no 99211)."""
        rows = self.families[family]
        return next((row for row in rows if row.rank >= rank), rows[-1])

    def time_rank(self, family: str, minutes: int | None) -> int | None:
        """The highest rank whose minimum time the minutes meet (times are minimums since 2024)."""
        if minutes is None:
            return None
        met = [row.rank for row in self.families[family] if row.minutes is not None and minutes >= row.minutes]
        return max(met) if met else None


@lru_cache(maxsize=1)
def em_table() -> EmOfficeTable:
    return EmOfficeTable(json.loads(TABLE_PATH.read_text()))


# -- what the record documents ---------------------------------------------------

class Documented:
    """What the record documents for the visit level. The MDM estimate is read from the
    note only when asked for: when the time alone supports the level billed, it is
    never needed, and it is the costliest reading the engine does."""

    def __init__(self, minutes: int | None, time_evidence: str, mdm_reader: Callable[[], MdmReader | None]):
        self.minutes = minutes
        self.time_evidence = time_evidence
        self._mdm_reader = mdm_reader

    @cached_property
    def mdm_reader(self) -> MdmReader | None:  # None when the note has no assessment or plan to read
        return self._mdm_reader()

    @cached_property
    def mdm(self) -> MdmEstimate | None:
        return self.mdm_reader.estimate() if self.mdm_reader is not None else None

    def mdm_rank_for(self, billed_rank: int) -> int | None:
        """The MDM rank, or just ``billed_rank`` when MDM reaches it: then the exact level
        changes nothing, and reading only the elements that decide it is much cheaper."""
        reader = self.mdm_reader
        if reader is None:
            return None
        if reader.reaches(billed_rank):
            return billed_rank
        return self.mdm.level

    def time_phrase(self) -> str:
        return f"{self.minutes} minutes of total time" if self.minutes is not None else "no total time"


def _time_quote(text: str) -> str:
    """The time statement up to the clause that gives the minutes."""
    m = re.search(r"\bmin(?:ute)?s?\b", text, re.I)
    cut = re.search(r"[,;]", text[m.end():]) if m else None
    if cut:
        return f'"{text[:m.end() + cut.start()].strip()} ..."'
    return quote(text)


def documented(ctx: CheckContext) -> Documented:
    note = ctx.note
    minutes_in_note = note.total_time_minutes
    recorded = ctx.chart.encounter.total_time_minutes
    minutes = max((m for m in (minutes_in_note, recorded) if m is not None), default=None)
    statement = note.time_statement()
    if statement is not None:
        evidence = _time_quote(statement.text)
    elif recorded is not None:
        evidence = f"encounter total time: {recorded} minutes"
    else:
        evidence = ""

    def read_mdm() -> MdmReader | None:
        if not note.section_text("assessment", "plan").strip():
            return None
        return MdmReader(note, _coded_problems(ctx))

    return Documented(minutes, evidence, read_mdm)


def _coded_problems(ctx: CheckContext) -> list[str]:
    """Coded problems, one per category outside the Z chapter of factors and encounters."""
    by_category: dict[str, str] = {}
    for dx in ctx.chart.diagnoses:
        if dx.code and not dx.code.startswith("Z"):
            by_category.setdefault(dx.code[:3], f"coded {dx.code}")
    return list(by_category.values())


def _item_evidence(item: ProblemItem) -> str:
    preferred = [b for b in item.body if re.match(r"(?:medical )?(?:reasoning|treatment|plan)\b", b, re.I)]
    lines = (preferred or item.body)[:2]
    quoted = " ".join(quote(b, 160) for b in lines)
    return f"{item.label}: {quoted}" if quoted else item.label


def _evidence(doc: Documented) -> str:
    parts = [doc.time_evidence] if doc.time_evidence else []
    if doc.mdm is not None:
        parts += [_item_evidence(item) for item in doc.mdm.problems[:3] if item.body]
    return "; ".join(parts)


def _requirement(level: VisitLevel) -> str:
    complexity = LEVEL_NAMES[level.rank]
    mdm = "straightforward" if level.rank == 1 else f"{complexity}-complexity"
    return f"{level.code} requires {mdm} medical decision making or at least {level.minutes} minutes of total time."


def _mdm_phrase(mdm: MdmEstimate) -> str:
    risk = ", ".join(mdm.risk_reasons) if mdm.risk_reasons else "minimal-risk management"
    return (f"{mdm.problems_summary()}, with {mdm.data_summary()} and {risk} "
            f"({mdm.level_name} MDM at most)")


# -- findings ---------------------------------------------------------------------

def _office_visit(ctx: CheckContext, index: int, proc: Procedure, billed: VisitLevel,
                  doc: Documented) -> Iterator[Finding]:
    table = em_table()
    family = ctx.chart.encounter.patient_status or billed.family
    target_rank = billed.rank
    time_rank = table.time_rank(family, doc.minutes)
    mdm_rank = None
    if billed.rank > 1 and (time_rank is None or time_rank < billed.rank):
        # Time alone does not carry the level: MDM may. (Straightforward MDM, the lowest, carries rank 1.)
        mdm_rank = doc.mdm_rank_for(billed.rank)
    supported_rank = max((r for r in (time_rank, mdm_rank) if r is not None), default=None)
    over = billed.rank > 0 and supported_rank is not None and billed.rank > supported_rank
    if over:
        target_rank = supported_rank
    target = table.at_rank(family, target_rank)
    if target.code != proc.code:
        parts = []
        if family != billed.family:
            parts.append(f"{proc.code} is a visit code for {billed.family} patients, but the encounter records "
                         f"the patient as {family}; the {family}-patient code of the same level is "
                         f"{table.at_rank(family, billed.rank).code}.")
        if over:
            by = [name for name, rank in (("time", time_rank), ("MDM", mdm_rank)) if rank == supported_rank]
            parts.append(f"{_requirement(billed)} The note documents {doc.time_phrase()} and "
                         f"{_mdm_phrase(doc.mdm)}, which supports {target.code} by {' and by '.join(by)}.")
        evidence = _evidence(doc) if over else f"encounter.patient_status: {family}"
        yield Finding(check=EM_LEVEL, action="correct", code=proc.code, message=" ".join(parts),
                      evidence=evidence, suggested_codes=[target.code], target=f"procedure:{index}")
    elif time_rank is not None and time_rank > billed.rank:
        higher = table.at_rank(family, time_rank)
        yield Finding(check=EM_LEVEL, action="info", severity="info", code=proc.code,
                      message=(f"The documented total time ({doc.minutes} minutes) meets the {higher.minutes} "
                               f"minutes of {higher.code}; {proc.code} was billed. If the time statement reflects "
                               f"the provider's time on the date of service, {higher.code} is supported."),
                      evidence=doc.time_evidence, suggested_codes=[higher.code], target=f"procedure:{index}")


def _prolonged(ctx: CheckContext, index: int, proc: Procedure, rule: ProlongedRule,
               doc: Documented) -> Iterator[Finding]:
    primaries = [p.code for p in ctx.procedures if p.code in rule.first_unit_at]
    where = f"procedure:{index}"
    if not primaries:
        yield Finding(check=EM_LEVEL, action="correct", code=proc.code,
                      message=(f"{proc.code} ({rule.rule} prolonged office service) is reported only with "
                               f"{' or '.join(rule.first_unit_at)} selected by time; no such line is billed."),
                      evidence=doc.time_evidence, suggested_codes=[], target=where)
        return
    primary = primaries[0]
    needed = rule.first_unit_at[primary]
    units = rule.units_supported(primary, doc.minutes) if doc.minutes is not None else 0
    if units == 0:
        yield Finding(check=EM_LEVEL, action="correct", code=proc.code,
                      message=(f"{proc.code} with {primary} needs at least {needed} minutes of total time on the "
                               f"date of service ({rule.rule} rule); the record documents {doc.time_phrase()}. "
                               f"Remove the prolonged-service line."),
                      evidence=doc.time_evidence, suggested_codes=[], target=where)
    elif proc.units > units:
        yield Finding(check=EM_LEVEL, action="correct", code=proc.code,
                      message=(f"{doc.minutes} minutes of total time support {units} unit{'s' if units > 1 else ''} "
                               f"of {proc.code} with {primary} (first unit at {needed} minutes, one more per full "
                               f"{rule.each_unit_minutes} minutes); {proc.units} were billed."),
                      evidence=doc.time_evidence, suggested_codes=[proc.code], target=where)


@register(EM_LEVEL)
def check(ctx: CheckContext) -> Iterator[Finding]:
    table = em_table()
    lines = [(i, p) for i, p in enumerate(ctx.procedures) if table.level(p.code) or p.code in table.prolonged]
    if not lines:
        return
    doc = documented(ctx)
    for index, proc in lines:
        billed = table.level(proc.code)
        if billed is not None:
            yield from _office_visit(ctx, index, proc, billed, doc)
        else:
            yield from _prolonged(ctx, index, proc, table.prolonged[proc.code], doc)
