"""Two workers ticking at once over one PostgreSQL send every reminder exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest


from tests.shared import ReminderNotifier, make_reminder_settings

NY = ZoneInfo("America/New_York")
PROVIDERS = 60
QUERIES_PER_PROVIDER = 6


@pytest.mark.postgres
@pytest.mark.parametrize("phase", ["reminder", "escalation"])
def test_two_workers_send_each_reminder_exactly_once(postgres_url, tmp_path, phase):
    from vma.conversations.reminders import tick
    from vma.store.db import Store
    from vma.store.models import ChartRecord, Query

    settings = make_reminder_settings(tmp_path, postgres_url)
    Store(postgres_url).migrate()
    sent_at = datetime(2026, 11, 23, 8, tzinfo=NY)
    # 5 business hours later every query is due a reminder; a week later, its escalation.
    now = datetime(2026, 11, 23, 13, tzinfo=NY) if phase == "reminder" else datetime(2026, 11, 30, 13, tzinfo=NY)
    seed = Store(postgres_url)
    with seed.session() as session:
        for p in range(PROVIDERS):
            for n in range(QUERIES_PER_PROVIDER):
                record = ChartRecord(chart_id=f"ENC-{p}-{n}", version=1, chart_json={}, provider_npi=f"NPI{p:04d}")
                session.add(record)
                session.flush()
                session.add(Query(chart_record_id=record.id, chart_id=record.chart_id, check="laterality",
                                  question="Which side?", evidence="", choices=[], status="open",
                                  provider_npi=f"NPI{p:04d}", provider_user_id=f"U{p:04d}",
                                  sent_at=sent_at + timedelta(minutes=n), next_due_at=sent_at + timedelta(hours=4, minutes=n)))
        session.commit()

    notifier = ReminderNotifier()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker():
        store = Store(postgres_url)  # each worker has its own engine and connections
        try:
            start.wait()
            for _ in range(3):
                tick(now, store, notifier, settings, None)
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors

    if phase == "escalation":
        assert notifier.reminders == []  # past the escalation age, escalation replaces the reminder
        per_provider = Counter(target for target, *_ in notifier.escalations)
        assert per_provider == Counter({"C_MANAGERS": PROVIDERS})  # no directory here: the channel only
        escalated = Counter(qid for _, _, ids, _ in notifier.escalations for qid in ids)
        assert len(escalated) == PROVIDERS * QUERIES_PER_PROVIDER and set(escalated.values()) == {1}
        with seed.session() as session:
            assert {row.escalation_step for row in session.query(Query)} == {1}
        return
    per_provider = Counter(user for user, _ in notifier.reminders)
    assert len(per_provider) == PROVIDERS and set(per_provider.values()) == {1}
    reminded = Counter(qid for _, ids in notifier.reminders for qid in ids)
    assert len(reminded) == PROVIDERS * QUERIES_PER_PROVIDER and set(reminded.values()) == {1}
    with seed.session() as session:
        counts = {row.reminder_count for row in session.query(Query)}
    assert counts == {1}
