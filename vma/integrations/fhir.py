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
import html
import re
from html.parser import HTMLParser
from typing import Any, Iterator

from pydantic import ValidationError

from vma.chart import Chart, ChartInputError, FieldError, chart_from_dict, normalize_icd

ICD10CM = {"http://hl7.org/fhir/sid/icd-10-cm", "urn:oid:2.16.840.1.113883.6.90"}
CPT = {"http://www.ama-assn.org/go/cpt", "urn:oid:2.16.840.1.113883.6.12"}
HCPCS = {"https://www.cms.gov/medicare/coding/hcpcsreleasecodesets", "http://www.cms.gov/medicare/coding/hcpcsreleasecodesets",
         "urn:oid:2.16.840.1.113883.6.285", "http://terminology.hl7.org/codesystem/hcpcs-all-codes"}
NPI = {"http://hl7.org/fhir/sid/us-npi", "urn:oid:2.16.840.1.113883.4.6"}
TOP_LEVEL = ("Bundle", "DocumentReference", "Composition")
SIGNED_DOC_STATUS = {"final", "amended"}
GENDER = {"male": "M", "female": "F", "other": "O", "unknown": "U"}
CLASS_SETTING = {"AMB": "office", "VR": "telehealth", "EMER": "emergency", "IMP": "inpatient", "ACUTE": "inpatient",
                 "NONAC": "inpatient", "OBSENC": "outpatient-hospital", "SS": "outpatient-hospital"}
POS_SETTING = {"11": "office", "02": "telehealth", "10": "telehealth", "21": "inpatient",
               "22": "outpatient-hospital", "19": "outpatient-hospital", "23": "emergency"}
MAX_ERRORS = 20


def _err(field: str, message: str) -> ChartInputError:
    return ChartInputError([FieldError(field=field, message=message)])


# ---------------------------------------------------------------- validation


def _fhir_path(root: str, loc: tuple) -> str:
    out = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "root" or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            continue  # pydantic's own wrappers (root models, validator names) are not FHIR elements
        else:
            out += f".{part}"
    return out


def _walk_resources(node: Any, path: str) -> Iterator[tuple[str, dict]]:
    if isinstance(node, dict):
        if isinstance(node.get("resourceType"), str) or "resourceType" in node:
            yield path, node
        for key, value in node.items():
            yield from _walk_resources(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk_resources(value, f"{path}[{i}]")


def _validate(obj: dict, resource_type: str) -> None:
    """Structure and types by the R4B models; unknown elements are tolerated, everything else is named."""
    from fhir.resources.R4B import get_fhir_model_class

    errors: list[FieldError] = []
    for path, res in _walk_resources(obj, resource_type):
        kind = res.get("resourceType")
        if path == resource_type:
            continue
        if not isinstance(kind, str) or not kind:
            errors.append(FieldError(field=f"{path}.resourceType", message="must be a resource type name"))
            continue
        try:
            get_fhir_model_class(kind)
        except Exception:
            errors.append(FieldError(field=f"{path}.resourceType", message=f"unknown FHIR resource type {kind!r}"))
    if errors:
        raise ChartInputError(errors[:MAX_ERRORS])
    model = get_fhir_model_class(resource_type)
    try:
        model.model_validate(obj)
    except ValidationError as exc:
        for e in exc.errors():
            if e.get("type") == "extra_forbidden":
                continue
            msg = e.get("msg", "invalid")
            errors.append(FieldError(field=_fhir_path(resource_type, tuple(e.get("loc", ()))), message=msg))
        if errors:
            raise ChartInputError(errors[:MAX_ERRORS]) from None


# ---------------------------------------------------------------- resource index


class _Resources:
    """Every resource in the input with its FHIR path, resolvable by reference."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict]] = []
        self._by_key: dict[str, dict] = {}
        self._paths: dict[int, str] = {}

    def add(self, path: str, res: dict, full_url: str | None = None) -> None:
        self.items.append((path, res))
        self._paths[id(res)] = path
        kind, rid = res.get("resourceType"), res.get("id")
        if isinstance(full_url, str) and full_url:
            self._by_key.setdefault(full_url, res)
            tail = _type_id_tail(full_url)
            if tail:
                self._by_key.setdefault(tail, res)
        if isinstance(kind, str) and isinstance(rid, str):
            self._by_key.setdefault(f"{kind}/{rid}", res)
        for j, contained in enumerate(res.get("contained") or []):
            if isinstance(contained, dict):
                cpath = f"{path}.contained[{j}]"
                self.items.append((cpath, contained))
                self._paths[id(contained)] = cpath
                if isinstance(contained.get("id"), str):
                    self._by_key.setdefault("#" + contained["id"], contained)

    def path(self, res: dict) -> str:
        return self._paths.get(id(res), str(res.get("resourceType", "resource")))

    def of_type(self, kind: str) -> list[dict]:
        return [r for _, r in self.items if r.get("resourceType") == kind]

    def resolve(self, ref: Any) -> dict | None:
        if not isinstance(ref, dict):
            return None
        target = ref.get("reference")
        if not isinstance(target, str) or not target:
            return None
        target = re.sub(r"/_history/[^/]+$", "", target)
        if target in self._by_key:
            return self._by_key[target]
        tail = _type_id_tail(target)
        return self._by_key.get(tail) if tail else None


def _type_id_tail(url: str) -> str | None:
    m = re.search(r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$", url)
    return f"{m.group(1)}/{m.group(2)}" if m else None


def _collect(obj: dict) -> _Resources:
    index = _Resources()
    if obj.get("resourceType") != "Bundle":
        index.add(obj["resourceType"], obj)
        return index
    for i, entry in enumerate(obj.get("entry") or []):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict):
            continue  # a deleted resource in a history bundle, or a bare request
        path = f"Bundle.entry[{i}].resource"
        index.add(path, res, entry.get("fullUrl"))
        if res.get("resourceType") == "Bundle":  # a notification carrying the focus bundle
            for k, inner in enumerate(res.get("entry") or []):
                if isinstance(inner, dict) and isinstance(inner.get("resource"), dict):
                    index.add(f"{path}.entry[{k}].resource", inner["resource"], inner.get("fullUrl"))
    return index


# ---------------------------------------------------------------- small readers


def _codings(concept: Any) -> list[dict]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def _code_in(concept: Any, systems: set[str]) -> str | None:
    for coding in _codings(concept):
        system = str(coding.get("system") or "").lower().rstrip("/")
        if system in {s.lower() for s in systems} and coding.get("code"):
            return str(coding["code"]).strip()
    return None


def _pos_code(concept: Any) -> str | None:
    for coding in _codings(concept):
        system = str(coding.get("system") or "").lower()
        code = str(coding.get("code") or "").strip()
        if ("place" in system and "service" in system) and re.fullmatch(r"\d{1,2}", code):
            return code.zfill(2)
    return None


def _first_code(concept: Any) -> str | None:
    for coding in _codings(concept):
        if coding.get("code"):
            return str(coding["code"]).strip()
    if isinstance(concept, dict) and concept.get("text"):
        return str(concept["text"]).strip()
    return None


def _date(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value[:10] if re.match(r"^\d{4}-\d{2}-\d{2}", value) else value


def _timestamp_version(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    digits = re.sub(r"\D", "", value.split("+")[0].split("Z")[0])[:14]
    if len(digits) < 8:
        return None
    return int(digits.ljust(14, "0"))


def _human_name(names: Any, with_suffix: bool) -> str | None:
    if not isinstance(names, list) or not names:
        return None
    chosen = next((n for n in names if isinstance(n, dict) and n.get("use") == "official"), names[0])
    if not isinstance(chosen, dict):
        return None
    given = " ".join(str(g) for g in chosen.get("given") or [] if g)
    family = str(chosen.get("family") or "")
    name = " ".join(p for p in (given, family) if p)
    if not name:
        return str(chosen["text"]).strip() if chosen.get("text") else None
    suffix = ", ".join(str(s) for s in chosen.get("suffix") or [] if s)
    return f"{name}, {suffix}" if with_suffix and suffix else name


def _identifier(res: dict, systems: set[str] | None = None, type_code: str | None = None) -> str | None:
    ids = [i for i in res.get("identifier") or [] if isinstance(i, dict) and i.get("value")]
    if systems is not None:
        for ident in ids:
            if str(ident.get("system") or "").lower().rstrip("/") in {s.lower() for s in systems}:
                return str(ident["value"]).strip()
        return None
    if type_code:
        for ident in ids:
            if any(str(c.get("code") or "").upper() == type_code for c in _codings(ident.get("type"))):
                return str(ident["value"]).strip()
    return str(ids[0]["value"]).strip() if ids else None


class _TextOfHtml(HTMLParser):
    _BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextOfHtml()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # broken markup: fall back to removing the tags
        return html.unescape(re.sub(r"<[^>]*>", " ", markup)).strip()
    text = "".join(parser.parts)
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.splitlines()]
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out).strip()


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


def _poa_of_condition(condition: dict) -> str | None:
    for ext in condition.get("extension") or []:
        if not isinstance(ext, dict):
            continue
        url = str(ext.get("url") or "").lower()
        if "poa" in url or "present-on-admission" in url or "onadmission" in url:
            value = ext.get("valueCode") or ext.get("valueString") or (ext.get("valueCoding") or {}).get("code") \
                or _first_code(ext.get("valueCodeableConcept"))
            if value:
                return str(value).strip().upper()
    return None


def _condition_counts(condition: dict, encounter: dict | None, index: _Resources, listed: set[int]) -> bool:
    if id(condition) in listed:
        return True
    verification = {str(c.get("code")) for c in _codings(condition.get("verificationStatus"))}
    if verification & {"entered-in-error", "refuted"}:
        return False
    if encounter is not None and index.resolve(condition.get("encounter")) is encounter:
        return True
    categories = {str(c.get("code")) for cat in condition.get("category") or [] for c in _codings(cat)}
    return not categories or "encounter-diagnosis" in categories


def _diagnoses(index: _Resources, claim: dict | None, encounter: dict | None):
    """(diagnoses, {id(Condition) or sequence key: position}) in the order pointers refer to."""
    positions: dict[Any, int] = {}
    out: list[dict[str, Any]] = []
    if claim is not None and claim.get("diagnosis"):
        path = index.path(claim)
        ordered = sorted(enumerate(claim["diagnosis"]), key=lambda pair: (pair[1].get("sequence") or 0, pair[0]))
        for i, entry in ordered:
            code = _code_in(entry.get("diagnosisCodeableConcept"), ICD10CM)
            where = f"{path}.diagnosis[{i}].diagnosisCodeableConcept"
            condition = index.resolve(entry.get("diagnosisReference"))
            if code is None and condition is not None:
                code = _code_in(condition.get("code"), ICD10CM)
                where = f"{index.path(condition)}.code"
            if not code:
                raise _err(where, "no ICD-10-CM coding (system http://hl7.org/fhir/sid/icd-10-cm)")
            poa = _first_code(entry.get("onAdmission"))
            out.append({"code": code, "poa": poa.upper() if poa else (_poa_of_condition(condition) if condition else None)})
            positions[("seq", entry.get("sequence"))] = len(out)
            if condition is not None:
                positions[id(condition)] = len(out)
        return out, positions

    ranked: list[tuple[int, int, dict]] = []
    for n, link in enumerate((encounter or {}).get("diagnosis") or []):
        condition = index.resolve(link.get("condition")) if isinstance(link, dict) else None
        if condition is not None and condition.get("resourceType") == "Condition":
            ranked.append((link.get("rank") or 10_000, n, condition))
    listed = {id(c) for _, _, c in ranked}
    conditions = [c for _, _, c in sorted(ranked, key=lambda t: (t[0], t[1]))]
    conditions += [c for c in index.of_type("Condition") if id(c) not in listed]
    for condition in conditions:
        if not _condition_counts(condition, encounter, index, listed):
            continue
        code = _code_in(condition.get("code"), ICD10CM)
        if not code:
            raise _err(f"{index.path(condition)}.code",
                       "an encounter diagnosis without an ICD-10-CM coding (system http://hl7.org/fhir/sid/icd-10-cm)")
        out.append({"code": code, "poa": _poa_of_condition(condition)})
        positions[id(condition)] = len(out)
    return out, positions


def _procedure_code(concept: Any) -> str | None:
    return _code_in(concept, CPT) or _code_in(concept, HCPCS)


def _units(value: Any, where: str) -> int:
    if value is None:
        return 1
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _err(where, f"quantity {value!r} is not a number") from None
    if number < 0 or number != int(number) or number > 100000:
        raise _err(where, f"quantity {value!r} is not a whole number of units")
    return int(number)


def _procedures(index: _Resources, claim: dict | None, diagnoses: list[dict], positions: dict[Any, int]):
    """(lines, place of service from the claim, first service date on the claim)."""
    lines: list[dict[str, Any]] = []
    pos_code = service_date = None
    if claim is not None and claim.get("item"):
        path = index.path(claim)
        ordered = sorted(enumerate(claim["item"]), key=lambda pair: (pair[1].get("sequence") or 0, pair[0]))
        for i, item in ordered:
            where = f"{path}.item[{i}]"
            code = _procedure_code(item.get("productOrService"))
            if not code:
                raise _err(f"{where}.productOrService", "no CPT (http://www.ama-assn.org/go/cpt) or HCPCS coding")
            pointers: list[int] = []
            for k, seq in enumerate(item.get("diagnosisSequence") or []):
                pointer = positions.get(("seq", seq))
                if pointer is None:
                    raise _err(f"{where}.diagnosisSequence[{k}]", f"no Claim.diagnosis with sequence {seq}")
                if pointer not in pointers:
                    pointers.append(pointer)
            modifiers = [m for m in (_first_code(c) for c in item.get("modifier") or []) if m]
            quantity = item.get("quantity") if isinstance(item.get("quantity"), dict) else {}
            lines.append({"code": code, "modifiers": modifiers,
                          "units": _units(quantity.get("value"), f"{where}.quantity.value"),
                          "diagnosis_pointers": pointers})
            pos_code = pos_code or _pos_code(item.get("locationCodeableConcept")) or \
                (_first_code(item.get("locationCodeableConcept")) if _is_pos_like(item.get("locationCodeableConcept")) else None)
            service_date = service_date or item.get("servicedDate") or (item.get("servicedPeriod") or {}).get("start")
        if not service_date:
            service_date = (claim.get("billablePeriod") or {}).get("start")
        return lines, pos_code, service_date

    for procedure in index.of_type("Procedure"):
        if procedure.get("status") in ("entered-in-error", "not-done"):
            continue
        code = _procedure_code(procedure.get("code"))
        if not code:
            continue  # a clinical (SNOMED) procedure, not a billed service
        pointers = []
        for ref in procedure.get("reasonReference") or []:
            found = index.resolve(ref)
            if found is not None and id(found) in positions:
                pointers.append(positions[id(found)])
        for concept in procedure.get("reasonCode") or []:
            icd = _code_in(concept, ICD10CM)
            if icd:
                match = next((n for n, dx in enumerate(diagnoses, 1) if normalize_icd(dx["code"]) == normalize_icd(icd)), None)
                if match is None:
                    diagnoses.append({"code": icd, "poa": None})
                    match = len(diagnoses)
                pointers.append(match)
        lines.append({"code": code, "modifiers": [], "units": 1, "diagnosis_pointers": list(dict.fromkeys(pointers))})
        service_date = service_date or procedure.get("performedDateTime") or (procedure.get("performedPeriod") or {}).get("start")
    return lines, None, service_date


def _is_pos_like(concept: Any) -> bool:
    code = _first_code(concept)
    return bool(code and re.fullmatch(r"\d{2}", code))


def _encounter_fields(index: _Resources, encounter: dict | None, doc: dict, claim_pos: str | None,
                      claim_dos: Any) -> dict[str, Any]:
    enc = encounter or {}
    pos_code = claim_pos
    if not pos_code:
        for link in enc.get("location") or []:
            location = index.resolve(link.get("location")) if isinstance(link, dict) else None
            for concept in (location or {}).get("type") or []:
                pos_code = pos_code or _pos_code(concept)
    if not pos_code:
        concepts = [enc.get("serviceType")] + list(enc.get("type") or [])
        for concept in concepts:
            pos_code = pos_code or _pos_code(concept)

    enc_class = enc.get("class")
    class_code = str(enc_class.get("code") or "").upper() if isinstance(enc_class, dict) else ""
    setting = POS_SETTING.get(pos_code or "") or CLASS_SETTING.get(class_code)

    context = doc.get("context") if isinstance(doc.get("context"), dict) else {}
    period = enc.get("period") if isinstance(enc.get("period"), dict) else {}
    dos = period.get("start") or (context.get("period") or {}).get("start") or claim_dos
    if not dos and doc.get("resourceType") == "Composition":
        events = [e for e in doc.get("event") or [] if isinstance(e, dict)]
        dos = next(((e.get("period") or {}).get("start") for e in events if (e.get("period") or {}).get("start")), None)

    minutes = None
    length = enc.get("length")
    if isinstance(length, dict) and length.get("value") is not None:
        unit = str(length.get("code") or length.get("unit") or "min").lower()
        factor = {"min": 1, "minute": 1, "minutes": 1, "h": 60, "hour": 60, "hours": 60, "s": 1 / 60}.get(unit)
        if factor is None:
            raise _err(f"{index.path(encounter)}.length", f"unit {unit!r} is not a time unit (min, h, s)")
        minutes = max(int(round(float(length["value"]) * factor)), 0)

    return {
        "date_of_service": _date(dos),
        "place_of_service": pos_code,
        "setting": setting,
        "patient_status": None,
        "admission_date": _date(period.get("start")) if setting == "inpatient" else None,
        "total_time_minutes": minutes,
    }


def _patient_fields(patient: dict | None) -> dict[str, Any]:
    if patient is None:
        return {"mrn": None, "name": None, "birth_date": None, "sex": None}
    gender = patient.get("gender")
    return {
        "mrn": _identifier(patient, type_code="MR"),
        "name": _human_name(patient.get("name"), with_suffix=False),
        "birth_date": patient.get("birthDate"),
        "sex": GENDER.get(gender, gender.upper() if isinstance(gender, str) else None),
    }


def _provider_fields(index: _Resources, practitioner: dict | None) -> dict[str, Any]:
    if practitioner is None:
        return {"npi": None, "name": None, "email": None}
    email = next((str(t["value"]).strip() for t in practitioner.get("telecom") or []
                  if isinstance(t, dict) and t.get("system") == "email" and t.get("value")), None)
    return {"npi": _identifier(practitioner, systems=NPI),
            "name": _human_name(practitioner.get("name"), with_suffix=True), "email": email}
