"""VMA_MLLP_ALLOW: only the listed peers are heard over MLLP; anyone else gets AR and leaves no trace.

Real sockets into the real listener and service: a peer outside the list is answered (an interface
engine waits for its ACK) with ``AR`` and a reason, on every frame, and nothing is stored, parsed or
sent to Slack; a listed peer is stored as before, and the audit log names it as the sender.
"""

from __future__ import annotations

import ipaddress

import pytest
from hl7.client import MLLPClient

from tests.interfaces.conftest import ack_code, err_text, send, wait_for
from tests.interfaces.test_mllp import knee
from vma.config import parse_peer_allow_list
from vma.store.models import AuditEvent, ChartRecord, IntakeRejection

REFUSED: dict[str, int] = {}


def _listen(world, allow):
    from vma.integrations.mllp import MllpListener, service_handler

    handler = service_handler(world.service)
    listener = MllpListener(handler, host="127.0.0.1", port=0, allow=allow).start()
    world.handlers.append(handler)
    world.listeners.append(listener)
    return listener


def test_a_peer_outside_the_allow_list_gets_AR_and_nothing_is_kept(world):
    listener = _listen(world, parse_peer_allow_list("10.20.30.0/24, 192.0.2.7"))
    with MLLPClient("127.0.0.1", listener.port) as client:
        for _ in range(2):  # the connection stays open: every frame is answered the same way
            ack = send(client, knee())
            assert ack_code(ack) == "AR"
            assert "not allowed" in err_text(ack) and "VMA_MLLP_ALLOW" in err_text(ack)
            assert str(ack.segment("MSA")(2)) == "CTL-DOC-5501-1-T02"  # still the sender's control id
    assert listener.refused == 2
    REFUSED["mllp_peer_not_allowed"] = REFUSED.get("mllp_peer_not_allowed", 0) + listener.refused
    assert world.rows(ChartRecord) == [] and world.rows(IntakeRejection) == [] and world.rows(AuditEvent) == []
    assert world.dms() == []


def test_a_listed_peer_is_stored_and_named_in_the_audit_log(world):
    listener = _listen(world, parse_peer_allow_list("127.0.0.1"))
    with MLLPClient("127.0.0.1", listener.port) as client:
        assert ack_code(send(client, knee())) == "AA"
    record, = world.rows(ChartRecord)
    assert record.source == "mllp"
    intake, = world.rows(AuditEvent, AuditEvent.action == "intake")
    assert intake.detail["sender"] == "peer:127.0.0.1"
    wait_for(world.dms)


def test_unset_means_every_peer_and_ranges_match_both_families():
    from vma.integrations.mllp import peer_allowed

    assert parse_peer_allow_list(None) is None and parse_peer_allow_list("  ") is None
    assert peer_allowed("203.0.113.9", None)
    allow = parse_peer_allow_list("10.0.0.0/8,::1")
    assert peer_allowed("10.1.2.3", allow) and peer_allowed("::ffff:10.1.2.3", allow) and peer_allowed("::1", allow)
    assert not peer_allowed("11.0.0.1", allow) and not peer_allowed("127.0.0.1", allow)
    assert not peer_allowed(None, allow) and not peer_allowed("not-an-address", allow)
    assert parse_peer_allow_list("192.168.1.10") == [ipaddress.ip_network("192.168.1.10/32")]
    with pytest.raises(ValueError, match="VMA_MLLP_ALLOW"):
        parse_peer_allow_list("10.0.0.0/8, ehr.example.org")
