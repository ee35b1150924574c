"""What goes back to the EHR when every query of a chart version is answered (contract section 7).

Compliant-query practice keeps the query in the health record with its answer (AHIMA/ACDIS "Guidelines
for Achieving a Compliant Query Practice", 2022 update): each question with the clinical indicators
it cited, the options offered, the answer, who answered and when. This module builds that content once,
as plain lines, when the last query is answered; the outbox row stores it, so every attempt sends the
same text under the same document ID (the idempotency the EHR sees). Domain code: no Slack, no HL7/FHIR
(the adapters in ``vma.integrations.ehr`` put these lines into an ``MDM^T02`` or a ``DocumentReference``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Callable

EHR_KINDS = ("ehr_mllp", "ehr_fhir")
TARGET_LABEL = {"ehr_mllp": "HL7 v2 MDM^T02 over MLLP", "ehr_fhir": "FHIR DocumentReference"}


def document_key(record) -> str:
    """The chart version's identity (``document_id#version``): one write-back per chart version."""
    return f"{record.document_id or record.chart_id}#{record.version}"


def writeback_document_id(record) -> str:
    """The write-back's own document ID, the same on every attempt, so a receiver that already filed it
    (an ACK lost to a crash) recognises the second copy."""
    return f"{record.document_id or record.chart_id}-CDIQ-{record.version}"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def answer_text(answer: dict) -> str:
    kind = answer.get("kind")
    if kind == "other":
        return f"Other: {answer.get('other_text') or ''}".strip()
    return str(answer.get("label") or kind or "(no label)")


def writeback_payload(record, queries: list, name_of: Callable[[str | None], str]) -> dict | None:
    """The document for a chart version whose queries (withdrawn ones aside) are all answered; None
    while one is open, or when the version had no query."""
    asked = [q for q in queries if q.status != "withdrawn"]
    if not asked or any(q.status != "answered" for q in asked):
        return None
    chart = record.chart_json or {}
    patient = chart.get("patient") if isinstance(chart.get("patient"), dict) else {}
    provider = chart.get("provider") if isinstance(chart.get("provider"), dict) else {}
    encounter = chart.get("encounter") if isinstance(chart.get("encounter"), dict) else {}
    original = record.document_id or chart.get("document_id")
    lines = [f"Provider queries and answers for chart {record.chart_id}, document {original or '(none)'} "
             f"version {record.version}, date of service {encounter.get('date_of_service') or 'not given'}."]
    completed = None
    for n, q in enumerate(sorted(asked, key=lambda q: q.id), start=1):
        answer = q.answer_json or {}
        offered = [str(c.get("label")) for c in (q.choices or []) if isinstance(c, dict) and c.get("label")]
        who = name_of(q.answered_by) if q.answered_by else "unknown"
        lines.append(f"Query {n} ({q.check}{', code ' + q.code if q.code else ''}): {q.question}")
        if q.evidence:
            lines.append(f"Clinical indicators cited: {q.evidence}")
        lines.append(f"Options offered: {'; '.join(offered) or '(none)'}")
        lines.append(f"Answer: {answer_text(answer)}")
        if answer.get("carried_from_query"):
            lines.append(f"(answer given on an earlier version of this chart, query {answer['carried_from_query']})")
        lines.append(f"Answered by {who} at {_iso(q.answered_at) or 'unknown time'}; asked at "
                     f"{_iso(q.sent_at) or 'not recorded'}.")
        if q.answered_at is not None and (completed is None or q.answered_at > completed):
            completed = q.answered_at
    return {
        "record_id": record.id,
        "chart_id": record.chart_id,
        "version": record.version,
        "document_id": writeback_document_id(record),
        "original_document_id": original,
        # A note that came in as a FHIR DocumentReference is that resource: the write-back can point at it.
        "original_reference": (f"DocumentReference/{original}" if original and chart.get("source_format") == "fhir"
                               and chart.get("fhir_document_type") == "DocumentReference" else None),
        "patient_mrn": patient.get("mrn"),
        "provider_npi": record.provider_npi or provider.get("npi"),
        "provider_name": provider.get("name"),
        "completed_at": _iso(completed),
        "query_ids": [q.id for q in asked],
        "lines": lines,
    }
