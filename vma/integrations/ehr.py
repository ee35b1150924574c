"""Write-back to the EHR: a chart's answered queries as a document that cites the original (contract section 7).

Compliant-query practice keeps each query and its answer in the health record, not only in vma's store
(AHIMA/ACDIS "Guidelines for Achieving a Compliant Query Practice", 2022 update: the query, the clinical
indicators, the options offered and the provider's answer are part of the permanent record or the
business record). Two adapters, either or both configured:

- ``VMA_EHR_MLLP=host:port``: an HL7 v2.5.1 ``MDM^T02`` (original document notification and content)
  sent with python-hl7's MLLP client: ``TXA-2`` ``CDIQ``, ``TXA-12`` the write-back's own document ID,
  ``TXA-13`` the original ``document_id`` (the parent document, HL7 v2.5.1 ch. 9.6.1), ``TXA-17``
  ``AU``; one ``OBX`` of type TX per line of text. ``MSA-1`` ``AA`` is success; ``AE``/``AR`` a refusal
  a person must look at; no answer, a broken connection or an unreadable ACK is tried again.
- ``VMA_EHR_FHIR_URL`` (+ ``VMA_EHR_FHIR_TOKEN``): a FHIR R4 ``DocumentReference`` built and validated
  with ``fhir.resources`` (R4B), POSTed to ``{url}/DocumentReference`` with ``If-None-Exist`` on its
  identifier (FHIR conditional create), so a second POST of the same write-back creates nothing. A 2xx
  is success, a 4xx a refusal (except 408 and 429, which are tried again), a 5xx or no answer is tried
  again.

The content (``WriteBack``) is built by the domain when the chart's last query is answered and stored in
the outbox row, so every attempt sends exactly the same document with the same document ID.
"""

from __future__ import annotations

import base64
import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

log = logging.getLogger(__name__)

DOCUMENT_TYPE = "CDIQ"  # TXA-2: a clinical documentation integrity query and its answer
MLLP_TIMEOUT = 10.0
FHIR_TIMEOUT = 15.0
SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
# The identifier system of write-back documents: the document ID is unique in it.
IDENTIFIER_SYSTEM = "urn:vma:query-writeback"
# LOINC 11488-4 "Consult note" is the nearest document type a receiving system files beside the note it
# annotates; the query's own kind is said by the title and by TXA-2 CDIQ on the HL7 side.
LOINC_TYPE = {"system": "http://loinc.org", "code": "11488-4", "display": "Consult note"}

Outcome = Literal["accepted", "refused", "retry"]


@dataclass
class SendResult:
    outcome: Outcome
    detail: str  # the ACK code and text, the HTTP status, or the error: for the audit log and the managers


# -- the content -------------------------------------------------------------------------------------


def _ts(value: str | None) -> str:
    """ISO 8601 -> HL7 DTM (YYYYMMDDHHMMSS+ZZZZ)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.strftime("%Y%m%d%H%M%S%z")


def _esc(value: Any) -> str:
    """HL7 v2 escape sequences for the delimiters (v2.5.1 ch. 2.7)."""
    text = "" if value is None else str(value)
    out = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\").replace("&", "\\T\\") \
        .replace("~", "\\R\\")
    return " ".join(out.splitlines())


def build_mdm(doc: dict, control_id: str, now: datetime | None = None) -> str:
    """The ``MDM^T02`` of one write-back (``doc`` is the outbox payload: see ``vma.conversations.writeback``)."""
    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y%m%d%H%M%S%z")
    answered = _ts(doc.get("completed_at"))
    provider = f"{_esc(doc.get('provider_npi'))}^{_esc(doc.get('provider_name'))}^^^^^^^NPI" \
        if doc.get("provider_npi") else ""
    segments = [
        f"MSH|^~\\&|VMA|VMA|EHR|EHR|{stamp}||MDM^T02^MDM_T02|{_esc(control_id)}|P|2.5.1",
        f"EVN|T02|{stamp}",
        f"PID|1||{_esc(doc.get('patient_mrn'))}^^^^MR",
        f"PV1|1|O|||||{provider}||||||||||||{_esc(doc.get('chart_id'))}",
        # TXA-4 activity time, TXA-12 this document, TXA-13 the parent (original) document, TXA-17 AU
        # (authenticated: the answers are the provider's own, given in Slack), TXA-19 AV (available).
        f"TXA|1|{DOCUMENT_TYPE}|TX|{answered}|{provider}|{answered}||||||{_esc(doc['document_id'])}|"
        f"{_esc(doc.get('original_document_id'))}||||AU||AV",
    ]
    for n, line in enumerate(doc.get("lines") or [], start=1):
        segments.append(f"OBX|{n}|TX|{DOCUMENT_TYPE}^Query and answer^L||{_esc(line)}||||||F")
    return "\r".join(segments) + "\r"


def build_document_reference(doc: dict) -> dict:
    """The FHIR R4 ``DocumentReference`` of one write-back, validated by ``fhir.resources`` (R4B)."""
    from fhir.resources.R4B.documentreference import DocumentReference

    text = "\n".join(doc.get("lines") or []) + "\n"
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": doc["document_id"]}],
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [LOINC_TYPE], "text": "Provider query and answer"},
        "subject": {"identifier": {"type": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
            "value": doc.get("patient_mrn") or "unknown"}},
        "description": f"Provider queries and answers for chart {doc.get('chart_id')} version {doc.get('version')}",
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "language": "en",
                                    "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                                    "title": f"Provider queries and answers, chart {doc.get('chart_id')}"}}],
    }
    if doc.get("completed_at"):
        resource["date"] = doc["completed_at"]
    if doc.get("original_document_id"):
        target: dict[str, Any] = {"identifier": {"value": doc["original_document_id"]}}
        if doc.get("original_reference"):
            target["reference"] = doc["original_reference"]
        resource["relatesTo"] = [{"code": "appends", "target": target}]
    if doc.get("provider_npi"):
        resource["author"] = [{"identifier": {"system": "http://hl7.org/fhir/sid/us-npi",
                                              "value": doc["provider_npi"]},
                               "display": doc.get("provider_name") or doc["provider_npi"]}]
    if doc.get("chart_id"):
        resource["context"] = {"encounter": [{"identifier": {"value": doc["chart_id"]}}]}
    return DocumentReference.model_validate(resource).model_dump(mode="json", exclude_none=True)


# -- the senders -------------------------------------------------------------------------------------


def _mllp_client(host: str, port: int, timeout: float):
    """python-hl7's MLLP client, with a connect and read timeout (its own connects without one)."""
    from hl7.client import MLLPClient

    class TimedClient(MLLPClient):
        def __init__(self) -> None:
            self.socket = socket.create_connection((host, port), timeout=timeout)
            self.encoding = "utf-8"

        def send(self, data: bytes) -> bytes:
            self.socket.sendall(data)
            reply = b""
            while EB + CR not in reply:  # the whole frame, however the ACK is split into segments
                chunk = self.socket.recv(65536)
                if not chunk:
                    break
                reply += chunk
            return reply

    return TimedClient()


def parse_ack(reply: bytes) -> tuple[str | None, str]:
    """(MSA-1, the reason: MSA-3 and ERR-8 text) of an MLLP reply; (None, why) when it is no ACK."""
    text = reply.replace(SB, b"").replace(EB, b"").decode("utf-8", errors="replace").strip()
    if not text:
        return None, "no acknowledgement"
    code, reasons = None, []
    for segment in text.replace("\n", "\r").split("\r"):
        fields = segment.split("|")
        if fields[0] == "MSA" and len(fields) > 1:
            code = fields[1].strip().upper() or None
            if len(fields) > 3 and fields[3].strip():
                reasons.append(fields[3].strip())
        elif fields[0] == "ERR" and len(fields) > 8 and fields[8].strip():
            reasons.append(fields[8].strip())
    return code, "; ".join(reasons)


class MllpWriteBack:
    kind = "ehr_mllp"

    def __init__(self, address: str, timeout: float = MLLP_TIMEOUT):
        self.host, self.port = parse_host_port(address)
        self.timeout = timeout

    def send(self, doc: dict, control_id: str) -> SendResult:
        message = build_mdm(doc, control_id)
        try:
            client = _mllp_client(self.host, self.port, self.timeout)
        except OSError as exc:
            return SendResult("retry", f"cannot connect to {self.host}:{self.port}: {exc}")
        try:
            reply = client.send_message(message)
        except OSError as exc:
            return SendResult("retry", f"no acknowledgement from {self.host}:{self.port}: {exc}")
        finally:
            client.close()
        code, reason = parse_ack(reply)
        if code in ("AA", "CA"):
            return SendResult("accepted", f"{code}" + (f": {reason}" if reason else ""))
        if code in ("AE", "AR", "CE", "CR"):
            return SendResult("refused", f"{code}: {reason or 'no reason given'}")
        return SendResult("retry", f"unreadable acknowledgement ({reason or 'no MSA segment'})")


class FhirWriteBack:
    kind = "ehr_fhir"

    def __init__(self, base_url: str, token: str | None = None, timeout: float = FHIR_TIMEOUT):
        self.url = base_url.rstrip("/") + "/DocumentReference"
        self.token = token
        self.timeout = timeout

    def send(self, doc: dict, control_id: str) -> SendResult:
        from urllib.parse import quote

        import httpx

        resource = build_document_reference(doc)
        headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json",
                   # FHIR conditional create: the server creates nothing when the document ID exists.
                   "If-None-Exist": f"identifier={quote(IDENTIFIER_SYSTEM, safe=':')}|"
                                    f"{quote(doc['document_id'], safe='')}"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = httpx.post(self.url, json=resource, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return SendResult("retry", f"no answer from the FHIR server: {type(exc).__name__}: {exc}")
        status = response.status_code
        if 200 <= status < 300:
            return SendResult("accepted", f"HTTP {status} {response.headers.get('Location', '')}".strip())
        reason = _outcome_text(response)
        if 400 <= status < 500 and status not in (408, 429):
            return SendResult("refused", f"HTTP {status}" + (f": {reason}" if reason else ""))
        return SendResult("retry", f"HTTP {status}" + (f": {reason}" if reason else ""))


def _outcome_text(response) -> str:
    """The diagnostics of an OperationOutcome body, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip()
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        return "; ".join(str(i.get("diagnostics") or i.get("code") or "") for i in body.get("issue") or [])[:500]
    return str(body)[:300]


def parse_host_port(address: str) -> tuple[str, int]:
    host, sep, port = (address or "").strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"VMA_EHR_MLLP must be host:port, not {address!r}")
    return host.strip("[]"), int(port)


class EhrWriteBack:
    """The configured write-back targets, by outbox kind; the domain's port to the EHR."""

    def __init__(self, senders: list):
        self.senders = {s.kind: s for s in senders}

    @property
    def kinds(self) -> list[str]:
        return list(self.senders)

    def send(self, kind: str, doc: dict, control_id: str) -> SendResult:
        sender = self.senders.get(kind)
        if sender is None:  # configured when queued, not now: keep it for when it is configured again
            return SendResult("retry", f"{kind} is not configured")
        return sender.send(doc, control_id)


def writeback_from_settings(settings) -> EhrWriteBack | None:
    senders: list = []
    if getattr(settings, "vma_ehr_mllp", None):
        senders.append(MllpWriteBack(settings.vma_ehr_mllp))
    if getattr(settings, "vma_ehr_fhir_url", None):
        senders.append(FhirWriteBack(settings.vma_ehr_fhir_url, settings.vma_ehr_fhir_token))
    return EhrWriteBack(senders) if senders else None
