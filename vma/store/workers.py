"""Who holds a claim, and whether it still lives: the worker registry.

Every ``vma serve`` process registers itself at start-up (a new boot id, the
host, the pid and the process's start time) and heartbeats every few seconds
(``VMA_HEARTBEAT_EVERY``). Check, send and reminder claims record their owner
(``claimed_by``). A claim is respected while its owner lives; once the owner is
gone its claims are taken over at once (``take_over_dead``, run at start-up and
on every tick), not after a lease runs out. This is how the trusted job queues
do it: procrastinate's worker heartbeats, Solid Queue's process records, Que's
session advisory locks.

An owner is gone when any of these says so:

- it stopped (a clean shutdown marks its row);
- its heartbeat is older than ``VMA_WORKER_STALE_AFTER`` (a host that died, or
  a process that hangs);
- on PostgreSQL, the session advisory lock it held for its lifetime is free:
  the server ends a dead client's session, and its locks with it, as soon as
  the connection drops, so ``kill -9`` is seen at once from any host;
- it ran on this machine (same hostname, kernel boot and PID namespace) and its
  process no longer exists, or the pid now belongs to a process started at
  another time: the usual case of an immediate restart, seen at once on SQLite
  too.

A service that never starts the heartbeat thread (tests, one-shot commands)
registers on its first claim, without a lock, and refreshes its heartbeat as
it claims.

Taking over releases what the dead owner held: a chart it was checking goes
back to ``received``; a message it was sending becomes claimable again (its
``attempts`` stay, so the next sender first looks in Slack for a copy the dead
one may have posted: a takeover never doubles a message); reminder rows it had
leased are due now and its unsent nudge is freed.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Callable

from sqlalchemy import delete, select, text, update

from vma.clock import as_utc, utc_now

log = logging.getLogger(__name__)

# pg_advisory_lock(int4, int4): the first key is vma's namespace ("VMA"), the second the worker's own.
LOCK_NAMESPACE = 0x564D41
DEFAULT_HEARTBEAT_EVERY = timedelta(seconds=5)
DEFAULT_STALE_AFTER = timedelta(seconds=30)


def _read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


@lru_cache(maxsize=1)
def release() -> str:
    """The vma release this process runs (the installed package's version)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vma")
    except PackageNotFoundError:  # a source tree never installed
        return "unknown"


@lru_cache(maxsize=1)
def host_key() -> str:
    """Where a pid means one process: the hostname, the kernel's boot id and the PID namespace.

    Two containers on one host share the hostname in host networking but not the PID namespace;
    a pid is only compared with a worker whose key is the same as ours.
    """
    boot = _read("/proc/sys/kernel/random/boot_id") or "-"
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = "-"
    return f"{socket.gethostname()}|{boot}|{namespace}"[:400]


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux ``/proc``), or None."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return None
    # The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    fields = stat[stat.rfind(")") + 2:].split()
    if len(fields) < 20:
        return None
    if fields[0] in ("Z", "X"):  # a zombie has died; only its exit status is left
        return "dead"
    return fields[19]


def process_alive(pid: int, started: str | None) -> bool:
    """Whether the process ``pid`` (started at ``started``) still runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    except OSError:
        return True  # cannot tell: the heartbeat decides
    now_started = process_start(pid)
    if now_started == "dead":
        return False
    if started and now_started and now_started != started:
        return False  # the pid was reused (a container's pid 1 after a restart)
    return True


@dataclass
class TakeOver:
    """What one dead worker held and was taken from it."""

    worker_id: str
    host: str
    pid: int
    why: str
    checks: list[int] = field(default_factory=list)   # chart record ids sent back to "received"
    sends: list[str] = field(default_factory=list)    # outbox keys made claimable again
    reminders: list[int] = field(default_factory=list)  # query ids due again
    nudges: int = 0


def release_claims(session, worker_ids: list[str], now: datetime, result: TakeOver | None = None) -> TakeOver | None:
    """Release every claim the given workers hold, in the caller's transaction."""
    from vma.store.models import ChartRecord, Nudge, OutboundMessage, Query

    if not worker_ids:
        return result
    checks = session.execute(
        update(ChartRecord).where(ChartRecord.claimed_by.in_(worker_ids), ChartRecord.status == "processed")
        .values(status="received", claimed_by=None).returning(ChartRecord.id)
    ).scalars().all()
    session.execute(update(ChartRecord).where(ChartRecord.claimed_by.in_(worker_ids)).values(claimed_by=None))
    sends = session.execute(
        update(OutboundMessage).where(OutboundMessage.claimed_by.in_(worker_ids), OutboundMessage.state != "sent")
        .values(claimed_at=None, claimed_by=None).returning(OutboundMessage.idem_key)
    ).scalars().all()
    session.execute(update(OutboundMessage).where(OutboundMessage.claimed_by.in_(worker_ids)).values(claimed_by=None))
    # A leased reminder row is due again now; one whose reminder was recorded is only unmarked.
    reminders = session.execute(
        update(Query).where(Query.claimed_by.in_(worker_ids), Query.status == "open", Query.next_due_at > now)
        .values(next_due_at=now, claimed_by=None).returning(Query.id)
    ).scalars().all()
    session.execute(update(Query).where(Query.claimed_by.in_(worker_ids)).values(claimed_by=None))
    nudges = session.execute(
        delete(Nudge).where(Nudge.claimed_by.in_(worker_ids), Nudge.message_id.is_(None))
    ).rowcount or 0
    session.execute(update(Nudge).where(Nudge.claimed_by.in_(worker_ids)).values(claimed_by=None))
    if result is not None:
        result.checks.extend(checks)
        result.sends.extend(sends)
        result.reminders.extend(reminders)
        result.nudges += nudges
    return result


class WorkerRegistry:
    """This process's row in ``worker``: registration, heartbeat, liveness of the others, takeover."""

    def __init__(self, store, clock: Callable[[], datetime] | None = None,
                 heartbeat_every: timedelta = DEFAULT_HEARTBEAT_EVERY, stale_after: timedelta = DEFAULT_STALE_AFTER):
        self.store = store
        self.clock = clock or utc_now
        self.heartbeat_every = heartbeat_every
        self.stale_after = stale_after
        self.id: str | None = None
        self.lock_key: int | None = None
        self._lock_connection = None
        self._registering = threading.Lock()
        self._first = threading.Lock()
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._last_touch: datetime | None = None

    @classmethod
    def from_settings(cls, store, settings, clock=None) -> "WorkerRegistry":
        return cls(store, clock=clock,
                   heartbeat_every=getattr(settings, "vma_heartbeat_every", None) or DEFAULT_HEARTBEAT_EVERY,
                   stale_after=getattr(settings, "vma_worker_stale_after", None) or DEFAULT_STALE_AFTER)

    def _now(self) -> datetime:
        return as_utc(self.clock())

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def postgres(self) -> bool:
        return self.store.engine.dialect.name == "postgresql"

    # -- registration ----------------------------------------------------------------------------

    def _acquire_lock(self) -> int:
        """A session advisory lock on a connection of its own, held for the life of this worker."""
        connection = self.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            for _ in range(20):
                key = random.randint(1, 2**31 - 1)
                if connection.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"),
                                      {"ns": LOCK_NAMESPACE, "key": key}).scalar():
                    self._lock_connection = connection
                    return key
        except Exception:
            connection.invalidate()
            connection.close()
            raise
        connection.invalidate()
        connection.close()
        raise RuntimeError("could not take a worker advisory lock")

    def _release_lock(self) -> None:
        connection, self._lock_connection = self._lock_connection, None
        if connection is None:
            return
        try:
            # Invalidated, not returned to the pool: the session must end for the lock to go with it.
            connection.invalidate()
            connection.close()
        except Exception:
            log.debug("closing the worker lock connection failed", exc_info=True)

    def register(self, with_lock: bool = False) -> str:
        """Insert this worker's row (a new boot id); with ``with_lock`` on PostgreSQL, take the lock first
        (a row without its lock held would look dead to the others)."""
        from vma.store.models import Worker

        with self._registering:
            lock_key = self._acquire_lock() if with_lock and self.postgres else None
            worker_id = uuid.uuid4().hex
            now = self._now()
            with self.store.session() as session, session.begin():
                session.add(Worker(id=worker_id, host=socket.gethostname()[:255], host_key=host_key(), pid=os.getpid(),
                                   proc_start=process_start(os.getpid()), release=release()[:40],
                                   lock_key=lock_key, started_at=now, heartbeat_at=now))
            self.id, self.lock_key, self._last_touch = worker_id, lock_key, now
            log.info("worker %s registered (pid %s%s)", worker_id, os.getpid(),
                     f", advisory lock {lock_key}" if lock_key else "")
            return worker_id

    def _lock_existing(self) -> None:
        """A worker registered on its first claim becomes a long-running one: it takes its lock now."""
        from vma.store.models import Worker

        with self._registering:
            lock_key = self._acquire_lock()
            with self.store.session() as session, session.begin():
                session.execute(update(Worker).where(Worker.id == self.id).values(lock_key=lock_key,
                                                                                 heartbeat_at=self._now()))
            self.lock_key = lock_key

    def owner(self) -> str:
        """The id to stamp on a claim: registers on first use; without the heartbeat thread, claiming
        is what keeps the heartbeat fresh."""
        if self.id is None:
            with self._first:
                if self.id is None:
                    self.register()
            return self.id
        if not self.running:
            now = self._now()
            if self._last_touch is None or now - self._last_touch > self.stale_after / 3:
                self.beat()
        return self.id

    # -- heartbeat -------------------------------------------------------------------------------

    def beat(self) -> None:
        """Refresh the heartbeat; a worker the others took for dead (a long stall) starts over as a new one,
        because its claims were released and may be held by others now."""
        from vma.store.models import Worker

        if self.id is None:
            return
        now = self._now()
        if self._lock_connection is not None:
            try:
                self._lock_connection.execute(text("SELECT 1"))
            except Exception:
                log.warning("worker %s lost its database session (and its advisory lock); registering anew", self.id)
                self._release_lock()
                self.register(with_lock=True)
                return
        with self.store.session() as session, session.begin():
            alive = session.execute(update(Worker).where(Worker.id == self.id, Worker.taken_over_at.is_(None))
                                    .values(heartbeat_at=now)).rowcount == 1
        self._last_touch = now
        if not alive:
            log.warning("worker %s was taken for dead by another worker (its claims were released); "
                        "registering anew", self.id)
            self._release_lock()
            self.register(with_lock=self.running)

    def start(self) -> "WorkerRegistry":
        """Register (with the advisory lock on PostgreSQL) and heartbeat in a daemon thread."""
        if self.running:
            return self
        if self.id is None:
            self.register(with_lock=True)
        elif self.postgres and self._lock_connection is None:
            self._lock_existing()
        self._halt.clear()

        def run() -> None:
            while not self._halt.wait(self.heartbeat_every.total_seconds()):
                try:
                    self.beat()
                except Exception:  # the database is away: the next beat tries again
                    log.warning("worker heartbeat failed", exc_info=True)

        self._thread = threading.Thread(target=run, name="vma-heartbeat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """A clean shutdown: whatever is still claimed is released now, and the row says stopped."""
        from vma.store.models import Worker

        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self.id is not None:
            now = self._now()
            try:
                with self.store.session() as session, session.begin():
                    release_claims(session, [self.id], now)
                    session.execute(update(Worker).where(Worker.id == self.id)
                                    .values(stopped_at=now, taken_over_at=now, taken_over_by=self.id))
            except Exception:
                log.warning("could not mark worker %s stopped; the others will find it stale", self.id, exc_info=True)
        self._release_lock()

    # -- the others ------------------------------------------------------------------------------

    def _held_locks(self, session) -> set[int] | None:
        if session.get_bind().dialect.name != "postgresql":
            return None
        rows = session.execute(text(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
            "AND classid = CAST(:ns AS oid) AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ), {"ns": LOCK_NAMESPACE}).scalars().all()
        return {int(key) for key in rows}

    def why_dead(self, worker, now: datetime, held: set[int] | None) -> str | None:
        """Why ``worker`` is gone, or None while it lives."""
        if worker.stopped_at is not None:
            return "stopped"
        heartbeat = as_utc(worker.heartbeat_at)
        if heartbeat < now - self.stale_after:
            return f"no heartbeat for {int((now - heartbeat).total_seconds())} s"
        if held is not None and worker.lock_key is not None and worker.lock_key not in held:
            return "its database session ended (advisory lock free)"
        if worker.host_key == host_key() and not process_alive(worker.pid, worker.proc_start):
            return f"process {worker.pid} is gone"
        return None

    def take_over_dead(self) -> list[TakeOver]:
        """Release the claims of every worker that is gone; each dead worker is taken over once."""
        from vma.store.models import Worker

        me = self.owner()
        now = self._now()
        with self.store.session() as session:
            candidates = session.execute(
                select(Worker).where(Worker.taken_over_at.is_(None), Worker.id != me)
            ).scalars().all()
            if not candidates:
                return []
            held = self._held_locks(session)
        dead = [(worker, why) for worker in candidates if (why := self.why_dead(worker, now, held)) is not None]
        taken: list[TakeOver] = []
        for worker, why in dead:
            with self.store.session() as session, session.begin():
                won = session.execute(
                    update(Worker).where(Worker.id == worker.id, Worker.taken_over_at.is_(None))
                    .values(taken_over_at=now, taken_over_by=me,
                            stopped_at=worker.stopped_at or now)
                ).rowcount == 1
                if not won:
                    continue  # another worker took it over first
                result = release_claims(session, [worker.id], now, TakeOver(worker.id, worker.host, worker.pid, why))
            taken.append(result)
            if result.checks or result.sends or result.reminders or result.nudges:
                log.warning("worker %s (%s, pid %s) is gone (%s): took over %d check(s), %d message(s), "
                            "%d reminder row(s)", worker.id, worker.host, worker.pid, why, len(result.checks),
                            len(result.sends), len(result.reminders))
        return taken
