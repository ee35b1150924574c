"""Compliance: the audit log export (``vma audit export``) and the retention purge of raw notes."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime, timedelta
from typing import TextIO

from sqlalchemy import select, update

EXPORT_FORMATS = ("csv", "jsonl")
EXPORT_COLUMNS = ("id", "at", "actor", "action", "chart_id", "query_id", "detail")
PURGED_NOTE = "[purged under the retention policy]"
_BATCH = 1000


def _since(value: datetime | date | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"--since: not a date or time: {value!r} (use YYYY-MM-DD or ISO 8601)") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def export_audit(store, since: datetime | date | str | None = None, fmt: str = "jsonl",
                 out: TextIO | None = None) -> int:
    """Write the audit events at or after ``since`` (oldest first) as CSV or JSON Lines; returns the count."""
    from vma.store.models import AuditEvent

    fmt = (fmt or "jsonl").lower()
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"--format: {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    start = _since(since)
    out = out or sys.stdout
    writer = None
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
    count, last_id = 0, 0
    with store.session() as session:
        while True:  # keyset pages: the log may be large, memory stays flat
            statement = select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(_BATCH)
            if start is not None:
                statement = statement.where(AuditEvent.at >= start)
            events = session.execute(statement).scalars().all()
            if not events:
                break
            for event in events:
                row = {"id": event.id, "at": event.at.astimezone(UTC).isoformat(), "actor": event.actor,
                       "action": event.action, "chart_id": event.chart_id, "query_id": event.query_id,
                       "detail": event.detail or {}}
                if writer is not None:
                    writer.writerow([*(row[c] if row[c] is not None else "" for c in EXPORT_COLUMNS[:-1]),
                                     json.dumps(row["detail"], sort_keys=True)])
                else:
                    out.write(json.dumps(row, sort_keys=True) + "\n")
                count += 1
            last_id = events[-1].id
            session.expunge_all()
    return count


def purge_raw_notes(store, older_than_days: int, now: datetime | None = None) -> dict[str, int]:
    """Drop the raw input and the note text of charts received more than ``older_than_days`` ago.

    Charts still waiting on a provider keep theirs. The query records (question, evidence quote,
    answer, who and when) and the codes stay: they are the record of what was asked.
    """
    from vma.store.models import AuditEvent, ChartRecord, IntakeRejection, Query

    if older_than_days is None or int(older_than_days) < 0:
        raise ValueError("retention days must be 0 or more")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    cutoff = now - timedelta(days=int(older_than_days))
    charts = rejections = 0
    with store.session() as session, session.begin():
        waiting = select(Query.chart_record_id).where(Query.status == "open")
        records = session.execute(
            select(ChartRecord).where(ChartRecord.received_at < cutoff, ChartRecord.raw_purged_at.is_(None),
                                      ChartRecord.id.not_in(waiting))
        ).scalars().all()
        for record in records:
            record.raw = None
            record.raw_purged_at = now
            chart = dict(record.chart_json or {})
            if isinstance(chart.get("note"), dict):
                chart["note"] = {"text": PURGED_NOTE, "sections": None}
            record.chart_json = chart
            charts += 1
        rejections = session.execute(
            update(IntakeRejection).where(IntakeRejection.received_at < cutoff, IntakeRejection.raw.is_not(None))
            .values(raw=None)
        ).rowcount
        session.add(AuditEvent(at=now, actor="vma", action="purge_raw_notes",
                               detail={"older_than_days": int(older_than_days), "charts": charts,
                                       "rejections": rejections}))
    return {"charts": charts, "rejections": rejections}
