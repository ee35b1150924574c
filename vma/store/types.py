"""Column types shared by the models and the migrations."""

from __future__ import annotations

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from vma.clock import as_utc, utc_now  # noqa: F401  (utc_now: the models' default, imported from here)


class UtcDateTime(TypeDecorator):
    """Timestamps stored in UTC, returned timezone-aware.

    SQLite drops the offset of an aware value as it binds it, so a New York
    wall-clock time compared with a column would be compared as if it were UTC;
    converting every bound value (columns and comparisons alike) to UTC first
    keeps both backends exact.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return as_utc(value)


# JSONB on PostgreSQL (indexable, compact); plain JSON text elsewhere.
JsonDoc = JSON().with_variant(JSONB(), "postgresql")

