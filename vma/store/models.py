"""The tables of the query loop (sqlmodel).

Column names are shared with ``vma.conversations.reminders`` and ``digest``;
change them only together with those modules and a new migration.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from vma.store.status import ChartStatus, OutboxState, QueryStatus
from vma.store.types import JsonDoc, UtcDateTime, utc_now

# The statuses themselves live in vma.store.status; these tuples are their stored values.
CHART_STATUSES = tuple(s.value for s in ChartStatus)
QUERY_STATUSES = tuple(s.value for s in QueryStatus)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UtcDateTime, nullable=nullable, index=index)


class ChartRecord(SQLModel, table=True):
    """One received version of one chart, with the raw input exactly as it arrived."""

    __tablename__ = "chart_record"
    __table_args__ = (Index("ix_chart_record_chart_current", "chart_id", "is_current"),
                      Index("ix_chart_record_status", "status"),
                      Index("ix_chart_record_posted_at", "posted_at"))  # the digest's clean claim rate

    id: int | None = Field(default=None, primary_key=True)
    chart_id: str = Field(max_length=200)
    # 64-bit: revisions without a numbered document are versioned by change time (YYYYMMDDHHMMSS).
    version: int = Field(default=1, sa_type=BigInteger, nullable=False)
    document_id: str | None = Field(default=None, max_length=200)
    # document_id-or-chart_id "#" version: the identity of an intake, for idempotency.
    doc_key: str | None = Field(default=None, max_length=420, unique=True)
    raw: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    raw_purged_at: datetime | None = _ts()
    fmt: str | None = Field(default=None, max_length=20)
    source: str | None = Field(default=None, max_length=100)
    chart_json: dict | None = Field(default=None, sa_column=Column(JsonDoc, nullable=True))
    provider_npi: str | None = Field(default=None, max_length=40, index=True)
    provider_user_id: str | None = Field(default=None, max_length=40)
    status: str = Field(default=ChartStatus.RECEIVED.value, max_length=20)
    is_current: bool = True
    signed_at: datetime | None = _ts()
    received_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime, nullable=False)
    processed_at: datetime | None = _ts()
    cleared_at: datetime | None = _ts()
    posted_at: datetime | None = _ts()
    report_json: dict | None = Field(default=None, sa_column=Column(JsonDoc, nullable=True))
    # The worker (``Worker.id``) holding the check claim while status is "processed".
    claimed_by: str | None = Field(default=None, max_length=40)


class IntakeRejection(SQLModel, table=True):
    """Input that could not be made into a chart, kept for review."""

    __tablename__ = "intake_rejection"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime, nullable=False, index=True)
    source: str | None = Field(default=None, max_length=100)
    raw: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    errors: list | None = Field(default=None, sa_column=Column(JsonDoc, nullable=True))


class FindingRecord(SQLModel, table=True):
    __tablename__ = "finding_record"

    id: int | None = Field(default=None, primary_key=True)
    chart_record_id: int = Field(foreign_key="chart_record.id", index=True)
    check: str = Field(max_length=60)
    action: str = Field(max_length=20)
    code: str | None = Field(default=None, max_length=20)
    finding_json: dict | None = Field(default=None, sa_column=Column(JsonDoc, nullable=True))


class Query(SQLModel, table=True):
    """One question to a provider. Its due-time columns drive reminders and escalation."""

    __tablename__ = "query"
    __table_args__ = (
        Index("ix_query_status_next_due_at", "status", "next_due_at"),
        Index("ix_query_status_sent_at", "status", "sent_at"),
        Index("ix_query_status_answered_at", "status", "answered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chart_record_id: int = Field(foreign_key="chart_record.id", index=True)
    chart_id: str = Field(max_length=200, index=True)
    check: str = Field(max_length=60)
    code: str | None = Field(default=None, max_length=20)
    question: str = Field(sa_column=Column(Text, nullable=False))
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False))
    choices: list | None = Field(default=None, sa_column=Column(JsonDoc, nullable=True))
    target: str | None = Field(default=None, max_length=40)
    status: str = Field(default=QueryStatus.OPEN.value, max_length=20)
    provider_npi: str | None = Field(default=None, max_length=40, index=True)
    provider_user_id: str | None = Field(default=None, max_length=40)
    sent_at: datetime | None = _ts()
    answered_at: datetime | None = _ts()
    answered_by: str | None = Field(default=None, max_length=40)
    answer_index: int | None = None
    answer_json: dict | None = Field(default=None, sa_column=Column(JsonDoc, nullable=True))
    withdrawn_at: datetime | None = _ts()
    next_due_at: datetime | None = _ts()
    reminder_count: int = 0
    last_reminded_at: datetime | None = _ts()
    escalated_at: datetime | None = _ts()
    escalation_step: int = 0
    dm_channel: str | None = Field(default=None, max_length=40)
    dm_ts: str | None = Field(default=None, max_length=40)
    # The worker whose reminder claim (next_due_at pushed forward by a lease) is on this row.
    claimed_by: str | None = Field(default=None, max_length=40)


class Nudge(SQLModel, table=True):
    """The one reminder (or escalation) a provider may get on a business day."""

    __tablename__ = "nudge"
    __table_args__ = (UniqueConstraint("provider_key", "business_day", "kind", name="uq_nudge_provider_day_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    provider_key: str = Field(max_length=60)
    business_day: date
    kind: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime, nullable=False)
    message_id: str | None = Field(default=None, max_length=80)
    claimed_by: str | None = Field(default=None, max_length=40)  # the worker sending it, until message_id is set


class OutboundMessage(SQLModel, table=True):
    """A message to Slack, recorded before the call (pending) and after it (sent, with channel and ts).

    ``idem_key`` names the message's purpose ("query_dm:<record id>", "cleared:<record id>",
    "ehr_mllp:<document id>#<version>"), so a restart finds a message already sent and does not send it
    again. The write-back of answered queries to the EHR goes through the same rows.
    """

    __tablename__ = "outbound_message"
    __table_args__ = (Index("ix_outbound_message_state", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    idem_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=20)
    channel: str | None = Field(default=None, max_length=40)
    ts: str | None = Field(default=None, max_length=40)
    state: str = Field(default=OutboxState.PENDING.value, max_length=20)
    attempts: int = 0
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime, nullable=False)
    claimed_at: datetime | None = _ts()
    claimed_by: str | None = Field(default=None, max_length=40)  # the worker sending it now
    sent_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    payload: dict | None = Field(default=None, sa_column=Column(JsonDoc, nullable=True))
    # Not before this time: the back-off of a retried write-back to the EHR (kinds "ehr_mllp", "ehr_fhir"),
    # whose state is "pending", "sent", or "held" (the EHR refused it: AE/AR or a 4xx; a person must look).
    next_attempt_at: datetime | None = _ts()


class AuditEvent(SQLModel, table=True):
    """Append-only: who asked, answered, withdrew or posted what, and when."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime, nullable=False)
    actor: str = Field(max_length=60)
    action: str = Field(max_length=40)
    chart_id: str | None = Field(default=None, max_length=200, index=True)
    query_id: int | None = Field(default=None, index=True)
    detail: dict | None = Field(default=None, sa_column=Column(JsonDoc, nullable=True))


class Worker(SQLModel, table=True):
    """One running ``vma serve`` (or other long-lived service): who holds claims, and whether it still lives.

    A claim (``claimed_by``) is respected while its worker lives and taken over at once when it is gone:
    its heartbeat is stale, it stopped, its PostgreSQL session advisory lock (``lock_key``) is free, or
    it ran on this very machine and its process no longer exists (``host_key``, ``pid``, ``proc_start``).
    """

    __tablename__ = "worker"
    __table_args__ = (Index("ix_worker_taken_over_at", "taken_over_at"),)

    id: str = Field(primary_key=True, max_length=40)  # the boot id, new at every start
    host: str = Field(max_length=255)
    host_key: str = Field(max_length=400)  # hostname, kernel boot id and PID namespace: where a pid means something
    pid: int
    proc_start: str | None = Field(default=None, max_length=40)  # the process's start time, against pid reuse
    release: str | None = Field(default=None, max_length=40)  # the vma version it runs
    lock_key: int | None = None  # PostgreSQL advisory lock (namespace, key) held by its session
    started_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime, nullable=False)
    heartbeat_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime, nullable=False)
    stopped_at: datetime | None = _ts()
    taken_over_at: datetime | None = _ts()
    taken_over_by: str | None = Field(default=None, max_length=40)
