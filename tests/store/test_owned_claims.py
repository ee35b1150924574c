"""Owned claims over a real database: who holds a check, a send or a reminder, and when it is taken over.

A worker's claims are respected while it lives and taken over at once when it is gone: stopped, no
heartbeat for VMA_WORKER_STALE_AFTER, its process gone from this machine (or its pid reused), or, on
PostgreSQL, its session advisory lock free. The clock here is the services' own (``Clock``), so
"stale" is reached by moving it, never by sleeping; processes are real (a child that exited).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.shared import SimulatedCrash, chart, raw
from tests.store.test_service import World
from vma.integrations.slack.standin import wait_until


@pytest.fixture
def world(tmp_path, database_url, ref):
    w = World(tmp_path, database_url, ref)
    yield w
    w.close()


def _other_service(world):
    """A second live worker in this process over the same database (its own engine and registry)."""
    from vma.conversations.service import ChartService
    from vma.directory import Directory
    from vma.store.db import Store

    store = Store(world.settings.vma_database_url)
    world.stores.append(store)
    return ChartService(store, world.notifier, world.settings, Directory.load(world.settings.vma_provider_directory),
                        ref=world.ref, clock=world.clock)


def _exited_pid() -> int:
    """The pid of a process that has run and is gone (reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _fake_worker(world, **values) -> str:
    """A worker row as another process would have written it, fresh unless told otherwise."""
    from vma.store.models import Worker
    from vma.store.workers import host_key

    worker_id = uuid.uuid4().hex
    row = dict(id=worker_id, host="ehr-gateway", host_key=host_key(), pid=os.getpid(), proc_start=None,
               release="test", started_at=world.clock(), heartbeat_at=world.clock())
    row.update(values)
    with world.store.session() as session, session.begin():
        session.add(Worker(**row))
    return worker_id


def _claim_as(world, worker_id: str, record_id: int) -> None:
    """The worker ``worker_id`` was checking this chart when it went."""
    from vma.store.models import ChartRecord

    with world.store.session() as session, session.begin():
        session.execute(update(ChartRecord).where(ChartRecord.id == record_id)
                        .values(status="processed", processed_at=world.clock(), claimed_by=worker_id))


def _takeovers(world):
    from vma.store.models import AuditEvent

    return [e.detail for e in world.rows(AuditEvent, AuditEvent.action == "worker_takeover")]


def test_a_worker_registers_itself_heartbeats_and_says_when_it_stops(world):
    from vma.store.models import Worker
    from vma.store.workers import WorkerRegistry, process_start

    registry = WorkerRegistry(world.store, clock=world.clock, heartbeat_every=timedelta(seconds=0.05))
    registry.start()
    try:
        row, = world.rows(Worker, Worker.id == registry.id)
        assert (row.pid, row.proc_start, row.stopped_at) == (os.getpid(), process_start(os.getpid()), None)
        assert row.host and row.host_key and row.release
        world.clock.advance(seconds=7)
        from vma.integrations.slack.standin import wait_until

        wait_until(lambda: world.rows(Worker, Worker.id == registry.id)[0].heartbeat_at == world.clock(), timeout=5,
                   what="no heartbeat")
        if world.store.dialect == "postgresql":
            assert row.lock_key is not None  # held by this worker's own session for its lifetime
    finally:
        registry.stop()
    row, = world.rows(Worker, Worker.id == registry.id)
    assert row.stopped_at == world.clock() and row.taken_over_by == registry.id


def test_a_live_workers_check_and_send_claims_are_respected_and_a_stale_ones_taken_over(world, monkeypatch):
    from vma.store.models import ChartRecord, OutboundMessage

    # Worker A dies in the middle of sending the query DM: the outbox row is claimed by A.
    world.notifier.crash_on.add("send_query_dm")
    with pytest.raises(SimulatedCrash):
        world.submit(chart("ENC-OC-1"))
    a = world.service.workers.id
    outbound, = world.rows(OutboundMessage)
    assert outbound.claimed_by == a and outbound.state == "pending"

    b = _other_service(world)
    b.process_pending()  # A looks alive (same process, fresh heartbeat): its claim stands
    assert world.notifier.of("send_query_dm") == [] and _takeovers(world) == []
    assert world.rows(OutboundMessage)[0].claimed_by == a

    world.clock.advance(seconds=31)  # A has not beaten for longer than VMA_WORKER_STALE_AFTER (30 s)
    b.process_pending()
    assert len(world.notifier.of("send_query_dm")) == 1
    taken, = _takeovers(world)
    assert taken["worker"] == a and taken["by"] == b.workers.id and taken["sends"] == [outbound.idem_key]
    assert "heartbeat" in taken["why"]
    assert world.rows(ChartRecord)[0].status == "needs_query"
    b.process_pending()
    assert len(world.notifier.of("send_query_dm")) == 1 and len(_takeovers(world)) == 1  # taken over once


def test_a_dead_process_on_this_machine_is_taken_over_at_once_with_no_lease_waited(world):
    from vma.store.models import ChartRecord, OutboundMessage

    stored = world.service.intake(raw(chart("ENC-OC-2")), "test")
    gone = _fake_worker(world, pid=_exited_pid())
    _claim_as(world, gone, stored.record_id)
    # and it was sending another chart's post when it died: the row is claimed, tried once
    clean = world.service.intake(raw(chart("ENC-OC-3", note="CHIEF COMPLAINT\n\nFollow-up.\n\nASSESSMENT AND PLAN\n\n"
                                           "Essential hypertension, well controlled. Continue lisinopril.",
                                           codes=("I10",))), "test")
    world.service.process(clean.record_id)
    assert len(world.notifier.of("post_cleared")) == 1
    with world.store.session() as session, session.begin():
        session.execute(update(ChartRecord).where(ChartRecord.id == clean.record_id)
                        .values(status="clear", posted_at=None))
        session.execute(update(OutboundMessage).where(OutboundMessage.idem_key == f"cleared:{clean.record_id}")
                        .values(state="pending", claimed_at=world.clock(), claimed_by=gone))

    world.service.process_pending()  # no clock moved: the pid says the owner is gone
    assert [r.status for r in world.rows(ChartRecord, ChartRecord.id == stored.record_id)] == ["needs_query"]
    assert len(world.notifier.of("send_query_dm")) == 1
    assert len(world.notifier.of("post_cleared")) == 2  # the recording notifier cannot look for an earlier copy
    taken, = _takeovers(world)
    assert taken["worker"] == gone and taken["checks"] == [stored.record_id]
    assert taken["sends"] == [f"cleared:{clean.record_id}"] and "is gone" in taken["why"]


def test_a_reused_pid_is_not_the_old_worker(world):
    """In a container the restarted server is pid 1 again: same pid, another start time."""
    stored = world.service.intake(raw(chart("ENC-OC-4")), "test")
    before = _fake_worker(world, pid=os.getpid(), proc_start="1")
    _claim_as(world, before, stored.record_id)
    world.service.process_pending()
    assert len(world.notifier.of("send_query_dm")) == 1
    assert _takeovers(world)[0]["worker"] == before


def test_a_live_worker_on_another_host_keeps_its_claim_until_its_heartbeat_is_stale(world):
    from vma.store.models import ChartRecord

    stored = world.service.intake(raw(chart("ENC-OC-5")), "test")
    # Another machine: its pid means nothing here, only its heartbeat (and, on PostgreSQL, a lock) can tell.
    remote = _fake_worker(world, host="app-2", host_key="app-2|boot|pid:[1]", pid=_exited_pid())
    _claim_as(world, remote, stored.record_id)
    world.service.process_pending()
    assert world.rows(ChartRecord, ChartRecord.id == stored.record_id)[0].status == "processed"
    assert world.notifier.of("send_query_dm") == []
    world.clock.advance(seconds=29)
    world.service.process_pending()
    assert world.notifier.of("send_query_dm") == []
    world.clock.advance(seconds=2)
    world.service.process_pending()
    assert len(world.notifier.of("send_query_dm")) == 1


def test_a_worker_that_was_taken_for_dead_starts_over_as_a_new_one(world):
    """A process that stalled past the staleness limit lost its claims; it must not keep its old identity."""
    from vma.store.models import Worker

    stalled = world.service.workers
    old = stalled.owner()
    b = _other_service(world)
    world.clock.advance(seconds=31)
    b.take_over_dead()
    assert world.rows(Worker, Worker.id == old)[0].taken_over_by == b.workers.id
    stalled.beat()
    assert stalled.id != old and world.rows(Worker, Worker.id == stalled.id)[0].taken_over_at is None


def test_a_clean_stop_hands_its_claims_back_at_once(world):
    from vma.store.models import ChartRecord
    from vma.store.workers import WorkerRegistry

    stored = world.service.intake(raw(chart("ENC-OC-6")), "test")
    registry = WorkerRegistry(world.store, clock=world.clock).start()
    _claim_as(world, registry.id, stored.record_id)
    registry.stop()
    assert world.rows(ChartRecord, ChartRecord.id == stored.record_id)[0].status == "received"
    assert world.rows(ChartRecord, ChartRecord.id == stored.record_id)[0].claimed_by is None


def test_postgresql_a_worker_whose_session_ended_is_dead_though_its_heartbeat_is_fresh(tmp_path, postgres_url, ref):
    """The advisory lock: the database itself says the owner's session is gone (kill -9 on any host)."""
    from vma.store.models import ChartRecord
    from vma.store.workers import WorkerRegistry

    world = World(tmp_path, postgres_url, ref)
    try:
        stored = world.service.intake(raw(chart("ENC-OC-7")), "test")
        other = WorkerRegistry(world.stores[0].__class__(postgres_url), clock=world.clock).start()
        world.stores.append(other.store)
        assert other.lock_key is not None
        _claim_as(world, other.id, stored.record_id)
        # ...but this registry's process is this very process, alive, with a fresh heartbeat: only the lock
        # can tell. Pretend it runs elsewhere so the pid cannot help either.
        from vma.store.models import Worker

        with world.store.session() as session, session.begin():
            session.execute(update(Worker).where(Worker.id == other.id).values(host_key="elsewhere"))
        world.service.process_pending()
        assert world.rows(ChartRecord, ChartRecord.id == stored.record_id)[0].status == "processed"
        other._halt.set()
        other._release_lock()  # the session ends as it would when the process is killed

        # The server ends the backend (and frees its locks) a moment after the client hangs up, as it
        # would after a kill: wait for the database to say so rather than racing it.
        def lock_freed() -> bool:
            with world.store.session() as session:
                return other.lock_key not in other._held_locks(session)

        wait_until(lock_freed, 10, 0.02, "the ended session's advisory lock was never freed")
        world.service.process_pending()
        assert world.rows(ChartRecord, ChartRecord.id == stored.record_id)[0].status == "needs_query"
        assert "advisory lock" in _takeovers(world)[0]["why"]
    finally:
        world.close()


def test_a_dead_workers_reminder_is_taken_over_today_not_deferred(world):
    """The reminder claim (rows leased, the day's nudge taken) names its worker; a takeover makes the rows
    due and frees the nudge, so the provider gets today's reminder from the survivor."""
    from vma import scheduler
    from vma.store.models import Nudge, Query

    world.settings = world.settings.model_copy(update={"vma_reminder_after": timedelta(hours=1),
                                                       "vma_escalate_after": timedelta(hours=48)})
    world.restart()
    world.submit(chart("ENC-OC-8"))
    world.clock.advance(hours=2)

    class DiesInReminder(type(world.notifier)):
        def send_reminder(self, user_id, items):
            raise SimulatedCrash("send_reminder")

    dying = DiesInReminder()
    a = world.restart(notifier=dying)
    with pytest.raises(SimulatedCrash):
        scheduler.OwnedReminderEngine(a.store, dying, world.settings, a.directory, a.workers.owner()).tick(world.clock())
    query, = world.queries("ENC-OC-8")
    nudge, = world.rows(Nudge)
    assert query.claimed_by == a.workers.id and nudge.claimed_by == a.workers.id and nudge.message_id is None

    survivor = _other_service(world)
    survivor.notifier = world.notifier = type(dying).__mro__[1]()
    world.clock.advance(seconds=31)  # A is stale
    report = scheduler.run_tick(survivor, world.settings, now=world.clock())
    assert report.reminders_sent == 1 and report.deferred_by_cap == 0
    query, = world.queries("ENC-OC-8")
    assert query.reminder_count == 1 and query.claimed_by is None
    assert world.rows(Nudge)[0].message_id is not None
