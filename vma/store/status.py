"""Every status vma stores, in one place: a chart version's, a query's, an outbox row's.

StrEnums, so a value is the very string the database holds and the contract shows ("needs_query"),
compares equal to it, and binds, logs and serialises as that string.
"""

from __future__ import annotations

from enum import StrEnum


class ChartStatus(StrEnum):
    RECEIVED = "received"
    # The check claim, owned by ChartRecord.claimed_by.
    PROCESSED = "processed"
    NEEDS_QUERY = "needs_query"
    NEEDS_CORRECTION = "needs_correction"
    CLEAR = "clear"
    POSTED = "posted"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"
    ON_HOLD = "on_hold"
    UNAUTHENTICATED = "unauthenticated"
    # A check failed on it: held, never posted, checked again after a restart or a new release.
    INCOMPLETE = "incomplete"


class QueryStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    WITHDRAWN = "withdrawn"


class OutboxState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    # The EHR refused a write-back (AE/AR or a 4xx): a person must look.
    HELD = "held"


class IntakeOutcome(StrEnum):
    """What intake did with an input; each adapter says it in its own protocol (HTTP status, MLLP ACK, file moved)."""

    STORED = "stored"  # a new version, checked next
    DUPLICATE = "duplicate"  # this exact document version was stored before
    INVALID = "invalid"  # refused (kept for review), with the errors
