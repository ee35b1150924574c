"""Intake is a closed door: bearer tokens, a per-source rate limit, and no open port by accident.

Over HTTP into the real app (uvicorn, real database): with ``VMA_INTAKE_TOKENS`` a request to
``/charts`` or ``/fhir`` without a valid ``Authorization: Bearer`` token is a 401 with a
``WWW-Authenticate`` challenge, decided before the body is read and leaving nothing in the store; a
valid token's source name is recorded as the sender in the audit log. Past ``VMA_INTAKE_RATE_LIMIT`` a
source gets a 429 with ``Retry-After`` while other sources go on. ``vma serve`` listens on 127.0.0.1
by default and refuses another address without tokens unless ``--allow-open-intake`` is given.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.security.conftest import SecureStack, demo_chart

EPIC_TOKEN = "epic-7b1f0c2d9a8e4f6b"
LAB_TOKEN = "lab-c4d5e6f7a8b9c0d1e2"
TOKENS = f"epic-prod:{EPIC_TOKEN}, lab:{LAB_TOKEN}"
REFUSED: dict[str, int] = {}


def _count(reasons: dict) -> None:
    for reason, n in reasons.items():
        REFUSED[reason] = REFUSED.get(reason, 0) + n


@pytest.fixture
def guarded(tmp_path, slack_standin, database_url):
    s = SecureStack(tmp_path, slack_standin, database_url, vma_intake_tokens=TOKENS,
                    vma_intake_rate_limit="4/min").start()
    yield s
    _count(s.served.server.config.app.state.intake_guard.refused)
    s.stop()


def _copy(template: str, chart_id: str) -> bytes:
    data = json.loads(demo_chart(template))
    data.update(chart_id=chart_id, document_id=f"DOC-{chart_id}")
    return json.dumps(data).encode()


def _post(stack, path, body, token=None, authorization=None):
    headers = {"Content-Type": "application/fhir+json" if path == "/fhir" else "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if authorization:
        headers["Authorization"] = authorization
    return stack.http.post(stack.url + path, content=body, headers=headers)


def _stored(stack):
    from vma.store.models import AuditEvent, ChartRecord, IntakeRejection

    with stack.service.store.session() as session:
        return {"charts": session.execute(select(ChartRecord.chart_id)).scalars().all(),
                "rejections": session.execute(select(IntakeRejection.id)).scalars().all(),
                "audit": session.execute(select(AuditEvent.action, AuditEvent.detail)).all()}


def test_without_a_valid_token_intake_is_401_with_a_challenge_and_keeps_nothing(guarded):
    body = demo_chart("ENC-D2001")
    missing = _post(guarded, "/charts", body)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="vma-intake"'
    assert missing.json()["errors"][0]["field"] == "Authorization"

    wrong = _post(guarded, "/charts", body, token=EPIC_TOKEN[:-1] + "x")
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == 'Bearer realm="vma-intake", error="invalid_token"'
    assert _post(guarded, "/charts", body, authorization=f"Basic {EPIC_TOKEN}").status_code == 401
    assert _post(guarded, "/charts", body, authorization="Bearer").status_code == 401
    assert _post(guarded, "/charts", body, token=EPIC_TOKEN + EPIC_TOKEN).status_code == 401

    fhir = _post(guarded, "/fhir", b'{"resourceType": "Bundle"}', token="not-a-token-at-all-000")
    assert fhir.status_code == 401 and fhir.headers["www-authenticate"].startswith("Bearer ")
    outcome = fhir.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "login"

    assert _stored(guarded) == {"charts": [], "rejections": [], "audit": []}
    assert guarded.slack.calls_to("chat.postMessage") == [] and guarded.slack.calls_to("conversations.open") == []


def test_the_token_is_asked_before_a_byte_of_the_body_is_read(guarded):
    port = guarded.served.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /charts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 52428800\r\n\r\n")  # 50 MB announced, none sent
        started = time.monotonic()
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert time.monotonic() - started < 5


def test_a_valid_token_is_accepted_and_its_source_named_in_the_audit_log(guarded):
    assert _post(guarded, "/charts", demo_chart("ENC-D2001"), token=EPIC_TOKEN).status_code == 202
    assert _post(guarded, "/charts", demo_chart("ENC-D2004"), token=LAB_TOKEN).status_code == 202
    rejected = _post(guarded, "/charts", b"{not json", token=LAB_TOKEN)
    assert rejected.status_code == 400
    audit = _stored(guarded)["audit"]
    senders = {detail.get("record_id") and detail["sender"] for action, detail in audit if action == "intake"}
    assert senders == {"epic-prod", "lab"}
    assert [d["sender"] for a, d in audit if a == "intake_rejected"] == ["lab"]
    assert not any(EPIC_TOKEN in json.dumps(d) or LAB_TOKEN in json.dumps(d) for _, d in audit)


def test_past_the_rate_limit_a_source_gets_429_and_the_others_go_on(guarded):
    codes = [_post(guarded, "/charts", _copy("ENC-D2001", f"ENC-RL-{n}"), token=EPIC_TOKEN).status_code
             for n in range(5)]
    assert codes == [202, 202, 202, 202, 429]
    limited = _post(guarded, "/charts", demo_chart("ENC-D2002"), token=EPIC_TOKEN)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 15  # 4 a minute: one more every 15 s
    error = limited.json()["errors"][0]["message"]
    assert "epic-prod" in error and "VMA_INTAKE_RATE_LIMIT" in error
    fhir = _post(guarded, "/fhir", b"{}", token=EPIC_TOKEN)
    assert fhir.status_code == 429 and fhir.json()["issue"][0]["code"] == "throttled"
    # another source has its own allowance
    assert _post(guarded, "/charts", demo_chart("ENC-D2002"), token=LAB_TOKEN).status_code == 202
    assert len(_stored(guarded)["charts"]) == 5


def test_the_rate_limit_refills_over_time_per_source():
    from vma.config import Settings
    from vma.web import IntakeGuard

    now = [0.0]
    guard = IntakeGuard(Settings(vma_intake_rate_limit="2/10s"), clock=lambda: now[0])
    assert [guard.admit("a") for _ in range(2)] == [None, None]
    assert guard.admit("a") == pytest.approx(5.0)  # one more every 5 s
    assert guard.admit("b") is None
    now[0] = 5.0
    assert guard.admit("a") is None and guard.admit("a") is not None
    assert IntakeGuard(Settings(vma_intake_rate_limit="off")).admit("a") is None


def test_open_intake_records_the_peer_and_a_weak_token_list_is_refused(secure):
    assert secure.post_chart(demo_chart("ENC-D2001")).status_code == 202
    intake = [d for a, d in _stored(secure)["audit"] if a == "intake"]
    assert intake[0]["sender"] == "peer:127.0.0.1"

    from vma.config import parse_intake_tokens

    with pytest.raises(ValueError) as weak:
        parse_intake_tokens("epic:short1")
    assert "short1" not in str(weak.value)  # a refused token is not printed
    assert [t.source for t in parse_intake_tokens(f"{EPIC_TOKEN},lab:{LAB_TOKEN}")] == ["token-1", "lab"]
    with pytest.raises(ValueError):
        parse_intake_tokens(f"a:{EPIC_TOKEN},b:{EPIC_TOKEN}")


# -- vma serve: where it listens ----------------------------------------------------------------------


def _serve(args, env_extra, timeout=20):
    from tests.crash.harness import vma_executable

    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "VMA_DATABASE_URL": "sqlite:///:memory:",
           "SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-x", **env_extra}
    return subprocess.run([vma_executable(), "serve", *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_serve_refuses_a_non_loopback_address_without_tokens():
    started = time.monotonic()
    refused = _serve(["--host", "0.0.0.0", "--port", "1"], {})
    assert refused.returncode == 2
    assert "refusing to listen on 0.0.0.0 without VMA_INTAKE_TOKENS" in refused.stderr
    assert "--allow-open-intake" in refused.stderr
    assert time.monotonic() - started < 15
    _count({"serve_open_bind": 1})

    weak = _serve(["--host", "0.0.0.0", "--port", "1"], {"VMA_INTAKE_TOKENS": "epic:tooshort-1"})
    assert weak.returncode == 2 and "VMA_INTAKE_TOKENS" in weak.stderr and "tooshort-1" not in weak.stderr
    _count({"serve_weak_token": 1})


def test_which_binds_are_allowed():
    from vma.cli import build_parser
    from vma.config import Settings
    from vma.web import bind_refusal, is_loopback

    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.5", "vma.example.org", ""))
    open_settings, closed = Settings(), Settings(vma_intake_tokens=TOKENS)
    assert bind_refusal(open_settings, "127.0.0.1") is None
    assert bind_refusal(open_settings, "0.0.0.0") is not None
    assert bind_refusal(open_settings, "0.0.0.0", allow_open_intake=True) is None
    assert bind_refusal(closed, "0.0.0.0") is None


def test_serve_on_all_interfaces_with_tokens_asks_them(tmp_path):
    """The real process on 0.0.0.0 with VMA_INTAKE_TOKENS: it starts, and a tokenless post is a 401."""
    from tests.crash.harness import free_port, vma_executable

    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "VMA_DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}",
           "SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-x", "SLACK_API_URL": "http://127.0.0.1:9/",
           "VMA_INTAKE_TOKENS": TOKENS}
    server = subprocess.Popen([vma_executable(), "serve", "--host", "0.0.0.0", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from vma.integrations.slack.standin import wait_until

        def up():
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=30, interval=0.1, what="vma serve did not start on 0.0.0.0 with tokens")
        response = httpx.post(f"http://127.0.0.1:{port}/charts", content=demo_chart("ENC-D2001"), timeout=5)
        assert response.status_code == 401
        _count({"missing_token": 1})
        ok = httpx.post(f"http://127.0.0.1:{port}/charts", content=demo_chart("ENC-D2001"), timeout=5,
                        headers={"Authorization": f"Bearer {LAB_TOKEN}"})
        assert ok.status_code == 202
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_refusals_counted(guarded):
    # The figures of the report: what the guarded app refused, by reason, across this module's tests.
    _post(guarded, "/charts", b"{}")
    guard = guarded.served.server.config.app.state.intake_guard
    assert guard.refused["missing_token"] == 1
    totals = dict(REFUSED)
    for reason, n in guard.refused.items():
        totals[reason] = totals.get(reason, 0) + n
    print(f"\nintake refusals by reason (this module): {dict(sorted(totals.items()))}", file=sys.stderr)
