"""The clinical parts of a FHIR chart: diagnoses (Conditions, Claim diagnoses, POA), procedures (Claim
items, Procedures, units and pointers), and the encounter, patient and provider fields."""

from __future__ import annotations

import re
from typing import Any

from vma.chart import normalize_icd
from vma.integrations.fhir_read import (CLASS_SETTING, CPT, GENDER, HCPCS, ICD10CM, NPI, POS_SETTING, _Resources,
                                        _code_in, _codings, _date, _err, _first_code, _human_name, _identifier,
                                        _pos_code)


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
