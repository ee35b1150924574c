"""Secrets never reach the logs: every record of a full flow, and of failing Slack calls, at DEBUG."""

from __future__ import annotations

import logging
import time

import pytest

from vma.integrations.slack.standin import find_element

from tests.security.conftest import BOT_TOKEN, CODER, CODERS, LOPEZ, MANAGERS, SIGNING_SECRET, STRANGER, demo_chart


def _everything_logged(caplog) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        parts.append(repr(record.__dict__))
    return "\n".join(parts)


def _assert_no_secrets(caplog):
    logged = _everything_logged(caplog)
    assert len(caplog.records) > 0
    for secret in (BOT_TOKEN, SIGNING_SECRET, BOT_TOKEN.split("-", 1)[1], SIGNING_SECRET[7:]):
        assert secret not in logged, f"{secret!r} appears in the logs"


def test_no_secret_in_the_logs_of_a_full_flow(secure, caplog):
    caplog.set_level(logging.DEBUG)
    assert secure.post_chart(demo_chart("ENC-D2002")).status_code == 202
    dm = secure.dm_of(LOPEZ)
    left = find_element(dm.blocks, lambda e: e.get("type") == "button" and "left knee" in e["text"]["text"])
    secure.sender.click(STRANGER, dm.channel, dm.ts, left)
    secure.slack.wait_for(lambda: secure.slack.ephemeral_for(STRANGER))
    secure.sender.click(LOPEZ, dm.channel, dm.ts, left)
    secure.coder_post("ENC-D2002")
    secure.post_chart(demo_chart("ENC-D2005"))  # unroutable: held for the managers
    secure.slack.wait_for(lambda: secure.slack.messages_in(MANAGERS))
    assert secure.sender.slash(CODER, "/checkchart", "ENC-D2002").status_code == 200
    secure.sender.event({"type": "app_home_opened", "user": LOPEZ, "channel": "D0LOPEZ01", "tab": "home"})
    secure.slack.wait_for(lambda: secure.slack.published.get(LOPEZ))
    assert secure.sender.slash(CODER, "/checkchart", "x", secret="not-the-secret").status_code == 401
    time.sleep(0.3)
    assert any(r.name.startswith("slack_sdk") for r in caplog.records), "slack_sdk debug logging was not captured"
    _assert_no_secrets(caplog)


@pytest.mark.parametrize("status", [500, 429])
def test_no_secret_in_the_logs_of_a_failing_slack_call(secure, caplog, status):
    caplog.set_level(logging.DEBUG)
    secure.slack.fail_next("chat.postMessage", status=status, times=30, retry_after=0)
    secure.post_chart(demo_chart("ENC-D2001"))  # clean: straight to the coders, which fails
    secure.slack.wait_for(lambda: len([c for c in secure.slack.calls_to("chat.postMessage") if not c.ok]) >= 4,
                          timeout=30)
    secure.slack.wait_for(lambda: any(r.levelno >= logging.WARNING for r in caplog.records), timeout=30)
    _assert_no_secrets(caplog)
    assert [m for m in secure.slack.messages_in(CODERS)] == []


def test_no_secret_in_the_logs_when_slack_is_unreachable(tmp_path, caplog):
    from vma.config import Settings
    from vma.integrations.slack.notifier import SlackNotifier, web_client

    caplog.set_level(logging.DEBUG)
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url="http://127.0.0.1:9/api/")
    notifier = SlackNotifier(web_client(settings, timeout=1, backoff=0.01), settings)
    with pytest.raises(Exception):
        notifier.resolve_user("someone@example.org")
    logging.getLogger("vma.test").exception("Slack call failed")
    _assert_no_secrets(caplog)
