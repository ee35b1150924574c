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
import re
from typing import Any

import hl7

from vma.chart import Chart, ChartInputError, chart_from_dict, normalize_icd
from vma.integrations.hl7_ack import build_ack
from vma.integrations.hl7_read import (HL7Positions, MessageInfo, _err, _first, _info, _parse, _Pos, _pos, _pos_val,
                                       _pos_whole, _reps, _segments, _val, _xcn, _xpn_name, configured_positions,
                                       hl7_date, hl7_datetime, hl7_message_info)

# The HL7 entry points callers import from here; reading and acknowledging live beside this module.
__all__ = ["HL7Positions", "MessageInfo", "build_ack", "chart_from_hl7", "configured_positions", "hl7_date",
           "hl7_datetime", "hl7_message_info"]


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


