"""Load on a running ``vma serve`` over PostgreSQL, and the reminder tick over 100,000 open queries.

1. ``/checkchart``: 50 signed slash commands at once (several bursts), the HTTP ack latency
   of each (p50/p99; target p99 < 300 ms, Slack allows 3 s).
2. 1,000 charts posted while 500 providers' answers arrive: afterwards every chart is stored
   once, every query DM'd once, every answer recorded once, every cleared chart posted once.
3. ``run_tick`` (process_pending + the reminder tick) over 100,000 open queries, 1,000 of them due.
4. ``--soak``: the kill -9 scenario of tests/crash with more kills (``VMA_SOAK_KILLS``, default 40).

``vma serve`` runs as a child process on a throw-away database of the server named by
``VMA_TEST_POSTGRES_URL``, with the Slack stand-in in this process. Skipped, with a message,
when that variable is unset. Run alone: ``.venv/bin/python -m bench.load [--soak]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHECKCHART_CONCURRENCY = 50
CHECKCHART_BURSTS = 4
P99_TARGET_MS = 300
ANSWERED_CHARTS = 500
NEW_CHARTS = 1000
OPEN_QUERIES = 100_000
DUE_QUERIES = 1_000
TICK_PROVIDERS = 200
CODER = "U0CODER01"
LOPEZ = "U0LOPEZ01"


def _base_url() -> str | None:
    base = os.environ.get("VMA_TEST_POSTGRES_URL")
    return base.replace("postgresql+psycopg://", "postgresql://", 1) if base else None


@contextmanager
def throwaway_database(base: str, label: str):
    import psycopg

    name = f"vma_bench_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield base.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _wait(condition, timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def _answer_buttons(slack, channel: str) -> dict[str, dict]:
    """chart id -> (message, first answer button) of each query DM in ``channel``."""
    from tests.crash.harness import _DM_TEXT

    found = {}
    for message in slack.messages_in(channel):
        match = _DM_TEXT.match(message.text or "")
        if not match or match.group(1) in found:
            continue
        for block in message.blocks or []:
            for element in (block.get("elements") or []) + ([block["accessory"]] if block.get("accessory") else []):
                if str(element.get("action_id", "")).startswith("vma_answer_") and element.get("type") == "button":
                    found[match.group(1)] = (message, {**element, "block_id": block.get("block_id", "b")})
                    break
            if match.group(1) in found:
                break
    return found


def bench_server(url: str) -> int:
    import httpx
    from sqlalchemy import func, select

    from tests.crash.harness import (SECRET, TEMPLATES, USERS, ServerProcess, SlowSlack, server_env,
                                     synthetic_chart)
    from vma.integrations.slack.standin import SignedSlackSender
    from vma.store.db import Store
    from vma.store.models import AuditEvent, ChartRecord, IntakeRejection, Query

    failures = 0
    workdir = Path(tempfile.mkdtemp(prefix="vma-bench-load-"))
    slack = SlowSlack(users=USERS, delay=0.0).start()
    server = ServerProcess(server_env(slack, url), workdir / "serve.log")
    http = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=100, max_keepalive_connections=100))
    store = None
    try:
        server.start()
        store = Store(url)
        sender = SignedSlackSender(server.url + "/slack/events", SECRET, slack)
        sender.http = http

        def post(chart_id: str, template: str) -> int:
            for _ in range(5):
                response = http.post(server.url + "/charts", content=synthetic_chart(template, chart_id),
                                     headers={"Content-Type": "application/json"})
                if response.status_code in (200, 202):
                    return response.status_code
            raise RuntimeError(f"POST /charts {chart_id}: {response.status_code} {response.text[:200]}")

        # -- the charts to be answered: one laterality query each, to Dr Lopez -------------------------
        started = time.perf_counter()
        seeded = {f"LD-A{n:04d}": "ENC-D2002" for n in range(ANSWERED_CHARTS)}
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda item: post(*item), seeded.items()))
        dm_channel = slack.dm_channel(LOPEZ)
        if not _wait(lambda: len(_answer_buttons(slack, dm_channel)) >= ANSWERED_CHARTS, 300):
            print(f"   seeding: only {len(_answer_buttons(slack, dm_channel))} of {ANSWERED_CHARTS} DMs arrived")
            return 1
        print(f"   seeded {ANSWERED_CHARTS} charts with a query each in {time.perf_counter() - started:.1f} s")

        # -- /checkchart: 50 at once ----------------------------------------------------------------------
        chart_ids = list(seeded)
        alone = []
        for chart_id in chart_ids[:20]:
            t0 = time.perf_counter()
            sender.slash(CODER, "/checkchart", chart_id)
            alone.append(time.perf_counter() - t0)
        print(f"   /checkchart one at a time: p50 {_pct(alone, .5) * 1000:.0f} ms, max {max(alone) * 1000:.0f} ms "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        latencies: list[float] = []
        inline = 0
        lock = threading.Lock()
        for burst in range(CHECKCHART_BURSTS):
            barrier = threading.Barrier(CHECKCHART_CONCURRENCY)

            def one(n: int) -> None:
                nonlocal inline
                chart_id = chart_ids[(burst * CHECKCHART_CONCURRENCY + n) % len(chart_ids)]
                barrier.wait()
                t0 = time.perf_counter()
                response = sender.slash(CODER, "/checkchart", chart_id)
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies.append(elapsed)
                    if response.status_code == 200 and chart_id in response.text:
                        inline += 1

            with ThreadPoolExecutor(CHECKCHART_CONCURRENCY) as pool:
                list(pool.map(one, range(CHECKCHART_CONCURRENCY)))
        p50, p99 = _pct(latencies, 0.50) * 1000, _pct(latencies, 0.99) * 1000
        print(f"   /checkchart, {CHECKCHART_BURSTS} bursts of {CHECKCHART_CONCURRENCY} concurrent: "
              f"p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {max(latencies) * 1000:.0f} ms "
              f"(target p99 < {P99_TARGET_MS} ms); {inline}/{len(latencies)} answered with the report in the ack")
        failures += p99 >= P99_TARGET_MS or inline != len(latencies)

        # -- 1,000 charts in while 500 answers arrive ---------------------------------------------------------
        new = {f"LD-N{n:04d}": TEMPLATES[n % len(TEMPLATES)] for n in range(NEW_CHARTS)}
        buttons = _answer_buttons(slack, dm_channel)
        answer_latencies: list[float] = []

        def click(chart_id: str) -> None:
            message, button = buttons[chart_id]
            t0 = time.perf_counter()
            response = sender.click(LOPEZ, message.channel, message.ts, button)
            with lock:
                answer_latencies.append(time.perf_counter() - t0)
            if response.status_code != 200:
                raise RuntimeError(f"answer for {chart_id}: {response.status_code}")

        intake_latencies: list[float] = []

        def timed_post(item) -> None:
            t0 = time.perf_counter()
            post(*item)
            with lock:
                intake_latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        with ThreadPoolExecutor(16) as posters, ThreadPoolExecutor(8) as clickers:
            posted = posters.map(timed_post, new.items())
            clicked = clickers.map(click, list(seeded))
            list(posted), list(clicked)
        sent_in = time.perf_counter() - started

        def settled() -> bool:
            with store.session() as session:
                waiting = session.execute(select(func.count()).select_from(ChartRecord)
                                          .where(ChartRecord.status.in_(("received", "processed")))).scalar_one()
            expected_posts = ANSWERED_CHARTS + sum(1 for t in new.values() if t in ("ENC-D2001", "ENC-D2004"))
            return waiting == 0 and len(slack.posts_of("cleared")) >= expected_posts
        done = _wait(settled, 600)
        total = time.perf_counter() - started
        print(f"   {NEW_CHARTS} charts posted while {ANSWERED_CHARTS} answers arrived: sent in {sent_in:.1f} s "
              f"(intake ack p50 {_pct(intake_latencies, .5) * 1000:.0f} ms, p99 {_pct(intake_latencies, .99) * 1000:.0f} ms; "
              f"answer ack p50 {_pct(answer_latencies, .5) * 1000:.0f} ms, p99 {_pct(answer_latencies, .99) * 1000:.0f} ms), "
              f"all processed and posted after {total:.1f} s ({(NEW_CHARTS + ANSWERED_CHARTS) / total:.0f} charts/s)")

        time.sleep(2)  # a late double would land now
        with store.session() as session:
            records = session.execute(select(ChartRecord.chart_id, func.count()).group_by(ChartRecord.chart_id)).all()
            rejections = session.execute(select(func.count()).select_from(IntakeRejection)).scalar_one()
            answered = session.execute(select(func.count()).select_from(Query)
                                       .where(Query.status == "answered")).scalar_one()
            answer_events = session.execute(select(func.count()).select_from(AuditEvent)
                                            .where(AuditEvent.action == "answer")).scalar_one()
        dms = slack.posts_of("query_dm")
        cleared = slack.posts_of("cleared")
        all_charts = {**seeded, **new}
        problems = []
        if not done:
            problems.append("not everything was processed and posted in time")
        if len(records) != len(all_charts) or any(n != 1 for _, n in records) or rejections:
            problems.append(f"stored: {len(records)} chart ids for {len(all_charts)} charts, "
                            f"{sum(1 for _, n in records if n != 1)} stored twice, {rejections} rejected")
        expect_dm = {c for c, t in all_charts.items() if t in ("ENC-D2002", "ENC-D2003")}
        expect_post = set(seeded) | {c for c, t in new.items() if t in ("ENC-D2001", "ENC-D2004")}
        wrong_dms = {c for c in all_charts if len(dms.get(c, [])) != (1 if c in expect_dm else 0)}
        wrong_posts = {c for c in all_charts if len(cleared.get(c, [])) != (1 if c in expect_post else 0)}
        if wrong_dms:
            problems.append(f"{len(wrong_dms)} charts without exactly their one DM, e.g. {sorted(wrong_dms)[:5]}")
        if wrong_posts:
            problems.append(f"{len(wrong_posts)} charts not posted exactly once, e.g. {sorted(wrong_posts)[:5]}")
        if answered != ANSWERED_CHARTS or answer_events != ANSWERED_CHARTS:
            problems.append(f"{answered} queries answered and {answer_events} answers audited, expected {ANSWERED_CHARTS}")
        if slack.violations:
            problems.append(f"{len(slack.violations)} Block Kit violations")
        print(f"   held: {len(records)} charts stored once each, {sum(len(v) for v in dms.values())} query DMs, "
              f"{sum(len(v) for v in cleared.values())} coder posts, {answered} answers: "
              + ("nothing lost, nothing doubled" if not problems else "; ".join(problems)))
        failures += bool(problems)
    finally:
        http.close()
        server.stop()
        if store is not None:
            store.dispose()
        slack.stop()
    return failures


def _load_open_queries(url: str, now: datetime) -> None:
    """100,000 open queries, already sent, 1,000 of them past their first reminder time."""
    import psycopg

    with psycopg.connect(url) as conn:
        with conn.cursor().copy(
            "COPY chart_record (id, chart_id, document_id, version, doc_key, fmt, source, raw, chart_json, "
            "received_at, status, is_current, provider_npi, provider_user_id) FROM STDIN"
        ) as copy:
            for n in range(1, OPEN_QUERIES + 1):
                npi = f"{1000000000 + n % TICK_PROVIDERS}"
                copy.write_row((n, f"ENC-T{n}", f"DOC-T{n}", 1, f"DOC-T{n}#1", "json", "bench", "{}", "{}",
                                now - timedelta(days=1), "needs_query", True, npi, f"U{npi}"))
        conn.execute("SELECT setval(pg_get_serial_sequence('chart_record', 'id'), %s)", (OPEN_QUERIES,))
        with conn.cursor().copy(
            'COPY query (chart_record_id, chart_id, "check", code, question, evidence, choices, status, '
            "provider_npi, provider_user_id, sent_at, next_due_at, reminder_count, escalation_step, dm_channel, dm_ts) "
            "FROM STDIN"
        ) as copy:
            for n in range(1, OPEN_QUERIES + 1):
                npi = f"{1000000000 + n % TICK_PROVIDERS}"
                due = now - timedelta(minutes=5) if n <= DUE_QUERIES else now + timedelta(days=1)
                copy.write_row((n, f"ENC-T{n}", "laterality", "M25.569",
                                "Pain is documented without a side. Which side was evaluated?",
                                "Assessment: knee pain.",
                                '[{"label": "Pain in right knee (M25.561)", "kind": "code", "codes": ["M25.561"]}]',
                                "open", npi, f"U{npi}", now - timedelta(hours=5), due, 0, 0, f"DU{npi}", f"1800000000.{n:06d}"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def bench_tick(url: str) -> int:
    from vma.config import Settings
    from vma.conversations.service import ChartService
    from vma.directory import Directory
    from vma.integrations.slack.notifier import SlackNotifier, web_client
    from vma.scheduler import run_tick
    from vma.store.db import Store

    from tests.crash.harness import SlowSlack

    slack = SlowSlack(delay=0.0).start()
    store = Store(url)
    try:
        store.migrate()
        now = datetime.now(UTC)
        started = time.perf_counter()
        _load_open_queries(url, now)
        print(f"   loaded {OPEN_QUERIES:,} open queries ({DUE_QUERIES:,} due) with COPY in "
              f"{time.perf_counter() - started:.1f} s")
        settings = Settings(slack_bot_token="xoxb-bench", slack_api_url=slack.api_url, vma_database_url=url,
                            vma_business_hours="always", vma_reminder_after="4h", vma_escalate_after="30d",
                            vma_coder_channel="C0CODERS1", vma_manager_channel="C0MANAGE1")
        service = ChartService(store, SlackNotifier(web_client(settings), settings), settings, Directory())
        t0 = time.perf_counter()
        report = run_tick(service, settings)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_tick(service, settings)
        second = time.perf_counter() - t0
        reminders = len(slack.calls_to("chat.postMessage"))
        print(f"   tick over {OPEN_QUERIES:,} open queries, {DUE_QUERIES:,} due: {first * 1000:.0f} ms "
              f"({report.reminders_sent} reminder DMs for {report.queries_reminded} queries of {TICK_PROVIDERS} "
              f"providers, {report.failures} failures); "
              f"the next tick, nothing due: {second * 1000:.0f} ms")
        return 0 if reminders == TICK_PROVIDERS and len(slack.calls_to("chat.postMessage")) == reminders else 1
    finally:
        store.dispose()
        slack.stop()


def soak(url: str, kills: int) -> int:
    from tests.crash.scenario import CrashScenario, summary

    outcome = CrashScenario(Path(tempfile.mkdtemp(prefix="vma-soak-")), url, seed=int(time.time()),
                            slack_delay=0.2).run(kills=kills, settle_timeout=120)
    print("   soak:", summary(outcome))
    doubled = [c for c, p in list(outcome.cleared.items()) + list(outcome.dms.items()) if len(p) > 1]
    lost = [c for c, s in outcome.records.items() if s != ["posted"]] + sorted(set(outcome.charts) - set(outcome.records))
    if doubled or lost or not outcome.settled:
        print(f"   soak FAILED: doubled {doubled[:5]}, not posted {lost[:5]}, settled {outcome.settled}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    base = _base_url()
    if not base:
        print("   skipped: VMA_TEST_POSTGRES_URL is not set "
              "(e.g. VMA_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test)")
        return 0
    import psycopg

    try:
        psycopg.connect(base, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        print(f"   skipped: PostgreSQL unreachable at VMA_TEST_POSTGRES_URL: {exc}")
        return 0
    failures = 0
    if "--soak" in argv:
        with throwaway_database(base, "soak") as url:
            return soak(url, int(os.environ.get("VMA_SOAK_KILLS", "40")))
    with throwaway_database(base, "load") as url:
        failures += bench_server(url)
    with throwaway_database(base, "tick") as url:
        failures += bench_tick(url)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
