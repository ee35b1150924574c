"""FHIR R4 DocumentReference / Composition / Bundle input mapped onto the chart."""

from __future__ import annotations

import json

import pytest

from tests.formats.fhir_resources import (
    CPT, ICD, NOTE, POS, b64, bundle, claim, condition, document_reference, encounter, full_bundle,
    patient, practitioner,
)
from vma.chart import ChartInputError
from vma.intake import parse_chart
from vma.integrations.fhir import chart_from_fhir


def fields_of(exc: ChartInputError) -> list[str]:
    return [e.field for e in exc.errors]


def entry_of(b: dict, resource_type: str) -> dict:
    return next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == resource_type)


# ---------------------------------------------------------------- happy paths


def test_transaction_bundle_maps_every_part():
    chart = chart_from_fhir(full_bundle())
    assert chart.chart_id == "ENC-5501" and chart.document_id == "doc-5501" and chart.version == 1
    assert chart.patient.model_dump() == {"mrn": "MRN-5501", "name": "Jordan Q Rivera", "birth_date": "1980-04-12", "sex": "F"}
    assert chart.provider.model_dump() == {"npi": "1234567893", "name": "Maria Lopez, MD", "email": "mlopez@example.org"}
    assert chart.encounter.date_of_service == "2026-11-16"
    assert chart.encounter.place_of_service == "11" and chart.encounter.setting == "office"
    assert chart.encounter.total_time_minutes == 25
    assert chart.signature.model_dump() == {"signed_by": "Maria Lopez, MD", "signed_at": "2026-11-16T17:00:00-05:00"}
    assert chart.note.text == NOTE
    # Claim.diagnosis and Claim.item are taken in sequence order, not array order; codes are normalised.
    assert [d.code for d in chart.diagnoses] == ["M25.561", "W19.XXXA"]
    assert [(p.code, p.modifiers, p.units, p.diagnosis_pointers) for p in chart.procedures] == [
        ("99213", ["25"], 1, [1, 2]), ("20610", ["RT"], 1, [1])]
    extra = chart.model_extra
    assert extra["authenticated"] is True and extra["doc_status"] == "final" and extra["record_status"] == "current"
    assert extra["cancelled"] is False and extra["revision_kind"] == "new"


def test_collection_bundle_with_urn_uuid_references():
    resources = [patient(), practitioner(), encounter(), condition("c1", "M25.561", "Pain in right knee"), document_reference()]
    uuids = {f"{r['resourceType']}/{r['id']}": f"urn:uuid:00000000-0000-4000-8000-00000000000{i}" for i, r in enumerate(resources)}
    text = json.dumps(resources)
    for ref, urn in uuids.items():
        text = text.replace(f'"{ref}"', f'"{urn}"')
    entries = [{"fullUrl": uuids[f"{r['resourceType']}/{r['id']}"], "resource": {k: v for k, v in r.items() if k != "id"}}
               for r in json.loads(text)]
    chart = chart_from_fhir({"resourceType": "Bundle", "type": "collection", "entry": entries})
    assert chart.patient.mrn == "MRN-5501" and chart.provider.npi == "1234567893"
    assert chart.chart_id == "ENC-5501"
    assert chart.document_id == "urn:oid:1.2.3.4.5501"  # no logical id: the identifier names the document
    assert [d.code for d in chart.diagnoses] == ["M25.561"] and chart.procedures == []


def test_subscription_notification_history_bundle():
    notification = {
        "resourceType": "Bundle", "id": "notif-1", "type": "history", "timestamp": "2026-11-16T17:00:06-05:00",
        "entry": [
            {"fullUrl": "urn:uuid:9f0e3a1c-0000-4000-8000-000000000001",
             "resource": {"resourceType": "SubscriptionStatus", "status": "active", "type": "event-notification",
                          "eventsSinceSubscriptionStart": "12",
                          "notificationEvent": [{"eventNumber": "12", "focus": {"reference": "DocumentReference/doc-5501"}}],
                          "subscription": {"reference": "https://ehr.example.org/fhir/Subscription/signed-notes"}},
             "request": {"method": "GET", "url": "https://ehr.example.org/fhir/Subscription/signed-notes/$status"},
             "response": {"status": "200"}},
            {"fullUrl": "https://ehr.example.org/fhir/DocumentReference/doc-5501",
             "resource": document_reference(meta={"versionId": "2", "lastUpdated": "2026-11-16T17:00:05-05:00"}),
             "request": {"method": "PUT", "url": "DocumentReference/doc-5501"}, "response": {"status": "200"}},
            {"request": {"method": "DELETE", "url": "DocumentReference/old-1"}, "response": {"status": "204"}},
        ] + [{"fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}", "resource": r,
              "request": {"method": "GET", "url": f"{r['resourceType']}/{r['id']}"}, "response": {"status": "200"}}
             for r in (patient(), practitioner(), encounter(), condition("c1", "M25.561", "Pain in right knee"))],
    }
    chart = chart_from_fhir(notification)
    assert chart.document_id == "doc-5501" and chart.version == 2
    assert chart.chart_id == "ENC-5501" and chart.signature is not None
    assert [d.code for d in chart.diagnoses] == ["M25.561"]


def test_standalone_document_reference_with_contained_resources():
    doc = document_reference(
        contained=[dict(patient(), id="p"), dict(practitioner(), id="a")],
        subject={"reference": "#p"}, author=[{"reference": "#a"}],
        authenticator={"reference": "#a"}, context={"period": {"start": "2026-11-12"}},
    )
    chart = chart_from_fhir(doc)
    assert chart.chart_id == "doc-5501"  # no Encounter: the document identifies the chart
    assert chart.patient.mrn == "MRN-5501" and chart.provider.npi == "1234567893"
    assert chart.encounter.date_of_service == "2026-11-12"
    assert chart.signature.signed_by == "Maria Lopez, MD"


def test_composition_sections_and_attester():
    composition = {
        "resourceType": "Composition", "id": "comp-1", "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3"}]},
        "subject": {"reference": "Patient/pat-5501"}, "encounter": {"reference": "Encounter/enc-5501"},
        "date": "2026-11-16T17:00:00-05:00", "author": [{"reference": "Practitioner/prac-1"}], "title": "Progress note",
        "attester": [{"mode": "legal", "time": "2026-11-16T17:02:00-05:00", "party": {"reference": "Practitioner/prac-1"}}],
        "section": [
            {"title": "Chief complaint", "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Right knee pain.</p></div>"}},
            {"title": "Assessment and plan", "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Pain in the right knee &amp; no effusion.</p><p>Ice.</p></div>"}},
        ],
    }
    chart = chart_from_fhir(bundle(composition, patient(), practitioner(), encounter(), condition("c1", "M25.561", "Pain in right knee"), kind="document"))
    assert chart.note.sections == {"Chief complaint": "Right knee pain.", "Assessment and plan": "Pain in the right knee & no effusion.\n\nIce."}
    assert chart.signature.model_dump() == {"signed_by": "Maria Lopez, MD", "signed_at": "2026-11-16T17:02:00-05:00"}
    assert chart.model_extra["doc_status"] == "final" and chart.model_extra["fhir_document_type"] == "Composition"
    composition["status"] = "preliminary"
    assert chart_from_fhir(bundle(composition, patient(), encounter())).signature is None


# ---------------------------------------------------------------- signed or not


@pytest.mark.parametrize("changes", [
    {"docStatus": "preliminary"},
    {"status": "superseded"},
])
def test_unsigned_documents_have_no_signature(changes):
    b = full_bundle()
    doc = entry_of(b, "DocumentReference")
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    chart = chart_from_fhir(b)
    assert chart.signature is None and chart.model_extra["authenticated"] is False


def test_current_final_without_authenticator_is_signed_by_the_author():
    b = full_bundle()
    entry_of(b, "DocumentReference").pop("authenticator")
    chart = chart_from_fhir(b)
    assert chart.model_extra["authenticated"] is True
    assert chart.signature.signed_by == "Maria Lopez, MD"


def test_amended_document_is_signed():
    b = full_bundle()
    entry_of(b, "DocumentReference")["docStatus"] = "amended"
    assert chart_from_fhir(b).signature is not None


def test_provenance_signature_signs_and_gives_the_time():
    b = full_bundle()
    entry_of(b, "DocumentReference").pop("authenticator")
    provenance = {
        "resourceType": "Provenance", "id": "prov-1", "target": [{"reference": "DocumentReference/doc-5501"}],
        "recorded": "2026-11-16T17:03:00-05:00",
        "agent": [{"who": {"reference": "Practitioner/prac-1"}}],
        "signature": [{"type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1"}],
                       "when": "2026-11-16T17:01:30-05:00", "who": {"reference": "Practitioner/prac-1"},
                       "sigFormat": "application/jose", "data": b64("signature-bytes")}],
    }
    b["entry"].append({"fullUrl": "https://ehr.example.org/fhir/Provenance/prov-1", "resource": provenance})
    chart = chart_from_fhir(b)
    assert chart.signature.model_dump() == {"signed_by": "Maria Lopez, MD", "signed_at": "2026-11-16T17:01:30-05:00"}


def test_entered_in_error_is_a_cancel():
    b = full_bundle()
    doc = entry_of(b, "DocumentReference")
    doc["status"] = "entered-in-error"
    doc["meta"]["versionId"] = "3"
    chart = chart_from_fhir(b)
    assert chart.model_extra["cancelled"] is True and chart.model_extra["revision_kind"] == "cancel"
    assert chart.version == 3 and chart.signature is None


# ---------------------------------------------------------------- versions


def test_version_from_meta_version_id():
    b = full_bundle()
    entry_of(b, "DocumentReference")["meta"]["versionId"] = "4"
    assert chart_from_fhir(b).version == 4
    # Servers may use opaque version ids; the update time still orders them.
    entry_of(b, "DocumentReference")["meta"]["versionId"] = "a1b2c3"
    assert chart_from_fhir(b).version == 20261116170005


@pytest.mark.parametrize("code, kind", [("replaces", "replace"), ("appends", "addendum")])
def test_replacing_or_appending_document_is_a_new_version_of_the_original(code, kind):
    b = full_bundle()
    doc = entry_of(b, "DocumentReference")
    doc.update(id="doc-5501-add", date="2026-11-17T08:15:00-05:00",
               relatesTo=[{"code": code, "target": {"reference": "DocumentReference/doc-5501"}}])
    chart = chart_from_fhir(b)
    assert chart.document_id == "doc-5501" and chart.version == 20261117081500
    extra = chart.model_extra
    assert extra["revision_kind"] == kind and extra["revision_document_id"] == "doc-5501-add"
    assert extra["parent_document_id"] == "doc-5501"


def test_the_replacing_document_is_chosen_over_the_one_it_replaces():
    b = full_bundle()
    old = entry_of(b, "DocumentReference")
    old["status"] = "superseded"
    new = document_reference("ASSESSMENT\n\nLeft knee pain.", id="doc-5501-v2", date="2026-11-17T08:00:00-05:00",
                             relatesTo=[{"code": "replaces", "target": {"reference": "DocumentReference/doc-5501"}}])
    b["entry"].append({"fullUrl": "https://ehr.example.org/fhir/DocumentReference/doc-5501-v2", "resource": new})
    chart = chart_from_fhir(b)
    assert chart.note.text == "ASSESSMENT\n\nLeft knee pain." and chart.document_id == "doc-5501"


# ---------------------------------------------------------------- conditions, procedures, encounter


def test_conditions_in_encounter_rank_order_with_poa_and_procedures():
    enc = encounter(diagnosis=[{"condition": {"reference": "Condition/c2"}, "rank": 1},
                               {"condition": {"reference": "Condition/c1"}, "rank": 2}],
                    **{"class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}},
                    location=[])
    poa_ext = [{"url": "http://example.org/fhir/StructureDefinition/condition-poa",
                "valueCodeableConcept": {"coding": [{"code": "y"}]}}]
    problem = condition("c3", "I10", "Essential hypertension",
                        category=[{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
                        encounter=None)
    problem.pop("encounter")
    snomed_only = condition("c4", "X", "x", category=[{"coding": [{"code": "problem-list-item"}]}])
    snomed_only["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]}
    snomed_only.pop("encounter")
    procedure = {"resourceType": "Procedure", "id": "proc-1", "status": "completed",
                 "code": {"coding": [{"system": CPT, "code": "99223"}]}, "subject": {"reference": "Patient/pat-5501"},
                 "performedDateTime": "2026-11-16", "reasonReference": [{"reference": "Condition/c2"}],
                 "reasonCode": [{"coding": [{"system": ICD, "code": "R07.9"}]}]}
    clinical_only = {"resourceType": "Procedure", "id": "proc-2", "status": "completed",
                     "code": {"coding": [{"system": "http://snomed.info/sct", "code": "80146002"}]},
                     "subject": {"reference": "Patient/pat-5501"}}
    b = bundle(patient(), practitioner(), enc,
               condition("c1", "E87.1", "Hyponatremia"), condition("c2", "I50.9", "Heart failure", extension=poa_ext),
               problem, snomed_only, procedure, clinical_only, document_reference())
    chart = chart_from_fhir(b)
    assert [(d.code, d.poa) for d in chart.diagnoses] == [("I50.9", "Y"), ("E87.1", None), ("R07.9", None)]
    assert [(p.code, p.diagnosis_pointers) for p in chart.procedures] == [("99223", [1, 3])]
    assert chart.encounter.setting == "inpatient" and chart.encounter.admission_date == "2026-11-16"
    assert chart.encounter.place_of_service is None


def test_claim_poa_units_and_telehealth_place_of_service():
    c = claim()
    c["diagnosis"][1]["onAdmission"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-diagnosis-on-admission", "code": "n"}]}
    c["item"][0]["quantity"] = {"value": 3.0}
    for item in c["item"]:
        item["locationCodeableConcept"] = {"coding": [{"system": POS, "code": "10"}]}
    enc = encounter(length={"value": 0.5, "unit": "h", "system": "http://unitsofmeasure.org", "code": "h"})
    chart = chart_from_fhir(bundle(patient(), practitioner(), enc, document_reference(), c))
    assert chart.diagnoses[0].poa == "N"
    assert [p.units for p in chart.procedures] == [1, 3]
    assert chart.encounter.place_of_service == "10" and chart.encounter.setting == "telehealth"
    assert chart.encounter.total_time_minutes == 30


def test_note_from_a_binary_in_the_bundle_and_from_html():
    doc = document_reference()
    doc["content"] = [{"attachment": {"contentType": "text/html", "url": "Binary/bin-1"}}]
    binary = {"resourceType": "Binary", "id": "bin-1", "contentType": "text/html",
              "data": b64("<html><body><h2>ASSESSMENT</h2><p>Right knee pain &gt; 3 days.</p></body></html>")}
    chart = chart_from_fhir(bundle(patient(), practitioner(), encounter(), doc, binary))
    assert chart.note.text == "ASSESSMENT\n\nRight knee pain > 3 days."


def test_unknown_elements_are_ignored_and_intake_detects_fhir():
    b = full_bundle()
    entry_of(b, "Patient")["_vendorField"] = {"x": 1}
    chart, fmt = parse_chart(json.dumps(b).encode())
    assert fmt == "fhir" and chart.patient.mrn == "MRN-5501"


# ---------------------------------------------------------------- errors name the FHIR path


def _bad(mutate) -> ChartInputError:
    b = full_bundle()
    mutate(b)
    with pytest.raises(ChartInputError) as exc:
        chart_from_fhir(b)
    return exc.value


def _index(b: dict, resource_type: str) -> int:
    return next(i for i, e in enumerate(b["entry"]) if e["resource"]["resourceType"] == resource_type)


def test_type_errors_name_the_path():
    exc = _bad(lambda b: entry_of(b, "Patient").update(birthDate="12/04/1980"))
    assert fields_of(exc) == ["Bundle.entry[0].resource.birthDate"]
    exc = _bad(lambda b: entry_of(b, "Claim")["item"][0].update(quantity={"value": "two"}))
    assert "Bundle.entry[6].resource.item[0].quantity.value" in fields_of(exc)


def test_unknown_resource_type_in_an_entry():
    exc = _bad(lambda b: b["entry"].append({"resource": {"resourceType": "ClinicalNote", "id": "n"}}))
    assert fields_of(exc) == ["Bundle.entry[7].resource.resourceType"]


def test_encounter_diagnosis_without_icd10cm_names_the_condition_code():
    def mutate(b):
        b["entry"].pop(_index(b, "Claim"))
        entry_of(b, "Condition")["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "30989003"}]}
    assert fields_of(_bad(mutate)) == ["Bundle.entry[4].resource.code"]


@pytest.mark.parametrize("mutate, field", [
    (lambda b: entry_of(b, "Claim")["item"][1].update(productOrService={"coding": [{"system": "http://snomed.info/sct", "code": "1"}]}),
     "Bundle.entry[6].resource.item[1].productOrService"),
    (lambda b: entry_of(b, "Claim")["item"][0].update(diagnosisSequence=[7]), "Bundle.entry[6].resource.item[0].diagnosisSequence[0]"),
    (lambda b: entry_of(b, "Claim")["item"][0].update(quantity={"value": 1.5}), "Bundle.entry[6].resource.item[0].quantity.value"),
    (lambda b: entry_of(b, "Claim")["diagnosis"][0].update(diagnosisCodeableConcept={"text": "fall"}),
     "Bundle.entry[6].resource.diagnosis[0].diagnosisCodeableConcept"),
    (lambda b: entry_of(b, "DocumentReference").update(content=[{"attachment": {"contentType": "text/plain", "url": "https://ehr.example.org/notes/1"}}]),
     "Bundle.entry[5].resource.content[0].attachment.url"),
    (lambda b: entry_of(b, "DocumentReference").update(content=[{"attachment": {"contentType": "application/pdf", "data": b64("%PDF-1.4")}}]),
     "Bundle.entry[5].resource.content[0].attachment.contentType"),
    (lambda b: entry_of(b, "DocumentReference").update(content=[{"attachment": {"contentType": "text/plain", "data": "//79"}}]),
     "Bundle.entry[5].resource.content[0].attachment.data"),
    (lambda b: entry_of(b, "Encounter").update(length={"value": 3, "unit": "d", "code": "d"}), "Bundle.entry[3].resource.length"),
    (lambda b: b.update(entry=[e for e in b["entry"] if e["resource"]["resourceType"] != "DocumentReference"]), "Bundle.entry"),
    (lambda b: entry_of(b, "DocumentReference").update(relatesTo=[{"code": "appends", "target": {"display": "earlier note"}}]),
     "Bundle.entry[5].resource.relatesTo[0].target"),
])
def test_unusable_content_names_the_field(mutate, field):
    assert field in fields_of(_bad(mutate))


@pytest.mark.parametrize("obj, field", [
    ([], "(fhir)"),
    ("text", "(fhir)"),
    ({"resourceType": "Patient", "id": "p"}, "resourceType"),
    ({"resourceType": 7}, "resourceType"),
    ({"resourceType": "DocumentReference", "status": "current"}, "DocumentReference.content"),
    ({"resourceType": "Bundle", "type": "collection", "entry": "x"}, "Bundle.entry"),
])
def test_not_a_document(obj, field):
    with pytest.raises(ChartInputError) as exc:
        chart_from_fhir(obj)
    assert field in fields_of(exc.value), fields_of(exc.value)
