"""Invalid date: a date on the chart is not a date, lies in the future, or contradicts another date.

What it finds
    The date of service when it is not a calendar date ("2026-02-30",
    "next Tuesday"), when it lies after today (``CheckContext.today``), or when
    it lies after the date the note was signed (a note cannot document a visit
    that had not happened yet). Also: a signing time that is not a date-time, an
    admission date that is not a date or falls after the date of service, and a
    patient birth date that is not a date or falls after the date of service.
    A missing date of service is left to ``missing-element``.

Why it matters
    The date of service selects the code set in force (ICD-10-CM changes every
    October 1 and April 1), drives timely filing and every per-day edit (MUE,
    NCCI, global periods); a wrong one gets the claim denied or coded against
    the wrong release. A note signed before the visit it documents is a
    compliance red flag (pre-charting or a mis-keyed date).

Example
    Date of service 2026-11-18 with the note signed 2026-11-16T17:00: the
    provider is asked for the actual date of the encounter. Date of service
    "11/16/2026": correct to 2026-11-16.

Resolution (correct or query)
    ``correct`` when the value is a date in an unambiguous US form
    (MM/DD/YYYY), and for dates kept by other systems: birth date
    (registration), admission date (ADT), signing time (the EHR's signature
    audit trail). A wrong date of service is asked of the provider, who knows
    when the encounter happened: the signing date is offered, with "Other"
    (free text) and "Clinically undetermined"; without a usable signing date
    it is a ``correct`` from the scheduling record.
"""

from __future__ import annotations

from datetime import date, datetime

from vma.checks import CheckContext, register
from vma.compiled_patterns import compile_pattern
from vma.findings import Choice, Finding, query_choices

CHECK = "invalid-date"
_US_DATE = compile_pattern(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")


def read_date(value: str) -> date | None:
    """An ISO date (a date-time's date part counts), or None."""
    text = value.strip()
    try:
        return datetime.fromisoformat(text).date() if len(text) > 10 else date.fromisoformat(text)
    except ValueError:
        return None


def read_us_date(value: str) -> date | None:
    m = _US_DATE.match(value)
    if not m:
        return None
    try:
        return date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    except ValueError:
        return None


def _correct(target: str, message: str, evidence: str) -> Finding:
    return Finding(check=CHECK, action="correct", severity="error", message=message, evidence=evidence,
                   target=f"element:{target}")


def _ask_date_of_service(ctx: CheckContext, signed: date | None, message: str, question: str,
                         evidence: str) -> Finding:
    """Ask the provider, offering the signing date; without a usable signing date the date comes from
    the scheduling record instead."""
    if signed is None or signed > ctx.today:
        return _correct("date_of_service", f"{message} Take the date from the scheduling record.", evidence)
    day = signed.isoformat()
    return Finding(check=CHECK, action="query", severity="error", message=message, evidence=evidence,
                   question=question,
                   choices=query_choices([Choice(label=f"The encounter was on {day}, the day the note was signed",
                                                 kind="value", value=day)]),
                   target="element:date_of_service")


def _signed_on(ctx: CheckContext) -> tuple[date | None, Finding | None]:
    sig = ctx.chart.signature
    raw = (sig.signed_at or "").strip() if sig is not None else ""
    if not raw:
        return None, None  # unsigned is its own check
    try:
        # The clinic's local calendar date of signing: the date written in the value, before any offset.
        return datetime.fromisoformat(raw).date(), None
    except ValueError:
        return None, _correct("signature.signed_at",
                              f"The signing time {raw!r} is not a date and time; take it from the EHR's "
                              "signature audit trail.", f"signature.signed_at = {raw!r}")


@register(
    "invalid-date",
    actions=("correct", "query"),
    references=(
        "CMS Medicare Claims Processing Manual (Pub. 100-04), chapter 26 (item 24A, dates of service) and "
        "chapter 1, section 70 (timely filing counted from the date of service)",
        "ICD-10-CM Official Guidelines for Coding and Reporting FY2026, introduction (the code set in effect on "
        "the date of service is used)",
        "CMS Medicare Program Integrity Manual (Pub. 100-08) chapter 3, section 3.3.2.4 (signatures "
        "authenticate documentation of services rendered)",
    ),
)
def check(ctx: CheckContext) -> list[Finding]:
    chart = ctx.chart
    enc = chart.encounter
    out: list[Finding] = []
    signed, bad_signature = _signed_on(ctx)
    if bad_signature is not None:
        out.append(bad_signature)

    raw_dos = (enc.date_of_service or "").strip()
    dos: date | None = None
    if raw_dos:
        dos = read_date(raw_dos)
        evidence = f"encounter.date_of_service = {raw_dos!r}"
        if dos is None:
            us = read_us_date(raw_dos)
            if us is not None:
                out.append(_correct("date_of_service",
                                    f"The date of service {raw_dos!r} is not in ISO form: {us.isoformat()}.",
                                    evidence))
                dos = us
            else:
                out.append(_ask_date_of_service(
                    ctx, signed, f"The date of service {raw_dos!r} is not a date.",
                    f"The date of service recorded for this encounter, {raw_dos!r}, is not a calendar date. "
                    "On what date was this encounter?", evidence))
        if dos is not None and dos > ctx.today:
            out.append(_ask_date_of_service(
                ctx, signed, f"The date of service {dos.isoformat()} is in the future (today is "
                             f"{ctx.today.isoformat()}).",
                f"The date of service recorded for this encounter is {dos.isoformat()}, which has not come yet. "
                "On what date was this encounter?", evidence))
        elif dos is not None and signed is not None and dos > signed:
            out.append(_ask_date_of_service(
                              ctx, signed,
                              f"The date of service {dos.isoformat()} is after the note was signed "
                              f"({chart.signature.signed_at}).",
                              f"The note was signed on {signed.isoformat()}, but the date of service recorded "
                              f"is {dos.isoformat()}, after the signature. On what date was this encounter?",
                              f"{evidence}; signature.signed_at = {chart.signature.signed_at!r}"))

    raw_admit = (enc.admission_date or "").strip()
    if raw_admit:
        admit = read_date(raw_admit)
        evidence = f"encounter.admission_date = {raw_admit!r}"
        if admit is None:
            out.append(_correct("admission_date",
                                f"The admission date {raw_admit!r} is not a date; take it from the admission "
                                "(ADT) record.", evidence))
        elif dos is not None and admit > dos:
            out.append(_correct("admission_date",
                                f"The admission date {admit.isoformat()} is after the date of service "
                                f"{dos.isoformat()}; check both against the admission (ADT) record.",
                                f"{evidence}; encounter.date_of_service = {raw_dos!r}"))

    raw_birth = (chart.patient.birth_date or "").strip()
    if raw_birth:
        birth = read_date(raw_birth)
        evidence = f"patient.birth_date = {raw_birth!r}"
        if birth is None:
            out.append(_correct("patient.birth_date",
                                f"The patient's birth date {raw_birth!r} is not a date; take it from the "
                                "registration record.", evidence))
        elif dos is not None and birth > dos:
            out.append(_correct("patient.birth_date",
                                f"The patient's birth date {birth.isoformat()} is after the date of service "
                                f"{dos.isoformat()}; check it against the registration record.", evidence))
    return out
