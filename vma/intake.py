"""Turning raw input (bytes from a file, an HTTP body, an MLLP frame) into a chart.

Formats are detected, not declared: canonical chart JSON, FHIR R4 JSON, or
HL7 v2 ER7 text. Every failure is a ``ChartInputError`` whose errors name the
field; the caller keeps the raw bytes for review.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from vma.chart import Chart, ChartInputError, FieldError, chart_from_dict

Format = Literal["chart", "fhir", "hl7"]
# The cap on one request body (contract section 6: 413 above "1 MB", taken as 1 MiB), the one value
# every adapter that reads a body refers to.
MAX_BODY = 1024 * 1024
# What the reader itself refuses, whatever the channel (a drop-folder file or an MLLP frame is capped
# before this, by its own adapter): a guard against a parser handed an absurd string, not a contract limit.
MAX_PARSED_INPUT = 20_000_000
MOST_UTF8_BYTES_PER_CHARACTER = 4  # a lone surrogate, let through as "surrogatepass" writes it, takes three


def detect_format(text: str) -> Format:
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("MSH") or head.startswith("\x0bMSH"):
        return "hl7"
    if head.startswith("{") or head.startswith("["):
        return "chart"  # refined after parsing: resourceType means FHIR
    raise ChartInputError([FieldError(field="(input)", message="not JSON and not an HL7 v2 message (no MSH segment)")])


_BOM = b"\xef\xbb\xbf"


def decode(raw: bytes) -> str:
    try:
        # What "utf-8-sig" does, whose codec is Python code where plain UTF-8's is C; an error's place is counted
        # after the BOM, as that codec counts it.
        return (raw[3:] if raw.startswith(_BOM) else raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ChartInputError([FieldError(field="(input)", message=f"invalid UTF-8 at byte {exc.start}")]) from None


def parse_json_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChartInputError([FieldError(field="(input)", message=f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]) from None


def chart_from_json_obj(obj: Any) -> Chart:
    if isinstance(obj, dict) and "resourceType" in obj:
        from vma.integrations.fhir import chart_from_fhir

        return chart_from_fhir(obj)
    return chart_from_dict(obj)


def parse_chart(raw: bytes | str) -> tuple[Chart, Format]:
    """Parse one chart from raw input of any supported format."""
    text = decode(raw) if isinstance(raw, (bytes, bytearray)) else raw
    # Most inputs are too short to be over the cap whatever their characters: only a longer one is encoded to measure.
    if (len(text) * MOST_UTF8_BYTES_PER_CHARACTER > MAX_PARSED_INPUT
            and len(text.encode("utf-8", "surrogatepass")) > MAX_PARSED_INPUT):
        raise ChartInputError([FieldError(field="(input)", message="input too large")])
    fmt = detect_format(text)
    if fmt == "hl7":
        from vma.integrations.hl7 import chart_from_hl7

        return chart_from_hl7(text), "hl7"
    obj = parse_json_text(text)
    if isinstance(obj, dict) and "resourceType" in obj:
        return chart_from_json_obj(obj), "fhir"
    return chart_from_dict(obj), "chart"


def error_lines(errors) -> list[str]:
    """``field: message`` lines from field errors given as FieldError objects or as dicts."""
    lines = []
    for e in errors or []:
        if isinstance(e, dict):
            lines.append(f"{e.get('field', '(input)')}: {e.get('message', '')}")
        else:
            lines.append(f"{getattr(e, 'field', '(input)')}: {getattr(e, 'message', e)}")
    return lines
