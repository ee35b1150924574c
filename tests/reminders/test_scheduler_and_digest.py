"""The running scheduler reminds and escalates on time; the digest reports what is open and answered."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest


from tests.shared import (OTHER_NPI, PROVIDER_NPI, ReminderNotifier, add_chart, add_query,
                          make_reminder_settings, utc_now)

NY = ZoneInfo("America/New_York")


class _Service:
    """The part of ChartService the scheduler uses."""

    def __init__(self, store, notifier, directory):
        self.store, self.notifier, self.directory = store, notifier, directory
        self.pending_runs = 0

    def process_pending(self) -> int:
        self.pending_runs += 1
        return 0


def _open_store(settings):
    from vma.directory import Directory
    from vma.store.db import Store

    store = Store(settings.vma_database_url)
    store.migrate()
    return store, Directory.load(settings.vma_provider_directory)


def test_running_scheduler_reminds_then_escalates_on_time(tmp_path, monkeypatch, capsys, database_url):
    from vma import scheduler

    settings = make_reminder_settings(tmp_path, database_url, vma_reminder_after="3s",
                             vma_escalate_after="8s", vma_business_hours="always")
    store, directory = _open_store(settings)
    with store.session() as session:
        query_id = add_query(session, add_chart(session, "ENC-E2E"), sent_at=utc_now(), settings=settings).id
        session.commit()
    sent = time.monotonic()
    notifier = ReminderNotifier()
    service = _Service(store, notifier, directory)
    background = scheduler.start(service, settings)
    try:
        reminded_after = escalated_after = None
        while time.monotonic() - sent < 20 and escalated_after is None:
            if reminded_after is None and notifier.reminders:
                reminded_after = time.monotonic() - sent
            if notifier.escalations:
                escalated_after = time.monotonic() - sent
            time.sleep(0.1)
    finally:
        background.shutdown(wait=True)
    assert notifier.reminders == [("U_LOPEZ", [query_id])]
    # Due at 3 s and 8 s; the tick runs every second, so allow a tick plus scheduling slack.
    assert reminded_after is not None and 3 <= reminded_after < 6
    assert escalated_after is not None and 8 <= escalated_after < 11
    assert {target for target, *_ in notifier.escalations} == {"U_CHIEF", "C_MANAGERS"}
    assert service.pending_runs >= 3

    for name, value in {"VMA_DATABASE_URL": settings.vma_database_url, "VMA_BUSINESS_HOURS": "always",
                        "VMA_PROVIDER_DIRECTORY": settings.vma_provider_directory}.items():
        monkeypatch.setenv(name, value)
    from vma.cli import main as vma_main
    from vma.config import get_settings

    get_settings.cache_clear()
    try:
        assert vma_main(["digest", "--print"]) == 0
    finally:
        get_settings.cache_clear()
    printed = capsys.readouterr().out
    assert "Open queries: 1" in printed and "ENC-E2E" in printed and "Maria Lopez MD" in printed


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_digest_numbers_over_a_known_week(tmp_path, request, backend):
    """The same numbers from SQLite (medians in Python) and PostgreSQL (percentile_cont)."""
    from vma.conversations.businesstime import BusinessCalendar
    from vma.conversations.digest import build_digest, post_digest_once, render_png, render_text

    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else f"sqlite:///{tmp_path / 'vma.db'}"
    settings = make_reminder_settings(tmp_path, url)
    store, directory = _open_store(settings)
    now = datetime(2026, 11, 25, 12, tzinfo=NY)  # Wednesday noon
    def local(day, hour):
        return datetime(2026, 11, day, hour, tzinfo=NY).astimezone(UTC)
    with store.session() as session:
        open_rows = [  # (sent, business age at now with Mon-Fri 08:00-18:00)
            (local(25, 9), "3 h"), (local(23, 8), "exactly 24 h"), (local(20, 12), "30 h"), (local(18, 12), "50 h"),
            (local(13, 8), "84 h"),
        ]
        for index, (sent_at, _) in enumerate(open_rows):
            add_query(session, add_chart(session, f"ENC-O{index}"), sent_at=sent_at, settings=settings)
        # A chart on hold with one answered and one open query: hold counts from the first DM.
        held = add_chart(session, "ENC-HOLD", npi=OTHER_NPI)
        add_query(session, held, sent_at=local(24, 8), settings=settings, npi=OTHER_NPI, status="answered",
                  answered_at=local(24, 10))
        add_query(session, held, sent_at=local(24, 9), settings=settings, npi=OTHER_NPI)
        # Answers: this week 2 h and 100 h (median 51 h, half within 72 h); last week 10 h.
        add_query(session, add_chart(session, "ENC-A1"), sent_at=local(22, 8), settings=settings,
                  status="answered", answered_at=local(22, 10))
        add_query(session, add_chart(session, "ENC-A2"), sent_at=local(15, 8), settings=settings,
                  status="answered", answered_at=local(19, 12))
        add_query(session, add_chart(session, "ENC-A3"), sent_at=local(13, 8), settings=settings,
                  status="answered", answered_at=local(13, 18))
        add_query(session, add_chart(session, "ENC-W"), sent_at=local(12, 8), settings=settings, status="withdrawn")
        session.commit()

    calendar = BusinessCalendar.from_settings(settings)
    with store.session() as session:
        digest = build_digest(session, now, calendar, business_hours=settings.vma_business_hours, directory=directory)
    assert digest.open_total == 6
    assert digest.buckets == [2, 2, 1, 1]
    lopez = next(p for p in digest.providers if p.npi == PROVIDER_NPI)
    assert (lopez.open, lopez.buckets, lopez.answered) == (5, [1, 2, 1, 1], 2)
    assert lopez.median_hours_to_answer == pytest.approx(51.0)
    assert lopez.answered_within_72h == pytest.approx(0.5)
    chen = next(p for p in digest.providers if p.npi == OTHER_NPI)
    assert (chen.open, chen.answered, chen.median_hours_to_answer) == (1, 1, pytest.approx(2.0))
    assert digest.this_week.answered == 3 and digest.last_week.answered == 1
    assert digest.last_week.median_hours_to_answer == pytest.approx(10.0)
    # Weeks end at Wed noon: a DM sent exactly at the 18th noon belongs to last week.
    assert digest.this_week.sent == 6 and digest.last_week.sent == 5
    # Open at last week's end: ENC-O3 (sent at that instant), ENC-O4, ENC-A2 (answered on the 19th).
    assert digest.last_week.open_at_end == 3 and digest.this_week.open_at_end == 6
    assert [o.chart_id for o in digest.oldest[:2]] == ["ENC-O4", "ENC-O3"]
    assert digest.oldest[0].age_business_hours == pytest.approx(84.0)
    assert digest.charts_on_hold == 6
    expected_hold_hours = sum((now - sent).total_seconds() / 3600 for sent, _ in open_rows) + (now - local(24, 8)).total_seconds() / 3600
    assert digest.total_hold_days == pytest.approx(expected_hold_hours / 24)

    text = render_text(digest)
    assert "72 h or more" in text and "ENC-O4" in text and "Sam Chen DO" in text
    png = render_png(digest)
    assert png is not None and png.startswith(b"\x89PNG")

    notifier = ReminderNotifier()
    assert post_digest_once(settings, store, notifier, directory, now=now) is True
    assert post_digest_once(settings, store, notifier, directory, now=now + timedelta(minutes=5)) is False
    assert len(notifier.digests) == 1 and notifier.digests[0][0] == "C_MANAGERS"
