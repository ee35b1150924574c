"""FHIR R4 documents mapped onto the canonical chart.

Input: a DocumentReference, a Composition, or a Bundle (transaction,
collection, document, or a Subscription notification ``history`` bundle)
holding one of them with the resources it points at. The input is validated
with the ``fhir.resources.R4B`` models first (R4B is R4 plus corrections; the
resources used here are the same), so a wrong type is reported with its FHIR
path, e.g. ``Bundle.entry[2].resource.birthDate``. Elements the models do not
know are ignored, as unknown fields are in the canonical chart.

Mapping (contract section 4):

- ``chart_id``: Encounter.identifier (the one typed ``VN`` first), else Encounter.id,
  else the document id.
- ``document_id``: DocumentReference/Composition ``id``, else its identifier.
  ``version``: ``meta.versionId`` (a whole number; ``W/"3"`` is read as 3), else 1.
  A document that ``replaces`` or ``appends`` another (relatesTo) is a new
  version of that one: ``document_id`` is the target's, ``version`` is the
  document's date as YYYYMMDDHHMMSS, and ``revision_kind`` says which.
- Signature: DocumentReference ``status`` current with ``docStatus`` final or
  amended counts as signed; the signer is a Provenance whose ``signature``
  targets the document (its ``when`` is the signing time), else the
  ``authenticator``, else the author; the time else the document's ``date``. Composition: ``status`` final or amended with an ``attester``
  (or a Provenance signature). Anything else has ``signature`` null.
  ``entered-in-error`` marks the chart ``cancelled``.
- Note: the first ``text/plain`` (or HTML) attachment, base64 ``data`` or a
  ``Binary`` in the bundle that ``attachment.url`` points at; a Composition's
  section narratives become ``note.sections``.
- Patient: identifier typed ``MR``, name, gender (M/F/O/U), birthDate.
- Provider: the document's author, else the Encounter's attending participant,
  else the Claim's provider: NPI from identifier system
  ``http://hl7.org/fhir/sid/us-npi``, name "Given Family, Suffix", email telecom.
- Encounter: ``period.start`` is the date of service (then the document's
  context period, then the Claim's service date); ``class`` gives the setting
  (AMB office, VR telehealth, EMER emergency, IMP/ACUTE/NONAC inpatient,
  OBSENC/SS outpatient-hospital) when no place of service settles it;
  ``length`` in minutes is ``total_time_minutes``; the place of service comes
  from ``Claim.item.locationCodeableConcept``, a Location's type, or the
  Encounter's serviceType/type, coded in the CMS place-of-service system.
- Diagnoses: ``Claim.diagnosis`` in sequence order (``onAdmission`` as POA)
  when there is a Claim; otherwise the encounter's Conditions (ordered by
  ``Encounter.diagnosis.rank`` where given) with a coding in
  ``http://hl7.org/fhir/sid/icd-10-cm``; a POA extension on a Condition is read.
- Procedures: ``Claim.item`` in sequence order: ``productOrService`` in
  ``http://www.ama-assn.org/go/cpt`` or HCPCS, ``modifier``, ``quantity`` as
  units, ``diagnosisSequence`` as pointers; otherwise Procedure resources with
  a CPT/HCPCS code (``reasonReference``/``reasonCode`` as pointers).

- Coverage (the primary payer): the Claim's ``insurance`` marked ``focal`` (else sequence 1, else
  the first) and the ``Coverage`` it points at, else a Coverage in the bundle (``order`` 1 first);
  ``payer_id`` is the payor Organization's identifier (or the payor reference's identifier),
  ``payer_name`` its name (or the reference's display), ``plan`` the Coverage ``class`` typed
  ``plan`` (its name, else value), else the Coverage ``type`` text.

Extra chart fields: ``authenticated`` (bool), ``doc_status`` (docStatus, or the
Composition's status), ``record_status`` (DocumentReference.status),
``cancelled``, ``revision_kind`` (new, addendum, replace, cancel),
``parent_document_id``, ``revision_document_id``, ``source_format`` ("fhir").
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from vma.chart import Chart, ChartInputError, chart_from_dict
from vma.integrations.fhir_clinical import _diagnoses, _encounter_fields, _patient_fields, _procedures, _provider_fields
from vma.integrations.fhir_read import (SIGNED_DOC_STATUS, TOP_LEVEL, _Resources, _codings, _collect, _err, _first_code,
                                        _human_name, _identifier, _timestamp_version, _type_id_tail, _validate,
                                        html_to_text)


# ---------------------------------------------------------------- the mapping


def chart_from_fhir(obj: dict) -> Chart:
    """Map a FHIR R4 DocumentReference, Composition or Bundle onto the chart; errors name the FHIR path."""
    try:
        return _chart(obj)
    except ChartInputError:
        raise
    except Exception as exc:  # a safety net: the readers above name the field in every case we know of
        raise _err("(fhir)", f"unreadable FHIR input: {type(exc).__name__}: {exc}") from None


def _chart(obj: Any) -> Chart:
    if not isinstance(obj, dict):
        raise _err("(fhir)", "expected a FHIR resource (a JSON object)")
    kind = obj.get("resourceType")
    if kind not in TOP_LEVEL:
        raise _err("resourceType", f"{kind!r} is not taken here: send a DocumentReference, a Composition or a Bundle")
    _validate(obj, kind)
    index = _collect(obj)
    doc = _pick_document(index, kind)
    doc_path = index.path(doc)
    is_composition = doc.get("resourceType") == "Composition"

    encounter = _encounter_of(index, doc)
    patient = _patient_of(index, doc, encounter)
    claim = next(iter(index.of_type("Claim")), None)
    author = _author_of(index, doc, encounter, claim)

    identity = _identity(index, doc, doc_path)
    signature, authenticated, doc_status, record_status = _signature(index, doc, doc_path, author)
    cancelled = "entered-in-error" in (doc_status, record_status)
    if cancelled:
        identity["revision_kind"] = "cancel"

    note = _note(index, doc, doc_path, required=not cancelled)
    diagnoses, condition_positions = _diagnoses(index, claim, encounter)
    procedures, claim_pos, claim_dos = _procedures(index, claim, diagnoses, condition_positions)
    enc = _encounter_fields(index, encounter, doc, claim_pos, claim_dos)

    chart_id = None
    if encounter is not None:
        chart_id = _identifier(encounter, type_code="VN") or encounter.get("id")
    chart_id = chart_id or identity["document_id"]
    if not chart_id:
        raise _err(f"{doc_path}.id", "no Encounter identifier and no document id to identify the chart")

    data: dict[str, Any] = {
        "chart_id": chart_id,
        "document_id": identity["document_id"],
        "version": identity["version"],
        "patient": _patient_fields(patient),
        "encounter": enc,
        "provider": _provider_fields(index, author),
        "signature": signature,
        "note": note,
        "diagnoses": diagnoses,
        "procedures": procedures,
        "coverage": _coverage(index, claim),
        "authenticated": authenticated,
        "doc_status": doc_status,
        "record_status": record_status,
        "cancelled": cancelled,
        "revision_kind": identity["revision_kind"],
        "parent_document_id": identity["parent_document_id"],
        "revision_document_id": identity["revision_document_id"],
        "source_format": "fhir",
        "fhir_document_type": "Composition" if is_composition else "DocumentReference",
    }
    return chart_from_dict(data)


def _primary_coverage(index: _Resources, claim: dict | None) -> tuple[dict | None, dict | None]:
    """(Coverage resource, the Claim.insurance entry naming it); the Claim's focal insurance is the
    one this claim is adjudicated under (FHIR R4 Claim.insurance.focal)."""
    insurance = [i for i in (claim or {}).get("insurance") or [] if isinstance(i, dict)]
    if insurance:
        chosen = (next((i for i in insurance if i.get("focal") is True), None)
                  or next((i for i in insurance if i.get("sequence") == 1), None) or insurance[0])
        found = index.resolve(chosen.get("coverage"))
        if found is not None and found.get("resourceType") == "Coverage":
            return found, chosen
        return None, chosen
    coverages = [c for c in index.of_type("Coverage") if c.get("status") in (None, "active")]
    if not coverages:
        return None, None
    coverages.sort(key=lambda c: c.get("order") if isinstance(c.get("order"), int) else 1_000_000)
    return coverages[0], None


def _coverage(index: _Resources, claim: dict | None) -> dict[str, Any] | None:
    coverage, insurance = _primary_coverage(index, claim)
    payer_id = payer_name = plan = None
    if coverage is not None:
        for payor in coverage.get("payor") or []:
            org = index.resolve(payor)
            if org is not None and org.get("resourceType") == "Organization":
                payer_id = _identifier(org) or org.get("id")
                payer_name = org.get("name") if isinstance(org.get("name"), str) else None
            payer_id = payer_id or _identifier_value((payor or {}).get("identifier"))
            payer_name = payer_name or ((payor or {}).get("display") or None)
            if payer_id or payer_name:
                break
        for cls in coverage.get("class") or []:
            if any(c.get("code") == "plan" for c in _codings(cls.get("type"))):
                plan = cls.get("name") or cls.get("value")
                break
        if plan is None and isinstance(coverage.get("type"), dict):
            plan = coverage["type"].get("text") or _first_code(coverage["type"])
    elif insurance is not None:
        # A Claim whose insurance names its Coverage only by identifier and display (no resource sent).
        ref = insurance.get("coverage") or {}
        payer_id = _identifier_value(ref.get("identifier"))
        payer_name = ref.get("display") or None
    if not payer_id and not payer_name:
        return None
    return {"payer_id": str(payer_id).strip() if payer_id else None,
            "payer_name": str(payer_name).strip() if payer_name else None,
            "plan": str(plan).strip() if plan else None}


def _pick_document(index: _Resources, kind: str) -> dict:
    docs = [r for _, r in index.items if r.get("resourceType") in ("DocumentReference", "Composition")]
    if not docs:
        field = "Bundle.entry" if kind == "Bundle" else "resourceType"
        raise _err(field, "no DocumentReference or Composition: the signed note is missing")
    superseded = set()
    for doc in docs:
        for relation in doc.get("relatesTo") or []:
            if isinstance(relation, dict) and relation.get("code") == "replaces":
                target = index.resolve(relation.get("target") or relation.get("targetReference"))
                if target is not None and target is not doc:
                    superseded.add(id(target))
    current = [d for d in docs if id(d) not in superseded]
    return (current or docs)[0]


def _identity(index: _Resources, doc: dict, doc_path: str) -> dict[str, Any]:
    own = doc.get("id") or _identifier_value(doc.get("masterIdentifier")) or _identifier(doc)
    out: dict[str, Any] = {"document_id": own, "version": 1, "revision_kind": "new",
                           "parent_document_id": None, "revision_document_id": None}
    meta = doc.get("meta") if isinstance(doc.get("meta"), dict) else {}
    version_id = meta.get("versionId")
    if version_id is not None:
        digits = re.fullmatch(r'(?:W/)?"?(\d{1,9})"?', str(version_id).strip())
        if digits:
            out["version"] = max(int(digits.group(1)), 1)
        else:
            stamp = _timestamp_version(meta.get("lastUpdated"))
            if stamp is None:
                raise _err(f"{doc_path}.meta.versionId", f"version {version_id!r} is not a number and there is no meta.lastUpdated to order it")
            out["version"] = stamp
    for i, relation in enumerate(doc.get("relatesTo") or []):
        if not isinstance(relation, dict) or relation.get("code") not in ("replaces", "appends"):
            continue
        ref = relation.get("target") or relation.get("targetReference")
        parent = _reference_id(index, ref, exclude=doc) or _identifier_value(relation.get("targetIdentifier"))
        if not parent:
            raise _err(f"{doc_path}.relatesTo[{i}].target", "names no document this one replaces or appends to")
        stamp = _timestamp_version(doc.get("date")) or _timestamp_version(meta.get("lastUpdated"))
        if stamp is None:
            raise _err(f"{doc_path}.date", "a replacing or appended document needs its date to order it after the original")
        out.update(document_id=parent, version=stamp, parent_document_id=parent, revision_document_id=own,
                   revision_kind="replace" if relation["code"] == "replaces" else "addendum")
        break
    return out


def _identifier_value(ident: Any) -> str | None:
    if isinstance(ident, dict) and ident.get("value"):
        return str(ident["value"]).strip()
    return None


def _reference_id(index: _Resources, ref: Any, exclude: dict | None = None) -> str | None:
    if not isinstance(ref, dict):
        return None
    target = index.resolve(ref)
    if target is exclude:  # a bundle entry whose fullUrl still names the document it replaces
        target = None
    if target is not None and target.get("id"):
        return str(target["id"])
    if target is not None:
        return _identifier(target)
    reference = ref.get("reference")
    if isinstance(reference, str) and reference:
        tail = _type_id_tail(reference)
        return tail.split("/", 1)[1] if tail else reference
    return _identifier_value(ref.get("identifier"))


def _encounter_of(index: _Resources, doc: dict) -> dict | None:
    refs: list[Any] = []
    context = doc.get("context")
    if isinstance(context, dict):
        enc = context.get("encounter")
        refs.extend(enc if isinstance(enc, list) else [enc])
    refs.append(doc.get("encounter"))
    for ref in refs:
        found = index.resolve(ref)
        if found is not None and found.get("resourceType") == "Encounter":
            return found
    encounters = index.of_type("Encounter")
    return encounters[0] if encounters else None


def _patient_of(index: _Resources, doc: dict, encounter: dict | None) -> dict | None:
    for ref in (doc.get("subject"), (encounter or {}).get("subject")):
        found = index.resolve(ref)
        if found is not None and found.get("resourceType") == "Patient":
            return found
    patients = index.of_type("Patient")
    return patients[0] if patients else None


def _practitioner(index: _Resources, ref: Any) -> dict | None:
    found = index.resolve(ref)
    if found is None:
        return None
    if found.get("resourceType") == "PractitionerRole":
        inner = index.resolve(found.get("practitioner"))
        return inner if inner is not None and inner.get("resourceType") == "Practitioner" else None
    return found if found.get("resourceType") == "Practitioner" else None


def _author_of(index: _Resources, doc: dict, encounter: dict | None, claim: dict | None) -> dict | None:
    for ref in doc.get("author") or []:
        found = _practitioner(index, ref)
        if found is not None:
            return found
    participants = [p for p in (encounter or {}).get("participant") or [] if isinstance(p, dict)]

    def role(p: dict) -> set[str]:
        return {str(c.get("code") or "").upper() for t in p.get("type") or [] for c in _codings(t)}

    for wanted in ("ATND", "PPRF", "PART", None):
        for participant in participants:
            if wanted is None or wanted in role(participant):
                found = _practitioner(index, participant.get("individual"))
                if found is not None:
                    return found
    if claim is not None:
        found = _practitioner(index, claim.get("provider"))
        if found is not None:
            return found
    practitioners = index.of_type("Practitioner")
    return practitioners[0] if practitioners else None


def _party_name(index: _Resources, ref: Any) -> str | None:
    practitioner = _practitioner(index, ref)
    if practitioner is not None:
        return _human_name(practitioner.get("name"), with_suffix=True)
    found = index.resolve(ref)
    if found is not None and isinstance(found.get("name"), str):
        return found["name"]
    if isinstance(ref, dict) and ref.get("display"):
        return str(ref["display"]).strip()
    return None


def _provenance_signature(index: _Resources, doc: dict) -> tuple[str | None, str | None] | None:
    """(signer, when) from a Provenance whose target is the document and that carries a signature."""
    for provenance in index.of_type("Provenance"):
        if not any(index.resolve(t) is doc for t in provenance.get("target") or []):
            continue
        for signature in provenance.get("signature") or []:
            if isinstance(signature, dict):
                return _party_name(index, signature.get("who")), signature.get("when") or provenance.get("recorded")
    return None


def _signature(index: _Resources, doc: dict, doc_path: str, author: dict | None):
    author_name = _human_name(author.get("name"), with_suffix=True) if author else None
    provenance = _provenance_signature(index, doc)
    if doc.get("resourceType") == "Composition":
        status = doc.get("status")
        attesters = [a for a in doc.get("attester") or [] if isinstance(a, dict)]
        signer = when = None
        if attesters:
            signer, when = _party_name(index, attesters[0].get("party")), attesters[0].get("time")
        elif provenance:
            signer, when = provenance
        signed = status in SIGNED_DOC_STATUS and bool(attesters or provenance)
        if not signed:
            return None, False, status, None
        return {"signed_by": signer or author_name, "signed_at": when or doc.get("date")}, True, status, None
    status, doc_status = doc.get("status"), doc.get("docStatus")
    authenticator = doc.get("authenticator")
    signer = when = None
    if provenance:
        signer, when = provenance
    if authenticator and not signer:
        signer = _party_name(index, authenticator)
    # Issue 5: current + final/amended counts as signed; many EHRs fill no authenticator on a signed note.
    signed = status == "current" and doc_status in SIGNED_DOC_STATUS
    if not signed:
        return None, False, doc_status, status
    return {"signed_by": signer or author_name, "signed_at": when or doc.get("date")}, True, doc_status, status


def _attachment_text(index: _Resources, attachment: dict, path: str) -> tuple[str | None, str | None]:
    """(text, why not) for one attachment."""
    content_type = str(attachment.get("contentType") or "text/plain").lower()
    data = attachment.get("data")
    where = f"{path}.data"
    if data is None and attachment.get("url"):
        binary = index.resolve({"reference": attachment["url"]})
        if binary is not None and binary.get("resourceType") == "Binary":
            data = binary.get("data")
            content_type = str(binary.get("contentType") or content_type).lower()
            where = f"{index.path(binary)}.data"
        else:
            return None, f"{path}.url: the note is only referenced by URL ({attachment['url']}); send it inline as attachment.data or as a Binary in the bundle"
    if data is None:
        return None, f"{path}.data: the attachment carries no data"
    mime = content_type.split(";")[0].strip()
    if mime not in ("text/plain", "text/html", "application/xhtml+xml", "text/markdown", ""):
        return None, f"{path}.contentType: the note is {mime}; only text can be checked"
    charset = "utf-8"
    m = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_\-]+)", content_type)
    if m:
        charset = m.group(1)
    try:
        raw = base64.b64decode(str(data), validate=False)
        text = raw.decode(charset)
    except (binascii.Error, ValueError, LookupError, UnicodeDecodeError):
        raise _err(where, f"the note's base64 data does not decode to {charset} text") from None
    if mime in ("text/html", "application/xhtml+xml"):
        text = html_to_text(text)
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n"), None


def _note(index: _Resources, doc: dict, doc_path: str, required: bool) -> dict[str, Any]:
    if doc.get("resourceType") == "Composition":
        sections: dict[str, str] = {}
        _sections(doc.get("section") or [], sections, "")
        if not sections and required:
            raise _err(f"{doc_path}.section", "the composition has no narrative sections to read")
        return {"text": None, "sections": sections or None}
    reasons: list[str] = []
    for j, content in enumerate(doc.get("content") or []):
        attachment = content.get("attachment") if isinstance(content, dict) else None
        if not isinstance(attachment, dict):
            continue
        text, why = _attachment_text(index, attachment, f"{doc_path}.content[{j}].attachment")
        if text:
            return {"text": text}
        if why:
            reasons.append(why)
    if not required:
        return {"text": None}
    if reasons:
        field, _, message = reasons[0].partition(": ")
        raise _err(field, message)
    raise _err(f"{doc_path}.content", "no attachment with the note's text")


def _sections(items: list, out: dict[str, str], prefix: str) -> None:
    for n, section in enumerate(items, start=1):
        if not isinstance(section, dict):
            continue
        title = section.get("title") or (section.get("code") or {}).get("text") or \
            next((c.get("display") for c in _codings(section.get("code")) if c.get("display")), None) or f"Section {n}"
        title = f"{prefix}{title}"
        narrative = section.get("text")
        if isinstance(narrative, dict) and narrative.get("div"):
            body = html_to_text(str(narrative["div"]))
            if body:
                name, k = title, 2
                while name in out:
                    name, k = f"{title} ({k})", k + 1
                out[name] = body
        _sections(section.get("section") or [], out, f"{title} / ")


