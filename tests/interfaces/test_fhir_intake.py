"""FHIR R4 intake through the real web app (uvicorn over HTTP), backed by the real service and Slack adapter."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.shared import ServedApp
from tests.formats.fhir_resources import (b64, bundle, condition, document_reference, encounter, full_bundle,
                                          location, patient, practitioner)
from tests.interfaces.conftest import wait_for
from vma.store.models import ChartRecord, IntakeRejection, Query

KNEE_TEXT = ("CHIEF COMPLAINT\n\nKnee pain.\n\nASSESSMENT AND PLAN\n\n1. Knee pain after a fall. Ibuprofen as needed."
             "\n\nI spent 25 minutes with the patient today.")




def knee_bundle(kind: str = "transaction", **doc_changes) -> dict:
    """An Epic/Cerner-style bundle: the note as a base64 attachment, the Encounter by reference, an ICD-10-CM
    Condition with the side left unspecified (M25.569), so the laterality check asks which knee."""
    return bundle(patient(), practitioner(), location(), encounter(),
                  condition("cond-1", "M25.569", "Pain in unspecified knee"),
                  document_reference(KNEE_TEXT, **doc_changes), kind=kind)


def buttons(message) -> list[str]:
    return [e["text"]["text"] for b in message.blocks or [] if b["type"] == "actions" for e in b["elements"]
            if e.get("type") == "button"]


@pytest.fixture
def web(world):
    from vma.web import create_app

    served = ServedApp(create_app(world.settings, world.service, start_scheduler=False)).start()
    client = httpx.Client(base_url=served.url, timeout=30)
    yield client
    client.close()
    served.stop()


def post(web, body, content_type: str = "application/fhir+json"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return web.post("/fhir", content=data, headers={"Content-Type": content_type})


def test_transaction_bundle_is_stored_202_and_its_query_reaches_the_provider(web, world):
    response = post(web, knee_bundle())
    assert response.status_code == 202
    assert response.json() == {"chart_id": "ENC-5501", "status": "received"}
    dm = wait_for(world.dms)[0]
    assert "Pain in left knee (M25.562)" in buttons(dm)
    [record] = world.rows(ChartRecord)
    assert record.fmt == "fhir" and record.source == "http:fhir" and json.loads(record.raw) == knee_bundle()
    assert record.chart_json["note"]["text"] == KNEE_TEXT  # decoded from the base64 attachment
    assert record.chart_json["signature"]["signed_by"] == "Maria Lopez, MD"


def test_the_same_document_version_again_is_200_and_sends_nothing(web, world):
    assert post(web, knee_bundle()).status_code == 202
    wait_for(world.dms)
    again = post(web, knee_bundle())
    assert again.status_code == 200 and again.json()["duplicate"] is True
    time.sleep(0.3)
    assert len(world.dms()) == 1 and len(world.rows(ChartRecord)) == 1


@pytest.mark.parametrize("kind", ["collection", "history"])
def test_collection_and_subscription_notification_bundles(web, world, kind):
    b = knee_bundle(kind=kind)
    if kind == "history":  # a Subscription notification: SubscriptionStatus first, the focus after it
        b["entry"].insert(0, {
            "fullUrl": "urn:uuid:9f0e3a1c-0000-4000-8000-000000000001",
            "resource": {"resourceType": "SubscriptionStatus", "status": "active", "type": "event-notification",
                         "notificationEvent": [{"eventNumber": "3", "focus": {"reference": "DocumentReference/doc-5501"}}],
                         "subscription": {"reference": "https://ehr.example.org/fhir/Subscription/signed-notes"}}})
        for entry in b["entry"][1:]:
            entry["request"] = {"method": "PUT", "url": entry["fullUrl"].split("/fhir/")[1]}
            entry["response"] = {"status": "200"}
    assert post(web, b).status_code == 202
    assert wait_for(world.dms)


def test_right_side_documented_goes_to_the_coders_without_a_dm(web, world):
    assert post(web, full_bundle()).status_code == 202
    posted = wait_for(lambda: [m for m in world.slack.messages_in("C0CODERS1") if "ENC-5501" in (m.text or "")])
    assert "M25.561" in json.dumps(posted[0].blocks)
    assert world.dms() == []


def test_preliminary_document_is_stored_without_checks_then_the_final_one_is_checked(web, world):
    assert post(web, knee_bundle(docStatus="preliminary")).status_code == 202
    record = wait_for(lambda: [r for r in world.rows(ChartRecord) if r.status == "unauthenticated"])[0]
    assert record.chart_json["authenticated"] is False
    time.sleep(0.3)
    assert world.dms() == [] and world.rows(Query) == []
    final = post(web, knee_bundle(meta={"versionId": "2", "lastUpdated": "2026-11-16T17:30:00-05:00"}))
    assert final.status_code == 202
    assert wait_for(world.dms)


def test_current_final_without_an_authenticator_counts_as_signed(web, world):
    b = knee_bundle()
    b["entry"][-1]["resource"].pop("authenticator")
    assert post(web, b).status_code == 202
    assert wait_for(world.dms)
    [record] = world.rows(ChartRecord)
    assert record.chart_json["authenticated"] is True
    assert record.chart_json["signature"]["signed_by"] == "Maria Lopez, MD"  # the author


def test_appended_document_documenting_the_side_withdraws_the_query(web, world):
    assert post(web, knee_bundle()).status_code == 202
    dm = wait_for(world.dms)[0]
    addendum = bundle(patient(), practitioner(), location(), encounter(),
                      document_reference("ADDENDUM\n\nOn re-examination the pain is in the left knee.",
                                         id="doc-5501-add", date="2026-11-17T08:15:00-05:00", docStatus="amended",
                                         relatesTo=[{"code": "appends",
                                                     "target": {"reference": "DocumentReference/doc-5501"}}]))
    assert post(web, addendum).status_code == 202
    [query] = wait_for(lambda: world.rows(Query, Query.status == "withdrawn"))
    assert query.check == "laterality"
    wait_for(lambda: world.slack.message(dm.channel, dm.ts).updates)
    newest = world.rows(ChartRecord)[-1]
    assert newest.chart_json["addendum_to_version"] == 1
    assert [d["code"] for d in newest.chart_json["diagnoses"]] == ["M25.569"]  # carried from version 1


@pytest.mark.parametrize("body, field", [
    (lambda: {**knee_bundle(), "entry": [{"resource": {**patient(), "birthDate": 19800412}}]
              + knee_bundle()["entry"][1:]}, "Bundle.entry[0].resource.birthDate"),
    (lambda: b"{\"resourceType\": \"Bundle\", ", "(input)"),
    (lambda: knee_bundle(content=[{"attachment": {"contentType": "text/plain", "data": "%%not base64%%"}}]),
     "content[0].attachment.data"),
    (lambda: {"resourceType": "Patient", **{k: v for k, v in patient().items() if k != "resourceType"}}, None),
    (lambda: "\udcff".encode("utf-8", "surrogatepass"), "(input)"),
])
def test_invalid_input_is_400_with_an_operation_outcome(web, world, body, field):
    response = post(web, body())
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"]
    issue = outcome["issue"][0]
    assert issue["severity"] == "error" and issue["diagnostics"]
    if field:
        assert any(field in e for i in outcome["issue"] for e in i.get("expression", [])), outcome
    assert len(world.rows(IntakeRejection)) == 1  # the raw body is kept for review
    assert world.rows(ChartRecord) == []


def test_body_over_one_megabyte_is_413_with_an_operation_outcome(web, world):
    big = knee_bundle()
    big["entry"][-1]["resource"]["content"][0]["attachment"]["data"] = b64("x" * 1_100_000)
    response = post(web, big)
    assert response.status_code == 413
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "too-long"
    assert world.rows(ChartRecord) == [] and world.rows(IntakeRejection) == []
