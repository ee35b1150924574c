"""Digest build time over 1,000,000 stored queries on PostgreSQL (goal: under one second).

Creates a throw-away database on the server named by ``VMA_TEST_POSTGRES_URL``,
runs the Alembic migrations (so the indexes measured are the shipped ones),
loads a synthetic year of queries with COPY, then times ``build_digest``.
Skipped, with a message, when ``VMA_TEST_POSTGRES_URL`` is unset.

Run alone: ``.venv/bin/python -m bench.digest [ROWS]`` (default 1,000,000;
``VMA_BENCH_DIGEST_ROWS`` sets it under ``make bench``).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

PROVIDERS = 300
QUERIES_PER_CHART = 3
RUNS = 7
GOAL_SECONDS = 1.0
# The statements of build_digest filter on (status, sent_at) and (status, answered_at);
# without these indexes the digest reads the whole table.
NEEDED_INDEXES = {"ix_query_status_sent_at": ("status", "sent_at"),
                  "ix_query_status_answered_at": ("status", "answered_at")}


def _rows(total: int, now: datetime):
    """``total`` synthetic queries in the order they were sent, as a live table fills up.

    2% open (sent within the last 30 days), about 1% withdrawn, the rest answered
    after a log-normal delay (median about 20 hours, capped at 20 days).
    """
    rng = random.Random(20261123)
    ages = sorted((rng.uniform(0, 720) if rng.random() < 0.02 else rng.uniform(0, 24 * 365) for _ in range(total)),
                  reverse=True)
    for n, age in enumerate(ages):
        sent = now - timedelta(hours=age)
        if age <= 720 and rng.random() < 0.02 * 365 / 30:
            yield n, sent, "open", None, None
            continue
        delay = timedelta(hours=min(rng.lognormvariate(3.0, 1.0), 24 * 20))
        if rng.random() < 0.01 or sent + delay > now:
            yield n, sent, "withdrawn", None, min(sent + delay, now)
        else:
            yield n, sent, "answered", sent + delay, None


def _load(url: str, total: int, now: datetime) -> dict[str, int]:
    """COPY the charts and ``total`` queries (three per chart), then VACUUM ANALYZE.

    VACUUM stands in for autovacuum, which keeps a long-lived table's visibility map and
    statistics current; a table fresh from COPY has neither.
    """
    import psycopg

    charts = -(-total // QUERIES_PER_CHART)
    counts = {"open": 0, "answered": 0, "withdrawn": 0}
    with psycopg.connect(url) as conn:
        with conn.cursor().copy(
            "COPY chart_record (id, chart_id, document_id, version, doc_key, fmt, source, raw, chart_json, "
            "received_at, status, is_current, provider_npi) FROM STDIN"
        ) as copy:
            for n in range(1, charts + 1):
                copy.write_row((n, f"ENC-{n}", f"DOC-{n}", 1, f"DOC-{n}#1", "json", "bench", "{}", "{}", now,
                                "needs_query", True, f"{1000000000 + n % PROVIDERS}"))
        conn.execute("SELECT setval(pg_get_serial_sequence('chart_record', 'id'), %s)", (charts,))
        with conn.cursor().copy(
            'COPY query (chart_record_id, chart_id, "check", code, question, evidence, choices, status, '
            "provider_npi, provider_user_id, sent_at, answered_at, withdrawn_at, reminder_count, escalation_step) "
            "FROM STDIN"
        ) as copy:
            for n, sent, status, answered, withdrawn in _rows(total, now):
                chart = n // QUERIES_PER_CHART + 1
                npi = f"{1000000000 + chart % PROVIDERS}"
                counts[status] += 1
                copy.write_row((chart, f"ENC-{chart}", "laterality", "M25.569",
                                "The note documents knee pain; which knee was evaluated?",
                                "Assessment: knee pain, worse with stairs.",
                                '[{"label": "Pain in right knee (M25.561)"}, {"label": "Pain in left knee (M25.562)"}]',
                                status, npi, f"U{npi}", sent, answered, withdrawn, 0, 0))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return counts


def _check_indexes(url: str) -> list[str]:
    """The needed indexes as the migrations created them; returns the problems found."""
    import psycopg

    problems = []
    with psycopg.connect(url) as conn:
        defined = dict(conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'query'").fetchall())
    for name, columns in NEEDED_INDEXES.items():
        definition = defined.get(name)
        if definition is None:
            problems.append(f"index {name} is missing")
        elif f"({', '.join(columns)})" not in definition:
            problems.append(f"index {name} is {definition}, expected columns {columns}")
    return problems


def main(rows: int | None = None) -> int:
    total = rows or int(os.environ.get("VMA_BENCH_DIGEST_ROWS", "1000000"))
    base = os.environ.get("VMA_TEST_POSTGRES_URL")
    if not base:
        print("   skipped: VMA_TEST_POSTGRES_URL is not set "
              "(e.g. VMA_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test)")
        return 0
    import psycopg

    base = base.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        admin = psycopg.connect(base, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        print(f"   skipped: PostgreSQL unreachable at VMA_TEST_POSTGRES_URL: {exc}")
        return 0
    from vma.conversations.businesstime import BusinessCalendar
    from vma.conversations.digest import build_digest, render_text
    from vma.store.db import Store

    database = f"vma_bench_digest_{uuid.uuid4().hex[:8]}"
    url = base.rsplit("/", 1)[0] + f"/{database}"
    business_hours = "Mon-Fri 08:00-18:00"
    calendar = BusinessCalendar.parse(business_hours, "America/New_York")
    now = datetime(2026, 11, 25, 17, tzinfo=UTC)
    with admin:
        admin.execute(f'CREATE DATABASE "{database}"')
        store = None
        try:
            store = Store(url)
            store.migrate()
            problems = _check_indexes(url)
            for problem in problems:
                print(f"   {problem}")
            started = time.perf_counter()
            counts = _load(url, total, now)
            print(f"   loaded {total:,} queries ({counts['open']:,} open, {counts['answered']:,} answered, "
                  f"{counts['withdrawn']:,} withdrawn) with COPY in {time.perf_counter() - started:.1f} s")
            timings = []
            for _ in range(RUNS):
                with store.session() as session:
                    started = time.perf_counter()
                    digest = build_digest(session, now, calendar, business_hours=business_hours)
                    timings.append(time.perf_counter() - started)
            render_text(digest)
        finally:
            if store is not None:
                store.dispose()
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    median = statistics.median(timings)
    print(f"   digest over {total:,} queries ({digest.open_total:,} open, {len(digest.providers)} providers, "
          f"{digest.this_week.answered:,} answered this week): {RUNS} runs, first {timings[0] * 1000:.0f} ms, "
          f"median {median * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms (goal < {GOAL_SECONDS * 1000:.0f} ms)")
    return 0 if median < GOAL_SECONDS and not problems else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else None))
