"""The canonical chart: one encounter's signed documentation with its proposed codes.

Contract section 4. Values that a check must judge (dates, NPIs, POA flags) are
kept as the strings that arrived, so that "not a date" becomes an
``invalid-date`` finding rather than an input error; only structure and types
are enforced here.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Any

from vma.records import Field, Integer, ListOf, Nested, OneOf, Record, RecordError, Text, TextMap

SETTINGS = ("office", "telehealth", "outpatient-hospital", "emergency", "inpatient")
POA_VALUES = ("Y", "N", "U", "W", "1")

_ICD_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")


# A pure function of the code as sent, and the same few codes arrive chart after chart: each is worked out once.
@lru_cache(maxsize=10_000)
def normalize_icd(code: str) -> str:
    """Upper-case, trim, and put the dot after the category (``m25569`` -> ``M25.569``)."""
    c = code.strip().upper().replace(" ", "")
    if not c:
        return c
    bare = c.replace(".", "")
    if len(bare) > 3 and _ICD_SHAPE.match(c):
        return f"{bare[:3]}.{bare[3:]}"
    if len(bare) == 3 and _ICD_SHAPE.match(c):
        return bare
    return c


@lru_cache(maxsize=10_000)
def normalize_procedure(code: str) -> str:
    return code.strip().upper().replace(" ", "")


def _number_as_text(width: int = 0) -> Any:
    """A number that arrived unquoted is the same identifier as its digits (``11`` and ``"11"`` are one
    place of service; payer IDs such as ``60054`` likewise); a place of service keeps two digits."""
    def before(v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:0{width}d}" if width else str(v)
        return v
    return before


def _poa_flag(v: Any) -> Any:
    if isinstance(v, int) and not isinstance(v, bool):
        v = str(v)
    if isinstance(v, str):
        v = v.strip().upper() or None
    return v


def _modifiers(v: list[str]) -> list[str]:
    return [m.strip().upper() for m in v if m and m.strip()]


class _Open(Record):
    # Unknown fields are kept (and ignored) so nothing an EHR sent is lost.
    keep_extra = True
    strip_text = True


class Patient(_Open):
    mrn = Field(Text(), optional=True)
    name = Field(Text(), optional=True)
    birth_date = Field(Text(), optional=True)
    sex = Field(Text(), optional=True)


class Encounter(_Open):
    date_of_service = Field(Text(), optional=True)
    place_of_service = Field(Text(), optional=True, before=_number_as_text(width=2))
    setting = Field(OneOf(*SETTINGS), optional=True)
    patient_status = Field(OneOf("new", "established"), optional=True)
    admission_date = Field(Text(), optional=True)
    total_time_minutes = Field(Integer(ge=0), optional=True)


class Provider(_Open):
    npi = Field(Text(), optional=True)
    name = Field(Text(), optional=True)
    email = Field(Text(), optional=True)


class Signature(_Open):
    signed_by = Field(Text(), optional=True)
    signed_at = Field(Text(), optional=True)


class Note(_Open):
    text = Field(Text(), optional=True)
    sections = Field(TextMap(), optional=True)

    def full_text(self) -> str:
        """The whole note; sections are rendered as headed blocks after the free text."""
        parts: list[str] = []
        if self.text:
            parts.append(self.text)
        for name, body in (self.sections or {}).items():
            parts.append(f"{name.upper()}\n\n{body}")
        return "\n\n".join(parts)


class Diagnosis(_Open):
    code = Field(Text(), after=normalize_icd)
    poa = Field(Text(), optional=True, before=_poa_flag)


class Procedure(_Open):
    code = Field(Text(), after=normalize_procedure)
    modifiers = Field(ListOf(Text()), factory=list, after=_modifiers)
    units = Field(Integer(ge=0), default=1)
    diagnosis_pointers = Field(ListOf(Integer()), factory=list)


class Coverage(_Open):
    """The primary payer (contract section 4); payer rule packs match on ``payer_id``."""

    payer_id = Field(Text(), optional=True, before=_number_as_text())
    payer_name = Field(Text(), optional=True)
    plan = Field(Text(), optional=True)


class Chart(_Open):
    chart_id = Field(Text(min_length=1))
    document_id = Field(Text(), optional=True)
    version = Field(Integer(), default=1)
    patient = Field(Nested(Patient))
    encounter = Field(Nested(Encounter))
    provider = Field(Nested(Provider))
    signature = Field(Nested(Signature), optional=True)
    note = Field(Nested(Note))
    diagnoses = Field(ListOf(Nested(Diagnosis)), factory=list)
    procedures = Field(ListOf(Nested(Procedure)), factory=list)
    coverage = Field(Nested(Coverage), optional=True)

    @property
    def doc_key(self) -> str:
        """Identity of this document version, for idempotent intake."""
        return f"{self.document_id or self.chart_id}#{self.version}"

    def note_text(self) -> str:
        return self.note.full_text()


class FieldError(Record):
    field = Field(Text())
    message = Field(Text())

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ChartInputError(ValueError):
    """Input that cannot be made into a chart. Each error names the field."""

    def __init__(self, errors: list[FieldError], source: str | None = None):
        self.errors = errors
        self.source = source
        super().__init__("; ".join(str(e) for e in errors))


def errors_from_record(exc: RecordError) -> list[FieldError]:
    # A key holding a lone surrogate is named escaped ("A\\ud800"): the name must be printable.
    return [FieldError(field=(".".join(str(p) for p in loc) or "(chart)").encode("utf-8", "backslashreplace").decode(),
                       message=msg) for loc, msg in exc.problems]


def chart_from_dict(data: Any) -> Chart:
    if not isinstance(data, dict):
        raise ChartInputError([FieldError(field="(chart)", message="expected a JSON object")])
    try:
        return Chart.model_validate(data)
    except RecordError as exc:
        raise ChartInputError(errors_from_record(exc)) from None


def chart_json_schema() -> dict[str, Any]:
    return Chart.model_json_schema()


def age_on(birth: date, when: date) -> int:
    """Whole years completed on ``when``."""
    return when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))


def age_on_service(chart: "Chart") -> int | None:
    """The patient's age in whole years on the date of service; None when either date is missing,
    unreadable or out of order (missing-element and invalid-date report those)."""
    try:
        born = date.fromisoformat(str(chart.patient.birth_date or "")[:10])
        seen = date.fromisoformat(str(chart.encounter.date_of_service or "")[:10])
    except ValueError:
        return None
    years = age_on(born, seen)
    return years if years >= 0 else None
