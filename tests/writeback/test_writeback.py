"""Write-back of answered queries to the EHR (contract section 7), through the outbox, against a real MLLP
server (python-hl7's asyncio server on loopback) and a local FHIR endpoint that validates what it gets.
Every case ends with exactly one document in the EHR."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from tests.shared import (KNEE_AND_SHOULDER_NOTE, Clock, RecordingNotifier, chart, make_settings, raw)
from vma.integrations.ehr_standin import FhirEhrStandIn, MllpEhrStandIn, field_of, obx_lines

TOKEN = "ehr-test-token-0123456789"


class World:
    def __init__(self, tmp_path, url, ref, **settings):
        self.settings = make_settings(tmp_path, url, **settings)
        self.ref, self.clock, self.notifier = ref, Clock(), RecordingNotifier()
        self.stores = []
        self.restart()

    def restart(self):
        """A new process over the same database (what a restart, or a kill -9 and a start, leaves)."""
        from vma.conversations.service import ChartService
        from vma.directory import Directory
        from vma.integrations.ehr import writeback_from_settings
        from vma.store.db import Store

        self.store = Store(self.settings.vma_database_url)
        self.stores.append(self.store)
        self.store.migrate()
        self.service = ChartService(self.store, self.notifier, self.settings,
                                    Directory.load(self.settings.vma_provider_directory), ref=self.ref,
                                    clock=self.clock, ehr=writeback_from_settings(self.settings))
        return self.service

    def submit(self, data):
        result = self.service.intake(raw(data), "test")
        self.service.process(result.record_id)
        return result

    def rows(self, model, *where):
        with self.store.session() as session:
            return session.execute(select(model).where(*where).order_by(model.id)).scalars().all()

    def queries(self, chart_id):
        from vma.store.models import Query

        return self.rows(Query, Query.chart_id == chart_id)

    def answer_all(self, chart_id, pick=0):
        for q in self.queries(chart_id):
            assert self.service.answer(q.id, "U_LOPEZ", pick).ok

    def outbox(self, kind):
        from vma.store.models import OutboundMessage

        return self.rows(OutboundMessage, OutboundMessage.kind == kind)

    def audit(self, prefix="ehr_"):
        from vma.store.models import AuditEvent

        return [(e.action, (e.detail or {}).get("result")) for e in self.rows(AuditEvent)
                if e.action.startswith(prefix)]

    def close(self):
        for store in self.stores:
            store.dispose()


@pytest.fixture
def mllp_ehr():
    with MllpEhrStandIn() as ehr:
        yield ehr


@pytest.fixture
def fhir_ehr():
    with FhirEhrStandIn(token=TOKEN) as ehr:
        yield ehr


@pytest.fixture
def world_for(tmp_path, database_url, ref):
    made = []

    def make(**settings):
        w = World(tmp_path, database_url, ref, **settings)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


# ---------------------------------------------------------------- MLLP


def test_mdm_t02_arrives_with_the_original_document_and_every_question_and_answer(world_for, mllp_ehr):
    world = world_for(vma_ehr_mllp=mllp_ehr.address)
    world.submit(chart("ENC-W-1", note=KNEE_AND_SHOULDER_NOTE, codes=("M25.569", "M25.519")))
    queries = world.queries("ENC-W-1")
    assert len(queries) == 2
    assert world.service.answer(queries[0].id, "U_LOPEZ", 1).ok
    assert mllp_ehr.received == []  # one query still open: nothing goes back yet
    other = next(i for i, c in enumerate(queries[1].choices) if c["kind"] == "other")
    assert world.service.answer(queries[1].id, "U_LOPEZ", other, other_text="Both shoulders, worse on the right").ok

    assert len(mllp_ehr.received) == 1 and list(mllp_ehr.documents) == ["DOC-ENC-W-1-CDIQ-1"]
    message = mllp_ehr.received[0]
    assert field_of(message, "MSH", 9) == "MDM^T02^MDM_T02" and field_of(message, "MSH", 12) == "2.5.1"
    assert field_of(message, "TXA", 2) == "CDIQ" and field_of(message, "TXA", 17) == "AU"
    assert field_of(message, "TXA", 12) == "DOC-ENC-W-1-CDIQ-1"
    assert field_of(message, "TXA", 13) == "DOC-ENC-W-1"
    assert field_of(message, "PID", 3).startswith("MRN-77120")
    text = "\n".join(obx_lines(message))
    for q in queries:
        assert q.question in text
        for choice in q.choices:
            assert choice["label"] in text  # the options offered
    assert f"Answer: {queries[0].choices[1]['label']}" in text
    assert "Answer: Other: Both shoulders, worse on the right" in text
    assert "Answered by Maria Lopez MD (NPI 1234567893) at 2026-11-17T15:00:00Z" in text

    [row] = world.outbox("ehr_mllp")
    assert row.state == "sent" and row.attempts == 1
    assert [a for a, _ in world.audit()] == ["ehr_writeback_queued", "ehr_writeback"]
    # Once sent, the tick sends nothing again; the coders got the chart as usual.
    world.service.process_pending()
    assert len(mllp_ehr.received) == 1
    assert len(world.notifier.of("post_cleared")) == 1


def test_clinically_undetermined_completes_the_chart_too(world_for, mllp_ehr):
    world = world_for(vma_ehr_mllp=mllp_ehr.address)
    world.submit(chart("ENC-W-2"))
    [query] = world.queries("ENC-W-2")
    undetermined = next(i for i, c in enumerate(query.choices) if c["kind"] == "undetermined")
    assert world.service.answer(query.id, "U_LOPEZ", undetermined).ok
    assert "Answer: Clinically undetermined" in obx_lines(mllp_ehr.received[0])


def test_a_chart_without_queries_writes_nothing_back(world_for, mllp_ehr):
    world = world_for(vma_ehr_mllp=mllp_ehr.address)
    world.submit(chart("ENC-W-3", note=KNEE_AND_SHOULDER_NOTE.replace("Knee pain.", "Left knee pain."),
                       codes=("M25.562",)))
    world.service.process_pending()
    assert world.outbox("ehr_mllp") == [] and mllp_ehr.received == []


def test_an_ehr_that_answers_ae_holds_it_and_tells_the_managers_then_aa_after_a_restart(world_for, mllp_ehr):
    world = world_for(vma_ehr_mllp=mllp_ehr.address)
    mllp_ehr.answer_next("AE")
    world.submit(chart("ENC-W-4"))
    world.answer_all("ENC-W-4")
    [row] = world.outbox("ehr_mllp")
    assert row.state == "held" and row.last_error.startswith("AE:")
    [notice] = world.notifier.of("post_ehr_held")
    assert notice[:5] == ("C_MANAGERS", "ENC-W-4", 1, "DOC-ENC-W-4-CDIQ-1", "HL7 v2 MDM^T02 over MLLP")
    assert notice[5] == "AE"
    # Held means held: the ticks do not hammer an EHR that refused.
    world.clock.advance(hours=2)
    world.service.process_pending()
    assert len(mllp_ehr.received) == 1 and mllp_ehr.documents == {}

    # The interface is fixed and vma restarted: sent once more, acknowledged AA, filed once.
    world.restart().resume()
    assert len(mllp_ehr.received) == 2 and list(mllp_ehr.documents) == ["DOC-ENC-W-4-CDIQ-1"]
    assert mllp_ehr.documents["DOC-ENC-W-4-CDIQ-1"].copies == 1
    assert world.outbox("ehr_mllp")[0].state == "sent"
    assert [a for a, _ in world.audit()] == ["ehr_writeback_queued", "ehr_writeback_held", "ehr_writeback_released",
                                             "ehr_writeback"]
    assert len(world.notifier.of("post_ehr_held")) == 1


def test_an_ehr_that_is_down_during_the_answer_gets_it_when_it_comes_back(world_for, mllp_ehr):
    from vma.conversations.service import writeback_backoff

    world = world_for(vma_ehr_mllp=mllp_ehr.address)
    world.submit(chart("ENC-W-5"))
    mllp_ehr.stop()
    world.answer_all("ENC-W-5")
    [row] = world.outbox("ehr_mllp")
    assert row.state == "pending" and row.attempts == 1 and "Connection refused" in row.last_error
    assert row.next_attempt_at == world.clock.now + writeback_backoff(1)
    world.service.process_pending()  # not due yet: no attempt
    assert world.outbox("ehr_mllp")[0].attempts == 1
    world.clock.advance(seconds=31)
    world.service.process_pending()  # due, still down: the back-off doubles
    row = world.outbox("ehr_mllp")[0]
    assert row.attempts == 2 and row.next_attempt_at == world.clock.now + writeback_backoff(2)
    assert writeback_backoff(2) > writeback_backoff(1)

    mllp_ehr.start()
    world.clock.advance(seconds=61)
    world.service.process_pending()
    assert len(mllp_ehr.received) == 1 and list(mllp_ehr.documents) == ["DOC-ENC-W-5-CDIQ-1"]
    assert world.outbox("ehr_mllp")[0].state == "sent"
    assert [a for a, _ in world.audit()] == ["ehr_writeback_queued", "ehr_writeback_retry", "ehr_writeback_retry",
                                             "ehr_writeback"]
    world.clock.advance(hours=1)
    world.service.process_pending()
    assert len(mllp_ehr.received) == 1


def test_a_crash_between_the_answer_and_the_write_back_sends_it_once_after_the_restart(world_for, mllp_ehr):
    from tests.shared import SimulatedCrash

    world = world_for(vma_ehr_mllp=mllp_ehr.address)
    world.submit(chart("ENC-W-6"))
    [query] = world.queries("ENC-W-6")

    class Dies:
        kinds = ["ehr_mllp"]

        def send(self, *args, **kwargs):
            raise SimulatedCrash("killed after the answer was stored, before the write-back left")

    world.service.ehr = Dies()
    with pytest.raises(SimulatedCrash):
        world.service.answer(query.id, "U_LOPEZ", 0)
    assert mllp_ehr.received == []
    # The answer and its queued write-back were committed together. In one test process the "dead" worker's
    # pid still lives, so its claim is taken when its lease lapses (a real kill -9: tests/writeback/test_kill9.py).
    service = world.restart()
    service.resume()
    assert mllp_ehr.received == []
    world.clock.advance(minutes=3)
    service.process_pending()
    assert len(mllp_ehr.received) == 1 and list(mllp_ehr.documents) == ["DOC-ENC-W-6-CDIQ-1"]
    world.restart().resume()
    assert len(mllp_ehr.received) == 1


# ---------------------------------------------------------------- FHIR


def _fhir_world(world_for, fhir_ehr):
    return world_for(vma_ehr_fhir_url=fhir_ehr.url, vma_ehr_fhir_token=TOKEN)


def test_document_reference_is_valid_appends_the_original_and_gets_201(world_for, fhir_ehr):
    world = _fhir_world(world_for, fhir_ehr)
    world.submit(chart("ENC-W-7"))
    [query] = world.queries("ENC-W-7")
    assert world.service.answer(query.id, "U_LOPEZ", 1).ok

    assert [status for status, _ in fhir_ehr.requests] == [201]
    [doc] = fhir_ehr.created  # validated by fhir.resources R4B on arrival
    assert doc["status"] == "current" and doc["docStatus"] == "final"
    assert doc["relatesTo"] == [{"code": "appends", "target": {"identifier": {"value": "DOC-ENC-W-7"}}}]
    assert doc["subject"]["identifier"]["value"] == "MRN-77120"
    assert doc["identifier"][0]["value"] == "DOC-ENC-W-7-CDIQ-1"
    attachment = doc["content"][0]["attachment"]
    assert attachment["contentType"].startswith("text/plain")
    text = base64.b64decode(attachment["data"]).decode()
    assert query.question in text and f"Answer: {query.choices[1]['label']}" in text
    assert world.outbox("ehr_fhir")[0].state == "sent"


def test_a_503_once_is_retried_and_the_document_is_created_once(world_for, fhir_ehr):
    world = _fhir_world(world_for, fhir_ehr)
    fhir_ehr.fail_next(503)
    world.submit(chart("ENC-W-8"))
    world.answer_all("ENC-W-8")
    assert [status for status, _ in fhir_ehr.requests] == [503] and fhir_ehr.created == []
    assert world.outbox("ehr_fhir")[0].state == "pending"
    world.clock.advance(seconds=31)
    world.service.process_pending()
    assert [status for status, _ in fhir_ehr.requests] == [503, 201] and len(fhir_ehr.created) == 1
    world.clock.advance(hours=1)
    world.service.process_pending()
    assert len(fhir_ehr.requests) == 2
    assert [a for a, r in world.audit()][-2:] == ["ehr_writeback_retry", "ehr_writeback"]


def test_a_4xx_is_held_and_told(world_for, fhir_ehr):
    world = world_for(vma_ehr_fhir_url=fhir_ehr.url, vma_ehr_fhir_token="wrong-token-0123456789")
    world.submit(chart("ENC-W-9"))
    world.answer_all("ENC-W-9")
    [row] = world.outbox("ehr_fhir")
    assert row.state == "held" and row.last_error.startswith("HTTP 401")
    assert world.notifier.of("post_ehr_held")[0][4:] == ("FHIR DocumentReference", "HTTP 401")


def test_both_targets_each_get_it_once(world_for, mllp_ehr, fhir_ehr):
    world = world_for(vma_ehr_mllp=mllp_ehr.address, vma_ehr_fhir_url=fhir_ehr.url, vma_ehr_fhir_token=TOKEN)
    world.submit(chart("ENC-W-10"))
    world.answer_all("ENC-W-10")
    world.service.process_pending()
    assert len(mllp_ehr.received) == 1 and len(fhir_ehr.created) == 1


def test_a_payer_query_rule_asks_the_physician_and_its_answer_goes_back_to_the_ehr(world_for, mllp_ehr, tmp_path):
    """A ``query`` rule of a pack runs the whole loop: its own compliant question in the DM, the answer
    applied as a note for the coder, the question and answer written back to the record."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "acme.yaml").write_text(
        'payer_id: "60054"\n'
        "rules:\n"
        "  - id: ACME-Q-1\n"
        "    title: Imaging ordered for knee pain\n"
        '    when: chart.diagnoses.exists(d, d.code.startsWith("M25.56"))\n'
        "    action: query\n"
        "    message: The example payer asks whether imaging was ordered.\n"
        "    question: Was imaging of the knee ordered at this visit?\n"
        '    options: ["Imaging ordered at this visit", "No imaging ordered"]\n')
    world = world_for(vma_ehr_mllp=mllp_ehr.address, vma_rules_dir=str(rules))
    world.ref = None  # the service loads the packs of its settings beside the process's code sets
    world.restart()
    world.submit(chart("ENC-W-11", note=KNEE_AND_SHOULDER_NOTE.replace("Knee pain.", "Left knee pain."),
                       codes=("M25.562",), coverage={"payer_id": "60054", "payer_name": "Acme", "plan": None}))
    [query] = world.queries("ENC-W-11")
    assert query.check == "payer-rule" and query.question == "Was imaging of the knee ordered at this visit?"
    assert [c["label"] for c in query.choices] == ["Imaging ordered at this visit", "No imaging ordered", "Other",
                                                    "Clinically undetermined"]
    [(_, _, views)] = world.notifier.of("send_query_dm")
    assert views[0].question == query.question
    assert world.service.answer(query.id, "U_LOPEZ", 1).ok
    [(_, cleared)] = world.notifier.of("post_cleared")
    assert [c.code for c in cleared.codes][:1] == ["M25.562"]
    assert "Answer: No imaging ordered" in obx_lines(mllp_ehr.received[0])


def test_a_note_that_came_as_a_fhir_document_reference_is_appended_by_reference():
    from types import SimpleNamespace

    from vma.conversations.writeback import writeback_payload
    from vma.integrations.ehr import build_document_reference

    query = SimpleNamespace(id=1, status="answered", check="laterality", code="M25.569", question="Which knee?",
                            evidence="", choices=[{"label": "Left knee"}], answer_json={"label": "Left knee"},
                            answered_by="U_LOPEZ", answered_at=None, sent_at=None)

    def record(**chart):
        return SimpleNamespace(id=7, chart_id="ENC-5501", version=1, document_id="doc-5501", provider_npi=None,
                               chart_json={"patient": {"mrn": "MRN-5501"}, **chart})

    from_fhir = writeback_payload(record(source_format="fhir", fhir_document_type="DocumentReference"), [query], str)
    assert build_document_reference(from_fhir)["relatesTo"][0]["target"] == {
        "reference": "DocumentReference/doc-5501", "identifier": {"value": "doc-5501"}}
    from_hl7 = writeback_payload(record(source_format="hl7"), [query], str)
    assert build_document_reference(from_hl7)["relatesTo"][0]["target"] == {"identifier": {"value": "doc-5501"}}
    assert writeback_payload(record(), [SimpleNamespace(**{**vars(query), "status": "open"})], str) is None


def test_an_unreachable_ehr_costs_one_attempt_per_tick_not_one_per_chart(world_for, mllp_ehr):
    world = world_for(vma_ehr_mllp=mllp_ehr.address)
    mllp_ehr.stop()
    for n in (12, 13, 14):
        world.submit(chart(f"ENC-W-{n}"))
        world.answer_all(f"ENC-W-{n}")
    rows = world.outbox("ehr_mllp")
    assert [r.attempts for r in rows] == [1, 1, 1]  # each answer tried its own once
    world.clock.advance(minutes=5)
    world.service.process_pending()
    assert [r.attempts for r in world.outbox("ehr_mllp")] == [2, 1, 1]  # the first failed: the others wait
    mllp_ehr.start()
    world.clock.advance(minutes=5)
    world.service.process_pending()
    assert [r.state for r in world.outbox("ehr_mllp")] == ["sent", "sent", "sent"]
    assert sorted(mllp_ehr.documents) == ["DOC-ENC-W-12-CDIQ-1", "DOC-ENC-W-13-CDIQ-1", "DOC-ENC-W-14-CDIQ-1"]
