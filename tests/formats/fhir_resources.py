"""Synthetic FHIR R4 resources shaped like EHR output (US Core / CARIN style; invented patients and providers)."""

from __future__ import annotations

import base64
import copy

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"

NOTE = ("CHIEF COMPLAINT\n\nRight knee pain.\n\nASSESSMENT AND PLAN\n\nPain in the right knee after a fall, "
        "no effusion. Ice and ibuprofen.\n\nI spent 25 minutes with the patient today.")


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def patient() -> dict:
    return {
        "resourceType": "Patient", "id": "pat-5501",
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
        "identifier": [
            {"use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
             "system": "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14", "value": "MRN-5501"},
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-00-0000"},
        ],
        "name": [{"use": "official", "family": "Rivera", "given": ["Jordan", "Q"]}],
        "gender": "female", "birthDate": "1980-04-12",
    }


def practitioner() -> dict:
    return {
        "resourceType": "Practitioner", "id": "prac-1",
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"},
                       {"system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.836982", "value": "E1234"}],
        "name": [{"use": "official", "family": "Lopez", "given": ["Maria"], "suffix": ["MD"]}],
        "telecom": [{"system": "phone", "value": "555-0100"}, {"system": "email", "value": "mlopez@example.org"}],
    }


def location() -> dict:
    return {"resourceType": "Location", "id": "loc-1", "name": "North Clinic",
            "type": [{"coding": [{"system": POS, "code": "11", "display": "Office"}]}]}


def encounter(**overrides) -> dict:
    res = {
        "resourceType": "Encounter", "id": "enc-5501",
        "identifier": [{"use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "VN"}]},
                        "system": "urn:oid:1.2.840.114350.1.13.0.1.7.3.698084.8", "value": "ENC-5501"}],
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
        "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "185349003", "display": "Encounter for check up"}]}],
        "subject": {"reference": "Patient/pat-5501"},
        "participant": [{"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ATND"}]}],
                         "individual": {"reference": "Practitioner/prac-1", "display": "Maria Lopez, MD"}}],
        "period": {"start": "2026-11-16T09:30:00-05:00", "end": "2026-11-16T09:55:00-05:00"},
        "length": {"value": 25, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"},
        "location": [{"location": {"reference": "Location/loc-1"}}],
    }
    res.update(overrides)
    return res


def condition(cid: str, code: str, display: str, **extra) -> dict:
    res = {
        "resourceType": "Condition", "id": cid,
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "30989003", "display": "Knee pain"},
                            {"system": ICD, "code": code, "display": display}], "text": display},
        "subject": {"reference": "Patient/pat-5501"},
        "encounter": {"reference": "Encounter/enc-5501"},
    }
    res.update(extra)
    return res


def document_reference(text: str = NOTE, **overrides) -> dict:
    res = {
        "resourceType": "DocumentReference", "id": "doc-5501",
        "meta": {"versionId": "1", "lastUpdated": "2026-11-16T17:00:05-05:00"},
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3.4.5501"}],
        "status": "current", "docStatus": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3", "display": "Progress note"}]},
        "category": [{"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", "code": "clinical-note"}]}],
        "subject": {"reference": "Patient/pat-5501"},
        "date": "2026-11-16T17:00:00-05:00",
        "author": [{"reference": "Practitioner/prac-1"}],
        "authenticator": {"reference": "Practitioner/prac-1", "display": "Maria Lopez, MD"},
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": b64(text)},
                     "format": {"system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode", "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient"}}],
        "context": {"encounter": [{"reference": "Encounter/enc-5501"}],
                    "period": {"start": "2026-11-16T09:30:00-05:00"}},
    }
    res.update(overrides)
    return res


def claim(**overrides) -> dict:
    res = {
        "resourceType": "Claim", "id": "claim-5501", "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "claim", "patient": {"reference": "Patient/pat-5501"}, "created": "2026-11-16",
        "provider": {"reference": "Practitioner/prac-1"},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "Synthetic Health Plan"}}],
        "diagnosis": [
            {"sequence": 2, "diagnosisCodeableConcept": {"coding": [{"system": ICD, "code": "W19.XXXA"}]}},
            {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": ICD, "code": "M25561"}]}},
        ],
        "item": [
            {"sequence": 2, "productOrService": {"coding": [{"system": CPT, "code": "20610"}]},
             "modifier": [{"coding": [{"system": CPT, "code": "RT"}]}],
             "quantity": {"value": 1}, "diagnosisSequence": [1], "servicedDate": "2026-11-16",
             "locationCodeableConcept": {"coding": [{"system": POS, "code": "11"}]}},
            {"sequence": 1, "productOrService": {"coding": [{"system": CPT, "code": "99213"}]},
             "modifier": [{"coding": [{"system": CPT, "code": "25"}]}],
             "quantity": {"value": 1}, "diagnosisSequence": [1, 2], "servicedDate": "2026-11-16",
             "locationCodeableConcept": {"coding": [{"system": POS, "code": "11"}]}},
        ],
    }
    res.update(overrides)
    return res


def bundle(*resources: dict, kind: str = "transaction") -> dict:
    entries = []
    for res in resources:
        entry = {"fullUrl": f"https://ehr.example.org/fhir/{res['resourceType']}/{res.get('id', 'x')}", "resource": copy.deepcopy(res)}
        if kind == "transaction":
            entry["request"] = {"method": "PUT", "url": f"{res['resourceType']}/{res.get('id', 'x')}"}
        entries.append(entry)
    return {"resourceType": "Bundle", "id": "bundle-1", "type": kind, "timestamp": "2026-11-16T17:00:10-05:00", "entry": entries}


def full_bundle(kind: str = "transaction", with_claim: bool = True) -> dict:
    resources = [patient(), practitioner(), location(), encounter(),
                 condition("cond-1", "M25.561", "Pain in right knee"),
                 document_reference()]
    if with_claim:
        resources.append(claim())
    return bundle(*resources, kind=kind)
