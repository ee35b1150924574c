"""kill -9 of a real ``vma serve`` between a provider's answer and the EHR's acknowledgement, then restart:
the EHR (python-hl7's asyncio MLLP server on loopback) holds exactly one document.

Two placements: the EHR has the MDM^T02 but its ACK never reaches the killed process (the restarted one
sends the same document again, under the same TXA-12, which the EHR files once); and the EHR is down when
the answer comes, the process is killed while it waits to retry, and the EHR is back for the restart.
"""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import select

from tests.crash.harness import DEMO, SECRET, ServerProcess, server_env, synthetic_chart
from vma.integrations.ehr_standin import MllpEhrStandIn, field_of
from vma.integrations.slack.standin import SignedSlackSender, SlackStandIn

pytestmark = pytest.mark.slow


def _wait(condition, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _first_answer_button(slack: SlackStandIn):
    for message in slack.messages:
        if not message.channel.startswith("D") or message.ephemeral:
            continue
        for block in message.blocks or []:
            for element in (block.get("elements") or []) + ([block["accessory"]] if block.get("accessory") else []):
                if str(element.get("action_id", "")).startswith("vma_answer_") and element.get("type") == "button":
                    return message, {**element, "block_id": block.get("block_id", "b")}
    return None


def _writeback_state(database_url: str, chart_id: str):
    from vma.store.db import Store
    from vma.store.models import OutboundMessage

    store = Store(database_url)
    try:
        with store.session() as session:
            rows = session.execute(select(OutboundMessage.state).where(
                OutboundMessage.kind == "ehr_mllp", OutboundMessage.idem_key.contains(chart_id))).scalars().all()
    finally:
        store.dispose()
    return rows


def _audit_actions(database_url: str) -> list[str]:
    from vma.store.db import Store
    from vma.store.models import AuditEvent

    store = Store(database_url)
    try:
        with store.session() as session:
            return list(session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())
    finally:
        store.dispose()


def _answer(server: ServerProcess, slack: SlackStandIn, chart_id: str) -> None:
    with httpx.Client(timeout=10) as http:
        response = http.post(server.url + "/charts", content=synthetic_chart("ENC-D2002", chart_id),
                             headers={"Content-Type": "application/json"})
        assert response.status_code == 202, response.text
    message, action = _wait(lambda: _first_answer_button(slack), what="the query DM")
    sender = SignedSlackSender(server.url + "/slack/events", SECRET, slack)
    try:
        assert sender.click("U" + message.channel[1:], message.channel, message.ts, action).status_code == 200
    finally:
        sender.close()


def test_kill_9_while_the_ehr_holds_the_document_files_it_once(database_url, tmp_path):
    with SlackStandIn() as slack, MllpEhrStandIn() as ehr:
        ehr.delay = 2.0  # the EHR takes its time to acknowledge: the kill lands inside the write-back
        server = ServerProcess({**server_env(slack, database_url), "VMA_EHR_MLLP": ehr.address},
                               tmp_path / "serve.log").start()
        try:
            _answer(server, slack, "KW-0001")
            _wait(lambda: ehr.received, what="the MDM^T02 at the EHR")
            server.kill()
            ehr.delay = 0.0
            _wait(lambda: ehr.documents, what="the EHR to file the document it was holding")
            assert _writeback_state(database_url, "KW-0001") == ["pending"]  # vma never learned it was taken

            server.start()
            _wait(lambda: _writeback_state(database_url, "KW-0001") == ["sent"], what="the write-back marked sent")
        finally:
            server.stop()
    assert len(ehr.received) == 2
    assert {field_of(m, "TXA", 12) for m in ehr.received} == {"DOC-KW-0001-CDIQ-1"}
    assert list(ehr.documents) == ["DOC-KW-0001-CDIQ-1"] and ehr.documents["DOC-KW-0001-CDIQ-1"].copies == 2
    assert field_of(ehr.received[0], "TXA", 13) == "DOC-KW-0001"


def test_kill_9_while_the_ehr_is_down_sends_once_after_the_restart(database_url, tmp_path):
    with SlackStandIn() as slack, MllpEhrStandIn() as ehr:
        server = ServerProcess({**server_env(slack, database_url), "VMA_EHR_MLLP": ehr.address},
                               tmp_path / "serve.log").start()
        ehr.stop()
        try:
            _answer(server, slack, "KW-0002")
            _wait(lambda: "ehr_writeback_retry" in _audit_actions(database_url), what="a failed first attempt")
            server.kill()
            assert ehr.received == [] and _writeback_state(database_url, "KW-0002") == ["pending"]
            ehr.start()
            server.start()  # start-up resumes what the dead process left: the write-back is due now
            _wait(lambda: _writeback_state(database_url, "KW-0002") == ["sent"], what="the write-back marked sent")
            server.stop()
            server.start()  # and a further restart sends nothing more
            time.sleep(0.5)
        finally:
            server.stop()
    assert len(ehr.received) == 1 and list(ehr.documents) == ["DOC-KW-0002-CDIQ-1"]
