"""Charts in, answers in, and ``kill -9`` of ``vma serve`` at chosen moments of the loop.

A seeded ``random.Random`` picks, round after round, the stage a kill aims at and
how long after the stage starts it lands:

- ``intake``: while a burst of ``POST /charts`` is in flight;
- ``checking``: just after the acks, while the checks run in the worker threads;
- ``dm``: while a query DM's ``chat.postMessage`` is at Slack (the stand-in is slow);
- ``answer``: just after a provider's click, or while the DM's ``chat.update`` is at Slack;
- ``clear``: while the cleared chart's ``chat.postMessage`` to the coders is at Slack.

Between kills the "EHR" re-sends what was not acknowledged and the "providers" click
what is still open, as people and interfaces do. At the end nothing is killed and the
scenario waits for every chart to reach the coders, then reports what the stand-in and
the database saw (the test asserts on it).
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from vma.integrations.slack.standin import SignedSlackSender

from tests.crash.harness import (
    SECRET, TEMPLATES, USERS, Background, ServerProcess, SlowSlack, server_env, synthetic_chart,
)

STAGES = ("intake", "checking", "dm", "answer", "clear")
QUERY_TEMPLATES = {"ENC-D2002": 1, "ENC-D2003": 1}  # templates whose chart gets one DM


@dataclass
class Kill:
    stage: str
    hit: bool          # the aimed-at step was in flight when the kill landed
    at: float          # time.monotonic() of the kill
    detail: dict = field(default_factory=dict)


@dataclass
class Outcome:
    charts: dict[str, str]                  # chart id -> template
    kills: list[Kill]
    records: dict[str, list[str]]           # chart id -> statuses of its stored records
    rejections: int
    dms: dict[str, list]                    # chart id -> SlackPost of each query DM
    cleared: dict[str, list]                # chart id -> SlackPost of each coder post
    open_queries: int
    outbox_attempts: dict[str, int]         # idem key -> attempts
    unsent: dict[str, tuple]                # idem key -> (kind, chart id) of messages never marked sent
    violations: list
    recovered: int                          # messages Slack took during a kill, found again rather than re-sent
    seconds: float
    settled: bool


class CrashScenario:
    def __init__(self, workdir: Path, database_url: str, seed: int, slack_delay: float = 0.3, burst: int = 6):
        self.workdir = workdir
        self.database_url = database_url
        self.rng = random.Random(seed)
        self.slack_delay = slack_delay
        self.burst = burst
        self.slack = SlowSlack(users=USERS, delay=slack_delay)
        self.server: ServerProcess | None = None
        self.sender: SignedSlackSender | None = None
        self.up = threading.Event()
        self.charts: dict[str, str] = {}
        self.unacked: set[str] = set()
        self.intake_inflight = 0
        self.click_inflight = 0
        self.last_click_done = 0.0
        self.clicked_at: dict[int, float] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ehr")
        self.http = httpx.Client(timeout=10)
        self.kills: list[Kill] = []
        self._next_chart = 0

    # -- the EHR side ------------------------------------------------------------------------------

    def _post(self, chart_id: str) -> None:
        with self.lock:
            self.intake_inflight += 1
        try:
            response = self.http.post(self.server.url + "/charts",
                                      content=synthetic_chart(self.charts[chart_id], chart_id),
                                      headers={"Content-Type": "application/json"})
            if response.status_code in (200, 202):
                with self.lock:
                    self.unacked.discard(chart_id)
            elif response.status_code != 503:
                raise AssertionError(f"POST /charts {chart_id}: {response.status_code} {response.text[:300]}")
        except httpx.TransportError:
            pass  # the server died under the request: the EHR sends it again
        finally:
            with self.lock:
                self.intake_inflight -= 1

    def send_burst(self) -> list:
        ids = []
        for _ in range(self.burst):
            self._next_chart += 1
            template = TEMPLATES[self.rng.randrange(len(TEMPLATES))]
            chart_id = f"CR-{self._next_chart:04d}"
            self.charts[chart_id] = template
            ids.append(chart_id)
        with self.lock:
            self.unacked.update(ids)
        return [self.pool.submit(self._post, chart_id) for chart_id in ids]

    def _resend_unacked(self) -> None:
        if not self.up.is_set():
            return
        with self.lock:
            pending = sorted(self.unacked) if self.intake_inflight == 0 else []
        for chart_id in pending:
            self.pool.submit(self._post, chart_id)

    # -- the providers ---------------------------------------------------------------------------------

    def _open_query_ids(self, ids: list[int]) -> set[int]:
        from sqlalchemy import select

        from vma.store.models import Query

        with self.store.session() as session:
            return set(session.execute(select(Query.id).where(Query.id.in_(ids), Query.status == "open")).scalars())

    def _click_open_answers(self) -> None:
        if not self.up.is_set():
            return
        wanted: dict[int, tuple] = {}
        with self.slack._lock:
            messages = [m for m in self.slack.messages if m.channel.startswith("D") and not m.ephemeral]
        for message in messages:
            for block in message.blocks or []:
                for element in (block.get("elements") or []) + ([block["accessory"]] if block.get("accessory") else []):
                    if not str(element.get("action_id", "")).startswith("vma_answer_"):
                        continue
                    if element.get("type") == "static_select":
                        option = (element.get("options") or [None])[0]
                        value = option and option.get("value")
                        action = {**element, "block_id": block.get("block_id", "b"), "selected_option": option}
                    else:
                        value = element.get("value")
                        action = {**element, "block_id": block.get("block_id", "b")}
                    try:
                        query_id, index = (int(part) for part in str(value).split(":"))
                    except ValueError:
                        continue
                    if query_id not in wanted or index < wanted[query_id][0]:
                        wanted[query_id] = (index, message, action)
        if not wanted:
            return
        now = time.monotonic()
        for query_id in sorted(self._open_query_ids(list(wanted))):
            if now - self.clicked_at.get(query_id, 0) < 2.0:
                continue
            _, message, action = wanted[query_id]
            user = "U" + message.channel[1:]
            self.clicked_at[query_id] = now
            with self.lock:
                self.click_inflight += 1
            try:
                self.sender.click(user, message.channel, message.ts, action)
            except httpx.TransportError:
                self.clicked_at[query_id] = 0  # died under the click: the provider clicks again
            finally:
                with self.lock:
                    self.click_inflight -= 1
                    self.last_click_done = time.monotonic()
            if not self.up.is_set():
                return

    # -- kills -----------------------------------------------------------------------------------------

    def _wait(self, condition, timeout: float = 8.0, interval: float = 0.003) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(interval)
        return False

    def _aim(self, stage: str) -> bool:
        """Start the stage's work and return once it is in flight (False if it never showed)."""
        futures = self.send_burst()
        if stage == "intake":
            time.sleep(self.rng.uniform(0.0, 0.02))
            return self.intake_inflight > 0
        if stage == "checking":
            if not self._wait(lambda: any(f.done() for f in futures)):
                return False
            time.sleep(self.rng.uniform(0.0, 0.03))
            return True
        if stage == "dm":
            hit = self._wait(lambda: self.slack.busy("chat.postMessage", "dm"))
        elif stage == "answer":
            hit = self._wait(lambda: self.slack.busy("chat.update", "dm") or self.click_inflight > 0
                             or time.monotonic() - self.last_click_done < 0.03)
        else:
            hit = self._wait(lambda: self.slack.busy("chat.postMessage", "coders"))
        if hit:
            time.sleep(self.rng.uniform(0.0, self.slack_delay / 2))
        return hit

    def _kill(self, stage: str, hit: bool) -> None:
        self.up.clear()
        detail = {"intake_inflight": self.intake_inflight, "click_inflight": self.click_inflight,
                  "slack_inflight": sorted(tag for tag, n in self.slack.inflight_charts.items() if n)}
        self.server.kill()
        at = time.monotonic()
        detail.update(self._unfinished())
        self.kills.append(Kill(stage, hit, at, detail))

    def _unfinished(self) -> dict:
        from sqlalchemy import func, select

        from vma.store.models import ChartRecord, OutboundMessage

        with self.store.session() as session:
            by_status = dict(session.execute(select(ChartRecord.status, func.count()).group_by(ChartRecord.status)).all())
            pending = session.execute(select(func.count()).select_from(OutboundMessage)
                                      .where(OutboundMessage.state != "sent")).scalar_one()
        return {"received": by_status.get("received", 0), "checking": by_status.get("processed", 0),
                "pending_messages": pending}

    def _start_server(self) -> None:
        self.server.start()
        if self.sender is None:
            self.sender = SignedSlackSender(self.server.url + "/slack/events", SECRET, self.slack)
        self.up.set()

    # -- the run ---------------------------------------------------------------------------------------

    def run(self, kills: int, settle_timeout: float = 60.0) -> Outcome:
        from vma.store.db import Store

        started = time.monotonic()
        self.slack.start()
        self.server = ServerProcess(server_env(self.slack, self.database_url), self.workdir / "serve.log")
        self._start_server()
        self.store = Store(self.database_url)  # after the server migrated it
        ehr = Background(self._resend_unacked, 0.3, "ehr-retry")
        providers = Background(self._click_open_answers, 0.1, "providers")
        ehr.start()
        providers.start()
        try:
            order = list(STAGES)
            for round_no in range(kills):
                if round_no % len(order) == 0:
                    self.rng.shuffle(order)
                stage = order[round_no % len(order)]
                hit = self._aim(stage)
                self._kill(stage, hit)
                time.sleep(self.rng.uniform(0.0, 0.2))
                self._start_server()
                time.sleep(self.rng.uniform(0.1, 0.6))
            settled = self._settle(settle_timeout)
            ehr.stop()
            providers.stop()
            return self._outcome(started, settled)
        finally:
            ehr.halt.set()
            providers.halt.set()
            self.pool.shutdown(wait=True)
            if self.server:
                self.server.stop()
            if self.sender:
                self.sender.close()
            self.http.close()
            self.store.dispose()
            self.slack.stop()

    def _settle(self, timeout: float) -> bool:
        """Until the database says every chart was posted and no message is left to send."""
        from sqlalchemy import func, select

        from vma.store.models import ChartRecord, OutboundMessage

        def done() -> bool:
            if self.unacked:
                return False
            with self.store.session() as session:
                posted = session.execute(select(func.count()).select_from(ChartRecord)
                                         .where(ChartRecord.status == "posted")).scalar_one()
                # A query DM Slack took just before a kill, and whose query the provider then
                # answered from that very message, is moot: nothing will (or should) send it again.
                unsent = session.execute(select(func.count()).select_from(OutboundMessage)
                                         .where(OutboundMessage.state != "sent",
                                                OutboundMessage.kind != "query_dm")).scalar_one()
            return posted == len(self.charts) and unsent == 0
        return self._wait(done, timeout, interval=0.2)

    def _outcome(self, started: float, settled: bool) -> Outcome:
        from sqlalchemy import func, select

        from vma.store.models import ChartRecord, IntakeRejection, OutboundMessage, Query

        time.sleep(1.0)  # a late duplicate, if any, would land now
        with self.store.session() as session:
            records: dict[str, list[str]] = {}
            for chart_id, status in session.execute(select(ChartRecord.chart_id, ChartRecord.status)):
                records.setdefault(chart_id, []).append(status)
            rejections = session.execute(select(func.count()).select_from(IntakeRejection)).scalar_one()
            open_queries = session.execute(select(func.count()).select_from(Query).where(Query.status == "open")).scalar_one()
            attempts = dict(session.execute(select(OutboundMessage.idem_key, OutboundMessage.attempts)).all())
            unsent = {}
            for key, kind, payload in session.execute(select(OutboundMessage.idem_key, OutboundMessage.kind,
                                                             OutboundMessage.payload)
                                                      .where(OutboundMessage.state != "sent")):
                record = session.get(ChartRecord, (payload or {}).get("record_id") or 0)
                unsent[key] = (kind, record.chart_id if record else None)
        return Outcome(
            charts=dict(self.charts), kills=list(self.kills), records=records, rejections=rejections,
            dms=self.slack.posts_of("query_dm"), cleared=self.slack.posts_of("cleared"), open_queries=open_queries,
            outbox_attempts=attempts, unsent=unsent, violations=list(self.slack.violations),
            recovered=(self.workdir / "serve.log").read_text(errors="replace").count("had reached Slack before"),
            seconds=time.monotonic() - started, settled=settled)


def summary(outcome: Outcome) -> str:
    hits = {stage: sum(1 for k in outcome.kills if k.stage == stage and k.hit) for stage in STAGES}
    dup_dms = sum(len(p) - 1 for p in outcome.dms.values())
    dup_posts = sum(len(p) - 1 for p in outcome.cleared.values())
    return (f"{len(outcome.kills)} kills survived ({', '.join(f'{s} {n}' for s, n in hits.items())} in flight), "
            f"{len(outcome.charts)} charts, {sum(len(p) for p in outcome.dms.values())} query DMs "
            f"({dup_dms} doubled), {sum(len(p) for p in outcome.cleared.values())} coder posts "
            f"({dup_posts} doubled), {outcome.recovered} messages Slack took during a kill found again, "
            f"no lease waited out, {outcome.seconds:.1f} s")
