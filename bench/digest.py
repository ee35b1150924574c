"""Digest build time over 1,000,000 stored queries on PostgreSQL (goal: under one second).

Loads a synthetic year of queries with COPY into a scratch database on the
server named by VMA_TEST_POSTGRES_URL (default: the local test server), then
times ``build_digest``. Run: ``.venv/bin/python -m bench.digest [N]``.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
DATABASE = "vma_bench_digest"
PROVIDERS = 300
QUERIES_PER_CHART = 3
GOAL_SECONDS = 1.0


def _load(url: str, total: int, now: datetime) -> None:
    import psycopg

    rng = random.Random(20261123)
    charts = total // QUERIES_PER_CHART
    with psycopg.connect(url) as conn:
        with conn.cursor().copy(
            "COPY chartrecord (id, chart_id, document_id, version, doc_key, format, raw, chart_json, received_at, "
            "status, provider_npi) FROM STDIN"
        ) as copy:
            for n in range(1, charts + 1):
                copy.write_row((n, f"ENC-{n}", f"DOC-{n}", 1, f"DOC-{n}:1", "json", "{}", "{}", now, "processed",
                                f"{1000000000 + n % PROVIDERS}"))
        with conn.cursor().copy(
            "COPY query (chart_record_id, chart_id, \"check\", code, question, evidence, choices, status, "
            "provider_npi, provider_user_id, sent_at, answered_at, withdrawn_at, reminder_count, escalation_step) "
            "FROM STDIN"
        ) as copy:
            for n in range(total):
                chart = n // QUERIES_PER_CHART + 1
                npi = f"{1000000000 + chart % PROVIDERS}"
                roll = rng.random()
                if roll < 0.02:  # open: sent within the last 30 days
                    sent = now - timedelta(hours=rng.uniform(0, 720))
                    status, answered, withdrawn = "open", None, None
                else:
                    sent = now - timedelta(hours=rng.uniform(0, 24 * 365))
                    delay = timedelta(hours=min(rng.lognormvariate(3.0, 1.0), 24 * 20))
                    if roll < 0.03 or sent + delay > now:
                        status, answered, withdrawn = "withdrawn", None, min(sent + delay, now)
                    else:
                        status, answered, withdrawn = "answered", sent + delay, None
                copy.write_row((chart, f"ENC-{chart}", "laterality", "M25.569",
                                "The note documents knee pain; which knee was evaluated?",
                                "Assessment: knee pain, worse with stairs.",
                                '[{"label": "Pain in right knee (M25.561)"}, {"label": "Pain in left knee (M25.562)"}]',
                                status, npi, f"U{npi}", sent, answered, withdrawn, 0, 0))
        conn.execute("ANALYZE")


def main(argv: list[str] | None = None) -> int:
    import psycopg

    argv = sys.argv[1:] if argv is None else argv
    total = int(argv[0]) if argv else 1_000_000
    base = os.environ.get("VMA_TEST_POSTGRES_URL", DEFAULT_URL).replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(base, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        print(f"   skipped: PostgreSQL unreachable at {base}: {exc}")
        return 0
    url = base.rsplit("/", 1)[0] + f"/{DATABASE}"
    from vma.config import Settings
    from vma.conversations.businesstime import BusinessCalendar
    from vma.conversations.digest import build_digest, render_text
    from vma.store.db import Store

    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
        try:
            store = Store(url)
            store.migrate()
            now = datetime(2026, 11, 25, 17, tzinfo=UTC)
            started = time.perf_counter()
            _load(url, total, now)
            print(f"   loaded {total:,} queries with COPY in {time.perf_counter() - started:.1f} s")
            settings = Settings()
            calendar = BusinessCalendar.parse("Mon-Fri 08:00-18:00", "America/New_York")
            timings = []
            for _ in range(5):
                with store.session() as session:
                    started = time.perf_counter()
                    digest = build_digest(session, now, calendar, business_hours=settings.vma_business_hours)
                    timings.append(time.perf_counter() - started)
            render_text(digest)
            store.engine.dispose()
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    print(f"   digest over {total:,} queries ({digest.open_total:,} open, {len(digest.providers)} providers): "
          f"first {timings[0] * 1000:.0f} ms, median {statistics.median(timings) * 1000:.0f} ms "
          f"(goal < {GOAL_SECONDS * 1000:.0f} ms)")
    return 0 if statistics.median(timings) < GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
