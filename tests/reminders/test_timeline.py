"""A query's whole reminder timeline under a frozen clock, business hours in America/New_York.

Each step builds new Store/notifier objects over the same database file: what
is due lives in the tables, so a restart between steps changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from freezegun import freeze_time

from tests.shared import OTHER_NPI, ReminderNotifier, add_chart, add_query, make_reminder_settings, utc_now

NY = ZoneInfo("America/New_York")


def at(day, hour, minute=0):
    """A New York wall-clock time in the week of Friday 2026-11-20."""
    return datetime(2026, 11, day, hour, minute, tzinfo=NY)


@pytest.fixture
def world(tmp_path, database_url):
    settings = make_reminder_settings(tmp_path, database_url)

    class World:
        notifier = ReminderNotifier()

        def restart(self):
            from vma.directory import Directory
            from vma.store.db import Store

            self.store = Store(settings.vma_database_url)
            self.store.migrate()
            self.directory = Directory.load(settings.vma_provider_directory)
            return self

        def tick_at(self, moment):
            from vma.conversations.reminders import tick

            self.restart()
            with freeze_time(moment):
                return tick(utc_now(), self.store, self.notifier, settings, self.directory)

        def query(self, query_id):
            from vma.store.models import Query

            with self.restart().store.session() as session:
                return session.get(Query, query_id)

    w = World()
    w.settings = settings
    return w.restart()


def send_query(world, chart_id, sent_local, npi=None):
    with freeze_time(sent_local), world.restart().store.session() as session:
        record = add_chart(session, chart_id, **({"npi": npi} if npi else {}))
        query = add_query(session, record, sent_at=utc_now(), settings=world.settings, **({"npi": npi} if npi else {}))
        session.commit()
        return query.id


def answer(world, query_id, when, status="answered"):
    from vma.store.models import Query

    with world.restart().store.session() as session:
        query = session.get(Query, query_id)
        query.status = status
        if status == "answered":
            query.answered_at = when.astimezone(UTC)
        else:
            query.withdrawn_at = when.astimezone(UTC)
        session.commit()


def test_reminder_waits_for_monday_morning_then_batches_caps_escalates_and_stops(world):
    notifier = world.notifier
    q1 = send_query(world, "ENC-1", at(20, 16))       # Friday 16:00
    assert world.query(q1).next_due_at.astimezone(NY) == at(23, 10)  # Monday 10:00, not Friday night

    q2 = send_query(world, "ENC-2", at(20, 16, 30))   # due Monday 10:30
    withdrawn = send_query(world, "ENC-3", at(20, 16, 45))
    answer(world, withdrawn, at(20, 17), status="withdrawn")  # an amended chart made it moot

    for quiet in (at(20, 19), at(21, 12), at(22, 23), at(23, 7, 59), at(23, 9, 59)):
        assert world.tick_at(quiet).reminders_sent == 0
    assert notifier.reminders == []

    report = world.tick_at(at(23, 10, 45))           # both overdue: ONE message with both
    assert notifier.reminders == [("U_LOPEZ", [q1, q2])]
    assert (report.reminders_sent, report.queries_reminded) == (1, 2)
    assert world.query(q1).reminder_count == 1
    assert world.query(q1).next_due_at.astimezone(NY) == at(27, 14)  # 48 business hours after Friday 16:00

    q3 = send_query(world, "ENC-4", at(23, 11))        # due Monday 15:00, after today's reminder
    report = world.tick_at(at(23, 15, 5))
    assert report.deferred_by_cap == 1 and len(notifier.reminders) == 1
    assert world.query(q3).next_due_at.astimezone(NY) == at(24, 8)   # the next business day's first hour
    assert world.tick_at(at(23, 17)).reminders_sent == 0

    world.tick_at(at(24, 8))
    assert notifier.reminders[1] == ("U_LOPEZ", [q3])
    assert world.tick_at(at(24, 9)).reminders_sent == 0  # never twice

    answer(world, q2, at(25, 9))                        # answered: no escalation for q2
    assert world.tick_at(at(27, 13, 59)).escalations_sent == 0
    report = world.tick_at(at(27, 14))
    assert report.queries_escalated == 1
    assert [(target, ids) for target, _, ids, _ in notifier.escalations] == [("U_CHIEF", [q1]), ("C_MANAGERS", [q1])]
    assert notifier.escalations[0][1] == "Maria Lopez MD"
    assert notifier.escalations[0][3] == [48.0]       # the age travels with the chart ID
    assert world.query(q1).escalated_at is not None and world.query(q1).next_due_at is None

    for later in (at(27, 16), at(30, 9), datetime(2026, 12, 7, 9, tzinfo=NY)):
        world.tick_at(later)
    # q3 (sent Monday 11:00) escalates 48 business hours later, the withdrawn and answered ones never do.
    escalated = {qid for _, _, ids, _ in notifier.escalations for qid in ids}
    assert escalated == {q1, q3} and len(notifier.reminders) == 2
    assert world.query(withdrawn).reminder_count == 0 and world.query(q2).escalated_at is None


def test_answer_before_reminder_stops_everything(world):
    q = send_query(world, "ENC-9", at(23, 9))
    answer(world, q, at(23, 10))
    for moment in (at(23, 14), at(30, 9)):
        world.tick_at(moment)
    assert world.notifier.reminders == [] and world.notifier.escalations == []


def test_providers_are_reminded_separately_and_a_provider_without_supervisor_escalates_to_the_channel(world):
    a = send_query(world, "ENC-10", at(23, 8))
    b = send_query(world, "ENC-11", at(23, 8), npi=OTHER_NPI)
    world.tick_at(at(23, 12, 30))
    assert sorted(world.notifier.reminders) == [("U_CHEN", [b]), ("U_LOPEZ", [a])]
    world.tick_at(at(30, 8, 1))
    targets = sorted((target, ids) for target, _, ids, _ in world.notifier.escalations)
    assert targets == [("C_MANAGERS", [a]), ("C_MANAGERS", [b]), ("U_CHIEF", [a])]


def test_slack_failure_retries_and_still_sends_once(world):
    world.notifier.fail_reminders = 1
    q = send_query(world, "ENC-12", at(23, 8))
    report = world.tick_at(at(23, 12))
    assert report.failures == 1 and world.notifier.reminders == []
    assert world.tick_at(at(23, 12, 0, )).reminders_sent == 0  # back-off: not hammering Slack
    world.tick_at(at(23, 12, 2))
    world.tick_at(at(23, 12, 5))
    assert world.notifier.reminders == [("U_LOPEZ", [q])]


def test_a_query_answered_while_its_escalation_is_on_the_way_is_still_in_the_audit_log(world):
    """The message went out: the audit log (and the operator's log) says so, even when the provider
    answered between the send and its record; the answered query keeps its answer and is not moved on."""
    from vma.store.models import AuditEvent, Query

    q = send_query(world, "ENC-RACE", at(23, 9))
    world.tick_at(at(23, 13))                       # reminded
    original = world.notifier.send_escalation

    def answer_meanwhile(target, provider_name, items):
        sent = original(target, provider_name, items)
        answer(world, q, at(25, 13))
        return sent

    world.notifier.send_escalation = answer_meanwhile
    world.tick_at(at(30, 9))                        # 48 business hours later
    assert world.notifier.escalations, "the escalation went out"
    with world.restart().store.session() as session:
        actions = [e.action for e in session.query(AuditEvent).filter(AuditEvent.query_id == q)]
        assert "escalation_sent" in actions
        query = session.get(Query, q)
        assert query.status == "answered" and query.escalated_at is None
