"""E/M level: the office visit level billed is not supported by the documented time or MDM.

What it finds
    On office or other outpatient E/M lines (99202-99205 new, 99211-99215
    established; telehealth visits billed with these codes too):
    a level above both what the total time on the date of service supports and
    what the note's medical decision making supports (estimated generously by
    vma.mdm: problems addressed, data reviewed, risk of management, two of
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
from datetime import date
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Callable, Iterator

from vma.chart import Procedure, age_on_service
from vma.checks import CheckContext, register
from vma.findings import Finding
from vma.mdm import LEVEL_NAMES, MdmEstimate, MdmReader, ProblemItem
from vma.notes import (
    LowerCasePattern,
    NoteDoc,
    Sentence,
    cite,
    is_negated_at,
    lazy_pattern,
    quote,
)

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
        return MdmReader(note, _coded_problems(ctx), tests_reported=_reports_tests(ctx))

    return Documented(minutes, evidence, read_mdm)


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


# -- new or established -------------------------------------------------------------
#
# CPT E/M guidelines: a new patient has received no professional services from the physician, or from another
# physician of the exact same specialty and subspecialty in the same group practice, within the past three years.
# A note that records an earlier visit with this physician or practice ("since I last saw her", "the dose was
# increased at her last visit", "returns for follow-up") documents an established patient; a visit with another
# provider or facility ("her last visit with her cardiologist", "was seen in the ER") does not.

# This physician (first person) saw or has been following the patient. Per CPT the place of that earlier service
# does not matter: the same physician seeing the patient in a hospital makes the patient established.
# "I saw her" also opens a teaching physician's attestation of today's visit: it speaks of an earlier visit only
# with a word that places it in the past ("3 months ago", "since I last saw her", "in March").
_FIRST_PERSON_SAW = lazy_pattern(
    r"\b(?:i|we)\s+(?:have\s+|had\s+|'ve\s+)?(?:last\s+|previously\s+|first\s+|also\s+)?(?:saw|seen|treated|met)\s+"
    r"(?:him|her|them|the patient|this patient|mr\.?\s+\w+|ms\.?\s+\w+|mrs\.?\s+\w+)\b", re.I)
_PAST_ANCHOR = lazy_pattern(
    r"\b(?:ago|last|since|before|previously|prior|earlier|in the past|back in|(?:in|on|during) (?:january|february|"
    r"march|april|may|june|july|august|september|october|november|december)|(?:19|20)\d\d|\d{1,2}/\d{1,2})\b", re.I)
_FIRST_PERSON_PRIOR = lazy_pattern(
    r"\b(?:i|we)\s*(?:have|'ve|had)\s+been\s+(?:following|seeing|treating|managing|caring for)\b|"
    r"\bknown to (?:me|us|our (?:practice|clinic|office)|this (?:practice|clinic|office))\b|"
    r"\b(?:my|our) (?:established|longtime|long-standing) patient\b|\bpatient of (?:mine|ours)\b|"
    r"\bpreviously (?:seen|evaluated|treated) (?:by me|by us|here|in (?:our|this) (?:clinic|office|practice))\b|"
    r"\bseen (?:here|by me|by us|in (?:our|this) (?:clinic|office|practice)) (?:before|previously|in the past|last)\b|"
    r"\b(?:my|our) (?:last|previous|prior) (?:note|visit|exam|examination|evaluation|encounter)\b|"
    r"\bseen by my (?:partner|colleague)\b|"
    # An earlier visit "with me", or a service this physician gave, placed in the past by a date or an interval
    # in the same clause ("her annual physical with me in May", "the lisinopril which I started in March"):
    # without that anchor "I started lisinopril" is today's plan.
    r"(?:\b(?:visit|physical|exam|examination|appointment|check-?up|consultation|evaluation)s? with (?:me|us)|"
    r"\b(?:i|we)\s+(?:had\s+|have\s+|'ve\s+|previously\s+|first\s+)?(?:started|prescribed|ordered|diagnosed|"
    r"referred|injected|treated|operated)\b)[^.;]{0,60}?\b(?:\d+\s+(?:days?|weeks?|months?|years?)\s+ago|"
    r"last\s+(?:week|month|year|spring|summer|fall|autumn|winter)|(?:back\s+)?(?:in|on|during)\s+(?:january|"
    r"february|march|april|may|june|july|august|september|october|november|december)|in\s+(?:19|20)\d\d|"
    r"on\s+\d{1,2}/\d{1,2})\b", re.I)
# An earlier visit named without saying with whom: this practice, unless the sentence names other care.
_EARLIER_VISIT = lazy_pattern(
    r"\b(?:her|his|their|the patient's|the|your|this patient's)\s+(?:last|previous|prior|most recent)\s+"
    r"(?:office\s+|clinic\s+|follow[- ]?up\s+)?(?:visit|appointment|encounter)\b|"
    r"\bsince (?:the )?last (?:visit|appointment)\b|\bat (?:the )?last (?:visit|appointment)\b|"
    r"\b(?:since|at|during|after) (?:her|his|their|the|your) (?:first|initial) (?:office )?(?:visit|appointment)\b|"
    r"\b(?:was|were)\s+last\s+seen\b|\blast seen (?:here|in (?:this|our|the) (?:clinic|office))\b|"
    r"\b(?:returns|returned|is returning|comes back|came back|is back|presents back)\b(?:\s+(?:today|here|again|"
    r"to (?:the |our |this )?(?:clinic|office)))*\s+(?:for|in|with)\s+(?:(?:a|an|her|his|their|the|scheduled|routine)"
    r"\s+)*(?:\d+[- ](?:week|month|day|year)\s+|(?:short[- ]term|postoperative|post-?op|interval)\s+)?"
    r"(?:follow[- ]?up|recheck|re-?check|re-?evaluation|reassessment|check[- ]?up)\b|"
    r"\b(?:returns|returned) to (?:the |our |this )?(?:clinic|office)\b|\breturn visit\b", re.I)
# Here "for follow-up" (weaker: a new patient may come to follow up care given elsewhere).
_FOLLOW_UP_VISIT = lazy_pattern(
    r"\b(?:presents?|presenting|here|seen|is in|comes in|coming in|came in)\b[^.;]{0,30}?\bfor (?:(?:a|an|her|his|"
    r"their|the|scheduled|routine|regular)\s+)*(?:\d+[- ](?:week|month|day|year)\s+|(?:short[- ]term|postoperative|"
    r"post-?op|interval)\s+)?follow[- ]?up\b|^follow[- ]?up\b", re.I)
# The same practice, set aside before looking for other care in the sentence.
_THIS_PRACTICE = lazy_pattern(
    r"\b(?:our|this|my)\s+(?:[a-z-]+\s){0,2}?(?:clinic|office|practice|group|team|partner|colleague|physician "
    r"assistant|nurse practitioner|pa|np|nurse|department)\b|\bwith (?:me|us)\b|\bby (?:me|us)\b", re.I)
_OTHER_CARE = lazy_pattern(
    r"\b(?:[a-z]+ologist|[a-z]+iatrist|surgeon|pcp|primary care|doctor|physician|provider|practitioner|dentist|"
    r"therapist|chiropractor|specialist|optometrist|midwife|(?:[a-z]+ )?(?:ology|ics) (?:clinic|department)|"
    r"cardiology|neurology|nephrology|urology|oncology|dermatology|gastroenterology|pulmonology|endocrinology|"
    r"rheumatology|orthopedics|ophthalmology|psychiatry|er|ed|emergency (?:room|department)|urgent care|"
    r"hospital|walk-in|another (?:clinic|office|practice|facility)|outside (?:clinic|office|practice|facility)|"
    r"(?:his|her|their) (?:[a-z-]+ )?(?:clinic|office)|(?:with|at|to) (?:physical therapy|occupational therapy|pt|rehab|the lab))\b", re.I)
_DOCTOR_NAME = lazy_pattern(r"\b(?:[Dd]r|DR)\.?\s+([A-Z][a-zA-Z'-]+)")
_NEW_PATIENT_STATEMENT = lazy_pattern(
    r"\bnew patient\b|\bestablish(?:ing)? (?:care|as a patient)\b|\bto establish (?:care|with (?:me|us|our|this|a new)|as a (?:new )?patient)\b|\bfirst (?:visit|time|"
    r"appointment|encounter) (?:here|with (?:me|us|our|this)|in (?:our|this))\b|\b(?:has not|hasn't|have not|"
    r"haven't|never) (?:been )?(?:seen|evaluated|treated) (?:her|him|them|the patient )?(?:here|by me|by us|"
    r"before|in (?:our|this))|\bnew to (?:me|us|(?:our|this|the) (?:practice|clinic|office|group))\b|"
    r"\b(?:this is (?:an|her|his|the patient's|the)|for (?:an?|her|his)|presents for (?:an?|her|his)) "
    r"(?:initial|first) (?:visit|consultation|consult|evaluation|appointment)\b", re.I)
_REFERRAL = lazy_pattern(r"\breferred\b|\breferral from\b|\bfor (?:a )?(?:second opinion|consultation)\b", re.I)
_YEARS_AGO = lazy_pattern(
    r"\b(\d+|three|four|five|six|seven|eight|nine|ten|several|many)\s+(?:\+\s*)?years?\s+ago\b|"
    r"\b(?:over|more than)\s+(\d+|three|four|five|six|seven|eight|nine|ten|several|many)\s+years\b|"
    r"\bin\s+((?:19|20)\d\d)\b", re.I)
_TODAY = lazy_pattern(r"\b(?:today|this (?:morning|afternoon|evening))\b", re.I)
_NUMBER_WORDS = {"three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
                 "several": 3, "many": 3}
_CREDENTIALS = {"md", "do", "np", "pa", "pac", "rn", "dnp", "facs", "facp", "phd", "mbbs", "jr", "sr", "ii", "iii",
                "aprn", "fnp", "crnp", "mph", "od", "dpm", "dr"}
# Sections that do not tell the patient's history with this practice (other people's history, findings).
_VISIT_HISTORY_SECTIONS = {"family", "social", "allergies", "ros", "exam"}
# Where a note says why the patient is here today ("presents for follow-up of ...").
_PRESENTING_SECTIONS = {"chief_complaint", "hpi", "preamble", "assessment"}


# Most notes hold none of these words: the patterns' literal gates, run once on the whole note, skip the
# sentence scan (a literal absent from the note is absent from each of its sentences).
_FIRST_PERSON_SAW = LowerCasePattern(_FIRST_PERSON_SAW)
_FIRST_PERSON_PRIOR = LowerCasePattern(_FIRST_PERSON_PRIOR)
_EARLIER_VISIT = LowerCasePattern(_EARLIER_VISIT)
_FOLLOW_UP_VISIT = LowerCasePattern(_FOLLOW_UP_VISIT)
_NEW_PATIENT_STATEMENT = LowerCasePattern(_NEW_PATIENT_STATEMENT)
_CUES = (_FIRST_PERSON_SAW, _FIRST_PERSON_PRIOR, _EARLIER_VISIT, _FOLLOW_UP_VISIT)


def _may_occur(pattern: LowerCasePattern, lowered_note: str) -> bool:
    return pattern.gate is None or pattern.gate.search(lowered_note) is not None


_TITLES = (" dr.", " mr.", " mrs.", " ms.", " st.", " dr", " mr", " mrs", " ms")


def _whole_sentences(note: NoteDoc) -> list[Sentence]:
    """The note's sentences that can tell its history with the practice, with a title's dot mended: "Her last
    visit with Dr." + "Nguyen was in March." is one sentence here, so the name stays beside the visit."""
    out: list[Sentence] = []
    for s in note.sentences:
        if s.section in _VISIT_HISTORY_SECTIONS:
            continue
        prev = out[-1] if out else None
        if prev is not None and prev.section == s.section and f" {prev.text[-5:].lower()}".endswith(_TITLES):
            out[-1] = Sentence(f"{prev.text} {s.text}", s.section, prev.start)
        else:
            out.append(s)
    return out


def _provider_names(ctx: CheckContext) -> set[str]:
    names = set()
    for name in (ctx.chart.provider.name if ctx.chart.provider else None,
                 ctx.chart.signature.signed_by if ctx.chart.signature else None):
        names.update(w for w in re.findall(r"[a-z'-]{2,}", (name or "").lower()) if w not in _CREDENTIALS)
    return names


def _three_years_or_more(text: str, service_year: int | None) -> bool:
    """The sentence dates the earlier visit three or more years back (CPT's look-back window)."""
    for m in _YEARS_AGO.finditer(text):
        count, over, year = m.groups()
        raw = (count or over or "").lower()
        if raw:
            years = int(raw) if raw.isdigit() else _NUMBER_WORDS.get(raw, 0)
            if years >= 3:
                return True
        elif year and service_year is not None and service_year - int(year) >= 3:
            return True
    return False


_SAME_GROUP = lazy_pattern(r"\b(?:my|our) (?:partners?|colleagues?|associates?)\b", re.I)


def _names_other_doctor(text: str, own_names: set[str]) -> bool:
    """A physician named in the sentence who is neither this provider nor introduced as a partner in the group."""
    for m in _DOCTOR_NAME.finditer(text):
        if m.group(1).lower() in own_names:
            continue
        if _SAME_GROUP.search(text[max(0, m.start() - 30):m.end() + 25]):
            continue
        return True
    return False


def _names_other_care(text: str, own_names: set[str]) -> bool:
    """The sentence names another provider or facility (this practice's own words set aside)."""
    if _names_other_doctor(text, own_names):
        return True
    rest = _THIS_PRACTICE.sub(" ", _DOCTOR_NAME.sub(" ", text))
    return _OTHER_CARE.search(rest) is not None


@dataclass(frozen=True)
class PriorVisit:
    sentence: Sentence
    strong: bool  # first person, or an earlier visit named outright; weak: "here for follow-up"


def prior_visit(ctx: CheckContext, note: NoteDoc) -> PriorVisit | None:
    """The sentence that documents an earlier professional service by this physician or practice within three
    years, or None. A note that also calls the patient new, or (for the weaker "here for follow-up") says the
    patient was referred, does not decide it."""
    lowered = note.text.lower()
    cues = [rx if _may_occur(rx, lowered) else None for rx in _CUES]
    if not any(cues):
        return None
    saw, first_person, earlier, follow_up = cues
    own = _provider_names(ctx)
    dos = ctx.chart.encounter.date_of_service or ""
    service_year = int(dos[:4]) if dos[:4].isdigit() else None
    sentences = _whole_sentences(note)
    if _may_occur(_NEW_PATIENT_STATEMENT, lowered):
        for s in sentences:
            m = _NEW_PATIENT_STATEMENT.search(s.text)
            if m and not is_negated_at(s.text, m.start()):
                return None
    strong = weak = None
    for i, s in enumerate(sentences):
        text = s.text
        # "She saw Dr. Nguyen in May. At the last visit he raised the dose.": the visit named without saying with
        # whom is read with the sentence before it.
        context = f"{sentences[i - 1].text} {text}" if i and sentences[i - 1].section == s.section else text
        m = saw.search(text) if saw else None
        if m is not None and not (_PAST_ANCHOR.search(text) and not _TODAY.search(text[m.end():m.end() + 40])):
            m = None  # today's visit ("I saw and examined her today"), not an earlier one
        m = m or (first_person.search(text) if first_person else None)
        if m and not is_negated_at(text, m.start()) and not _names_other_doctor(text, own) \
                and not _three_years_or_more(text, service_year):
            strong = strong or s
            continue
        m = earlier.search(text) if earlier else None
        if m and not is_negated_at(text, m.start()) and not _names_other_care(context, own) \
                and not _three_years_or_more(text, service_year):
            strong = strong or s
            continue
        m = follow_up.search(text) if follow_up and s.section in _PRESENTING_SECTIONS else None
        if m and not is_negated_at(text, m.start()) and not _names_other_care(context, own) \
                and not _three_years_or_more(text, service_year):
            weak = weak or s
    if strong is not None:
        return PriorVisit(strong, True)
    if weak is not None and not any(_REFERRAL.search(s.text) for s in sentences):
        return PriorVisit(weak, False)
    return None


def _family(ctx: CheckContext, billed: VisitLevel) -> tuple[str, PriorVisit | None]:
    """The patient's family for the visit code: the encounter's status, unless the note documents an earlier
    visit with this practice (then established), with that evidence."""
    family = ctx.chart.encounter.patient_status or billed.family
    if family == "new":
        prior = prior_visit(ctx, ctx.note)
        if prior is not None:
            return "established", prior
    return family, None


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
