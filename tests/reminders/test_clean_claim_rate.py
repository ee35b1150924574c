"""The clean claim rate (README "The query-aging digest"): of the week's chart versions posted to the coders,
the share that got there with no query and no correction on any version of the chart; the digest text and
the manager's App Home show the same number, from the same ``Digest``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.app_home.seed import NOW

AT = {"this week": datetime(2026, 11, 24, 15, tzinfo=UTC), "last week": datetime(2026, 11, 16, 15, tzinfo=UTC),
      "long ago": datetime(2026, 10, 30, 15, tzinfo=UTC)}


def _posted(session, chart_id: str, when: str | None, actions: tuple[str, ...] = (), version: int = 1,
            status: str = "posted"):
    from vma.store.models import ChartRecord, FindingRecord

    record = ChartRecord(chart_id=chart_id, version=version, doc_key=f"{chart_id}#{version}", status=status,
                         posted_at=AT[when] if when else None, chart_json={"chart_id": chart_id})
    session.add(record)
    session.flush()
    for action in actions:
        session.add(FindingRecord(chart_record_id=record.id, check="laterality", action=action, code="M25.569",
                                  finding_json={}))
    return record


def test_clean_claim_rate_this_week_and_last(tmp_path, database_url):
    from tests.shared import make_reminder_settings
    from vma.conversations.digest import build_from_settings, render_text
    from vma.integrations.slack.render import render_view
    from vma.store.db import Store

    settings = make_reminder_settings(tmp_path, database_url)
    store = Store(database_url)
    store.migrate()
    with store.session() as session, session.begin():
        _posted(session, "ENC-A", "this week")                       # clean
        _posted(session, "ENC-B", "this week", ("info",))            # advice holds nothing: clean
        _posted(session, "ENC-C", "this week", ("correct",))         # a correction: not clean
        _posted(session, "ENC-D", None, ("query",), status="superseded")
        _posted(session, "ENC-D", "this week", version=2)            # its first version needed a query: not clean
        _posted(session, "ENC-E", "last week")                       # clean, last week
        _posted(session, "ENC-F", "long ago")                        # outside both weeks
        _posted(session, "ENC-G", None, status="clear")              # not yet with the coders
    digest = build_from_settings(settings, store, now=NOW)
    store.dispose()

    assert (digest.this_week.posted, digest.this_week.clean) == (4, 2)
    assert digest.this_week.clean_claim_rate == pytest.approx(0.5)
    assert (digest.last_week.posted, digest.last_week.clean, digest.last_week.clean_claim_rate) == (1, 1, 1.0)
    text = render_text(digest)
    assert "clean claim rate                50%       100%" in text
    assert "(2 of 4 this week)" in text
    home = render_view("home.json.j2", home=_home(), manager=digest, picture="")
    assert "*Clean claim rate this week*\\n50%, 2 of 4 charts (last week 100%)" in json.dumps(home)


def _home():
    from vma.conversations.ports import HomeView

    return HomeView(user_id="U0CHIEF01", role="manager")


def test_no_charts_posted_means_no_rate(tmp_path, database_url):
    from tests.shared import make_reminder_settings
    from vma.conversations.digest import build_from_settings, render_text
    from vma.store.db import Store

    settings = make_reminder_settings(tmp_path, database_url)
    store = Store(database_url)
    store.migrate()
    digest = build_from_settings(settings, store, now=NOW)
    store.dispose()
    assert digest.this_week.clean_claim_rate is None
    assert "clean claim rate" in render_text(digest)
