"""Hostile bodies at POST /charts and POST /fhir of the running app, and oversize bodies.

Every answer is 200, 202 or 400 (never a 5xx); a 400 names the fields; the raw
input is stored exactly as received (rejections too); a body over 1 MB is refused
with 413 as soon as the cap is passed, without waiting for the rest.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from tests.conftest import base_chart
from tests.formats import fhir_resources as fhir
from tests.hostile.test_slack_payloads import json_values
from tests.security.conftest import secure, slack_standin  # noqa: F401
from vma.intake import MAX_BODY

TRIED = {"charts": 0, "fhir": 0}


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, path + (index,))


@st.composite
def mutated(draw, make):
    document = copy.deepcopy(make())
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(document))))
        if not path:
            document = draw(json_values)
            break
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values | st.text(max_size=200) | st.just("\x00"))
        if not isinstance(document, (dict, list)):
            break
    return json.dumps(document).encode()


def _chart_with_unique_id():
    _chart_with_unique_id.n += 1
    n = _chart_with_unique_id.n
    return base_chart(chart_id=f"ENC-H{n}", document_id=f"DOC-H{n}")


_chart_with_unique_id.n = 0

bodies = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode()),
    mutated(_chart_with_unique_id),
    st.sampled_from([b"", b"{", b"[]", b"null", b"\xef\xbb\xbf{}", b'{"chart_id": "\xff"}', b"MSH|^~\\&|",
                     b"MSH|^~\\&|EHR|C|VMA|C|20261116||MDM^T02|1|P|2.5\rTXA|1|CN|TX"]),
)
fhir_bodies = st.one_of(
    bodies,
    mutated(lambda: fhir.document_reference()),
    mutated(lambda: fhir.full_bundle()),
)


def _expected_raw(body: bytes) -> str:
    return body.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def _latest(stack, model):
    with stack.service.store.session() as session:
        return session.execute(select(model).order_by(model.id.desc()).limit(1)).scalar_one_or_none()


def _check_answer(stack, body: bytes, response, fhir_endpoint: bool):
    from vma.store.models import ChartRecord, IntakeRejection

    assert response.status_code in (200, 202, 400), (response.status_code, response.text[:300], body[:200])
    data = response.json()
    if response.status_code == 400:
        if fhir_endpoint:
            assert data["resourceType"] == "OperationOutcome" and data["issue"]
            assert all(i["severity"] == "error" and i["diagnostics"] for i in data["issue"])
        else:
            assert data["status"] == "invalid" and data["errors"]
            assert all(isinstance(e["field"], str) and e["field"] and e["message"] for e in data["errors"])
        rejection = _latest(stack, IntakeRejection)
        assert rejection is not None and rejection.raw == _expected_raw(body)  # the raw input is kept
    else:
        assert data["chart_id"] and data["status"]
        if response.status_code == 202:
            with stack.service.store.session() as session:
                raws = session.execute(select(ChartRecord.raw).where(ChartRecord.chart_id == data["chart_id"])
                                       ).scalars().all()
            assert _expected_raw(body) in raws


def test_random_and_mutated_chart_bodies(secure):
    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies, content_type=st.sampled_from(["application/json", "text/plain", "application/hl7-v2",
                                                      "application/octet-stream"]))
    def post(body, content_type):
        TRIED["charts"] += 1
        response = secure.http.post(secure.url + "/charts", content=body, headers={"Content-Type": content_type})
        _check_answer(secure, body, response, fhir_endpoint=False)

    post()
    # The property ran over the inputs it was given, not over a handful: a silent shortfall fails here.
    assert TRIED["charts"] >= 200, TRIED
    statuses = {}
    from vma.store.models import ChartRecord, IntakeRejection

    with secure.service.store.session() as session:
        statuses["stored"] = len(session.execute(select(ChartRecord.id)).all())
        statuses["rejected"] = len(session.execute(select(IntakeRejection.id)).all())
    assert statuses["stored"] > 0 and statuses["rejected"] > 0, statuses  # both paths were exercised


def test_random_and_mutated_fhir_bodies(secure):
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=fhir_bodies)
    def post(body):
        TRIED["fhir"] += 1
        response = secure.http.post(secure.url + "/fhir", content=body,
                                    headers={"Content-Type": "application/fhir+json"})
        _check_answer(secure, body, response, fhir_endpoint=True)

    post()
    assert TRIED["fhir"] >= 150, TRIED


def test_a_body_error_names_the_field(secure):
    bad = base_chart(encounter={"date_of_service": "2026-13-45"}, diagnoses="I10")
    response = secure.post_chart(json.dumps(bad).encode())
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert any("date_of_service" in f for f in fields) or any("diagnoses" in f for f in fields), fields


# -- oversize -----------------------------------------------------------------------------------


def _raw_request(port: int, head: bytes, chunks, read_timeout: float = 10.0) -> tuple[bytes, int]:
    """Sends ``head`` then the chunks (from a thread: the server may stop reading), returns
    (the response's first bytes, how many body bytes were sent by the time it arrived)."""
    sent = [0]
    sock = socket.create_connection(("127.0.0.1", port), timeout=read_timeout)
    sock.sendall(head)

    def pump():
        try:
            for chunk in chunks:
                sock.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass  # the server answered and closed: what we want

    writer = threading.Thread(target=pump, daemon=True)
    writer.start()
    try:
        response = sock.recv(4096)
    finally:
        at = sent[0]
        sock.close()
    return response, at


@pytest.mark.parametrize("path", ["/charts", "/fhir", "/slack/events"])
def test_declared_oversize_body_is_413_before_any_body_byte(secure, path):
    port = secure.served.port
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {50 * MAX_BODY}\r\n\r\n").encode()
    started = time.monotonic()
    response, sent = _raw_request(port, head, [])  # not one byte of the 50 MB follows
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("path", ["/charts", "/fhir", "/slack/events"])
def test_streamed_oversize_body_is_413_once_past_the_cap(secure, path):
    port = secure.served.port
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    piece = 64 * 1024

    def chunks():
        # 1 MB plus a little, then the client stalls: a server that waited for the end would never answer
        for _ in range(MAX_BODY // piece + 2):
            yield f"{piece:x}\r\n".encode() + b" " * piece + b"\r\n"
        time.sleep(30)

    started = time.monotonic()
    response, sent = _raw_request(port, head, chunks())
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert time.monotonic() - started < 10
    assert sent <= MAX_BODY + 4 * piece  # refused at the cap, not after the whole stream


def test_a_body_just_under_the_cap_is_read(secure):
    note = "x" * (MAX_BODY - 2000)
    body = json.dumps(base_chart(chart_id="ENC-BIG1", document_id="DOC-BIG1", note={"text": note})).encode()
    assert len(body) <= MAX_BODY
    assert secure.post_chart(body).status_code == 202
