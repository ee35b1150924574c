"""The whole loop through real HTTP: signed Slack requests into the app served by uvicorn,
every Web API call into the recording stand-in."""

from __future__ import annotations

import json
import time

from vma.integrations.slack.standin import find_element

from tests.e2e.conftest import CHEN, CODER, CODERS, LOPEZ, MANAGERS, STRANGER, demo_chart


def _button(message, label_start: str):
    return find_element(message.blocks, lambda e: e.get("type") == "button"
                        and e["text"]["text"].startswith(label_start))


def test_healthz(stack):
    assert stack.http.get(stack.url + "/healthz").json() == {"status": "ok"}


def test_bad_or_missing_signature_is_401(stack):
    body = b"command=%2Fcheckchart&text=ENC-D2001&user_id=U0CODER01"
    assert stack.sender.post(body, "application/x-www-form-urlencoded", secret="wrong-secret").status_code == 401
    stale = int(time.time()) - 3600
    assert stack.sender.post(body, "application/x-www-form-urlencoded", timestamp=stale).status_code == 401
    unsigned = stack.http.post(stack.url + "/slack/events", content=body,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned.status_code == 401
    assert stack.slack.calls_to("chat.postEphemeral") == []


def test_query_dm_wrong_user_refused_provider_answer_clears_with_corrected_code(stack):
    response = stack.post_chart(demo_chart("ENC-D2002"))
    assert response.status_code == 202
    assert response.json()["chart_id"] == "ENC-D2002"
    dm = stack.dm_of(LOPEZ)
    assert stack.slack.calls_to("conversations.open")[0].params["users"] == LOPEZ
    labels = [e["text"]["text"] for b in dm.blocks if b["type"] == "actions" for e in b["elements"]]
    assert "Pain in left knee (M25.562)" in labels and "Other" in labels and "Clinically undetermined" in labels
    assert "MRN-D20023" not in json.dumps(dm.blocks)  # minimal PHI: masked MRN only

    left = _button(dm, "Pain in left knee")
    assert stack.sender.click(STRANGER, dm.channel, dm.ts, left).status_code == 200
    refusal = stack.slack.wait_for(lambda: stack.slack.ephemeral_for(STRANGER))
    assert "Only the provider" in refusal[0].text
    assert [m for m in stack.slack.messages_in(CODERS) if "ENC-D2002" in (m.text or "")] == []

    assert stack.sender.click(LOPEZ, dm.channel, dm.ts, left).status_code == 200
    posted = stack.coder_post("ENC-D2002")
    text = json.dumps(posted.blocks)
    assert "`M25.562` Pain in left knee" in text
    assert "M25.569" in text  # what changed: from the proposed code
    updated = stack.slack.message(dm.channel, dm.ts)
    assert updated.updates >= 1
    assert "Answered by <@U0LOPEZ01>" in json.dumps(updated.blocks)
    assert not any(b["type"] == "actions" for b in updated.blocks)

    # a repeated click is harmless: no second post, a gentle note
    stack.sender.click(LOPEZ, dm.channel, dm.ts, left)
    stack.slack.wait_for(lambda: stack.slack.ephemeral_for(LOPEZ))
    time.sleep(0.3)
    assert len([m for m in stack.slack.messages_in(CODERS) if "ENC-D2002" in (m.text or "")]) == 1


def test_clean_chart_goes_straight_to_the_coders(stack):
    assert stack.post_chart(demo_chart("ENC-D2001")).status_code == 202
    posted = stack.coder_post("ENC-D2001")
    assert "`I10`" in json.dumps(posted.blocks)
    assert stack.slack.calls_to("conversations.open") == []
    # the same document and version again: 200, nothing new sent
    again = stack.post_chart(demo_chart("ENC-D2001"))
    assert again.status_code == 200
    time.sleep(0.3)
    assert len([m for m in stack.slack.messages_in(CODERS) if "ENC-D2001" in (m.text or "")]) == 1


def test_correction_goes_to_the_coders_marked_to_confirm(stack):
    stack.post_chart(demo_chart("ENC-D2004"))
    text = json.dumps(stack.coder_post("ENC-D2004").blocks)
    assert "99213" in text and "coder to confirm" in text


def test_unreachable_provider_is_held_in_the_manager_channel(stack):
    stack.post_chart(demo_chart("ENC-D2005"))
    held = stack.slack.wait_for(lambda: [m for m in stack.slack.messages_in(MANAGERS) if "ENC-D2005" in (m.text or "")])
    assert "could not be delivered" in held[0].text
    assert "MRN-D20052" not in json.dumps(held[0].blocks)


def test_other_answer_through_the_modal_and_select_free_batching(stack):
    stack.post_chart(demo_chart("ENC-D2003"))
    dm = stack.dm_of(CHEN)
    sections = [b for b in dm.blocks if b.get("block_id", "").startswith("vma_q_")]
    assert len(sections) == 2  # one DM for both questions of the chart
    # taken before any click: the message object is updated in place after each answer
    initial = _button(dm, "Sprain of unspecified ligament of left ankle, initial")
    others = [{**e, "block_id": b["block_id"]} for b in dm.blocks if b["type"] == "actions" for e in b["elements"]
              if e["action_id"].startswith("vma_other_")]
    assert len(others) == 2
    stack.sender.click(CHEN, dm.channel, dm.ts, initial)
    stack.sender.click(CHEN, dm.channel, dm.ts, others[1])
    modal = stack.slack.wait_for(lambda: [v for v in stack.slack.views if v.get("callback_id") == "vma_other"])[-1]
    response = stack.sender.submit_view(CHEN, modal, {"vma_other_text": {"text": "Both knees, worse on the left"}})
    assert response.status_code == 200
    text = json.dumps(stack.coder_post("ENC-D2003").blocks)
    assert "S93.402A" in text
    assert "Both knees, worse on the left" in text


def test_checkchart_answers_within_three_seconds(stack):
    stack.post_chart(demo_chart("ENC-D2002"))
    stack.dm_of(LOPEZ)
    started = time.monotonic()
    response = stack.sender.slash(CODER, "/checkchart", "ENC-D2002")
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < 3.0
    body = response.json()
    assert body["response_type"] == "ephemeral"
    text = json.dumps(body)
    assert "ENC-D2002" in text and "M25.569" in text and "laterality" in text

    refused = stack.sender.slash(STRANGER, "/checkchart", "ENC-D2002").json()
    assert "M25.569" not in json.dumps(refused) and "not available" in refused["text"]


def test_checkchart_alone_opens_the_paste_modal_and_checks_without_storing(stack):
    response = stack.sender.slash(CODER, "/checkchart", "")
    assert response.status_code == 200
    modal = stack.slack.wait_for(lambda: [v for v in stack.slack.views if v.get("callback_id") == "vma_checkchart"])[-1]
    result = stack.sender.submit_view(CODER, modal, {
        "vma_note": {"note": "ASSESSMENT AND PLAN\n\nKnee pain. Ice and rest."},
        "vma_codes": {"codes": "M25.569, 99213"}})
    assert result.status_code == 200
    body = result.json()
    assert body["response_action"] == "update"
    assert "laterality" in json.dumps(body["view"])
    stranger = stack.sender.slash(STRANGER, "/checkchart", "")
    assert "directory" in stranger.json()["text"]


def test_app_home_lists_open_queries_with_answer_buttons(stack):
    stack.post_chart(demo_chart("ENC-D2002"))
    stack.dm_of(LOPEZ)
    assert stack.sender.event({"type": "app_home_opened", "user": LOPEZ, "channel": "D0LOPEZ01",
                               "tab": "home"}).status_code == 200
    home = stack.slack.wait_for(lambda: stack.slack.published.get(LOPEZ))
    assert any(e.get("value", "").endswith(":1") for b in home["blocks"] if b["type"] == "actions"
               for e in b["elements"])


def test_intake_errors_never_5xx(stack):
    assert stack.post_chart(b"{not json").status_code == 400
    assert stack.post_chart(b"\xff\xfe\x00bad").status_code == 400
    wrong = stack.post_chart(json.dumps({"chart_id": 5}).encode())
    assert wrong.status_code == 400 and wrong.json()["errors"]
    big = stack.post_chart(b"{" + b" " * (1024 * 1024 + 10) + b"}")
    assert big.status_code == 413
    fhir = stack.post_chart(b"{not json", path="/fhir")
    assert fhir.status_code == 400 and fhir.json()["resourceType"] == "OperationOutcome"


def test_slow_checkchart_acks_at_once_and_answers_through_the_response_url(stack, monkeypatch):
    import vma.integrations.slack.app as slack_app

    # A lookup slower than the inline budget, for sure: with a zero budget alone, a lookup that is
    # already done when the listener asks is answered inline and the late path is never taken.
    lookup = slack_app._checkchart_reply

    def slow_lookup(*args):
        time.sleep(0.2)
        return lookup(*args)

    monkeypatch.setattr(slack_app, "CHECKCHART_INLINE_BUDGET", 0.05)
    monkeypatch.setattr(slack_app, "_checkchart_reply", slow_lookup)
    stack.post_chart(demo_chart("ENC-D2001"))
    stack.coder_post("ENC-D2001")
    started = time.monotonic()
    response = stack.sender.slash(CODER, "/checkchart", "ENC-D2001")
    assert response.status_code == 200 and time.monotonic() - started < 3.0
    later = stack.slack.wait_for(lambda: stack.slack.responses)
    assert "ENC-D2001" in json.dumps(later[-1]) and later[-1]["response_type"] == "ephemeral"
