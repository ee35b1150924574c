"""The scheduler's housekeeping jobs, each called directly under a frozen clock, and the job list itself."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

import vma.conversations.service  # noqa: F401  (pydantic and sqlmodel classes must be built outside freeze_time)
import vma.store.models  # noqa: F401
from tests.shared import UNKNOWN_NPI, RecordingNotifier, chart, make_settings, raw

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # a Tuesday


@pytest.fixture
def service_for(tmp_path, ref, database_url):
    """A real ChartService over SQLite; the function takes settings overrides."""
    made = []

    def build(notifier=None, **overrides):
        from vma.conversations.service import ChartService
        from vma.directory import Directory
        from vma.store.db import Store

        settings = make_settings(tmp_path, database_url, **overrides)
        store = Store(settings.vma_database_url)
        store.migrate()
        made.append(store)
        service = ChartService(store, notifier or RecordingNotifier(), settings,
                               Directory.load(settings.vma_provider_directory), ref=ref)
        return service, settings

    yield build
    for store in made:
        store.dispose()


def _submit(service, data):
    result = service.intake(raw(data), "test")
    assert result.outcome == "stored", result.errors
    service.process(result.record_id)
    return result.record_id


def test_retention_purge_drops_old_notes_and_keeps_waiting_charts(service_for):
    from vma import scheduler
    from vma.store.models import ChartRecord, Query

    service, settings = service_for(vma_retention_days=30)
    with freeze_time(NOW - timedelta(days=40)):
        answered_id = _submit(service, chart("ENC-P-1"))
        waiting_id = _submit(service, chart("ENC-P-2"))
    with service.store.session() as session:
        query = session.query(Query).filter(Query.chart_record_id == answered_id).one()
    service.answer(query.id, "U_LOPEZ", 0)
    with freeze_time(NOW - timedelta(days=5)):
        recent_id = _submit(service, chart("ENC-P-3"))

    with freeze_time(NOW):
        purged = scheduler.run_retention_purge(service, settings)
    assert purged == {"charts": 1, "rejections": 0}
    with service.store.session() as session:
        old, waiting, recent = (session.get(ChartRecord, i) for i in (answered_id, waiting_id, recent_id))
        assert old.raw is None and old.raw_purged_at is not None
        assert "knee pain" not in json.dumps(old.chart_json).lower()
        assert waiting.raw is not None and recent.raw is not None
        # The query record of the purged chart stays: question, answer, who.
        kept = session.query(Query).filter(Query.chart_record_id == answered_id).one()
        assert kept.status == "answered" and kept.answered_by == "U_LOPEZ" and kept.question


def test_retention_purge_is_off_without_the_setting(service_for):
    from vma import scheduler

    service, settings = service_for()
    assert settings.vma_retention_days is None
    assert scheduler.run_retention_purge(service, settings) is None


def test_held_chart_is_routed_once_the_provider_can_be_found(service_for):
    from vma import scheduler
    from vma.conversations.reminders import first_due_at
    from vma.store.models import ChartRecord, Query

    notifier = RecordingNotifier()
    service, settings = service_for(notifier=notifier)
    someone = {"npi": UNKNOWN_NPI, "name": "Some One MD", "email": "someone@example.org"}
    with freeze_time(NOW):
        record_id = _submit(service, chart("ENC-H-1", npi=UNKNOWN_NPI, provider=someone))
    assert len(notifier.of("post_unroutable")) == 1 and notifier.of("send_query_dm") == []

    with freeze_time(NOW + timedelta(minutes=5)):
        assert scheduler.run_retry_on_hold(service) == 1
    assert notifier.of("send_query_dm") == []  # still nobody to send it to

    notifier.users_by_email["someone@example.org"] = "U_SOMEONE"  # the provider joined the workspace
    later = NOW + timedelta(minutes=10)
    with freeze_time(later):
        scheduler.run_retry_on_hold(service)
    (user, summary, _), = notifier.of("send_query_dm")
    assert user == "U_SOMEONE" and summary.chart_id == "ENC-H-1"
    with service.store.session() as session:
        assert session.get(ChartRecord, record_id).status == "needs_query"
        query = session.query(Query).filter(Query.chart_record_id == record_id).one()
        assert query.sent_at.replace(tzinfo=UTC) == later
        assert query.next_due_at.replace(tzinfo=UTC) == first_due_at(later, settings)
    with freeze_time(NOW + timedelta(minutes=15)):
        assert scheduler.run_retry_on_hold(service) == 0
    assert len(notifier.of("send_query_dm")) == 1


def test_retry_on_hold_failure_is_logged_not_raised(caplog):
    from vma import scheduler

    class Broken:
        def retry_on_hold(self):
            raise RuntimeError("database gone")

    assert scheduler.run_retry_on_hold(Broken()) == 0
    assert "re-routing charts on hold failed" in caplog.text


def test_inbox_sweep_stores_the_dropped_file(service_for, tmp_path):
    from vma import scheduler
    from vma.store.models import ChartRecord

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    service, settings = service_for(vma_inbox=str(inbox))
    (inbox / "enc-d-1.json").write_bytes(raw(chart("ENC-D-1")))
    (inbox / "broken.json").write_text("{not json")
    written = (NOW - timedelta(seconds=30)).timestamp()  # past the settle time of a file being written
    for path in inbox.iterdir():
        os.utime(path, (written, written))
    with freeze_time(NOW):
        scheduler.run_inbox_sweep(service, settings)
    assert (inbox / "done" / "enc-d-1.json").is_file()
    assert (inbox / "rejected" / "broken.json").is_file()
    with service.store.session() as session:
        assert [r.chart_id for r in session.query(ChartRecord)] == ["ENC-D-1"]


def test_inbox_sweep_is_off_without_the_setting(service_for):
    from vma import scheduler

    service, settings = service_for()
    assert scheduler.run_inbox_sweep(service, settings) is None


def test_jobs_follow_the_settings(service_for, tmp_path):
    from vma import scheduler

    service, settings = service_for()
    plain = {job.id for job in scheduler.build(service, settings).get_jobs()}
    assert plain == {"reminder-tick", "daily-digest", "retry-on-hold"}

    service, settings = service_for(vma_retention_days=90, vma_inbox=str(tmp_path / "in"),
                                    vma_digest_at="07:15", vma_timezone="America/Chicago")
    jobs = {job.id: job for job in scheduler.build(service, settings).get_jobs()}
    assert set(jobs) == plain | {"retention-purge", "inbox-sweep"}
    digest_trigger = jobs["daily-digest"].trigger
    assert str(digest_trigger.timezone) == "America/Chicago"
    assert {f.name: str(f) for f in digest_trigger.fields}["hour"] == "7"
    assert {f.name: str(f) for f in digest_trigger.fields}["minute"] == "15"
    assert jobs["inbox-sweep"].trigger.interval <= timedelta(seconds=5)
    assert jobs["retry-on-hold"].trigger.interval <= timedelta(minutes=10)
