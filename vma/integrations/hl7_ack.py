"""The ACKs the MLLP listener answers with (AA, AE, AR), built from whatever of the MSH could be read."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from hl7.util import generate_message_control_id

from vma.integrations.hl7_read import _clean_lines, _first, _parse, _val


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
