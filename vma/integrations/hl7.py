"""HL7 v2 (ER7) documents mapped onto the canonical chart, and the ACKs the MLLP listener answers with.

Messages taken: MDM^T01-T11 (document notifications) and ORU^R01 (a note sent as
a result). Segments may be separated by CR, LF or CRLF; MLLP framing bytes and
blank lines are tolerated.

Default positions (``HL7Positions``; a site overrides any of them with
``VMA_HL7_FIELDS``, a JSON object such as ``{"attending": "TXA-5", "poa": "ZDG-2"}``):

=====================  ==========  ====================================================
chart field            default     note
=====================  ==========  ====================================================
patient.mrn            PID-3       the repetition typed ``MR`` (CX.5), else the first
patient.name           PID-5       "Given Middle Family"
patient.birth_date     PID-7       HL7 date -> ISO date
patient.sex            PID-8
encounter setting      PV1-2       I inpatient, E emergency; PL.6 ``O`` office, ``P`` telehealth
place_of_service       PV1-3       "POS nn" in the location text (e.g. "Office (POS 11)")
provider               PV1-7       XCN: the repetition typed NPI, name "Given Family, Degree"
chart_id               PV1-19      visit number; falls back to the document number
admission_date         PV1-44
date_of_service        TXA-4       else the first FT1-4, else OBR-7 (ORU)
document_id            TXA-12      ORU: OBR-3 (filler number), else OBR-2
parent document        TXA-13      used as document_id for addenda, edits, replacements, cancels
completion status      TXA-17      AU or LA = authenticated; ORU without TXA: OBR-25 F/C
signature              TXA-22      authenticator; the signing time in component 15
note.text              OBX-5       text OBX (TX, FT, ST, or base64 text/plain ED), one line each
diagnoses              DG1-3       ICD-10-CM in segment order; POA from DG1-26
coverage.payer_id      IN1-3       of the IN1 with the lowest set ID (IN1-1): the primary payer
coverage.payer_name    IN1-4       XON organisation name
coverage.plan          IN1-2       plan ID's text (component 2), else its code
procedures             FT1-25      else FT1-7; units FT1-10, modifiers FT1-26 (repeating),
                                   diagnoses FT1-19 (codes, or 1-based pointers); no FT1: PR1-3
=====================  ==========  ====================================================

Versions. A new document (T01-T04, ORU) is version 1. An addendum, edit or
replacement (T05-T10) keeps the parent's document number (TXA-13) as the
chart's ``document_id`` so it is recognised as a new version of the same
document; its version is, in order: the ``version`` position if a site set
one; the numeric suffix of TXA-12 when TXA-12 and TXA-13 share the stem
(``DOC-7-2`` after ``DOC-7-1`` is version 2); otherwise the change time
(TXA-8, else TXA-22.15, else EVN-2, else MSH-7) as the number YYYYMMDDHHMMSS,
which grows with each revision. A cancel (T11) always takes the change time,
so it is never mistaken for a duplicate of the version it cancels.

Extra chart fields: ``completion_status`` (TXA-17 as sent), ``authenticated``
(bool; not authenticated means ``signature`` is null), ``cancelled`` (T11),
``revision_kind`` (new, addendum, edit, replace, cancel),
``parent_document_id``, ``revision_document_id`` (TXA-12 of a revision),
``message_type`` and ``control_id``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone
from typing import Any, Mapping

import hl7
from hl7.util import generate_message_control_id

from vma.chart import Chart, ChartInputError, FieldError, chart_from_dict, normalize_icd

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


# ---------------------------------------------------------------- chart mapping

_NEW = {"T01", "T02", "T03", "T04"}
_REVISION = {"T05": "addendum", "T06": "addendum", "T07": "edit", "T08": "edit", "T09": "replace", "T10": "replace"}
_COMPLETION = {"AU", "LA", "DI", "DO", "IN", "IP", "PA"}
_AUTHENTICATED = {"AU", "LA"}
_POS_TO_SETTING = {"11": "office", "02": "telehealth", "10": "telehealth", "21": "inpatient",
                   "22": "outpatient-hospital", "19": "outpatient-hospital", "23": "emergency"}
_TEXT_TYPES = {"TX", "FT", "ST", ""}


def chart_from_hl7(text: str, positions: HL7Positions | None = None) -> Chart:
    """Map one ER7 message onto the canonical chart; every failure is a ``ChartInputError`` naming the field."""
    if positions is None:
        try:
            positions = configured_positions()
        except ValueError as exc:
            raise _err("VMA_HL7_FIELDS", str(exc)) from None
    try:
        msg = _parse(text)
        return _chart(msg, positions)
    except ChartInputError:
        raise
    except Exception as exc:  # a safety net: the readers above should have named the field already
        raise _err("(hl7)", f"unreadable message: {type(exc).__name__}: {exc}") from None


def _chart(msg: hl7.Message, p: HL7Positions) -> Chart:
    info = _info(msg, p)
    if info.message_type == "MDM":
        if info.trigger_event not in _NEW and info.trigger_event not in _REVISION and info.trigger_event != "T11":
            raise _err("MSH-9", f"MDM^{info.trigger_event or '?'} is not a document notification (T01-T11)")
    elif (info.message_type, info.trigger_event) != ("ORU", "R01"):
        raise _err("MSH-9", f"{info.message_type}^{info.trigger_event} carries no clinical document (MDM or ORU^R01 only)")
    if _first(msg, "PID") is None:
        raise _err("PID", "the message has no PID segment")

    status, authenticated = _completion(msg, p, info)
    document_id, version, kind, parent_id, own_id = _document_identity(msg, p, info)
    diagnoses = _diagnoses(msg, p)
    procedures = _procedures(msg, p, diagnoses)
    encounter = _encounter(msg, p)
    provider_npi, provider_name = _provider(msg, p)
    chart_id = _pos_val(msg, _pos(p.visit_number)) or document_id or parent_id
    if not chart_id:
        raise _err(p.visit_number or "PV1-19", "no visit number and no document number to identify the chart")

    signature = None
    if authenticated:
        signer_id, signer = _signer(msg, p)
        signature = {"signed_by": signer or provider_name, "signed_at": _signed_at(msg, p, info)}
    note_text = _note_text(msg, p)

    data: dict[str, Any] = {
        "chart_id": chart_id,
        "document_id": document_id,
        "version": version,
        "patient": _patient(msg, p),
        "encounter": encounter,
        "provider": {"npi": provider_npi, "name": provider_name, "email": None},
        "signature": signature,
        "note": {"text": note_text},
        "diagnoses": diagnoses,
        "procedures": procedures,
        "coverage": _coverage(msg, p),
        "completion_status": status,
        "authenticated": authenticated,
        "cancelled": info.trigger_event == "T11" and info.message_type == "MDM",
        "revision_kind": kind,
        "parent_document_id": parent_id,
        "revision_document_id": own_id if kind != "new" else None,
        "message_type": f"{info.message_type}^{info.trigger_event}",
        "control_id": info.control_id or None,
        "source_format": "hl7",
    }
    return chart_from_dict(data)


def _coverage(msg, p: HL7Positions) -> dict[str, Any] | None:
    """The primary payer: the IN1 whose set ID (IN1-1) is lowest, as HL7 v2.5.1 ch. 6.5.6 orders
    insurance (1 is primary); None without an IN1 or a payer in it."""
    pid, pname, pplan = _pos(p.payer_id), _pos(p.payer_name), _pos(p.plan)
    segment = pid.segment if pid is not None else "IN1"
    candidates = _segments(msg, segment)
    if not candidates:
        return None

    def rank(seg) -> int:
        set_id = _val(seg, 1)
        return int(set_id) if set_id.isdigit() else 1_000_000

    seg = min(candidates, key=rank)
    payer_id = _pos_val(msg, pid, seg=seg) if pid is not None else ""
    payer_name = _pos_val(msg, pname, seg=seg) if pname is not None and pname.segment == segment else ""
    plan = ""
    if pplan is not None and pplan.segment == segment:
        plan = _val(seg, pplan.field, pplan.component or 2) or _val(seg, pplan.field, 1)
    if not payer_id and not payer_name:
        return None
    return {"payer_id": payer_id or None, "payer_name": payer_name or None, "plan": plan or None}


def _completion(msg, p: HL7Positions, info: MessageInfo) -> tuple[str | None, bool]:
    pos = _pos(p.completion_status)
    has_txa = pos is not None and _first(msg, pos.segment) is not None
    if info.message_type == "MDM" or has_txa:
        if pos is None:
            return None, False
        if _first(msg, pos.segment) is None:
            raise _err(pos.segment, f"the message has no {pos.segment} segment (document header)")
        status = _pos_val(msg, pos).upper()
        if not status:
            raise _err(pos.label, "document completion status is missing (AU = authenticated)")
        if status not in _COMPLETION:
            raise _err(pos.label, f"unknown document completion status {status!r} (HL7 table 0271: AU, LA, DI, DO, IN, IP, PA)")
        return status, status in _AUTHENTICATED
    obr = _first(msg, "OBR")
    status = _val(obr, 25).upper()
    if not status:
        obx = _first(msg, "OBX")
        status = _val(obx, 11).upper()
        if not status:
            raise _err("OBR-25", "result status is missing (F = final)")
    return status, status in {"F", "C"}


_SUFFIX = re.compile(r"^(.*?)[-_.](\d{1,6})$")


def _document_identity(msg, p: HL7Positions, info: MessageInfo):
    """(document_id, version, revision kind, parent id, own id) as described in the module docstring."""
    own = info.document_id
    if info.message_type == "ORU":
        return own, _explicit_version(msg, p) or 1, "new", None, own
    parent = _pos_val(msg, _pos(p.parent_document_id)) or None
    trigger = info.trigger_event
    if trigger in _NEW:
        return own, _explicit_version(msg, p) or 1, "new", parent, own
    kind = _REVISION.get(trigger, "cancel")
    if not own and not parent:
        label = p.document_id or p.parent_document_id or "TXA-12"
        raise _err(label, f"a document {kind} must name the document (unique document number or parent document number)")
    document_id = parent or own
    version = _explicit_version(msg, p)
    if version is None and kind != "cancel" and own and parent:
        mine, theirs = _SUFFIX.match(own), _SUFFIX.match(parent)
        if mine and (parent == mine.group(1) or (theirs and theirs.group(1) == mine.group(1))):
            version = int(mine.group(2))
    if version is None:
        version = _change_time_version(msg, p)
    return document_id, version, kind, parent, own


def _explicit_version(msg, p: HL7Positions) -> int | None:
    pos = _pos(p.version)
    raw = _pos_val(msg, pos)
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise _err(pos.label, f"document version {raw!r} is not a positive whole number")
    return int(raw)


def _change_time_version(msg, p: HL7Positions) -> int:
    candidates = [_pos_val(msg, _pos(p.change_time)), _pos_val(msg, _pos(p.signed_at)),
                  _val(_first(msg, "EVN"), 2), _val(_first(msg, "MSH"), 7)]
    for raw in candidates:
        digits = re.match(r"^\d{8,14}", raw or "")
        if digits:
            return int(digits.group(0).ljust(14, "0"))
    raise _err(p.change_time or "MSH-7", "a revised or cancelled document needs a change time (or a version) to order it")


def _patient(msg, p: HL7Positions) -> dict[str, Any]:
    mrn_pos = _pos(p.mrn)
    mrn = None
    if mrn_pos:
        seg = _first(msg, mrn_pos.segment)
        count = _reps(seg, mrn_pos.field)
        typed = [r for r in range(1, count + 1) if _val(seg, mrn_pos.field, 5, r).upper() == "MR"]
        rep = typed[0] if typed else 1
        mrn = _val(seg, mrn_pos.field, mrn_pos.component or 1, rep) or None
    name_pos = _pos(p.patient_name)
    name = _xpn_name(_first(msg, name_pos.segment), name_pos.field) if name_pos else None
    return {
        "mrn": mrn,
        "name": name,
        "birth_date": hl7_date(_pos_val(msg, _pos(p.birth_date))),
        "sex": _pos_val(msg, _pos(p.sex)).upper() or None,
    }


def _place_of_service(text: str) -> str | None:
    m = re.search(r"\bPOS\W{0,3}(\d{2})\b", text, re.I)
    return m.group(1) if m else None


def _encounter(msg, p: HL7Positions) -> dict[str, Any]:
    pos_code = _pos_val(msg, _pos(p.place_of_service)) or None
    location_text = _pos_whole(msg, _pos(p.location))
    if not pos_code:
        pos_code = _place_of_service(location_text)
    charge_loc = _pos(p.charge_location)
    if not pos_code and charge_loc:
        for seg in _segments(msg, charge_loc.segment):
            pos_code = _place_of_service(_pos_whole(msg, charge_loc, seg))
            if pos_code:
                break
    if pos_code and pos_code.isdigit() and len(pos_code) == 1:
        pos_code = pos_code.zfill(2)

    setting = _POS_TO_SETTING.get(pos_code or "")
    if setting is None:
        patient_class = _pos_val(msg, _pos(p.patient_class)).upper()
        loc = _pos(p.location)
        location_type = _val(_first(msg, loc.segment), loc.field, 6).upper() if loc else ""
        setting = {"I": "inpatient", "E": "emergency"}.get(patient_class) or \
            {"O": "office", "P": "telehealth"}.get(location_type)

    dos = _pos_val(msg, _pos(p.service_date))
    if not dos:
        charge_date = _pos(p.charge_date)
        if charge_date:
            seg = _first(msg, charge_date.segment)
            dos = _val(seg, charge_date.field, charge_date.component or 1)
    if not dos:
        dos = _val(_first(msg, "OBR"), 7)

    status = _pos_val(msg, _pos(p.patient_status)).lower()
    status = {"n": "new", "new": "new", "e": "established", "established": "established"}.get(status)
    return {
        "date_of_service": hl7_date(dos),
        "place_of_service": pos_code,
        "setting": setting,
        "patient_status": status,
        "admission_date": hl7_date(_pos_val(msg, _pos(p.admit_date))),
        "total_time_minutes": None,
    }


def _provider(msg, p: HL7Positions) -> tuple[str | None, str | None]:
    pos = _pos(p.attending)
    if pos is None:
        return None, None
    seg = _first(msg, pos.segment)
    return _xcn(seg, pos.field)


def _signer(msg, p: HL7Positions) -> tuple[str | None, str | None]:
    pos = _pos(p.authenticator)
    if pos is None:
        return None, None
    return _xcn(_first(msg, pos.segment), pos.field)


def _signed_at(msg, p: HL7Positions, info: MessageInfo) -> str | None:
    if info.message_type == "ORU":
        raw = _val(_first(msg, "OBR"), 22)
    else:
        raw = _pos_val(msg, _pos(p.signed_at)) or _pos_val(msg, _pos(p.change_time))
    raw = raw or _val(_first(msg, "EVN"), 2) or _val(_first(msg, "MSH"), 7)
    return hl7_datetime(raw)


def _note_text(msg, p: HL7Positions) -> str | None:
    pos = _pos(p.note)
    if pos is None:
        return None
    lines: list[str] = []
    binary_types: list[str] = []
    for index, seg in enumerate(_segments(msg, pos.segment), start=1):
        value_type = _val(seg, 2).upper() if pos.segment == "OBX" else ""
        if value_type == "ED":
            decoded = _encapsulated_text(seg, pos.field, f"{pos.segment}[{index}]-{pos.field}")
            if decoded is None:
                binary_types.append(f"{_val(seg, pos.field, 2)}/{_val(seg, pos.field, 3)}")
            else:
                lines.append(decoded)
            continue
        if value_type not in _TEXT_TYPES:
            continue
        count = max(_reps(seg, pos.field), 1)
        for rep in range(1, count + 1):
            if pos.component:
                part = _val(seg, pos.field, pos.component, rep)
            else:
                part = _whole_repetition(seg, pos.field, rep)
            lines.append(part.replace("\r\n", "\n").replace("\r", "\n"))
    if not lines and binary_types:
        raise _err(f"{pos.segment}-{pos.field}", f"the note was sent as {binary_types[0]}; only text can be checked")
    if not lines:
        return None
    text = "\n".join(line.rstrip() for line in lines).strip("\n")
    return text or None


def _whole_repetition(seg, field: int, rep: int) -> str:
    """A text value with its components rejoined: a note line may contain a literal '^' sent unescaped."""
    first = _val(seg, field, 1, rep)
    parts = [first]
    component = 2
    while component < 50:
        nxt = _val(seg, field, component, rep)
        try:
            present = seg(field)(rep)(component) is not None
        except Exception:
            present = False
        if not present:
            break
        parts.append(nxt)
        component += 1
    return "^".join(parts) if len(parts) > 1 else first


def _encapsulated_text(seg, field: int, label: str) -> str | None:
    """ED (OBX-5 source^type^subtype^encoding^data): text/plain in Base64 or plain ASCII; None for other media."""
    data_type = _val(seg, field, 2).upper()
    subtype = _val(seg, field, 3).lower()
    encoding = _val(seg, field, 4).upper()
    data = _val(seg, field, 5)
    if not (data_type in ("TEXT", "TX") or subtype in ("plain", "text/plain")):
        return None
    if encoding in ("BASE64", "B64"):
        try:
            return base64.b64decode(data, validate=False).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise _err(label, "the note's Base64 data does not decode to UTF-8 text") from None
    if encoding in ("A", ""):
        return data
    raise _err(label, f"unsupported encoding {encoding!r} for the note (Base64 or A)")


def _diagnoses(msg, p: HL7Positions) -> list[dict[str, Any]]:
    pos = _pos(p.diagnosis)
    if pos is None:
        return []
    poa_pos = _pos(p.poa)
    out = []
    for index, seg in enumerate(_segments(msg, pos.segment), start=1):
        code = _val(seg, pos.field, pos.component or 1)
        if not code:
            raise _err(f"{pos.segment}[{index}]-{pos.field}", "diagnosis segment without a code")
        poa = None
        if poa_pos is not None:
            poa_seg = seg if poa_pos.segment == pos.segment else _first(msg, poa_pos.segment)
            poa = _val(poa_seg, poa_pos.field, poa_pos.component or 1) or None
        out.append({"code": code, "poa": poa})
    return out


def _diagnosis_pointer(code: str, diagnoses: list[dict[str, Any]]) -> int:
    """The 1-based position of a diagnosis code, appending it when the line names one the DG1s did not."""
    if code.isdigit() and 1 <= int(code) <= len(diagnoses):
        return int(code)
    wanted = normalize_icd(code)
    for i, dx in enumerate(diagnoses, start=1):
        if normalize_icd(dx["code"]) == wanted:
            return i
    diagnoses.append({"code": code, "poa": None})
    return len(diagnoses)


def _procedures(msg, p: HL7Positions, diagnoses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    code_pos, alt_pos = _pos(p.charge_code), _pos(p.charge_code_alt)
    lines = []
    segment_id = code_pos.segment if code_pos else (alt_pos.segment if alt_pos else "")
    for index, seg in enumerate(_segments(msg, segment_id) if segment_id else [], start=1):
        label = f"{segment_id}[{index}]"
        code = (_val(seg, code_pos.field, code_pos.component or 1) if code_pos else "") or \
               (_val(seg, alt_pos.field, alt_pos.component or 1) if alt_pos else "")
        if not code:
            raise _err(f"{label}-{(code_pos or alt_pos).field}", "service line without a procedure code")
        lines.append({
            "code": code,
            "modifiers": _repeating(seg, _pos(p.charge_modifiers)),
            "units": _units(seg, _pos(p.charge_units), label),
            "diagnosis_pointers": _pointers(seg, _pos(p.charge_diagnoses), diagnoses, label),
        })
    if lines:
        return lines
    proc_pos = _pos(p.procedure_code)
    if proc_pos is None:
        return []
    for index, seg in enumerate(_segments(msg, proc_pos.segment), start=1):
        label = f"{proc_pos.segment}[{index}]"
        code = _val(seg, proc_pos.field, proc_pos.component or 1)
        if not code:
            raise _err(f"{label}-{proc_pos.field}", "procedure segment without a code")
        lines.append({
            "code": code,
            "modifiers": _repeating(seg, _pos(p.procedure_modifiers)),
            "units": 1,
            "diagnosis_pointers": _pointers(seg, _pos(p.procedure_diagnosis), diagnoses, label),
        })
    return lines


def _repeating(seg, pos: _Pos | None) -> list[str]:
    if pos is None:
        return []
    values = [_val(seg, pos.field, pos.component or 1, rep) for rep in range(1, _reps(seg, pos.field) + 1)]
    return [v for v in values if v]


def _units(seg, pos: _Pos | None, label: str) -> int:
    raw = _val(seg, pos.field, pos.component or 1) if pos else ""
    if not raw:
        return 1
    try:
        number = float(raw)
    except ValueError:
        raise _err(f"{label}-{pos.field}", f"units {raw!r} is not a number") from None
    if number < 0 or number != int(number) or number > 100000:
        raise _err(f"{label}-{pos.field}", f"units {raw!r} is not a whole number of units")
    return int(number)


def _pointers(seg, pos: _Pos | None, diagnoses: list[dict[str, Any]], label: str) -> list[int]:
    pointers: list[int] = []
    for code in _repeating(seg, pos):
        pointer = _diagnosis_pointer(code, diagnoses)
        if pointer not in pointers:
            pointers.append(pointer)
    return pointers


# ---------------------------------------------------------------- acknowledgements

_ACK_CODES = {"AA", "AE", "AR", "CA", "CE", "CR"}
_FIELD_IN_REASON = re.compile(r"\b([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?-(\d{1,3})\b")


def _escape(value: str, sep: str = "|", enc: str = "^~\\&") -> str:
    comp, rep, esc, sub = enc[0], enc[1], enc[2], enc[3]
    out = value.replace(esc, f"{esc}E{esc}")
    for char, code in ((sep, "F"), (comp, "S"), (sub, "T"), (rep, "R")):
        out = out.replace(char, f"{esc}{code}{esc}")
    return re.sub(r"[\r\n\x0b\x1c]+", " ", out)


def _error_code(code: str, reason: str) -> tuple[str, str]:
    """HL7 table 0357 code for ERR-3."""
    lowered = reason.lower()
    if code in ("AR", "CR") and ("type" in lowered or "not accepted" in lowered):
        return "200", "Unsupported message type"
    if "unparseable" in lowered or "not an hl7" in lowered or "mllp" in lowered or "truncated" in lowered:
        return "100", "Segment sequence error"
    if "missing" in lowered or "required" in lowered or " no " in f" {lowered} ":
        return "101", "Required field missing"
    if "unknown" in lowered or "not a" in lowered:
        return "103", "Table value not found"
    return "207", "Application internal error"


def _scrape_msh(text: str) -> tuple[str, str, list[str]]:
    """Separators and fields of a first line that python-hl7 could not parse (``fields[n]`` is MSH-n)."""
    lines = _clean_lines(text) if isinstance(text, str) else []
    first = lines[0].lstrip() if lines else ""
    if not first.startswith("MSH") or len(first) < 4:
        return "|", "^~\\&", []
    sep = first[3]
    if sep.isalnum() or sep.isspace():
        return "|", "^~\\&", []
    parts = first.split(sep)
    enc = parts[1] if len(parts) > 1 else ""
    if len(enc) < 4 or len(set(sep + enc[:4])) != 5 or any(c.isalnum() or c.isspace() for c in enc[:4]):
        return "|", "^~\\&", []  # no trustworthy separators: the fields cannot be told apart
    fields_by_number = ["MSH", sep] + parts[1:]
    return sep, enc[:4], fields_by_number


def build_ack(text: str, code: str, reason: str | None = None) -> str:
    """An original-mode HL7 ACK for ``text`` (MSH with sender and receiver swapped, MSA, and ERR unless AA).

    Works on anything: when the incoming message cannot be parsed, the ACK is
    built from whatever of its MSH can be read, and from defaults otherwise.
    """
    code = (code or "").strip().upper()
    if code not in _ACK_CODES:
        code = "AE"
    reason = (reason or "").strip()
    if code in ("AE", "AR", "CE", "CR") and not reason:
        reason = "the message could not be used"
    reason = reason[:900]

    sep, enc, msh = _scrape_msh(text)

    def msh_field(n: int, component: int | None = None) -> str:
        if n >= len(msh):
            return ""
        value = msh[n]
        if component is not None:
            parts = value.split(enc[0])
            value = parts[component - 1] if component <= len(parts) else ""
        return value

    ack_text = None
    try:
        parsed = _parse(text)
        ack = parsed.create_ack(code, message_id=generate_message_control_id(),
                                application=_val(_first(parsed, "MSH"), 5) or "VMA")
        ack_text = str(ack)
        sep, enc = str(_first(parsed, "MSH")(1)), str(_first(parsed, "MSH")(2))
    except Exception:  # malformed or truncated: build the MSH by hand from what could be read
        now = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        trigger = msh_field(9, 2) if msh else ""
        header = [
            "MSH", enc, msh_field(5) or "VMA", msh_field(6), msh_field(3), msh_field(4), now, "",
            f"ACK{enc[0]}{trigger}{enc[0]}ACK" if trigger else "ACK",
            generate_message_control_id(), msh_field(11) or "P", msh_field(12) or "2.5.1",
        ]
        control_id = msh_field(10)
        ack_text = sep.join(header) + "\r" + sep.join(["MSA", code, control_id])
    segments = ack_text.split("\r")
    if reason and code != "AA":
        for i, seg in enumerate(segments):
            if seg.startswith("MSA" + sep):
                parts = seg.split(sep)
                while len(parts) < 3:
                    parts.append("")
                parts = parts[:3] + [_escape(reason, sep, enc)]
                segments[i] = sep.join(parts)
        hl7_code, hl7_text = _error_code(code, reason)
        location = ""
        where = _FIELD_IN_REASON.search(reason)
        if where:
            location = enc[0].join([where.group(1), where.group(2) or "1", where.group(3)])
        segments.append(sep.join([
            "ERR", "", location, enc[0].join([hl7_code, hl7_text, "HL70357"]), "E", "", "", "",
            _escape(reason, sep, enc),
        ]))
    return "\r".join(s for s in segments if s) + "\r"
