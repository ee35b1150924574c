"""The background clock of ``vma serve``: the reminder tick and the daily digest.

APScheduler 3 with its memory job store only says *when to look*; what is due
lives in the database (``query.next_due_at``, the nudge and outbox rows), so a
restart or a second worker changes nothing: each tick re-reads the tables, and
the digest is posted once per day however many workers run (the outbox row
``digest:<date>`` is unique).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from vma.conversations import digest, reminders

log = logging.getLogger(__name__)

LONGEST_TICK = timedelta(seconds=5)
SHORTEST_TICK = timedelta(seconds=1)


def tick_interval(settings) -> timedelta:
    """Often enough that a reminder is sent within a quarter of its delay, at most every 5 s."""
    shortest_delay = min(settings.vma_reminder_after, settings.vma_escalate_after)
    return max(SHORTEST_TICK, min(LONGEST_TICK, shortest_delay / 4))


def run_tick(service, settings, now: datetime | None = None) -> reminders.TickReport:
    """One pass: finish any stored chart not yet processed, then send what is due."""
    try:
        service.process_pending()
    except Exception:  # one bad chart must not stop reminders; process() records its own failures
        log.exception("processing pending charts failed")
    return reminders.tick(now or datetime.now(UTC), service.store, service.notifier, settings, service.directory)


def run_daily_digest(service, settings, now: datetime | None = None) -> bool:
    """Post today's digest unless another worker (or an earlier run today) already did."""
    if not settings.vma_manager_channel:
        log.info("VMA_MANAGER_CHANNEL is not set: no daily digest")
        return False
    return digest.post_digest_once(settings, service.store, service.notifier, service.directory,
                                   now=now or datetime.now(UTC))


def start(service, settings) -> BackgroundScheduler:
    """Start the background jobs; the caller shuts the scheduler down on exit."""
    scheduler = BackgroundScheduler(timezone=settings.vma_timezone)
    scheduler.add_job(
        run_tick, IntervalTrigger(seconds=tick_interval(settings).total_seconds()),
        args=(service, settings), id="reminder-tick", max_instances=1, coalesce=True,
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        run_daily_digest,
        CronTrigger(hour=settings.vma_digest_at.hour, minute=settings.vma_digest_at.minute,
                    timezone=settings.vma_timezone),
        args=(service, settings), id="daily-digest", max_instances=1, coalesce=True,
        misfire_grace_time=3600,
    )
    scheduler.start()
    return scheduler
