"""The daily digest through the real SlackNotifier and the Slack stand-in: text first, then the PNG
via files_upload_v2; the text alone when there is no chart to draw."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.shared import OTHER_NPI, add_chart, add_query, make_reminder_settings
from vma.integrations.slack.standin import SlackStandIn

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=NY)  # Wednesday, the digest hour


@pytest.fixture
def slack():
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def world(tmp_path, slack, database_url):
    from vma.directory import Directory
    from vma.integrations.slack.notifier import notifier_from_settings
    from vma.store.db import Store

    settings = make_reminder_settings(tmp_path, database_url, slack_bot_token="xoxb-digest",
                             slack_api_url=slack.api_url)
    store = Store(settings.vma_database_url)
    store.migrate()
    yield settings, store, notifier_from_settings(settings, backoff=0.01), Directory.load(settings.vma_provider_directory)
    store.dispose()


def _open_queries(store, settings):
    with store.session() as session:
        for index, hours_ago in enumerate((2, 30, 80)):
            add_query(session, add_chart(session, f"ENC-G{index}"), settings=settings,
                      sent_at=NOW.astimezone(UTC) - timedelta(hours=hours_ago))
        add_query(session, add_chart(session, "ENC-G9", npi=OTHER_NPI), settings=settings, npi=OTHER_NPI,
                  sent_at=NOW.astimezone(UTC) - timedelta(hours=5))
        session.commit()


def test_digest_posts_the_text_then_uploads_the_png(world, slack):
    from vma.conversations.digest import post_digest_once

    settings, store, notifier, directory = world
    _open_queries(store, settings)
    assert post_digest_once(settings, store, notifier, directory, now=NOW) is True

    methods = [c.method for c in slack.calls]
    assert methods[0] == "chat.postMessage"
    assert methods.index("files.getUploadURLExternal") < methods.index("files.completeUploadExternal")
    text, = slack.messages_in("C_MANAGERS")
    assert "Open queries: 4" in text.text and "ENC-G2" in text.text and "Maria Lopez MD" in text.text
    upload, = slack.files
    assert upload["content"].startswith(b"\x89PNG\r\n\x1a\n") and upload["bytes"] > 1000
    complete, = slack.calls_to("files.completeUploadExternal")
    assert complete.params["channel_id"] == "C_MANAGERS"
    assert [f["id"] for f in complete.params["files"]] == [upload["file_id"]]
    assert slack.violations == []
    # Once a day, whichever worker gets there first.
    assert post_digest_once(settings, store, notifier, directory, now=NOW + timedelta(minutes=3)) is False
    assert len(slack.messages_in("C_MANAGERS")) == 1 and len(slack.files) == 1


def test_nothing_open_posts_the_text_alone(world, slack):
    from vma.conversations.digest import post_digest_once

    settings, store, notifier, directory = world
    assert post_digest_once(settings, store, notifier, directory, now=NOW) is True
    text, = slack.messages_in("C_MANAGERS")
    assert "Open queries: 0" in text.text
    assert slack.files == [] and slack.calls_to("files.getUploadURLExternal") == []


def test_chart_that_cannot_be_drawn_still_posts_the_text(world, slack, monkeypatch):
    from vma.conversations.digest import post_digest_once

    settings, store, notifier, directory = world
    _open_queries(store, settings)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if matplotlib were not installed
    assert post_digest_once(settings, store, notifier, directory, now=NOW) is True
    text, = slack.messages_in("C_MANAGERS")
    assert "Open queries: 4" in text.text
    assert slack.files == []


def test_slack_down_leaves_the_digest_for_the_next_run(world, slack):
    from vma.conversations.digest import post_digest_once

    settings, store, notifier, directory = world
    _open_queries(store, settings)
    slack.fail_next("chat.postMessage", status=500, times=4)  # the first try and its 3 retries
    with pytest.raises(Exception):
        post_digest_once(settings, store, notifier, directory, now=NOW)
    assert slack.messages_in("C_MANAGERS") == []
    assert post_digest_once(settings, store, notifier, directory, now=NOW + timedelta(minutes=1)) is True
    assert len(slack.messages_in("C_MANAGERS")) == 1 and len(slack.files) == 1


def test_a_failed_chart_upload_leaves_the_posted_text_alone(world, slack):
    from vma.conversations.digest import post_digest_once

    settings, store, notifier, directory = world
    _open_queries(store, settings)
    slack.fail_next("files.getUploadURLExternal", status=500, times=4)  # the first try and its 3 retries
    assert post_digest_once(settings, store, notifier, directory, now=NOW) is True
    assert len(slack.messages_in("C_MANAGERS")) == 1 and slack.files == []
    # Posted once: the next run of the day does not repeat the text.
    assert post_digest_once(settings, store, notifier, directory, now=NOW + timedelta(minutes=1)) is False
    assert len(slack.messages_in("C_MANAGERS")) == 1
