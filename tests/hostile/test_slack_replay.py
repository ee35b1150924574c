"""Replayed and skewed Slack requests: a signature older (or newer) than five minutes is refused with 401,
before anything reads the body; a replay inside the window changes nothing."""

from __future__ import annotations

import time
import urllib.parse

import pytest

from tests.hostile.test_slack_payloads import post_signed
from tests.security.conftest import CODER, LOPEZ, SIGNING_SECRET, demo_chart, secure, slack_standin  # noqa: F401
from vma.integrations.slack.standin import find_element
from vma.integrations.slack.verify import SIGNATURE_MAX_AGE, slack_signature_ok

SLASH = urllib.parse.urlencode({"command": "/checkchart", "text": "ENC-D2002", "user_id": CODER,
                                "team_id": "T0VMA0001", "channel_id": "C0CODERS1", "trigger_id": "1.2.x",
                                "response_url": "http://127.0.0.1:9/r"}).encode()
FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("offset", [-SIGNATURE_MAX_AGE - 1, -3600, -86400 * 365, SIGNATURE_MAX_AGE + 1, 7200])
def test_a_signature_more_than_five_minutes_off_is_401(secure, offset):
    response = post_signed(secure, SLASH, FORM, timestamp=int(time.time()) + offset)
    assert response.status_code == 401
    assert [e for e in secure.audit() if e.action.startswith("checkchart")] == []


@pytest.mark.parametrize("offset", [0, -240, 240])
def test_a_signature_inside_the_window_is_taken(secure, offset):
    response = post_signed(secure, SLASH, FORM, timestamp=int(time.time()) + offset)
    assert response.status_code == 200


@pytest.mark.parametrize("headers", [
    {},
    {"X-Slack-Request-Timestamp": "not-a-number", "X-Slack-Signature": "v0=00"},
    {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""},
    {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v1=abc"},
    {"X-Slack-Request-Timestamp": "1e10", "X-Slack-Signature": "v0=" + "0" * 64},
    {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=" + "0" * 64},
    {"X-Slack-Request-Timestamp": "\u00b2".encode("latin-1"), "X-Slack-Signature": "v0=" + "0" * 64},
])
def test_missing_or_garbled_signature_headers_are_401(secure, headers):
    response = secure.http.post(secure.url + "/slack/events", content=b"\xff\xfe not utf-8 \x00",
                                headers={"Content-Type": FORM, **headers})
    assert response.status_code == 401


def test_a_signature_over_another_body_is_401(secure):
    ts = int(time.time())
    good = post_signed(secure, SLASH, FORM, timestamp=ts)
    assert good.status_code == 200
    signature = good.request.headers["X-Slack-Signature"]
    tampered = SLASH.replace(CODER.encode(), b"U0STRANGE")
    response = secure.http.post(secure.url + "/slack/events", content=tampered, headers={
        "Content-Type": FORM, "X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": signature})
    assert response.status_code == 401


def test_a_click_replayed_in_the_window_answers_once_and_after_it_is_refused(secure):
    secure.post_chart(demo_chart("ENC-D2002"))
    dm = secure.dm_of(LOPEZ)
    left = find_element(dm.blocks, lambda e: e.get("type") == "button" and "left knee" in e["text"]["text"])
    first = secure.sender.click(LOPEZ, dm.channel, dm.ts, left)
    assert first.status_code == 200
    body, headers = first.request.content, dict(first.request.headers)
    replay = secure.http.post(secure.url + "/slack/events", content=body, headers=headers)
    assert replay.status_code == 200  # inside five minutes Slack's scheme cannot tell; the answer is idempotent
    secure.coder_post("ENC-D2002")
    secure.slack.wait_for(lambda: secure.slack.ephemeral_for(LOPEZ))  # "already answered"
    assert len(secure.audit("answer")) == 1
    assert len([m for m in secure.slack.messages_in("C0CODERS1") if "ENC-D2002" in (m.text or "")]) == 1

    old = int(time.time()) - SIGNATURE_MAX_AGE - 5  # the same click, captured and sent again later
    stale = post_signed(secure, body, headers["content-type"], timestamp=old)
    assert stale.status_code == 401


def test_signature_check_boundaries():
    body, now = b"payload=%7B%7D", 1_800_000_000.0
    import hashlib
    import hmac

    def sign(ts):
        return "v0=" + hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()

    for offset, ok in [(0, True), (-300, True), (300, True), (-301, False), (301, False)]:
        ts = str(int(now) + offset)
        assert slack_signature_ok(SIGNING_SECRET, body, ts, sign(ts), now=now) is ok, offset
    ts = str(int(now))
    assert not slack_signature_ok("", body, ts, sign(ts), now=now)
    assert not slack_signature_ok(SIGNING_SECRET, body + b"x", ts, sign(ts), now=now)
    assert not slack_signature_ok(SIGNING_SECRET, body, ts, sign(ts).upper(), now=now)
    assert not slack_signature_ok(SIGNING_SECRET, body, ts, "v0=\u00e9\u00e9", now=now)


def test_answer_values_parse_strictly():
    from vma.integrations.slack.app import MAX_ROW_ID, parse_value

    assert parse_value("12:3") == (12, 3) and parse_value(" 12:3 ") == (12, 3)
    assert parse_value(f"{MAX_ROW_ID}:0") == (MAX_ROW_ID, 0)
    for bad in (None, "", "12", "12:", ":3", "-1:0", "1:-1", "1:2:3", "1e3:0", f"{MAX_ROW_ID + 1}:0",
                "9" * 13 + ":0", "1:99999", "١:٠"):
        assert parse_value(bad) is None, bad
