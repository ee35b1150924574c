"""The canonical chart: one encounter's signed documentation with its proposed codes.

Contract section 4. Values that a check must judge (dates, NPIs, POA flags) are
kept as the strings that arrived, so that "not a date" becomes an
``invalid-date`` finding rather than an input error; only structure and types
are enforced here.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SETTINGS = ("office", "telehealth", "outpatient-hospital", "emergency", "inpatient")
POA_VALUES = ("Y", "N", "U", "W", "1")

_ICD_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")


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


def normalize_procedure(code: str) -> str:
    return code.strip().upper().replace(" ", "")


class _Open(BaseModel):
    # Unknown fields are kept (and ignored) so nothing an EHR sent is lost.
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class Patient(_Open):
    mrn: str | None = None
    name: str | None = None
    birth_date: str | None = None
    sex: str | None = None


class Encounter(_Open):
    date_of_service: str | None = None
    place_of_service: str | None = None
    setting: Literal["office", "telehealth", "outpatient-hospital", "emergency", "inpatient"] | None = None
    patient_status: Literal["new", "established"] | None = None
    admission_date: str | None = None
    total_time_minutes: int | None = Field(default=None, ge=0)

    @field_validator("place_of_service", mode="before")
    @classmethod
    def _pos_as_text(cls, v: Any) -> Any:
        # "11" and 11 mean the same place; keep two digits.
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:02d}"
        return v


class Provider(_Open):
    npi: str | None = None
    name: str | None = None
    email: str | None = None


class Signature(_Open):
    signed_by: str | None = None
    signed_at: str | None = None


class Note(_Open):
    text: str | None = None
    sections: dict[str, str] | None = None

    def full_text(self) -> str:
        """The whole note; sections are rendered as headed blocks after the free text."""
        parts: list[str] = []
        if self.text:
            parts.append(self.text)
        for name, body in (self.sections or {}).items():
            parts.append(f"{name.upper()}\n\n{body}")
        return "\n\n".join(parts)


class Diagnosis(_Open):
    code: str
    poa: str | None = None

    @field_validator("code")
    @classmethod
    def _norm(cls, v: str) -> str:
        return normalize_icd(v)

    @field_validator("poa", mode="before")
    @classmethod
    def _poa(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        if isinstance(v, str):
            v = v.strip().upper() or None
        return v


class Procedure(_Open):
    code: str
    modifiers: list[str] = Field(default_factory=list)
    units: int = Field(default=1, ge=0)
    diagnosis_pointers: list[int] = Field(default_factory=list)

    @field_validator("code")
    @classmethod
    def _norm(cls, v: str) -> str:
        return normalize_procedure(v)

    @field_validator("modifiers")
    @classmethod
    def _mods(cls, v: list[str]) -> list[str]:
        return [m.strip().upper() for m in v if m and m.strip()]


class Coverage(_Open):
    """The primary payer (contract section 4); payer rule packs match on ``payer_id``."""

    payer_id: str | None = None
    payer_name: str | None = None
    plan: str | None = None

    @field_validator("payer_id", mode="before")
    @classmethod
    def _id_as_text(cls, v: Any) -> Any:
        # Payer IDs are identifiers ("60054", "00123"): a number that arrived unquoted is the same ID.
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        return v


class Chart(_Open):
    chart_id: str = Field(min_length=1)
    document_id: str | None = None
    version: int = 1
    patient: Patient
    encounter: Encounter
    provider: Provider
    signature: Signature | None = None
    note: Note
    diagnoses: list[Diagnosis] = Field(default_factory=list)
    procedures: list[Procedure] = Field(default_factory=list)
    coverage: Coverage | None = None

    @property
    def doc_key(self) -> str:
        """Identity of this document version, for idempotent intake."""
        return f"{self.document_id or self.chart_id}#{self.version}"

    def note_text(self) -> str:
        return self.note.full_text()


class FieldError(BaseModel):
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ChartInputError(ValueError):
    """Input that cannot be made into a chart. Each error names the field."""

    def __init__(self, errors: list[FieldError], source: str | None = None):
        self.errors = errors
        self.source = source
        super().__init__("; ".join(str(e) for e in errors))


def errors_from_validation(exc: ValidationError) -> list[FieldError]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(chart)"
        out.append(FieldError(field=loc, message=err["msg"]))
    return out


def chart_from_dict(data: Any) -> Chart:
    if not isinstance(data, dict):
        raise ChartInputError([FieldError(field="(chart)", message="expected a JSON object")])
    try:
        return Chart.model_validate(data)
    except ValidationError as exc:
        raise ChartInputError(errors_from_validation(exc)) from None


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
