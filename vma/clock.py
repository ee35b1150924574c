"""The one place vma reads the wall clock and normalises datetimes to UTC.

Stored times are UTC; SQLite hands them back naive, PostgreSQL aware, and callers may pass either.
Every comparison goes through ``as_utc`` so a naive value is never compared as local time.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime; a naive value is taken to be UTC already (None stays None)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_instant(text: str | None) -> datetime | None:
    """An ISO 8601 instant ('Z' allowed) in UTC, or None when absent or unreadable."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return as_utc(value)
