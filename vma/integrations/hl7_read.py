"""Reading HL7 v2 (ER7): the configurable field positions, the message parsed into segments, and the
field, date and name readers that the chart mapping (``vma.integrations.hl7``) and the ACKs build on."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

import hl7

from vma.chart import ChartInputError, FieldError


# ---------------------------------------------------------------- positions

_POSITION = re.compile(r"^([A-Z][A-Z0-9]{2})-(\d{1,3})(?:\.(\d{1,2}))?$")


@dataclass(frozen=True)
class HL7Positions:
    """Where each chart value sits in the message: ``"SEG-field"`` or ``"SEG-field.component"``.

    An empty string switches a value off (for example a site that sends no POA).
    """

    mrn: str = "PID-3"
    patient_name: str = "PID-5"
    birth_date: str = "PID-7"
    sex: str = "PID-8"
    patient_class: str = "PV1-2"
    location: str = "PV1-3"
    attending: str = "PV1-7"
    visit_number: str = "PV1-19"
    admit_date: str = "PV1-44"
    place_of_service: str = ""
    patient_status: str = ""
    service_date: str = "TXA-4"
    change_time: str = "TXA-8"
    document_id: str = "TXA-12"
    parent_document_id: str = "TXA-13"
    completion_status: str = "TXA-17"
    authenticator: str = "TXA-22"
    signed_at: str = "TXA-22.15"
    version: str = ""
    note: str = "OBX-5"
    diagnosis: str = "DG1-3"
    poa: str = "DG1-26"
    charge_code: str = "FT1-25"
    charge_code_alt: str = "FT1-7"
    charge_units: str = "FT1-10"
    charge_diagnoses: str = "FT1-19"
    charge_modifiers: str = "FT1-26"
    charge_date: str = "FT1-4"
    charge_location: str = "FT1-16"
    procedure_code: str = "PR1-3"
    procedure_modifiers: str = "PR1-16"
    procedure_diagnosis: str = "PR1-15"
    payer_id: str = "IN1-3"
    payer_name: str = "IN1-4"
    plan: str = "IN1-2"

    @classmethod
    def from_mapping(cls, overrides: Mapping[str, Any] | None) -> "HL7Positions":
        """Defaults with a site's overrides; an unknown name or a malformed position is a ``ValueError``."""
        if not overrides:
            return cls()
        if not isinstance(overrides, Mapping):
            raise ValueError("HL7 field positions must be an object of name -> position")
        known = {f.name for f in fields(cls)}
        changes: dict[str, str] = {}
        for name, value in overrides.items():
            key = str(name).strip().lower().replace("-", "_")
            if key not in known:
                raise ValueError(f"unknown HL7 position {name!r}; known: {', '.join(sorted(known))}")
            text = "" if value is None else str(value).strip().upper()
            if text and not _POSITION.match(text):
                raise ValueError(f"HL7 position {name}={value!r} is not of the form SEG-n or SEG-n.c (e.g. PV1-7, TXA-22.15)")
            changes[key] = text
        return replace(cls(), **changes)

    @classmethod
    def from_json(cls, text: str | None) -> "HL7Positions":
        if not text or not text.strip():
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"VMA_HL7_FIELDS is not valid JSON: {exc.msg}") from None
        return cls.from_mapping(data)


_configured: tuple[str | None, HL7Positions] | None = None


def configured_positions() -> HL7Positions:
    """The positions from ``VMA_HL7_FIELDS`` (settings), defaults when unset."""
    global _configured
    try:
        from vma.config import get_settings

        raw = get_settings().vma_hl7_fields
    except Exception:  # settings that do not load are reported by whoever loads them; use the defaults here
        raw = None
    if _configured is None or _configured[0] != raw:
        _configured = (raw, HL7Positions.from_json(raw))
    return _configured[1]


@dataclass(frozen=True)
class _Pos:
    segment: str
    field: int
    component: int | None

    @property
    def label(self) -> str:
        return f"{self.segment}-{self.field}" + (f".{self.component}" if self.component else "")


def _pos(spec: str) -> _Pos | None:
    if not spec:
        return None
    m = _POSITION.match(spec)
    if not m:  # from_mapping validates; a hand-built instance may not have been
        raise ValueError(f"bad HL7 position {spec!r}")
    return _Pos(m.group(1), int(m.group(2)), int(m.group(3)) if m.group(3) else None)


# ---------------------------------------------------------------- parsing

def _err(field: str, message: str) -> ChartInputError:
    return ChartInputError([FieldError(field=field, message=message)])


def _clean_lines(text: str) -> list[str]:
    if not isinstance(text, str):
        raise _err("(hl7)", "expected HL7 v2 text")
    body = text.replace("\ufeff", "").replace("\x0b", "").replace("\x1c", "")
    return [line for line in re.split(r"\r\n|\r|\n", body) if line.strip()]


def _parse(text: str) -> hl7.Message:
    lines = _clean_lines(text)
    if not lines:
        raise _err("MSH", "empty message")
    first = lines[0].lstrip()
    lines[0] = first
    if not first.startswith("MSH"):
        raise _err("MSH", "the message does not start with an MSH segment")
    if len(first) < 8:
        raise _err("MSH-2", "MSH is truncated before its encoding characters")
    sep = first[3]
    enc = first[4:8]
    if sep.isalnum() or sep.isspace() or len(set(sep + enc)) != 5 or any(c.isalnum() or c.isspace() for c in enc):
        raise _err("MSH-2", "MSH-1/MSH-2 do not hold a field separator and four distinct encoding characters")
    if sum(1 for line in lines if line.startswith("MSH" + sep)) > 1:
        raise _err("MSH", "more than one message in the input; send one message at a time")
    for i, line in enumerate(lines[1:], start=2):
        if not re.match(r"^[A-Z][A-Z0-9]{2}(\Z|" + re.escape(sep) + ")", line):
            raise _err(f"segment {i}", f"not an HL7 segment: {line[:20]!r}")
    try:
        return hl7.parse("\r".join(lines))
    except Exception as exc:  # python-hl7 raises several kinds on malformed input
        raise _err("MSH", f"unparseable HL7: {exc}") from None


def _seg_id(seg) -> str:
    try:
        return str(seg[0][0])
    except Exception:
        return ""


def _segments(msg: hl7.Message, seg_id: str) -> list:
    return [s for s in msg if _seg_id(s) == seg_id]


def _first(msg: hl7.Message, seg_id: str):
    found = _segments(msg, seg_id)
    return found[0] if found else None


def _val(seg, field: int, component: int = 1, rep: int = 1, sub: int = 1) -> str:
    """One value, unescaped and trimmed; empty when absent (python-hl7 raises for deep absent paths)."""
    if seg is None:
        return ""
    try:
        value = seg.extract_field(1, field, rep, component, sub)
    except Exception:
        return ""
    return str(value).strip()


def _reps(seg, field: int) -> int:
    if seg is None:
        return 0
    try:
        if field >= len(seg):
            return 0
        f = seg(field)
    except Exception:
        return 0
    if isinstance(f, hl7.Field) and f and all(isinstance(r, hl7.Repetition) for r in f):
        return len(f)
    return 1 if str(f).strip() else 0


def _pos_val(msg: hl7.Message, pos: _Pos | None, component: int = 1, rep: int = 1, seg=None) -> str:
    if pos is None:
        return ""
    seg = seg if seg is not None else _first(msg, pos.segment)
    return _val(seg, pos.field, pos.component or component, rep)


def _pos_whole(msg: hl7.Message, pos: _Pos | None, seg=None) -> str:
    """The raw field text (all components), for free-text searches such as "POS 11"."""
    if pos is None:
        return ""
    seg = seg if seg is not None else _first(msg, pos.segment)
    if seg is None:
        return ""
    try:
        return str(seg(pos.field)) if pos.field < len(seg) else ""
    except Exception:
        return ""


_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?$")


def hl7_date(value: str) -> str | None:
    """HL7 DT/TS to an ISO date; anything else is kept as sent so a check can call it invalid."""
    if not value:
        return None
    m = _TS.match(value)
    if not m or not m.group(2) or not m.group(3):
        return value
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"


def hl7_datetime(value: str) -> str | None:
    if not value:
        return None
    m = _TS.match(value)
    if not m or not m.group(3):
        return value
    y, mo, d, h, mi, s, tz = m.groups()
    if h is None:
        return f"{y}-{mo}-{d}"
    out = f"{y}-{mo}-{d}T{h}:{mi or '00'}:{s or '00'}"
    if tz:
        out += f"{tz[:3]}:{tz[3:]}"
    return out


def _xpn_name(seg, field: int, rep: int = 1) -> str | None:
    family, given, middle = (_val(seg, field, c, rep) for c in (1, 2, 3))
    name = " ".join(p for p in (given, middle, family) if p)
    return name or None


def _xcn(seg, field: int) -> tuple[str | None, str | None]:
    """(NPI or first id, "Given Family, Degree") from an XCN field, preferring the NPI-typed repetition."""
    count = _reps(seg, field)
    if not count:
        return None, None
    chosen = 1
    for rep in range(1, count + 1):
        if "NPI" in (_val(seg, field, 13, rep).upper(), _val(seg, field, 9, rep).upper()):
            chosen = rep
            break
    ident = _val(seg, field, 1, chosen) or None
    family, given, middle, degree = (_val(seg, field, c, chosen) for c in (2, 3, 4, 7))
    name = " ".join(p for p in (given, middle, family) if p)
    if name and degree:
        name = f"{name}, {degree}"
    return ident, name or None


# ---------------------------------------------------------------- message info

@dataclass(frozen=True)
class MessageInfo:
    message_type: str
    trigger_event: str
    control_id: str
    document_id: str | None
    structure: str = ""
    version_id: str = ""


def hl7_message_info(text: str) -> MessageInfo:
    """What the MSH (and TXA/OBR) say about a message, without mapping it to a chart."""
    msg = _parse(text)
    try:
        positions = configured_positions()
    except ValueError:  # a bad VMA_HL7_FIELDS is reported when charts are read; the ACK still needs the MSH
        positions = HL7Positions()
    return _info(msg, positions)


def _info(msg: hl7.Message, positions: HL7Positions) -> MessageInfo:
    msh = _first(msg, "MSH")
    message_type = _val(msh, 9, 1).upper()
    if not message_type:
        raise _err("MSH-9", "message type is missing")
    trigger = _val(msh, 9, 2).upper()
    control_id = _val(msh, 10)
    doc_id: str | None = None
    if message_type == "MDM":
        doc_id = _pos_val(msg, _pos(positions.document_id)) or None
    elif message_type == "ORU":
        obr = _first(msg, "OBR")
        doc_id = _val(obr, 3) or _val(obr, 2) or None
    return MessageInfo(message_type=message_type, trigger_event=trigger, control_id=control_id,
                       document_id=doc_id, structure=_val(msh, 9, 3).upper(), version_id=_val(msh, 12))
