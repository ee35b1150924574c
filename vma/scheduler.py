"""The background clock of ``vma serve``: reminders, the daily digest and housekeeping.

APScheduler 3 with its memory job store only says *when to look*; what is due
lives in the database (``query.next_due_at``, the nudge and outbox rows), so a
restart or a second worker changes nothing: each tick re-reads the tables, and
the digest is posted once per day however many workers run (the outbox row
``digest:<date>`` is unique). The other jobs are idempotent, so two workers
running them at once do no harm:

- reminder tick, every 1-5 s (takes over the claims of workers that are gone,
  finishes stored charts not yet processed, then sends what is due);
- the digest, daily at ``VMA_DIGEST_AT``;
- retention purge, daily at 02:30 local time, when ``VMA_RETENTION_DAYS`` is set;
- held charts re-routed every few minutes (a provider unreachable yesterday
  may be in the directory today);
- the drop folder swept every few seconds, when ``VMA_INBOX`` is set.

Every job function catches and logs its own failure: an exception escaping
into APScheduler would only be logged there anyway, and the job must run again
at its next time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sqlalchemy import update

from vma.conversations import digest, reminders

log = logging.getLogger(__name__)

LONGEST_TICK = timedelta(seconds=5)
SHORTEST_TICK = timedelta(seconds=1)
RETRY_ON_HOLD_EVERY = timedelta(minutes=5)
INBOX_SWEEP_EVERY = timedelta(seconds=3)
# At night, local time: the purge rewrites many rows and should not compete with the working day.
RETENTION_AT = time(2, 30)


def tick_interval(settings) -> timedelta:
    """Often enough that a reminder is sent within a quarter of its delay, at most every 5 s."""
    shortest_delay = min(settings.vma_reminder_after, settings.vma_escalate_after)
    return max(SHORTEST_TICK, min(LONGEST_TICK, shortest_delay / 4))


class OwnedReminderEngine(reminders.ReminderEngine):
    """The reminder engine whose claims name their worker, so a dead worker's reminders are taken over
    at once (``vma.store.workers``) instead of after the 5-minute lease.

    The engine leases a provider's due rows (``next_due_at`` pushed forward) and takes the day's nudge
    in its claim transaction; right after it, this marks them with the owner, and unmarks the rows
    once the message is recorded or put off. A crash between the claim and the mark leaves the rows
    to the lease, as before.
    """

    def __init__(self, store, notifier, settings, directory, owner: str):
        super().__init__(store, notifier, settings, directory)
        self.owner = owner

    def _claim(self, now, npi, user_id, report):
        from vma.store.models import Nudge, Query

        claim = super()._claim(now, npi, user_id, report)
        if claim is None:
            return None
        with self.store.session() as session, session.begin():
            session.execute(update(Query).where(Query.id.in_(claim.escalation_ids + claim.reminder_ids),
                                                Query.status == "open").values(claimed_by=self.owner))
            if claim.business_day is not None:
                session.execute(update(Nudge).where(Nudge.provider_key == claim.provider_key,
                                                    Nudge.business_day == claim.business_day, Nudge.kind == "reminder",
                                                    Nudge.message_id.is_(None)).values(claimed_by=self.owner))
        return claim

    def _unmark(self, query_ids) -> None:
        from vma.store.models import Query

        with self.store.session() as session, session.begin():
            session.execute(update(Query).where(Query.id.in_(list(query_ids)), Query.claimed_by == self.owner)
                            .values(claimed_by=None))

    def _record(self, now, query_ids, **kwargs):
        super()._record(now, query_ids, **kwargs)
        self._unmark(query_ids)

    def _retry_later(self, query_ids, now, kind, error):
        super()._retry_later(query_ids, now, kind, error)
        self._unmark(query_ids)


def run_tick(service, settings, now: datetime | None = None) -> reminders.TickReport:
    """One pass: take over the claims of dead workers, finish any stored chart not yet processed, then
    send what is due."""
    try:
        service.process_pending()  # takes over the dead's claims first
    except Exception:  # one bad chart must not stop reminders; process() records its own failures
        log.exception("processing pending charts failed")
    now = now or datetime.now(UTC)
    registry = getattr(service, "workers", None)
    if registry is None:
        return reminders.tick(now, service.store, service.notifier, settings, service.directory)
    engine = OwnedReminderEngine(service.store, service.notifier, settings, service.directory, registry.owner())
    return engine.tick(now)


def run_daily_digest(service, settings, now: datetime | None = None) -> bool:
    """Post today's digest unless another worker (or an earlier run today) already did."""
    if not settings.vma_manager_channel:
        log.info("VMA_MANAGER_CHANNEL is not set: no daily digest")
        return False
    return digest.post_digest_once(settings, service.store, service.notifier, service.directory,
                                   now=now or datetime.now(UTC))


def run_retention_purge(service, settings, now: datetime | None = None) -> dict[str, int] | None:
    """Drop raw notes older than ``VMA_RETENTION_DAYS`` (query records are kept); None when not configured."""
    days = settings.vma_retention_days
    if days is None:
        return None
    from vma.store.audit import purge_raw_notes

    try:
        purged = purge_raw_notes(service.store, days, now=now or datetime.now(UTC))
    except Exception:
        log.exception("retention purge (VMA_RETENTION_DAYS=%s) failed; tried again tomorrow", days)
        return None
    log.info("retention purge, older than %s days: %s", days, purged)
    return purged


def run_retry_on_hold(service) -> int:
    """Re-route charts on hold; returns how many were looked at."""
    try:
        return service.retry_on_hold()
    except Exception:
        log.exception("re-routing charts on hold failed; tried again in %s", RETRY_ON_HOLD_EVERY)
        return 0


def _inbox_sweeper():
    """``vma.integrations.inbox.run_inbox_sweep`` when it exists, else a sweep with the ``Inbox`` class."""
    try:
        from vma.integrations import inbox
    except ImportError:
        return None
    sweep = getattr(inbox, "run_inbox_sweep", None)
    if sweep is not None:
        return sweep
    if hasattr(inbox, "Inbox"):
        # Stored charts are processed by the reminder tick's process_pending().
        return lambda service, settings: inbox.Inbox(settings.vma_inbox, service).sweep()
    return None


def run_inbox_sweep(service, settings):
    """Take the files waiting in ``VMA_INBOX``; None when no inbox is configured or available."""
    if not settings.vma_inbox:
        return None
    sweep = _inbox_sweeper()
    if sweep is None:
        log.warning("VMA_INBOX is set but this build has no drop-folder support")
        return None
    try:
        return sweep(service, settings)
    except Exception:
        log.exception("sweeping the drop folder %s failed", settings.vma_inbox)
        return None


def build(service, settings) -> BackgroundScheduler:
    """The scheduler with every job configured for these settings, not started."""
    scheduler = BackgroundScheduler(timezone=settings.vma_timezone)
    common = dict(max_instances=1, coalesce=True)
    scheduler.add_job(
        run_tick, IntervalTrigger(seconds=tick_interval(settings).total_seconds()),
        args=(service, settings), id="reminder-tick", next_run_time=datetime.now(UTC), **common,
    )
    scheduler.add_job(
        run_daily_digest,
        CronTrigger(hour=settings.vma_digest_at.hour, minute=settings.vma_digest_at.minute,
                    timezone=settings.vma_timezone),
        args=(service, settings), id="daily-digest", misfire_grace_time=3600, **common,
    )
    scheduler.add_job(
        run_retry_on_hold, IntervalTrigger(seconds=RETRY_ON_HOLD_EVERY.total_seconds()),
        args=(service,), id="retry-on-hold", **common,
    )
    if settings.vma_retention_days is not None:
        scheduler.add_job(
            run_retention_purge,
            CronTrigger(hour=RETENTION_AT.hour, minute=RETENTION_AT.minute, timezone=settings.vma_timezone),
            args=(service, settings), id="retention-purge", misfire_grace_time=6 * 3600, **common,
        )
    if settings.vma_inbox:
        scheduler.add_job(
            run_inbox_sweep, IntervalTrigger(seconds=INBOX_SWEEP_EVERY.total_seconds()),
            args=(service, settings), id="inbox-sweep", next_run_time=datetime.now(UTC), **common,
        )
    return scheduler


def start(service, settings) -> BackgroundScheduler:
    """Start the background jobs; the caller shuts the scheduler down on exit."""
    scheduler = build(service, settings)
    scheduler.start()
    return scheduler
