"""E/M level: the office visit level billed is not supported by the documented time or MDM.

What it finds
    On office or other outpatient E/M lines (99202-99205 new, 99211-99215
    established; telehealth visits billed with these codes too):
    a level above both what the total time on the date of service supports and
    what the note's medical decision making supports (estimated generously by
    vma.checks.support.mdm: problems addressed, data reviewed, risk of management, two of
    three; a new diagnosis put on treatment, a drug given in the office, imaging
    or angiography reviewed all count as the AMA table counts them); a
    new-patient code for an established patient or the reverse, where
    "established" is the encounter's status or a note that documents an earlier
    visit with this physician or practice ("since I last saw her", "the dose
    was increased at her last visit", "returns for follow-up"; a visit with
    another provider or facility does not count, nor one three or more years
    back); a prolonged-service line (99417, Medicare G2212) without the total
    time it needs. Preventive medicine visits (99381-99387 new, 99391-99397
    established): the code of the patient's age band on the date of service
    and of the patient's family (new/established). Also advises when the
    documented time supports a higher level than the one billed. Inpatient, observation, emergency and other E/M
    families are out of scope and left alone.

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
    management but little data): correct to 99213. 99204 billed for a patient
    whose HPI says the metformin "was increased at her last visit", with the
    A1c above goal and a second drug started (moderate MDM): correct to 99214.

Resolution (correct or query)
    ``correct`` to the highest level either time or MDM supports, and to the
    code of the same level in the patient's family (new/established); a level
    is lowered only when neither the time nor the MDM supports it. Remove or
    reduce a prolonged-service line the time does not support. ``info`` when the
    documented time supports a higher level than billed. Never a query: the
    level follows from what is written, and asking a provider to add to the
    record for a higher level is a leading query.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

from vma.chart import Procedure, age_on_service
from vma.checks import CheckContext, register
from vma.checks.support.mdm.problems import MdmEstimate, ProblemItem
from vma.checks.support.mdm.reader import MdmReader
from vma.checks.support.mdm.wording import LEVEL_NAMES
from vma.checks.support.new_or_established import VisitLevel, _family, prior_visit
from vma.checks.support.notes.document import cite, quote
from vma.checks.support.once import once
from vma.findings import Finding

EM_LEVEL = "em-level"
TABLE_PATH = Path(__file__).resolve().parent.parent / "reference" / "data" / "em_office.json"
MDM_RANKS = {name: rank for rank, name in LEVEL_NAMES.items()}


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

    def __init__(self, minutes: int | None, time_evidence: Callable[[], str],
                 mdm_reader: Callable[[], MdmReader | None]):
        self.minutes = minutes
        self._time_evidence = time_evidence
        self._mdm_reader = mdm_reader

    @once
    def time_evidence(self) -> str:  # quoted only for a finding: finding the statement's sentence reads the note
        return self._time_evidence()

    @once
    def mdm_reader(self) -> MdmReader | None:  # None when the note has no assessment or plan to read
        return self._mdm_reader()

    @once
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

    def time_evidence() -> str:
        statement = note.time_statement()
        if statement is not None:
            return _time_quote(statement.text)
        if recorded is not None:
            return f"encounter total time: {recorded} minutes"
        return ""

    def read_mdm() -> MdmReader | None:
        if not note.section_text("assessment", "plan").strip():
            return None
        return MdmReader(note, _coded_problems(ctx), tests_reported=_reports_tests(ctx))

    return Documented(minutes, time_evidence, read_mdm)


# CPT ranges of tests with an interpretation or report: radiology (70010-79999), ophthalmic imaging (92132-92287),
# audiology (92550-92588), cardiography, echo and vascular studies (93000-93990), pulmonary function (94010-94799),
# neurology tests (95700-96020).
_TEST_CODE_RANGES = ((70010, 79999), (92132, 92287), (92550, 92588), (93000, 93990), (94010, 94799), (95700, 96020))


def _reports_tests(ctx: CheckContext) -> bool:
    """The claim reports a test of its own: its interpretation is not counted again toward the E/M's data."""
    for proc in ctx.procedures:
        code = proc.code or ""
        if code.isdigit() and any(lo <= int(code) <= hi for lo, hi in _TEST_CODE_RANGES):
            return True
    return False


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
    family, prior = _family(ctx, billed)
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
        if family != billed.family and prior is not None:
            parts.append(f"{proc.code} is a visit code for new patients, but the note documents an earlier visit "
                         f"with this practice ({quote(prior.sentence, 160)}); a patient seen by the same physician "
                         f"or group specialty within 3 years is established (CPT E/M guidelines). The "
                         f"established-patient code of the same level is {table.at_rank(family, billed.rank).code}.")
        elif family != billed.family:
            parts.append(f"{proc.code} is a visit code for {billed.family} patients, but the encounter records "
                         f"the patient as {family}; the {family}-patient code of the same level is "
                         f"{table.at_rank(family, billed.rank).code}.")
        if over:
            by = [name for name, rank in (("time", time_rank), ("MDM", mdm_rank)) if rank == supported_rank]
            parts.append(f"{_requirement(billed)} The note documents {doc.time_phrase()} and "
                         f"{_mdm_phrase(doc.mdm)}, which supports {target.code} by {' and by '.join(by)}.")
        if over:
            evidence = _evidence(doc)
        elif prior is not None:
            evidence = cite(prior.sentence)
        else:
            evidence = f"encounter.patient_status: {family}"
            if billed.family == "new":
                # The note's own account of the earlier visit, when it gives one, backs the recorded status.
                seen = prior_visit(ctx, ctx.note)
                if seen is not None:
                    evidence += f"; {cite(seen.sentence)}"
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


# -- preventive medicine visits ------------------------------------------------------------------
#
# CPT Preventive Medicine Services: 99381-99387 (new patient) and 99391-99397 (established patient), one code per
# age band on the date of service; new and established as for the other E/M services.
_PREVENTIVE_BANDS = ((0, 0), (1, 4), (5, 11), (12, 17), (18, 39), (40, 64), (65, 200))
_PREVENTIVE = {f"9938{k + 1}": ("new", band) for k, band in enumerate(_PREVENTIVE_BANDS)} | \
    {f"9939{k + 1}": ("established", band) for k, band in enumerate(_PREVENTIVE_BANDS)}
_BAND_NAMES = ("under 1 year", "1 through 4 years", "5 through 11 years", "12 through 17 years",
               "18 through 39 years", "40 through 64 years", "65 years and older")


def _preventive_visit(ctx: CheckContext, index: int, proc: Procedure) -> Iterator[Finding]:
    billed_family, band = _PREVENTIVE[proc.code]
    age = age_on_service(ctx.chart)
    if age is None:
        return
    family = ctx.chart.encounter.patient_status or billed_family
    prior = prior_visit(ctx, ctx.note) if family == "new" else None
    if prior is not None:
        family = "established"
    k = next(i for i, (lo, hi) in enumerate(_PREVENTIVE_BANDS) if lo <= age <= hi)
    target = f"{'9938' if family == 'new' else '9939'}{k + 1}"
    if target == proc.code:
        return
    parts = []
    if family != billed_family:
        why = (f"the note documents an earlier visit with this practice ({quote(prior.sentence, 160)})"
               if prior is not None else f"the encounter records the patient as {family}")
        parts.append(f"{proc.code} is a preventive visit code for {billed_family} patients, but {why}; a patient "
                     f"seen by the same physician or group specialty within 3 years is established (CPT E/M "
                     f"guidelines).")
    if not band[0] <= age <= band[1]:
        parts.append(f"{proc.code} is the preventive visit for ages {_BAND_NAMES[_PREVENTIVE_BANDS.index(band)]}; "
                     f"the patient is {age} on the date of service, in the band {_BAND_NAMES[k]}.")
    parts.append(f"The code is {target}.")
    evidence = (cite(prior.sentence) + "; " if prior is not None else
                f"encounter.patient_status: {family}; " if family != billed_family else "") + \
        f"patient.birth_date: {ctx.chart.patient.birth_date}; encounter.date_of_service: " \
        f"{ctx.chart.encounter.date_of_service}"
    yield Finding(check=EM_LEVEL, action="correct", code=proc.code, message=" ".join(parts), evidence=evidence,
                  suggested_codes=[target], target=f"procedure:{index}")


@register(
    EM_LEVEL,
    actions=("correct", "info"),
    references=(
        "AMA CPT E/M Services Guidelines (2021; times revised 2024), the MDM table and its definitions (stable "
        "chronic illness defined by the treatment goal; unique test; independent interpretation; drug therapy), "
        "and the definitions of new and established patients (professional services from the same physician or "
        "same-specialty group within the past three years)",
        "CPT Preventive Medicine Services 99381-99397 (age bands)",
        "CPT 99417",
        "CMS CY2021 PFS final rule (85 FR 84472) for G2212",
        'CMS MLN006764 "Evaluation and Management Services Guide"',
        "Table with sources: vma/reference/data/em_office.json",
    ),
)
def check(ctx: CheckContext) -> Iterator[Finding]:
    for index, proc in enumerate(ctx.procedures):
        if proc.code in _PREVENTIVE:
            yield from _preventive_visit(ctx, index, proc)
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
