"""The whole timeline through the real ChartService and store, under a frozen clock.

Charts come in through intake/process (the DM sets ``sent_at`` and the first due
time), the scheduler's tick job sends reminders and escalations, and the answer
goes through ``ChartService.answer``. Every step runs in a new "process" (new
engine, directory and service) over the same database: a restart changes nothing.
Runs on PostgreSQL too with VMA_TEST_BACKEND=postgresql.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

import vma.conversations.service  # noqa: F401  (pydantic and sqlmodel classes must be built outside freeze_time)
import vma.store.models  # noqa: F401
from tests.shared import RecordingNotifier, chart, make_settings, raw

NY = ZoneInfo("America/New_York")


def at(month, day, hour, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


class Clinic:
    def __init__(self, tmp_path, url, ref):
        self.settings = make_settings(tmp_path, url, vma_business_hours="Mon-Fri 08:00-18:00",
                                      vma_reminder_after="4h", vma_escalate_after="48h")
        self.ref = ref
        self.notifier = RecordingNotifier()
        self.stores = []

    def service(self):
        """A fresh process: only the database carries over."""
        from vma.conversations.service import ChartService
        from vma.directory import Directory
        from vma.store.db import Store

        self.close()  # the previous process is gone
        store = Store(self.settings.vma_database_url)
        store.migrate()
        self.stores.append(store)
        return ChartService(store, self.notifier, self.settings, Directory.load(self.settings.vma_provider_directory),
                            ref=self.ref)

    def submit(self, when, data):
        with freeze_time(when):
            service = self.service()
            result = service.intake(raw(data), "test")
            service.process(result.record_id)
        from vma.store.models import Query

        with service.store.session() as session:
            return session.query(Query).filter(Query.chart_id == data["chart_id"]).one().id

    def tick(self, when):
        from vma import scheduler

        with freeze_time(when):
            return scheduler.run_tick(self.service(), self.settings)

    def reminded(self):
        return [(user, [item.query.query_id for item in items]) for user, items in self.notifier.of("send_reminder")]

    def escalated(self):
        return [(target, [item.query.query_id for item in items])
                for target, _, items in self.notifier.of("send_escalation")]

    def close(self):
        while self.stores:
            self.stores.pop().dispose()


@pytest.fixture
def clinic(tmp_path, database_url, ref):
    c = Clinic(tmp_path, database_url, ref)
    yield c
    c.close()


def test_query_timeline_through_the_service(clinic):
    # Thursday 17:00, an hour before closing: 1 business hour today, 3 on Friday.
    first = clinic.submit(at(11, 19, 17), chart("ENC-TL-1"))
    assert [user for user, *_ in clinic.notifier.of("send_query_dm")] == ["U_LOPEZ"]

    for quiet in (at(11, 19, 23), at(11, 20, 7), at(11, 20, 10, 59)):
        assert clinic.tick(quiet).reminders_sent == 0
    clinic.tick(at(11, 20, 11))
    assert clinic.reminded() == [("U_LOPEZ", [first])]

    # Friday 15:00: 3 hours left today, so the reminder is due Monday 09:00, not over the weekend.
    second = clinic.submit(at(11, 20, 15), chart("ENC-TL-2"))
    for quiet in (at(11, 20, 18, 30), at(11, 21, 12), at(11, 22, 20), at(11, 23, 8, 59)):
        clinic.tick(quiet)
    assert clinic.reminded() == [("U_LOPEZ", [first])]
    clinic.tick(at(11, 23, 9))
    assert clinic.reminded() == [("U_LOPEZ", [first]), ("U_LOPEZ", [second])]

    # Answered Monday: its escalation (due Thursday 15:00) never comes; the chart goes to the coders.
    with freeze_time(at(11, 23, 10)):
        service = clinic.service()
        from vma.store.models import Query

        with service.store.session() as session:
            query = session.get(Query, first)
        result = service.answer(first, "U_LOPEZ", 0)
    assert result.ok and query.chart_id == "ENC-TL-1"
    assert [cleared.summary.chart_id for _, cleared in clinic.notifier.of("post_cleared")] == ["ENC-TL-1"]

    clinic.tick(at(11, 26, 15, 1))
    assert clinic.escalated() == []
    # The second query: Friday 3 h + Monday-Thursday 40 h + Friday 5 h = 48 business hours.
    clinic.tick(at(11, 27, 12, 59))
    assert clinic.escalated() == []
    clinic.tick(at(11, 27, 13))
    assert sorted(clinic.escalated()) == [("C_MANAGERS", [second]), ("U_CHIEF", [second])]

    for later in (at(11, 30, 9), at(12, 7, 9)):
        clinic.tick(later)
    assert len(clinic.reminded()) == 2 and len(clinic.escalated()) == 2  # nothing more, ever
