"""Sex and age: a diagnosis code that conflicts with the patient's sex or age.

What it finds
    A proposed ICD-10-CM code that the CMS Medicare Code Editor (MCE) limits
    to one sex (female-only: pregnancy chapter O00-O9A, female genital organs
    N70-N98, C51-C58 ...; male-only: N40-N53, C60-C63 ...) or to an age band
    (newborn age 0: Z38.-, Z05.-, Z00.11-; pediatric 0-17: Z00.12-; maternity
    9-64: O00-O9A, Z34.- ...; adult 15-124: Z00.0- ...), plus the tabular's
    own BMI age bands at Z68. The age is the patient's age in whole years on
    the date of service, from ``patient.birth_date``. The bands and lists are
    kept as tabular ranges in ``vma/reference/data/sex_age_edits.json`` with
    their source and release; nothing is hand-listed code by code.

Why it matters
    The MCE age edit treats such a code as "clinically and virtually
    impossible" for the age and returns the claim: either the code or the
    birth date is wrong, and either error follows the patient.

Example
    Z00.129 (Encounter for routine child health examination without abnormal
    findings) for a patient aged 52: query the provider to confirm the
    diagnosis. O26.891 on a chart whose patient sex is M: info for the coder.

Resolution (query or info)
    Age conflict: ``query`` (error) asking the provider to confirm the
    diagnosis, with the coded condition, "Other" and "Clinically
    undetermined" (a yes/no-style confirmation of a documented diagnosis is a
    compliant query). When the note states an age ("52-year-old") that differs
    from the birth date's and fits the code, the birth date is the likelier
    error: ``info`` (error) for the coder to have registration fix it, not a
    question to the provider.
    Chapter 16 perinatal codes after age 0: ``info`` (warning) only, because
    Guideline I.C.16.a.4 keeps a perinatal condition's code for life.
    Sex conflict: ``info`` (warning), never a query. CMS deactivated the MCE
    diagnosis sex-conflict edit from 2024-10-01; a sex-specific code can be
    right for a transgender or intersex patient, and the patient's sex is
    settled by registration, not by asking the physician. The message says
    when the note itself states the other sex.
    Sexes other than M/F, and a missing or unreadable birth date or date of
    service, give no finding here (missing-element and invalid-date report
    those).

References
    CMS Medicare Code Editor, Definitions of Medicare Code Edits (ICD-10 MCE,
    v41-v43): edit 4 "Age conflict" (newborn 0, pediatric 0-17, maternity
    9-64, adult 15-124) and edit 5 "Sex conflict" (deactivated for diagnoses
    from 2024-10-01). ICD-10-CM Tabular List note at Z68 (BMI adult codes 20
    years and older; pediatric 2-19). ICD-10-CM Official Guidelines FY2026
    I.C.15.a (Chapter 15 codes on maternal records only), I.C.16.a.1 and
    I.C.16.a.4 (Chapter 16 codes on newborn records; used throughout life
    when the condition persists). AHIMA/ACDIS Guidelines for Achieving a
    Compliant Query Practice (2022 update).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Iterator

from vma.checks import CheckContext, parse_date, register
from vma.findings import Choice, Finding, query_choices
from vma.notes import cite
from vma.reference.icd10cm import CodeRef, IcdRelease, note_code_refs

CHECK_ID = "sex-age"
DATA_FILE = "sex_age_edits.json"


@dataclass(frozen=True)
class AgeEdit:
    category: str
    label: str
    min_age: int
    max_age: int
    refs: tuple[CodeRef, ...]
    lifelong_allowed: bool = False
    guideline: str = ""

    def covers(self, code: str) -> bool:
        return any(r.covers(code) for r in self.refs)


@dataclass(frozen=True)
class SexEdit:
    sex: str  # the only sex the code fits: "F" or "M"
    label: str
    refs: tuple[CodeRef, ...]

    def covers(self, code: str) -> bool:
        return any(r.covers(code) for r in self.refs)


@dataclass(frozen=True)
class SexAgeEdits:
    source: str
    release: str
    age: tuple[AgeEdit, ...]
    sex: tuple[SexEdit, ...]


def _refs(entries: list[str], where: str) -> tuple[CodeRef, ...]:
    out = []
    for entry in entries:
        found = note_code_refs(entry)
        if len(found) != 1:
            raise ValueError(f"{DATA_FILE}: {where}: cannot read code or range {entry!r}")
        out.append(found[0])
    return tuple(out)


def parse_edits(data: dict) -> SexAgeEdits:
    """The edit tables from their JSON layout; a malformed entry is an error naming it."""
    for key in ("source", "release", "age", "sex"):
        if key not in data:
            raise ValueError(f"{DATA_FILE}: missing field {key!r}")
    ages = []
    for i, row in enumerate(data["age"]):
        where = f"age[{i}]"
        try:
            ages.append(AgeEdit(row["category"], row["label"], int(row["min_age"]), int(row["max_age"]),
                                _refs(row["codes"], where), bool(row.get("lifelong_allowed", False)),
                                row.get("guideline", "")))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{DATA_FILE}: {where}: missing or wrong field {exc}") from None
    sexes = []
    for i, row in enumerate(data["sex"]):
        where = f"sex[{i}]"
        try:
            if row["sex"] not in ("F", "M"):
                raise ValueError(f"{DATA_FILE}: {where}.sex must be F or M")
            sexes.append(SexEdit(row["sex"], row["label"], _refs(row["codes"], where)))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{DATA_FILE}: {where}: missing or wrong field {exc}") from None
    return SexAgeEdits(data["source"], data["release"], tuple(ages), tuple(sexes))


@lru_cache(maxsize=1)
def load_edits() -> SexAgeEdits:
    text = resources.files("vma.reference").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return parse_edits(json.loads(text))


def age_on(birth: date, when: date) -> int:
    """Whole years completed on ``when``."""
    return when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))


_SEX_VALUES = {"f": "F", "female": "F", "w": "F", "woman": "F", "m": "M", "male": "M", "man": "M"}
_SEX_NAMES = {"F": "female", "M": "male"}


def chart_sex(value: str | None) -> str | None:
    """F or M from the chart's sex field; other values (U, X, O, unknown) get no sex edit."""
    return _SEX_VALUES.get((value or "").strip().lower())


_STATED_AGE = re.compile(r"\b(\d{1,3})[-\s]?(?:year|yr)s?[-\s]?old\b|\b(\d{1,3})\s?(?:y/o|yo)\b", re.I)
_STATED_INFANT = re.compile(r"\b\d{1,2}[-\s](?:day|week|month)s?[-\s]old\b", re.I)
_STATED_SEX = re.compile(r"\b(male|female|man|woman|boy|girl|gentleman|lady)\b", re.I)
_SEX_WORDS = {"male": "M", "man": "M", "boy": "M", "gentleman": "M",
              "female": "F", "woman": "F", "girl": "F", "lady": "F"}


@dataclass(frozen=True)
class Stated:
    age: int | None
    sex: str | None
    sentence: object | None


def stated_demographics(ctx: CheckContext) -> Stated:
    """The age and sex the note states in its first "NN-year-old woman" style sentence."""
    for sentence in ctx.note.sentences:
        m = _STATED_AGE.search(sentence.text)
        infant = _STATED_INFANT.search(sentence.text)
        if not m and not infant:
            continue
        age = int(m.group(1) or m.group(2)) if m else 0
        sex_m = _STATED_SEX.search(sentence.text)
        sex = _SEX_WORDS[sex_m.group(1).lower()] if sex_m else None
        return Stated(age, sex, sentence)
    return Stated(None, None, None)


def _label(release: IcdRelease, code: str) -> str:
    return f"{release.description(code) or code} ({code})"


def _age_findings(ctx: CheckContext, edits: SexAgeEdits, age: int, stated: Stated) -> Iterator[Finding]:
    release = ctx.icd
    for position, dx, _ in ctx.known_diagnoses():
        for edit in edits.age:
            if not edit.covers(dx.code) or edit.min_age <= age <= edit.max_age:
                continue
            band = f"ages {edit.min_age}-{edit.max_age}" if edit.max_age > edit.min_age else f"age {edit.min_age}"
            what = f"{dx.code} ({release.description(dx.code)}) is a {edit.label} ({band})"
            target = f"diagnosis:{position}"
            if edit.lifelong_allowed:
                yield Finding(check=CHECK_ID, action="info", severity="warning", code=dx.code,
                              message=(f"{what}, and the patient is {age} on the date of service. "
                                       f"{edit.guideline} Confirm the note documents the condition as "
                                       "continuing from the perinatal period."), target=target)
                break
            evidence = f"patient.birth_date {ctx.chart.patient.birth_date}, date of service " \
                       f"{ctx.chart.encounter.date_of_service} (age {age})"
            if stated.age is not None and stated.age != age and edit.min_age <= stated.age <= edit.max_age:
                yield Finding(check=CHECK_ID, action="info", severity="error", code=dx.code,
                              message=(f"{what}; the birth date gives age {age}, but the note states the patient "
                                       f"is {stated.age}. The birth date on the chart is the likelier error: "
                                       "have registration correct it."),
                              evidence=f"{evidence}; {cite(stated.sentence)}", target=target)
                break
            if stated.sentence is not None and stated.age == age:
                evidence += f"; {cite(stated.sentence)}"
            question = (f"The chart lists {release.description(dx.code)} ({dx.code}) for a patient aged {age} on "
                        f"the date of service; the code is defined for {band}. Which diagnosis does your "
                        "documentation support for this encounter?")
            yield Finding(check=CHECK_ID, action="query", severity="error", code=dx.code,
                          message=f"{what}, and the patient is {age} on the date of service.",
                          evidence=evidence, question=question,
                          choices=query_choices([Choice(label=_label(release, dx.code), codes=[dx.code],
                                                        kind="confirm")]),
                          target=target)
            break  # one age finding per code, from the first band that fails


def _sex_findings(ctx: CheckContext, edits: SexAgeEdits, sex: str, stated: Stated) -> Iterator[Finding]:
    release = ctx.icd
    for position, dx, _ in ctx.known_diagnoses():
        for edit in edits.sex:
            if edit.sex == sex or not edit.covers(dx.code):
                continue
            message = (f"{dx.code} ({release.description(dx.code)}) is a {edit.label}, and the patient's sex on "
                       f"the chart is {_SEX_NAMES[sex]}.")
            evidence = f"patient.sex {ctx.chart.patient.sex}"
            if stated.sex == edit.sex:
                message += (f" The note describes the patient as {_SEX_NAMES[edit.sex]}: check the sex recorded "
                            "at registration.")
                evidence += f"; {cite(stated.sentence)}"
            else:
                message += (" CMS no longer applies this edit to diagnoses (MCE, from 2024-10-01) and the code "
                            "may be right (for example for a transgender patient); confirm the code and the "
                            "recorded sex.")
            yield Finding(check=CHECK_ID, action="info", severity="warning", code=dx.code, message=message,
                          evidence=evidence, target=f"diagnosis:{position}")
            break


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    if not ctx.chart.diagnoses:
        return
    edits = load_edits()
    stated = stated_demographics(ctx)
    birth = parse_date(ctx.chart.patient.birth_date)
    dos = ctx.dos
    if birth is not None and dos is not None and birth <= dos:
        yield from _age_findings(ctx, edits, age_on(birth, dos), stated)
    sex = chart_sex(ctx.chart.patient.sex)
    if sex is not None:
        yield from _sex_findings(ctx, edits, sex, stated)


@register(CHECK_ID)
def check(ctx: CheckContext) -> list[Finding]:
    return list(_findings(ctx))
