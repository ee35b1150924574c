"""MDM messages over a real socket into the MLLP listener, backed by the real service, database and Slack adapter."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hl7.client import MLLPClient

from tests.formats.hl7_messages import dg1, ft1, mdm, oru
from tests.interfaces.conftest import CODERS, KNEE_NOTE, ack_code, err_text, read_acks, send, wait_for
from vma.store.models import ChartRecord, IntakeRejection, Query

LEFT_KNEE_ADDENDUM = ("ADDENDUM", "", "On re-examination the pain is in the left knee.")
LEFT_KNEE_NOTE = tuple(line.replace("Knee pain", "Left knee pain") for line in KNEE_NOTE)




def knee(trigger: str = "T02", note_lines=KNEE_NOTE, codes: bool = True, **kw) -> str:
    """An office visit coded M25.569 (knee, side unspecified): the laterality check asks which knee."""
    if codes:
        kw.setdefault("dg1", (dg1(1, "M25.569"),))
        kw.setdefault("ft1", (ft1(1, "99213", diagnoses="M25.569^^I10C"),))
    else:
        kw.setdefault("dg1", ())
        kw.setdefault("ft1", ())
    return mdm(trigger, note_lines=note_lines, **kw)


def frame(text: str) -> bytes:
    return b"\x0b" + text.encode("utf-8") + b"\x1c\r"


def button_labels(message) -> list[str]:
    return [e["text"]["text"] for b in message.blocks or [] if b["type"] == "actions" for e in b["elements"]
            if e.get("type") == "button"]


def test_stored_mdm_gets_AA_and_its_provider_one_dm(world):
    listener = world.listen()
    message = knee()
    with MLLPClient("127.0.0.1", listener.port) as client:
        ack = send(client, message)
    assert ack_code(ack) == "AA"
    assert str(ack.segment("MSA")(2)) == "CTL-DOC-5501-1-T02"
    assert str(ack.segment("MSH")(9)).startswith("ACK")
    dm = wait_for(world.dms)[0]
    assert "Pain in left knee (M25.562)" in button_labels(dm)
    [record] = world.rows(ChartRecord)
    assert record.raw == message and record.source == "mllp" and record.status == "needs_query"


def test_malformed_truncated_and_foreign_messages_on_one_connection(world):
    listener = world.listen()
    good = knee()
    cut_before_txa = good[:good.index("TXA|")]
    with MLLPClient("127.0.0.1", listener.port) as client:
        missing_status = send(client, mdm(status=""))
        assert ack_code(missing_status) == "AE"
        assert "TXA-17" in err_text(missing_status) and "completion status is missing" in err_text(missing_status)
        assert str(missing_status.segment("ERR")(2)) == "TXA^1^17"

        unknown_status = send(client, mdm(status="ZZ"))
        assert ack_code(unknown_status) == "AE" and "unknown document completion status 'ZZ'" in err_text(unknown_status)

        truncated = send(client, good[:40])
        assert ack_code(truncated) == "AE" and err_text(truncated)

        no_txa = send(client, cut_before_txa)
        assert ack_code(no_txa) == "AE" and "no TXA segment" in err_text(no_txa)

        not_hl7 = send(client, "hello, is this the lab?")
        assert ack_code(not_hl7) == "AE" and "MSH" in err_text(not_hl7)

        adt = send(client, good.replace("MDM^T02^MDM_T02", "ADT^A01^ADT_A01"))
        assert ack_code(adt) == "AR"
        assert "ADT^A01 is not accepted" in err_text(adt)
        assert "HL70357" in str(adt.segment("ERR")(3)) and str(adt.segment("ERR")(3)).startswith("200")

        # the connection is still there for the next good message
        assert ack_code(send(client, good)) == "AA"
    world.drain()
    assert len(world.rows(ChartRecord)) == 1
    rejections = world.rows(IntakeRejection)
    assert len(rejections) == 6  # every refused message is kept for review, raw as it came
    assert rejections[0].raw == mdm(status="") and rejections[-1].raw.startswith("MSH|^~\\&|EHR|NORTH-CLINIC")


def test_garbage_between_frames_and_a_frame_without_start_block(world):
    listener = world.listen()
    first = knee()
    second = mdm(doc_id="DOC-7001-1", visit="ENC-7001")
    third = mdm(doc_id="DOC-7002-1", visit="ENC-7002")
    with socket.create_connection(("127.0.0.1", listener.port)) as sock:
        sock.sendall(b"\r\n" + frame(first) + b"\x00\x00keep-alive noise\r\n" + frame(second)
                     + b"stray bytes with no start block\x1c\r" + frame(third))
        acks = read_acks(sock, 4)
    assert [ack_code(a) for a in acks] == ["AA", "AA", "AE", "AA"]
    assert "no start block" in err_text(acks[2])
    assert [str(a.segment("MSA")(2)) for a in (acks[0], acks[1], acks[3])] == [
        "CTL-DOC-5501-1-T02", "CTL-DOC-7001-1-T02", "CTL-DOC-7002-1-T02"]
    world.drain()
    assert sorted(r.chart_id for r in world.rows(ChartRecord)) == ["ENC-5501", "ENC-7001", "ENC-7002"]


def test_oversize_frame_is_refused_and_the_connection_goes_on(world):
    from vma.integrations.mllp import MllpListener, service_handler

    listener = MllpListener(service_handler(world.service), host="127.0.0.1", port=0, max_frame=50_000).start()
    world.listeners.append(listener)
    huge = knee(note_lines=KNEE_NOTE + ("x" * 80_000,))
    with socket.create_connection(("127.0.0.1", listener.port)) as sock:
        sock.sendall(frame(huge) + frame(knee()))
        too_big, fine = read_acks(sock, 2)
    assert ack_code(too_big) == "AE" and "over 50000 bytes" in err_text(too_big)
    assert ack_code(fine) == "AA"


def test_a_peer_closing_mid_frame_does_not_hurt_the_listener(world):
    listener = world.listen()
    with socket.create_connection(("127.0.0.1", listener.port)) as sock:
        sock.sendall(frame(knee())[:120])
    with MLLPClient("127.0.0.1", listener.port) as client:
        assert ack_code(send(client, knee())) == "AA"


def test_duplicate_gets_AA_and_no_second_dm(world):
    listener = world.listen()
    with MLLPClient("127.0.0.1", listener.port) as client:
        assert ack_code(send(client, knee())) == "AA"
        wait_for(world.dms)
        assert ack_code(send(client, knee())) == "AA"
    world.drain()
    time.sleep(0.2)
    assert len(world.dms()) == 1
    assert len(world.slack.calls_to("conversations.open")) == 1
    assert len(world.rows(ChartRecord)) == 1 and len(world.rows(Query)) == 1


@pytest.mark.parametrize("revision", [
    # T06: an addendum that carries only its own text (and no codes): joined onto version 1's note
    dict(trigger="T06", note_lines=LEFT_KNEE_ADDENDUM, codes=False),
    # T08: an edit that resends the whole note, now with the side
    dict(trigger="T08", note_lines=LEFT_KNEE_NOTE, codes=True),
], ids=["T06-addendum-only-text", "T08-edit-full-text"])
def test_a_revision_that_documents_the_side_withdraws_the_laterality_query(world, revision):
    listener = world.listen()
    with MLLPClient("127.0.0.1", listener.port) as client:
        assert ack_code(send(client, knee())) == "AA"
        dm = wait_for(world.dms)[0]
        ack = send(client, knee(revision["trigger"], revision["note_lines"], revision["codes"],
                                doc_id="DOC-5501-2", parent="DOC-5501-1", edit_time="20261117090000"))
        assert ack_code(ack) == "AA"
    [query] = wait_for(lambda: world.rows(Query, Query.status == "withdrawn"))
    assert query.check == "laterality" and query.code == "M25.569"
    updated = wait_for(lambda: (m := world.slack.message(dm.channel, dm.ts)) and m.updates and m)
    assert "withdrawn" in (updated.text or "").lower()
    assert button_labels(updated) == []  # nothing left to click
    old, new = world.rows(ChartRecord)
    assert (old.status, old.is_current, new.version, new.is_current) == ("superseded", False, 2, True)
    note = new.chart_json["note"]["text"]
    assert "left knee" in note.lower() and "knee pain after a fall" in note.lower()  # the checks saw both parts
    if revision["trigger"] == "T06":
        assert note.index("Knee pain after a fall") < note.index("On re-examination")
    assert [d["code"] for d in new.chart_json["diagnoses"]] == ["M25.569"]
    # no new question: the side is documented, so the code is corrected for the coder to confirm
    post = wait_for(lambda: [m for m in world.slack.messages_in(CODERS) if "ENC-5501" in (m.text or "")])
    assert "M25.562" in str(post[0].blocks)
    assert len(world.dms()) == 1


def test_cancel_withdraws_every_open_query(world):
    listener = world.listen()
    two_problems = knee(dg1=(dg1(1, "M25.569"), dg1(2, "M25.519")),
                        ft1=(ft1(1, "99213", diagnoses="M25.569^^I10C~M25.519^^I10C"),),
                        note_lines=KNEE_NOTE[:-1] + ("2. Shoulder pain. Home exercises.", "", KNEE_NOTE[-1]))
    with MLLPClient("127.0.0.1", listener.port) as client:
        assert ack_code(send(client, two_problems)) == "AA"
        dm = wait_for(world.dms)[0]
        assert len(wait_for(lambda: world.rows(Query, Query.status == "open"))) >= 2
        cancel = mdm("T11", doc_id="DOC-5501-1", parent="DOC-5501-1", edit_time="20261117100000",
                     note_lines=(), dg1=(), ft1=())
        assert ack_code(send(client, cancel)) == "AA"
    wait_for(lambda: not world.rows(Query, Query.status == "open"))
    assert {q.status for q in world.rows(Query)} == {"withdrawn"}
    wait_for(lambda: world.slack.message(dm.channel, dm.ts).updates)
    statuses = [r.status for r in world.rows(ChartRecord)]
    assert statuses == ["cancelled", "cancelled"]
    assert not [m for m in world.slack.messages_in(CODERS) if "ENC-5501" in (m.text or "")]


def test_unauthenticated_document_is_stored_quietly_until_its_signed_version(world):
    listener = world.listen()
    with MLLPClient("127.0.0.1", listener.port) as client:
        assert ack_code(send(client, knee(status="IP"))) == "AA"
        assert ack_code(send(client, knee(status="IP"))) == "AA"  # resent: a duplicate
        world.drain()
        [record] = world.rows(ChartRecord)
        assert record.status == "unauthenticated" and record.chart_json["completion_status"] == "IP"
        assert world.rows(Query) == [] and world.dms() == []
        assert world.slack.calls_to("chat.postMessage") == []
        # the status change to authenticated: same document and version, now AU
        assert ack_code(send(client, knee("T04", status="AU"))) == "AA"
    dm = wait_for(world.dms)[0]
    assert "Pain in left knee (M25.562)" in button_labels(dm)
    first, signed = world.rows(ChartRecord)
    assert (first.status, first.is_current, signed.is_current) == ("superseded", False, True)


def test_oru_r01_with_a_note_is_taken(world):
    listener = world.listen()
    with MLLPClient("127.0.0.1", listener.port) as client:
        assert ack_code(send(client, oru())) == "AA"
    world.drain()
    [record] = world.rows(ChartRecord)
    assert record.chart_id == "ENC-7702" and record.status != "unauthenticated"


def test_raw_stored_before_the_ack_and_a_crash_after_it_resumes_on_restart(world):
    listener = world.listen(process=False)  # as if the process died right after writing the ACK
    message = knee()
    with MLLPClient("127.0.0.1", listener.port) as client:
        assert ack_code(send(client, message)) == "AA"
        [record] = world.rows(ChartRecord)  # already there when the ACK arrived
        assert record.raw == message and record.status == "received"
    listener.stop()
    time.sleep(0.2)
    assert world.dms() == []

    service = world.restart()
    assert service.process_pending() >= 1
    assert len(wait_for(world.dms)) == 1
    service.process_pending()
    world.restart().process_pending()
    assert len(world.dms()) == 1 and len(world.slack.calls_to("conversations.open")) == 1


def test_storage_failure_is_never_acknowledged_as_AA(world):
    from vma.integrations.mllp import MllpListener

    def broken(text):
        raise RuntimeError("database is down")

    listener = MllpListener(broken, host="127.0.0.1", port=0).start()
    world.listeners.append(listener)
    with MLLPClient("127.0.0.1", listener.port) as client:
        ack = send(client, knee())
        assert ack_code(ack) == "AR" and "please resend" in err_text(ack)
        assert ack_code(send(client, knee())) == "AR"  # still connected


def test_the_mllp_send_console_script(world, tmp_path):
    script = Path(sys.executable).with_name("mllp_send")
    if not script.exists():
        pytest.skip("python-hl7's mllp_send script is not installed in this environment")
    listener = world.listen()
    batch = tmp_path / "batch.hl7"
    batch.write_bytes(frame(knee()) + frame(mdm(doc_id="DOC-7003-1", visit="ENC-7003")) + frame(mdm(status="")))
    done = subprocess.run([str(script), "-p", str(listener.port), "-f", str(batch), "127.0.0.1"],
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode("utf-8", "replace")
    assert out.count("MSA|AA|") == 2 and out.count("MSA|AE|") == 1
    world.drain()
    assert sorted(r.chart_id for r in world.rows(ChartRecord)) == ["ENC-5501", "ENC-7003"]


def test_json_over_mllp_is_refused_not_stored_as_a_chart(world):
    listener = world.listen()
    with MLLPClient("127.0.0.1", listener.port) as client:
        ack = send(client, '{"chart_id": "ENC-JSON-1"}')
    assert ack_code(ack) == "AE" and "HL7 v2 only" in err_text(ack)
    assert world.rows(ChartRecord) == []


def test_the_bench_counts_what_it_sends(capsys):
    from bench import mllp as bench_mllp

    assert bench_mllp.main(total=60, connections=3) == 0
    out = capsys.readouterr().out
    assert "sqlite: 60 MDM^T02 over 3 connections" in out and "nothing lost, nothing doubled" in out
