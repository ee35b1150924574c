"""Access control through the real app: who may answer a query, who may see a chart.

Every request is a signed Slack request over HTTP; every refusal is checked on
both sides: what the person saw (an ephemeral refusal naming nothing of the
chart) and what the database says (the query still open, nothing posted).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time

import pytest

from vma.integrations.slack.standin import find_element

from tests.security.conftest import (ADMIN, CHEN, CHIEF, CODER, CODERS, EVERYONE, LOPEZ, SCRIBE, SIGNING_SECRET,
                                     STRANGER, demo_chart)


def _left_knee_button(dm):
    return find_element(dm.blocks, lambda e: e.get("type") == "button" and "left knee" in e["text"]["text"])


def _coder_posts(stack, chart_id):
    return [m for m in stack.slack.messages_in(CODERS) if chart_id in (m.text or "")]


@pytest.mark.parametrize("intruder", [STRANGER, CHEN, CODER, CHIEF, ADMIN], ids=["stranger", "other-provider",
                                                                                  "coder", "manager", "admin"])
def test_only_the_addressed_provider_or_a_delegate_answers(secure, intruder):
    assert secure.post_chart(demo_chart("ENC-D2002")).status_code == 202
    dm = secure.dm_of(LOPEZ)
    left = _left_knee_button(dm)

    assert secure.sender.click(intruder, dm.channel, dm.ts, left).status_code == 200
    refusal = secure.slack.wait_for(lambda: secure.slack.ephemeral_for(intruder))
    assert "Only the provider" in refusal[0].text
    shown = json.dumps([refusal[0].text, refusal[0].blocks])
    assert "M25.5" not in shown and "knee" not in shown.lower()  # nothing of the chart in the refusal
    assert secure.slack.wait_for(lambda: secure.audit("answer_refused"))[-1].actor == intruder
    [query] = secure.queries("ENC-D2002")
    assert query.status == "open" and query.answered_by is None and query.answer_json is None
    assert _coder_posts(secure, "ENC-D2002") == []
    assert secure.slack.message(dm.channel, dm.ts).updates == 0  # the DM still shows the buttons

    # the provider's delegate answers for her
    assert secure.sender.click(SCRIBE, dm.channel, dm.ts, left).status_code == 200
    secure.slack.wait_for(lambda: _coder_posts(secure, "ENC-D2002"))
    [query] = secure.queries("ENC-D2002")
    assert query.status == "answered" and query.answered_by == SCRIBE
    assert [e.actor for e in secure.audit("answer")] == [SCRIBE]


def test_a_stranger_cannot_answer_through_the_other_modal_either(secure):
    secure.post_chart(demo_chart("ENC-D2002"))
    dm = secure.dm_of(LOPEZ)
    other = find_element(dm.blocks, lambda e: e.get("action_id", "").startswith("vma_other_"))
    secure.sender.click(STRANGER, dm.channel, dm.ts, other)
    secure.slack.wait_for(lambda: secure.slack.ephemeral_for(STRANGER))
    assert [v for v in secure.slack.views if v.get("callback_id") == "vma_other"] == []  # no modal for him

    # a forged modal submission with the query's metadata is refused as well
    query_id, option = other["value"].split(":")
    forged = {"type": "modal", "callback_id": "vma_other", "private_metadata": f"{query_id}:{option}:{dm.channel}",
              "id": "V0FORGED1", "blocks": []}
    assert secure.sender.submit_view(STRANGER, forged, {"vma_other_text": {"text": "left"}}).status_code == 200
    secure.slack.wait_for(lambda: len(secure.audit("answer_refused")) >= 2)
    [query] = secure.queries("ENC-D2002")
    assert query.status == "open" and query.answered_by is None


def _checkchart(stack, user, chart_id):
    response = stack.sender.slash(user, "/checkchart", chart_id)
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("role", ["provider", "delegate", "coder", "manager", "admin"])
def test_checkchart_shows_the_chart_to_those_allowed(secure, role):
    secure.post_chart(demo_chart("ENC-D2002"))
    secure.dm_of(LOPEZ)
    body = _checkchart(secure, EVERYONE[role], "ENC-D2002")
    text = json.dumps(body)
    assert body["response_type"] == "ephemeral"
    assert "ENC-D2002" in text and "M25.569" in text and "laterality" in text


@pytest.mark.parametrize("role", ["stranger", "other_provider"])
def test_checkchart_refuses_everyone_else_and_shows_nothing(secure, role):
    secure.post_chart(demo_chart("ENC-D2002"))
    secure.dm_of(LOPEZ)
    user = EVERYONE[role]
    body = _checkchart(secure, user, "ENC-D2002")
    text = json.dumps(body)
    assert "not available" in body["text"]
    for leak in ("M25.5", "laterality", "***0023", "2026-", "Lopez", "knee"):
        assert leak not in text, leak
    # the same answer whether the chart exists or not: no way to probe for chart IDs
    missing = _checkchart(secure, user, "ENC-NOPE1")
    assert missing["text"].replace("ENC-NOPE1", "X") == body["text"].replace("ENC-D2002", "X")
    assert {e.actor for e in secure.audit("checkchart_refused")} == {user}
    time.sleep(0.2)  # nothing reaches the person later either (no response_url follow-up)
    assert not any("M25.5" in json.dumps(r) for r in secure.slack.responses)


def test_a_provider_cannot_checkchart_another_providers_chart_but_sees_their_own(secure):
    secure.post_chart(demo_chart("ENC-D2003"))  # Sam Chen's chart
    secure.dm_of(CHEN)
    assert "not available" in _checkchart(secure, LOPEZ, "ENC-D2003")["text"]
    assert "S93.402" in json.dumps(_checkchart(secure, CHEN, "ENC-D2003"))
    assert "not available" in _checkchart(secure, SCRIBE, "ENC-D2003")["text"]  # Lopez's delegate, not Chen's


def _home(stack, user):
    before = stack.slack.published.get(user)
    assert stack.sender.event({"type": "app_home_opened", "user": user, "channel": "D" + user[1:],
                               "tab": "home"}).status_code == 200
    return stack.slack.wait_for(lambda: stack.slack.published.get(user) is not before
                                and stack.slack.published.get(user))


def test_app_home_shows_a_provider_only_their_own_queries(secure):
    secure.post_chart(demo_chart("ENC-D2002"))  # Lopez
    secure.post_chart(demo_chart("ENC-D2003"))  # Chen
    secure.dm_of(LOPEZ), secure.dm_of(CHEN)
    lopez_ids = {str(q.id) for q in secure.queries("ENC-D2002")}
    chen_ids = {str(q.id) for q in secure.queries("ENC-D2003")}

    def answer_query_ids(view):
        return {e["value"].split(":")[0] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
                if ":" in e.get("value", "")} | {o["value"].split(":")[0] for b in view["blocks"]
                                                  if b["type"] == "actions" for e in b["elements"]
                                                  for o in e.get("options", [])}

    lopez = _home(secure, LOPEZ)
    assert answer_query_ids(lopez) == lopez_ids and "ENC-D2003" not in json.dumps(lopez)
    chen = _home(secure, CHEN)
    assert answer_query_ids(chen) == chen_ids and "ENC-D2002" not in json.dumps(chen)
    scribe = _home(secure, SCRIBE)  # the delegate answers for Lopez only
    assert answer_query_ids(scribe) == lopez_ids and "ENC-D2003" not in json.dumps(scribe)
    stranger = _home(secure, STRANGER)
    assert answer_query_ids(stranger) == set()
    assert "ENC-D2002" not in json.dumps(stranger) and "ENC-D2003" not in json.dumps(stranger)
    coder = _home(secure, CODER)  # coders see the charts waiting, but answer nothing
    assert answer_query_ids(coder) == set() and "ENC-D2002" in json.dumps(coder)


def test_serve_refuses_to_start_without_a_signing_secret(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "VMA_"))}
    env.update(VMA_DATABASE_URL=f"sqlite:///{tmp_path / 'vma.db'}", SLACK_BOT_TOKEN="xoxb-x")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "vma.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "SLACK_SIGNING_SECRET" in done.stdout + done.stderr
    assert time.monotonic() - started < 60
    # an empty secret is no secret
    env["SLACK_SIGNING_SECRET"] = ""
    done = subprocess.run([sys.executable, "-m", "vma.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "SLACK_SIGNING_SECRET" in done.stdout + done.stderr


def test_the_app_cannot_be_built_unsigned(tmp_path):
    from vma.config import Settings
    from vma.integrations.slack.app import build_app
    from vma.web import create_app

    settings = Settings(slack_bot_token="xoxb-x", slack_signing_secret=None,
                        vma_database_url=f"sqlite:///{tmp_path / 'v.db'}")
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        create_app(settings)
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        build_app(object(), settings, None)


def _signed(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    # by hand: slack_sdk's own signer refuses an empty secret
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}


def test_requests_signed_with_an_empty_or_other_secret_are_refused(secure):
    body = b"command=%2Fcheckchart&text=ENC-D2002&user_id=U0CODER01"
    for secret in ("", "e2e-signing-secret", SCRIBE):
        response = secure.http.post(secure.url + "/slack/events", content=body,
                                    headers=_signed(body, secret, int(time.time())))
        assert response.status_code == 401, secret
    good = secure.http.post(secure.url + "/slack/events", content=body,
                            headers=_signed(body, SIGNING_SECRET, int(time.time())))
    assert good.status_code == 200 and "No chart ENC-D2002" in good.json()["text"]
    # only the verified request reached the service
    assert [e.actor for e in secure.audit() if e.action.startswith("checkchart")] == [CODER]
