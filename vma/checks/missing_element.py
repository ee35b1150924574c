"""Missing element: a data element the claim or the coder needs is absent.

What it finds
    One finding per absent element, naming it: the date of service, the
    provider's NPI, the place of service (outpatient and office charts; an
    inpatient stay is billed on the institutional claim with its own type of
    bill), the patient's birth date or sex, the diagnoses (none proposed), and
    the assessment (the note has no assessment, impression or diagnosis section
    or statement; a clinical-staff visit billed with 99211 alone needs none).
    Values that are present but malformed belong to
    ``invalid-date`` and ``invalid-npi``.

Why it matters
    A professional claim without a date of service, rendering NPI, place of
    service, patient birth date or sex, or at least one diagnosis is rejected
    before adjudication. A note without an assessment gives the coder nothing
    to code diagnoses from: the diagnoses must come from the provider's own
    documentation, and the assessment is where the provider states them.

Example
    An office chart with ``place_of_service`` null and ``setting`` "office":
    correct to 11. A note with history and exam but no assessment: query the
    provider for the assessment.

Resolution (correct or query)
    ``correct`` when the record settles the value (the setting fixes the place
    of service: office 11, emergency 23; the diagnoses can be abstracted from
    the assessment; registration data such as birth date and sex are fixed by
    the front office from the registration record; the NPI comes from the
    provider directory or NPPES; a date of service with no signing date to
    offer comes from the scheduling record). ``query`` when only the provider
    can supply it (the assessment; the date of service, offering the signing
    date; a place of service the setting leaves open such as telehealth 02 or
    10), with "Other" and "Clinically undetermined".
"""

from __future__ import annotations

import re
from datetime import datetime

from vma.checks import CheckContext, register
from vma.checks.support.axes.evidence import condition_mentions
from vma.checks.support.axes.index import axis_index
from vma.compiled_patterns import compile_pattern
from vma.findings import Choice, Finding, query_choices

CHECK = "missing-element"

# Settings whose place of service follows from the setting alone (CMS POS code set).
POS_FOR_SETTING = {"office": "11", "emergency": "23", "inpatient": "21"}
# Settings with more than one fitting place of service: the provider says which.
POS_CHOICES = {
    "telehealth": (("02", "Telehealth provided other than in the patient's home (POS 02)"),
                   ("10", "Telehealth provided in the patient's home (POS 10)")),
    "outpatient-hospital": (("19", "Off-campus outpatient hospital (POS 19)"),
                            ("22", "On-campus outpatient hospital (POS 22)")),
}
# No setting recorded: the places of service a clinic's professional claims most often carry.
COMMON_POS = (("11", "Office (POS 11)"), ("02", "Telehealth provided other than in the patient's home (POS 02)"),
              ("10", "Telehealth provided in the patient's home (POS 10)"),
              ("22", "On-campus outpatient hospital (POS 22)"), ("19", "Off-campus outpatient hospital (POS 19)"),
              ("23", "Emergency room, hospital (POS 23)"))
_ASSESSMENT_SECTIONS = frozenset({"assessment"})
_ASSESSMENT_STATEMENT = compile_pattern(
    r"(?:^|\n)\s*(?:assessment|impression|diagnos[ie]s|a/p|a&p|clinical impression|final diagnosis)"
    r"(?:\s+and\s+plan)?\s*[:\-]|(?:^|\n)\s*A\s*:", re.I)
# A visit by clinical staff (99211) documents no provider assessment; its diagnoses come from the orders.
_STAFF_ONLY_SERVICES = frozenset({"99211"})
_STATED_SEX = compile_pattern(r"\b\d{1,3}[- ]year[- ]old\s+(male|female|man|woman|boy|girl)\b", re.I)


def _blank(value: str | None) -> bool:
    return value is None or not str(value).strip()


def has_assessment(ctx: CheckContext) -> bool:
    """The note states an assessment: a section of that kind, an "Assessment:" style statement, or a
    plan whose problem lines name the coded conditions ("PLAN: Left knee strain. Meloxicam ..."), as
    notes written problem by problem under one heading do."""
    if any(s.name in _ASSESSMENT_SECTIONS and s.text.strip() for s in ctx.note.sections):
        return True
    if _ASSESSMENT_STATEMENT.search(ctx.note.text):
        return True
    if not any(s.name == "plan" and s.text.strip() for s in ctx.note.sections):
        return False
    index = axis_index(ctx.icd)
    # a problem line ("Left knee strain."), not a treatment sentence that happens to name the site
    return any(m.sentence.section == "plan" and not m.negated and len(m.words) <= 8
               for dx in ctx.chart.diagnoses if dx.code in ctx.icd
               for m in condition_mentions(ctx.note, index, dx.code, ctx.outpatient))


def _query(element: str, message: str, question: str, choices: list[Choice] | None = None,
           evidence: str = "") -> Finding:
    return Finding(check=CHECK, action="query", severity="error", message=message, evidence=evidence,
                   question=question, choices=query_choices(choices or []), target=f"element:{element}")


def _correct(element: str, message: str, suggested: list[str] | None = None, evidence: str = "") -> Finding:
    return Finding(check=CHECK, action="correct", severity="error", message=message, evidence=evidence,
                   suggested_codes=suggested or [], target=f"element:{element}")


def _signature_date(ctx: CheckContext) -> str | None:
    sig = ctx.chart.signature
    raw = (sig.signed_at or "").strip() if sig is not None else ""
    try:
        return datetime.fromisoformat(raw).date().isoformat() if raw else None
    except ValueError:
        return None


def _stated_sex(ctx: CheckContext) -> str | None:
    found = {m.group(1).lower() for m in _STATED_SEX.finditer(ctx.note.text)}
    sexes = {"M" if w in ("male", "man", "boy") else "F" for w in found}
    return next(iter(sexes)) if len(sexes) == 1 else None


@register(
    "missing-element",
    actions=("correct", "query"),
    references=(
        "CMS Medicare Claims Processing Manual (Pub. 100-04), chapter 26 (items of the CMS-1500 / 837P: 24A "
        "dates of service, 24B place of service, 24J rendering NPI, 21 diagnoses, 3 patient birth date and sex)",
        "CMS Place of Service code set",
        "ICD-10-CM Official Guidelines for Coding and Reporting FY2026, sections III and IV (diagnoses are "
        "coded from the provider's documentation of the encounter)",
        "AHIMA/ACDIS Guidelines for Achieving a Compliant Query Practice (2022 update)",
    ),
)
def check(ctx: CheckContext) -> list[Finding]:
    chart = ctx.chart
    enc = chart.encounter
    out: list[Finding] = []

    if _blank(enc.date_of_service):
        signed = _signature_date(ctx)
        if signed is not None:
            out.append(_query(
                "date_of_service", "The date of service is missing.",
                f"This note, signed on {signed}, has no date of service recorded. On what date was this encounter?",
                [Choice(label=f"The encounter was on {signed}, the day the note was signed", kind="value",
                        value=signed)],
                evidence=f"encounter.date_of_service = null; signature.signed_at = {chart.signature.signed_at!r}"))
        else:
            out.append(_correct(
                "date_of_service", "The date of service is missing; take it from the scheduling record.",
                evidence="encounter.date_of_service = null"))

    if _blank(chart.provider.npi):
        who = chart.provider.name or "the rendering provider"
        out.append(_correct(
            "provider.npi",
            f"The provider NPI is missing for {who}; take it from the provider directory or the NPPES registry.",
            evidence="provider.npi = null"))

    if ctx.outpatient and _blank(enc.place_of_service):
        setting = enc.setting
        if setting in POS_FOR_SETTING:
            pos = POS_FOR_SETTING[setting]
            out.append(_correct(
                "place_of_service",
                f"The place of service is missing; the {setting} setting makes it {pos}.",
                [pos], evidence=f"encounter.setting = {setting!r}"))
        else:
            options = POS_CHOICES.get(setting or "", COMMON_POS)
            where = f"the setting is {setting}" if setting else "no setting is recorded"
            out.append(_query(
                "place_of_service", f"The place of service is missing, and {where}.",
                f"No place of service is recorded for this encounter ({where}). Where was the service provided?",
                [Choice(label=label, kind="value", value=code) for code, label in options],
                evidence=f"encounter.setting = {setting!r}"))

    if _blank(chart.patient.birth_date):
        out.append(_correct(
            "patient.birth_date",
            "The patient's birth date is missing; take it from the registration record.",
            evidence="patient.birth_date = null"))

    if _blank(chart.patient.sex):
        stated = _stated_sex(ctx)
        hint = f" The note describes the patient as {'male' if stated == 'M' else 'female'}." if stated else ""
        out.append(_correct(
            "patient.sex",
            f"The patient's sex is missing; take it from the registration record.{hint}",
            evidence="patient.sex = null"))

    staff_visit = bool(chart.procedures) and all(p.code in _STAFF_ONLY_SERVICES for p in chart.procedures)
    assessment = has_assessment(ctx) or staff_visit
    if not assessment:
        out.append(_query(
            "assessment",
            "The note has no assessment: no section or statement gives the diagnoses addressed at this visit.",
            "The note for this encounter documents history and findings but no assessment or impression. "
            "What is your assessment of the conditions addressed at this visit?",
            [Choice(label="Assessment added to the note", kind="confirm", value="assessment-added")]))

    if not chart.diagnoses:
        if assessment:
            out.append(_correct(
                "diagnoses",
                "No diagnosis codes are proposed; code the diagnoses from the note's assessment.",
                evidence="diagnoses = []"))
        # Without an assessment the assessment query above already asks for what the codes would come from.
        else:
            out[-1] = out[-1].model_copy(update={
                "message": out[-1].message + " No diagnosis codes are proposed either."})
    return out
