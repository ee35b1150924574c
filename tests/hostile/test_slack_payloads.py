"""Hostile Slack requests, correctly signed, into the running app: random and mutated
block_actions, view_submission, slash commands and events.

The app must never answer 5xx, never record an answer for anyone but the query's
provider or their delegate, and its handlers must never fail on the input (a bolt
listener error is logged, not returned, so the log is read too).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.security.conftest import (ADMIN, CHEN, CHIEF, CODER, LOPEZ, SCRIBE, SIGNING_SECRET, STRANGER,  # noqa: F401
                                     demo_chart, secure, slack_standin)
from vma.integrations.slack.standin import APP_ID, TEAM_ID

ALLOWED = {"ENC-D2002": {LOPEZ, SCRIBE}, "ENC-D2003": {CHEN}}
TRIED = {"answers": 0, "mutated": 0}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**63) | st.floats(allow_nan=True)
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=10,
)
user_ids = st.sampled_from([STRANGER, CHEN, LOPEZ, SCRIBE, CODER, CHIEF, ADMIN, "", "U", "W0LOPEZ01",
                            LOPEZ.lower(), LOPEZ + " "]) | st.text(max_size=20)


@pytest.fixture
def loop(secure):
    """Two charts with open queries, one DM each."""
    secure.post_chart(demo_chart("ENC-D2002"))
    secure.post_chart(demo_chart("ENC-D2003"))
    dms = {"ENC-D2002": secure.dm_of(LOPEZ), "ENC-D2003": secure.dm_of(CHEN)}
    queries = {q.id: (chart, len(q.choices)) for chart in dms for q in secure.queries(chart)}
    return secure, dms, queries


def _quiet(stack, settle: float = 0.6, timeout: float = 30.0) -> None:
    """Waits until the handlers bolt runs after ack() have finished (no new Slack call for a while)."""
    deadline = time.monotonic() + timeout
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(stack.slack.calls) + len(stack.audit())
        if count != seen:
            seen, since = count, time.monotonic()
        elif time.monotonic() - since > settle:
            return
        time.sleep(0.05)


def _listener_failures(caplog) -> list[str]:
    """Errors of our handlers on the input; a Slack API refusal of a bogus channel is Slack's answer, not ours."""
    from slack_sdk.errors import SlackApiError

    failures = []
    for record in caplog.records:
        if record.levelno < logging.ERROR or not record.name.startswith(("slack_bolt", "vma")):
            continue
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, SlackApiError):
            continue
        failures.append(f"{record.name}: {record.getMessage()[:300]}")
    return failures


def _click_payload(user: str, channel: str, ts: str, action: dict) -> dict:
    return {
        "type": "block_actions", "api_app_id": APP_ID, "token": "legacy-unused",
        "team": {"id": TEAM_ID, "domain": "standin"}, "user": {"id": user, "team_id": TEAM_ID},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": "directmessage"}, "message": {"type": "message", "ts": ts},
        "trigger_id": "1.2.standin", "response_url": "http://127.0.0.1:9/response", "actions": [action],
    }


def test_answers_by_anyone_else_are_never_recorded(loop, caplog):
    stack, dms, queries = loop
    query_ids = sorted(queries)

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(user=user_ids, query=st.sampled_from(query_ids) | st.integers(-5, 10**13),
           option=st.integers(-3, 12), kind=st.sampled_from(["button", "select", "other"]),
           chart=st.sampled_from(sorted(dms)))
    def click(user, query, option, kind, chart):
        TRIED["answers"] += 1
        dm = dms[chart]
        value = f"{query}:{option}"
        if kind == "select":
            action = {"type": "static_select", "action_id": f"vma_answer_select_{query}", "block_id": "b",
                      "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": value},
                      "action_ts": "1.0"}
        else:
            prefix = "vma_other" if kind == "other" else "vma_answer"
            action = {"type": "button", "action_id": f"{prefix}_{query}_{option}", "block_id": "b", "value": value,
                      "text": {"type": "plain_text", "text": "x"}, "action_ts": "1.0"}
        response = stack.sender.interaction(_click_payload(user, dm.channel, dm.ts, action))
        # 404: bolt's answer to a request no listener takes (a click without a user)
        assert response.status_code in (200, 404), response.text

    click()
    assert TRIED["answers"] >= 150, TRIED  # the property saw its inputs, not a handful
    _quiet(stack)
    for chart in dms:
        for query in stack.queries(chart):
            if query.status == "answered":
                assert query.answered_by in ALLOWED[chart], (chart, query.id, query.answered_by)
    for event in stack.audit("answer"):
        assert event.actor in ALLOWED[event.chart_id], (event.chart_id, event.actor)
    assert stack.audit("answer_refused"), "no wrong-user click reached the service"
    assert _listener_failures(caplog) == []


def post_signed(stack, body: bytes, content_type: str, timestamp: int | None = None, secret: str = SIGNING_SECRET):
    """Signs the raw bytes as Slack does (slack_sdk's signer only takes UTF-8 bodies)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return stack.http.post(stack.url + "/slack/events", content=body, headers={
        "Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"})


def _flatten(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _flatten(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _flatten(child, path + (index,))


def _mutate(document, path, op, new):
    if not path:
        return new if op != "delete" else {}
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if op == "delete":
        del parent[path[-1]]
    elif op == "huge" :
        parent[path[-1]] = "x" * 40_000
    else:
        parent[path[-1]] = new
    return document


def _templates(dms, query_ids):
    dm = dms["ENC-D2002"]
    qid = query_ids[0]
    click = _click_payload(LOPEZ, dm.channel, dm.ts, {"type": "button", "action_id": f"vma_answer_{qid}_1",
                                                     "block_id": "b", "value": f"{qid}:1", "action_ts": "1.0",
                                                     "text": {"type": "plain_text", "text": "x"}})
    base_view = {"type": "view_submission", "api_app_id": APP_ID, "team": {"id": TEAM_ID},
                 "user": {"id": LOPEZ, "team_id": TEAM_ID}, "trigger_id": "1.2.standin"}
    other = {**base_view, "view": {"id": "V1", "type": "modal", "callback_id": "vma_other", "team_id": TEAM_ID,
                                   "private_metadata": f"{qid}:3:{dm.channel}",
                                   "state": {"values": {"vma_other_text": {"text": {"type": "plain_text_input",
                                                                                    "value": "left"}}}}}}
    adhoc = {**base_view, "view": {"id": "V2", "type": "modal", "callback_id": "vma_checkchart", "team_id": TEAM_ID,
                                   "state": {"values": {"vma_note": {"note": {"type": "plain_text_input",
                                                                              "value": "Knee pain."}},
                                                        "vma_codes": {"codes": {"type": "plain_text_input",
                                                                                "value": "M25.569, 99213"}}}}}}
    slash = {"token": "legacy-unused", "team_id": TEAM_ID, "channel_id": "C0CODERS1", "user_id": CODER,
             "command": "/checkchart", "text": "ENC-D2002", "api_app_id": APP_ID,
             "response_url": "http://127.0.0.1:9/response", "trigger_id": "1.2.standin"}
    event = {"token": "legacy-unused", "team_id": TEAM_ID, "api_app_id": APP_ID, "type": "event_callback",
             "event": {"type": "app_home_opened", "user": LOPEZ, "channel": "D0LOPEZ01", "tab": "home",
                       "event_ts": "1.0"}, "event_id": "Ev1", "event_time": 1,
             "authorizations": [{"team_id": TEAM_ID, "user_id": "UVMABOT01", "is_bot": True}]}
    return {"click": ("payload", click), "other": ("payload", other), "adhoc": ("payload", adhoc),
            "slash": ("form", slash), "event": ("json", event)}


def test_mutated_payloads_never_get_a_5xx_nor_break_a_handler(loop, caplog):
    stack, dms, queries = loop
    templates = _templates(dms, sorted(queries))

    @settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(sorted(templates)), data=st.data(),
           op=st.sampled_from(["replace", "delete", "huge", "replace"]), new=json_values,
           garbage=st.none() | st.binary(max_size=300))
    def send(name, data, op, new, garbage):
        TRIED["mutated"] += 1
        encoding, template = templates[name]
        document = json.loads(json.dumps(template))
        paths = list(_flatten(document))
        path = data.draw(st.sampled_from(paths))
        document = _mutate(document, path, op, new)
        if garbage is not None:
            body, content_type = garbage, data.draw(st.sampled_from(["application/x-www-form-urlencoded",
                                                                      "application/json", "text/plain"]))
        elif encoding == "payload":
            body = urllib.parse.urlencode({"payload": json.dumps(document)}).encode()
            content_type = "application/x-www-form-urlencoded"
        elif encoding == "form":
            form = document if isinstance(document, dict) else {"text": document}
            body = urllib.parse.urlencode({str(k): v if isinstance(v, str) else json.dumps(v)
                                           for k, v in form.items()}).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            body, content_type = json.dumps(document).encode(), "application/json"
        response = post_signed(stack, body, content_type)
        assert response.status_code < 500, (name, path, op, response.status_code, response.text[:200])
        assert response.status_code != 401

    send()
    assert TRIED["mutated"] >= 300, TRIED
    _quiet(stack)
    for chart in dms:
        for query in stack.queries(chart):
            if query.status == "answered":
                assert query.answered_by in ALLOWED[chart]
    assert _listener_failures(caplog) == []
