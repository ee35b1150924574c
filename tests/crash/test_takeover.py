"""Owned claims with liveness, against real ``vma serve`` processes and ``kill -9``.

No lease is shortened or lapsed here (no ``lapse_leases``): the heartbeat and staleness settings are
the defaults (5 s, 30 s), the check lease is 5 minutes and the send lease 2. What the tests show:

- a restart right after ``kill -9`` takes the dead process's check and send claims over at once: every
  accepted chart reaches its DM or coder post within 15 s of ``/healthz`` answering, nothing doubled
  (a message Slack took as the process died is found again by its outbox key, not re-sent);
- with two live workers on one database, killing one lets the other take its claims over within 15 s,
  while a live worker's claims are never taken, however many ticks the other runs meanwhile.

On SQLite the dead process is seen through its pid (same host); on PostgreSQL through its session
advisory lock, which the server frees when the killed process's connection drops.
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.crash.harness import CODERS, USERS, ServerProcess, SlowSlack, server_env, synthetic_chart
from vma.integrations.slack.standin import wait_until

# Demo charts: one clean (coder post), two with a query (DM), one with a correction (coder post).
TEMPLATES = ("ENC-D2001", "ENC-D2002", "ENC-D2003", "ENC-D2004")
ASKS = {"ENC-D2002", "ENC-D2003"}
SETTLE_LIMIT = 15.0
ROUNDS = 4
FIGURES: dict[str, list] = {}


def _store(database_url):
    from vma.store.db import Store

    return Store(database_url)


def _claims(store) -> dict[str, dict]:
    """Who holds what right now: chart records being checked and messages being sent, by worker."""
    from sqlalchemy import select

    from vma.store.models import ChartRecord, OutboundMessage

    with store.session() as session:
        checks = dict(session.execute(select(ChartRecord.id, ChartRecord.claimed_by)
                                      .where(ChartRecord.status == "processed")).all())
        sends = dict(session.execute(select(OutboundMessage.idem_key, OutboundMessage.claimed_by)
                                     .where(OutboundMessage.state != "sent",
                                            OutboundMessage.claimed_at.is_not(None))).all())
    return {"checks": checks, "sends": sends}


def _unfinished(store) -> dict[str, int]:
    """What the database still has to do: charts not yet checked, messages not yet marked sent."""
    from sqlalchemy import func, select

    from vma.store.models import ChartRecord, OutboundMessage

    with store.session() as session:
        checks = session.execute(select(func.count()).select_from(ChartRecord)
                                 .where(ChartRecord.status.in_(("received", "processed")))).scalar_one()
        sends = session.execute(select(func.count()).select_from(OutboundMessage)
                                .where(OutboundMessage.state != "sent")).scalar_one()
    return {"checks": checks, "sends": sends} if checks or sends else {}


def _worker_of(store, pid: int) -> str | None:
    from sqlalchemy import select

    from vma.store.models import Worker

    with store.session() as session:
        return session.execute(select(Worker.id).where(Worker.pid == pid, Worker.stopped_at.is_(None))
                               .order_by(Worker.started_at.desc()).limit(1)).scalar_one_or_none()


def _takeovers(store) -> list[dict]:
    from sqlalchemy import select

    from vma.store.models import AuditEvent

    with store.session() as session:
        return [dict(e.detail or {}, at=e.at) for e in session.execute(
            select(AuditEvent).where(AuditEvent.action == "worker_takeover").order_by(AuditEvent.id)).scalars()]


class Ehr:
    """Posts charts and keeps which were accepted (202/200), and what each should end in."""

    def __init__(self):
        self.http = httpx.Client(timeout=15)
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ehr")
        self.accepted: dict[str, str] = {}
        self.lock = threading.Lock()
        self.n = 0

    def burst(self, url: str, count: int, tag: str) -> list[str]:
        ids = []
        for _ in range(count):
            self.n += 1
            ids.append((f"TO-{tag}-{self.n:03d}", TEMPLATES[self.n % len(TEMPLATES)]))

        def post(item):
            chart_id, template = item
            response = self.http.post(url + "/charts", content=synthetic_chart(template, chart_id),
                                      headers={"Content-Type": "application/json"})
            assert response.status_code in (200, 202), (response.status_code, response.text[:300])
            with self.lock:
                self.accepted[chart_id] = template

        list(self.pool.map(post, ids))
        return [chart_id for chart_id, _ in ids]

    def close(self):
        self.pool.shutdown(wait=True)
        self.http.close()


def _missing(slack, accepted: dict[str, str]) -> list[str]:
    """Accepted charts not yet at their DM (query charts) or coder post (the others)."""
    dms, posts = slack.posts_of("query_dm"), slack.posts_of("cleared")
    return [c for c, t in accepted.items() if not (dms.get(c) if t in ASKS else posts.get(c))]


def _doubled(slack) -> dict[str, int]:
    counts = {}
    for kind in ("query_dm", "cleared"):
        for chart_id, posts in slack.posts_of(kind).items():
            if len(posts) > 1:
                counts[f"{kind}:{chart_id}"] = len(posts)
    return counts


def _env(slack, database_url):
    # Production liveness settings on purpose: the takeover must not come from a stale heartbeat.
    return {**server_env(slack, database_url), "VMA_HEARTBEAT_EVERY": "5s", "VMA_WORKER_STALE_AFTER": "30s"}


def test_kill_9_then_restart_takes_the_dead_claims_over_at_once(database_url, tmp_path):
    slack = SlowSlack(users=USERS, delay=0.3).start()
    server = ServerProcess(_env(slack, database_url), tmp_path / "serve.log")
    ehr = Ehr()
    store = None
    settle_times, held, whys = [], [], []
    try:
        server.start()
        store = _store(database_url)
        for round_no in range(ROUNDS):
            # Even rounds kill while the fresh process is still checking (the first checks load the
            # reference tables); odd rounds while Slack holds a post whose answer the process never sees.
            dead_worker = _worker_of(store, server.proc.pid)
            ehr.burst(server.url, 6, f"R{round_no}")
            if round_no % 2 == 0:
                wait_until(lambda: any(_claims(store)["checks"].values()), timeout=10, interval=0.005,
                           what="no check claim showed")
            else:
                wait_until(lambda: slack.busy("chat.postMessage", "dm") or slack.busy("chat.postMessage", "coders"),
                           timeout=10, interval=0.005, what="no Slack post in flight")
                time.sleep(0.2)  # past the half-way point of the post: Slack has it, the process not yet
            server.kill()
            left = _claims(store)
            held.append({"checks": sum(1 for w in left["checks"].values() if w == dead_worker),
                         "sends": sum(1 for w in left["sends"].values() if w == dead_worker)})

            server.start()  # returns once /healthz answers
            up = time.monotonic()
            wait_until(lambda: not _missing(slack, ehr.accepted) and not _unfinished(store), timeout=SETTLE_LIMIT,
                       interval=0.02, what=f"round {round_no}: not settled in {SETTLE_LIMIT} s after /healthz; missing "
                                           f"{_missing(slack, ehr.accepted)}, left {_unfinished(store)}")
            settle_times.append(time.monotonic() - up)
            assert _doubled(slack) == {}, _doubled(slack)
            taken = [t for t in _takeovers(store) if t["worker"] == dead_worker]
            assert taken, _takeovers(store)
            whys.append(taken[0]["why"])
        time.sleep(1.0)  # a late duplicate would land now
        assert _doubled(slack) == {}
        assert _missing(slack, ehr.accepted) == []
        assert slack.violations == []
    finally:
        server.stop()
        ehr.close()
        if store is not None:
            store.dispose()
        slack.stop()

    # The kills landed on claims: checks in the even rounds, sends in the odd ones.
    assert any(h["checks"] for h in held[0::2]), held
    assert any(h["sends"] for h in held[1::2]), held
    FIGURES.setdefault("restart", []).extend(settle_times)
    print(f"\ntakeover after kill -9 and restart ({database_url.split(':')[0]}): {server.kills} kills survived, "
          f"claims held by the dead process {held}, seen dead because {sorted(set(whys))}, settled after "
          f"/healthz in median {statistics.median(settle_times):.2f} s, worst {max(settle_times):.2f} s")


def test_two_live_workers_one_killed_the_other_takes_over_and_never_a_live_claim(database_url, tmp_path):
    slack = SlowSlack(users=USERS, delay=2.0).start()
    env = _env(slack, database_url)
    first = ServerProcess(env, tmp_path / "a.log")
    second = ServerProcess(env, tmp_path / "b.log")
    ehr = Ehr()
    store = None
    flips: list = []
    stop = threading.Event()
    a_alive = threading.Event()
    try:
        first.start()
        a_alive.set()
        second.start()
        store = _store(database_url)
        a, b = _worker_of(store, first.proc.pid), _worker_of(store, second.proc.pid)
        assert a and b and a != b

        both: list = []

        def watch():
            """Every 20 ms: a claim A holds must never be held by B next while A lives; and note the
            moments both hold claims (B at work beside A, looking at A's claims on each of its ticks)."""
            seen: dict[tuple, str | None] = {}
            while not stop.is_set():
                alive = a_alive.is_set()  # read before the sample: a claim seen moving now moved while A lived
                now = _claims(store)
                owners = set(now["checks"].values()) | set(now["sends"].values())
                if a in owners and b in owners:
                    both.append(time.monotonic())
                for kind in ("checks", "sends"):
                    for key, owner in now[kind].items():
                        if alive and seen.get((kind, key)) == a and owner == b:
                            flips.append((kind, key))
                        seen[(kind, key)] = owner
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        ehr.burst(first.url, 10, "A")
        # A's two check threads keep sends in flight (Slack answers in 2 s); B's tick (every 5 s) takes the
        # charts still waiting and, on every pass, tries the ones A is sending: it must leave those alone.
        wait_until(lambda: both, timeout=15, interval=0.05, what="B never worked beside A")
        wait_until(lambda: a in _claims(store)["sends"].values(), timeout=10, interval=0.005,
                   what="A holds no send to be killed in")
        assert not any(t["worker"] == a for t in _takeovers(store)), "A's claims were taken while A was alive"
        a_held = _claims(store)
        a_alive.clear()
        first.kill()
        killed = time.monotonic()
        slack.delay = 0.3  # the rest of the run need not be slow
        wait_until(lambda: not _missing(slack, ehr.accepted) and not _unfinished(store), timeout=SETTLE_LIMIT,
                   interval=0.02, what=f"B did not finish A's work within {SETTLE_LIMIT} s; missing "
                                       f"{_missing(slack, ehr.accepted)}, left {_unfinished(store)}")
        took = time.monotonic() - killed
        stop.set()
        watcher.join(timeout=5)
        time.sleep(1.0)
        assert flips == [], flips
        assert _doubled(slack) == {}, _doubled(slack)
        takeovers = _takeovers(store)
        assert [t["worker"] for t in takeovers] == [a], takeovers
        assert takeovers[0]["by"] == b and (takeovers[0]["checks"] or takeovers[0]["sends"]), takeovers
        assert slack.violations == []
    finally:
        stop.set()
        first.stop()
        second.stop()
        ehr.close()
        if store is not None:
            store.dispose()
        slack.stop()
    FIGURES.setdefault("two_workers", []).append(took)
    print(f"\ntwo live workers ({database_url.split(':')[0]}): A held {sum(1 for w in a_held['sends'].values() if w == a)} "
          f"send(s) and {sum(1 for w in a_held['checks'].values() if w == a)} check(s) at its kill -9; "
          f"B saw it dead ({takeovers[0]['why']}), took over and settled them in {took:.2f} s; no live claim "
          f"taken, nothing doubled")
