"""Slack's 429s, 5xx answers and timeouts through the real SlackNotifier: retried with back-off, never dropped, never doubled."""

from __future__ import annotations

import pytest

from tests.crash.harness import SlowSlack
from tests.shared import KNEE_NOTE, Clock, chart, make_settings, raw

CODERS = "C_CODERS"


class Loop:
    def __init__(self, tmp_path, database_url, ref, slack):
        from vma.conversations.service import ChartService
        from vma.directory import Directory
        from vma.integrations.slack.notifier import SlackNotifier, web_client
        from vma.store.db import Store

        self.slack = slack
        self.settings = make_settings(tmp_path, database_url, slack_api_url=slack.api_url, slack_bot_token="xoxb-retry",
                                      vma_coder_channel=CODERS)
        self.store = Store(database_url)
        self.store.migrate()
        self.clock = Clock()
        # a short timeout and back-off keep the test quick; production uses 10 s and 0.5 s
        notifier = SlackNotifier(web_client(self.settings, timeout=1, backoff=0.05), self.settings)
        self.service = ChartService(self.store, notifier, self.settings,
                                    Directory.load(self.settings.vma_provider_directory), ref=ref, clock=self.clock)

    def submit(self, data):
        result = self.service.intake(raw(data), "test")
        assert result.outcome == "stored"
        self.service.process(result.record_id)
        return result

    def posts(self, channel):
        return [m for m in self.slack.messages_in(channel)]

    def unsent(self):
        from sqlalchemy import select

        from vma.store.models import OutboundMessage

        with self.store.session() as session:
            return session.execute(select(OutboundMessage.idem_key).where(OutboundMessage.state != "sent")).scalars().all()


@pytest.fixture
def loop(tmp_path, database_url, ref):
    with SlowSlack(users={"mlopez@example.org": "U_LOPEZ"}) as slack:
        world = Loop(tmp_path, database_url, ref, slack)
        yield world
        world.store.dispose()
        assert slack.violations == []


def clean_chart(chart_id):
    return chart(chart_id, note=KNEE_NOTE.replace("Knee pain.", "Left knee pain.").replace(
        "1. Knee pain.", "1. Left knee pain."), codes=("M25.562",))


def test_rate_limits_are_waited_out_and_the_message_goes_once(loop):
    loop.slack.fail_next("chat.postMessage", status=429, times=2, retry_after=1)
    loop.submit(clean_chart("ENC-RT-1"))
    assert len(loop.posts(CODERS)) == 1
    assert [c.error for c in loop.slack.calls_to("chat.postMessage")] == ["injected 429", "injected 429", None]
    assert loop.unsent() == []


def test_server_errors_are_retried_with_back_off(loop):
    loop.slack.fail_next("chat.postMessage", status=500, times=3)
    loop.submit(clean_chart("ENC-RT-2"))
    assert len(loop.posts(CODERS)) == 1
    assert loop.unsent() == []


def test_an_outage_longer_than_the_retries_keeps_the_message_pending_until_slack_is_back(loop):
    loop.slack.fail_next("chat.postMessage", status=503, times=12)
    loop.submit(clean_chart("ENC-RT-3"))
    assert loop.posts(CODERS) == []
    assert loop.unsent() == ["cleared:1"]
    while loop.slack._faults.get("chat.postMessage"):
        loop.service.process_pending()  # the scheduler's tick, until Slack answers again
    loop.service.process_pending()
    assert len(loop.posts(CODERS)) == 1
    assert loop.unsent() == []
    loop.service.process_pending()
    assert len(loop.posts(CODERS)) == 1


def test_a_timeout_before_slack_took_the_message_sends_it_on_the_next_tick(loop):
    loop.slack.stall_next("chat.postMessage", 1.5, deliver=False)
    loop.submit(clean_chart("ENC-RT-4"))
    assert loop.posts(CODERS) == []
    loop.service.process_pending()
    assert len(loop.posts(CODERS)) == 1
    assert loop.unsent() == []


def test_a_timeout_after_slack_took_the_message_does_not_post_it_twice(loop):
    loop.slack.stall_next("chat.postMessage", 1.5, deliver=True)
    loop.submit(clean_chart("ENC-RT-5"))
    loop.slack.wait_for(lambda: loop.posts(CODERS), timeout=5)  # Slack has it; vma gave up waiting
    loop.service.process_pending()
    assert len(loop.posts(CODERS)) == 1
    assert loop.unsent() == []


def test_a_query_dm_slack_took_during_a_timeout_is_not_sent_twice(loop):
    loop.slack.stall_next("chat.postMessage", 1.5, deliver=True)
    loop.submit(chart("ENC-RT-6", note=KNEE_NOTE, codes=("M25.569",)))
    dm = loop.slack.dm_channel("U_LOPEZ")
    loop.slack.wait_for(lambda: loop.posts(dm), timeout=5)
    loop.service.process_pending()
    assert len(loop.posts(dm)) == 1
    assert loop.unsent() == []
