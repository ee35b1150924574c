"""Test doubles and row builders for the reminder and digest tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from vma.config import Settings

PROVIDER_NPI = "1234567893"
OTHER_NPI = "1558598797"
DIRECTORY_CSV = (
    "npi,name,email,slack_user_id,supervisor_slack_user_id,role\n"
    f"{PROVIDER_NPI},Maria Lopez MD,mlopez@example.org,U_LOPEZ,U_CHIEF,provider\n"
    f"{OTHER_NPI},Sam Chen DO,schen@example.org,U_CHEN,,provider\n"
    ",Pat Manager,pm@example.org,U_CHIEF,,manager\n"
)
USER_OF = {PROVIDER_NPI: "U_LOPEZ", OTHER_NPI: "U_CHEN"}


class RecordingNotifier:
    """Records what G's code asks the Slack adapter to send; thread safe for the two-worker test."""

    def __init__(self, fail_reminders: int = 0):
        self.reminders: list[tuple[str, list[int]]] = []
        self.escalations: list[tuple[str, str | None, list[int], list[float | None]]] = []
        self.digests: list[tuple[str, str, bytes | None]] = []
        self.fail_reminders = fail_reminders
        self._lock = threading.Lock()
        self._serial = 0

    def _sent(self, channel: str):
        from vma.conversations.ports import SentMessage

        self._serial += 1
        return SentMessage(channel=channel, ts=f"1700000000.{self._serial:06d}")

    def send_reminder(self, user_id, items):
        with self._lock:
            if self.fail_reminders:
                self.fail_reminders -= 1
                raise ConnectionError("slack unreachable")
            self.reminders.append((user_id, [item.query.query_id for item in items]))
            return self._sent("D" + user_id)

    def send_escalation(self, target, provider_name, items):
        with self._lock:
            self.escalations.append((target, provider_name, [item.query.query_id for item in items],
                                     [item.query.age_business_hours for item in items]))
            return self._sent(target)

    def post_digest(self, channel, text, png):
        with self._lock:
            self.digests.append((channel, text, png))


def make_settings(tmp_path: Path, database_url: str, **overrides) -> Settings:
    directory = tmp_path / "directory.csv"
    directory.write_text(DIRECTORY_CSV)
    values = dict(
        vma_database_url=database_url,
        vma_business_hours="Mon-Fri 08:00-18:00",
        vma_timezone="America/New_York",
        vma_reminder_after="4h",
        vma_escalate_after="48h",
        vma_manager_channel="C_MANAGERS",
        vma_provider_directory=str(directory),
    )
    values.update(overrides)
    return Settings(**values)


def add_chart(session, chart_id: str, npi: str = PROVIDER_NPI):
    from vma.store.models import ChartRecord

    record = ChartRecord(chart_id=chart_id, version=1, chart_json={"chart_id": chart_id}, provider_npi=npi)
    session.add(record)
    session.flush()
    return record


def add_query(session, record, *, sent_at: datetime | None, settings, npi: str = PROVIDER_NPI,
              check: str = "laterality", status: str = "open", answered_at: datetime | None = None):
    """A query row as the service leaves it after sending the DM."""
    from vma.conversations.reminders import first_due_at
    from vma.store.models import Query

    query = Query(chart_record_id=record.id, chart_id=record.chart_id, check=check, code="M25.569",
                  question="Which knee?", evidence="knee pain", choices=[], status=status,
                  provider_npi=npi, provider_user_id=USER_OF[npi] if sent_at else None,
                  sent_at=sent_at, answered_at=answered_at,
                  next_due_at=first_due_at(sent_at, settings) if (sent_at and status == "open") else None)
    session.add(query)
    session.flush()
    return query


def utc_now() -> datetime:
    return datetime.now(UTC)
