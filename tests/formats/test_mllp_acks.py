"""The ACKs of this module through the MLLP listener, over a real socket with python-hl7's client."""

from __future__ import annotations

import hl7
import pytest
from hl7.client import MLLPClient

from tests.formats.hl7_messages import mdm
from vma.chart import ChartInputError
from vma.integrations import mllp
from vma.integrations.hl7 import chart_from_hl7, hl7_message_info


def classify(text: str) -> tuple[str, str | None]:
    """A stand-in for the service: AR for types the listener does not take, AE for unusable documents."""
    try:
        info = hl7_message_info(text)
        if info.message_type not in ("MDM", "ORU"):
            return "AR", f"message type {info.message_type}^{info.trigger_event} is not accepted here"
        chart_from_hl7(text)
    except ChartInputError as exc:
        return "AE", str(exc)
    return "AA", None


@pytest.fixture
def listener():
    server = mllp.MllpListener(classify, host="127.0.0.1", port=0).start()
    yield server
    server.stop()


def send(port: int, text: str) -> hl7.Message:
    with MLLPClient("127.0.0.1", port) as client:
        return hl7.parse(client.send_message(text).decode("utf-8"))


def test_acks_over_a_socket(listener):
    ack = send(listener.port, mdm())
    assert str(ack.segment("MSA")(1)) == "AA" and str(ack.segment("MSA")(2)) == "CTL-DOC-5501-1-T02"

    ack = send(listener.port, mdm(status=""))
    assert str(ack.segment("MSA")(1)) == "AE"
    assert "TXA-17" in ack.segment("ERR").extract_field(1, 8)

    ack = send(listener.port, mdm().replace("MDM^T02^MDM_T02", "ADT^A08^ADT_A01"))
    assert str(ack.segment("MSA")(1)) == "AR"

    truncated = mdm()[:40]
    ack = send(listener.port, truncated)
    assert str(ack.segment("MSA")(1)) == "AE" and ack.segment("ERR").extract_field(1, 8)
