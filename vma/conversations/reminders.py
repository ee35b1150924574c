"""Reminders and escalation of unanswered provider queries.

The due work lives in the database, not in a scheduler's memory: every open
query carries ``next_due_at`` (UTC), and ``tick(now)`` acts on the rows whose
time has come. Any number of workers may run ``tick`` against one PostgreSQL.

Policy (contract section 6, "Reminder clock")
--------------------------------------------

- The clock starts when the query DM is sent and runs only inside
  ``VMA_BUSINESS_HOURS`` (``always`` turns that off). Reminder due:
  ``sent_at + VMA_REMINDER_AFTER`` in business time; escalation due:
  ``sent_at + VMA_ESCALATE_AFTER`` in business time.
- A reminder is ONE direct message per provider listing every overdue query
  of theirs, and at most one such message per provider per business day.
  A query that comes due after that day's reminder went out waits for the
  start of the next business day (and then joins that day's batch).
- One reminder per query; after it the query is next due at its escalation
  time. Escalation is one message per provider listing the queries that
  reached the escalation age, with each one's age and chart ID, to the
  provider's supervisor by DM and to ``VMA_MANAGER_CHANNEL``.
- After escalation nothing more is sent automatically: no daily
  re-escalation, because repeated alerts lose their effect and the daily
  digest already lists every open query by age, with the oldest by chart ID.
  ``escalation_step`` records it (1), and a new policy step could be added on
  that column without a migration.
- Answered and withdrawn queries are never touched: every statement filters
  on ``status = 'open'``, and the status is read again just before sending.

Concurrency and delivery
------------------------

Per provider with due rows, in three short transactions (no database lock is
held while Slack is called):

1. Claim: lock that provider's due rows (``SELECT ... FOR UPDATE SKIP LOCKED``
   on PostgreSQL; SQLite's single writer serialises the same steps), insert
   the day's ``Nudge`` row for a reminder (the UNIQUE(provider_key,
   business_day, kind) constraint lets only one worker win; a loser defers its
   rows to the next business day), and push the rows' ``next_due_at`` forward
   by a lease so no other worker picks them up while this one is sending.
2. Send the Slack message (outside any transaction).
3. Record: mark the rows (``reminder_count``, ``last_reminded_at`` /
   ``escalated_at``, the next due time), store the message id on the nudge and
   append audit events.

If Slack fails, step 3 instead releases the nudge and makes the rows due again
after a short back-off. If the process dies between 2 and 3, the lease expires
and the message is sent again: delivery is at least once, never silently lost,
and a duplicate needs a crash in that window of a few hundred milliseconds.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from vma.clock import as_utc
from vma.conversations.businesstime import BusinessCalendar
from vma.conversations.ports import ReminderItem
from vma.store.models import AuditEvent, ChartRecord, Nudge, Query

log = logging.getLogger(__name__)

# How long a worker owns claimed rows while it talks to Slack; far above one API call.
CLAIM_LEASE = timedelta(minutes=5)
# A failed Slack call is retried after this pause (the next ticks keep running).
RETRY_AFTER = timedelta(minutes=1)
# Providers handled per tick; the rest wait for the next tick a few seconds later.
PROVIDERS_PER_TICK = 200


@dataclass
class TickReport:
    reminders_sent: int = 0          # reminder messages (one per provider)
    queries_reminded: int = 0
    escalations_sent: int = 0        # escalation batches (one per provider, to each target)
    queries_escalated: int = 0
    deferred_by_cap: int = 0         # queries pushed to the next business day by the daily cap
    failures: int = 0                # Slack calls that failed; retried after RETRY_AFTER
    providers: list[str] = field(default_factory=list)


def first_due_at(sent_at: datetime, settings) -> datetime:
    """When tick must first look at a query whose DM was sent at ``sent_at``."""
    calendar = BusinessCalendar.from_settings(settings)
    first = min(settings.vma_reminder_after, settings.vma_escalate_after)
    return calendar.add_business(as_utc(sent_at), first)


def _provider_key(npi: str | None, user_id: str | None) -> str:
    return npi or f"slack:{user_id}"


def _insert_nudge(session, *, provider_key: str, day: date, kind: str, now: datetime) -> bool:
    """Insert the day's nudge row; False when another worker (or an earlier tick) already holds it."""
    dialect = session.get_bind().dialect.name
    values = dict(provider_key=provider_key, business_day=day, kind=kind, created_at=now)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Nudge).values(**values).on_conflict_do_nothing(
        index_elements=["provider_key", "business_day", "kind"]
    ).returning(Nudge.id)
    if session.execute(statement).first() is not None:
        return True
    # A nudge left without a message id by a worker that died mid-send is taken
    # over once its lease is over, so the reminder is retried (at least once).
    taken = session.execute(
        update(Nudge)
        .where(Nudge.provider_key == provider_key, Nudge.business_day == day, Nudge.kind == kind,
               Nudge.message_id.is_(None), Nudge.created_at < now - CLAIM_LEASE)
        .values(created_at=now)
    )
    return taken.rowcount == 1


@dataclass
class _Claim:
    provider_key: str
    provider_npi: str | None
    user_id: str
    reminder_ids: list[int]
    escalation_ids: list[int]
    business_day: date | None  # the nudge row held for the reminder, if any


class ReminderEngine:
    """One tick's worth of work; stateless between ticks, so a restart changes nothing."""

    def __init__(self, store, notifier, settings, directory=None, views=None):
        from vma.conversations import views as default_views

        self.store = store
        self.notifier = notifier
        self.settings = settings
        self.directory = directory
        self.views = views or default_views
        self.calendar = BusinessCalendar.from_settings(settings)

    # -- the tick ------------------------------------------------------------------------------

    def tick(self, now: datetime) -> TickReport:
        now = as_utc(now)
        report = TickReport()
        for npi, user_id in self._providers_due(now):
            try:
                claim = self._claim(now, npi, user_id, report)
            except OperationalError as exc:  # SQLite writer contention: the next tick retries
                log.info("reminder claim for %s postponed: %s", npi or user_id, exc)
                continue
            if claim is None:
                continue
            report.providers.append(claim.provider_key)
            if claim.escalation_ids:
                self._escalate(now, claim, report)
            if claim.reminder_ids:
                self._remind(now, claim, report)
        return report

    def _providers_due(self, now: datetime) -> list[tuple[str | None, str]]:
        with self.store.session() as session:
            rows = session.execute(
                select(Query.provider_npi, Query.provider_user_id)
                .where(Query.status == "open", Query.next_due_at <= now, Query.provider_user_id.is_not(None))
                .group_by(Query.provider_npi, Query.provider_user_id)
                .limit(PROVIDERS_PER_TICK)
            ).all()
        return [(npi, user_id) for npi, user_id in rows]

    def _claim(self, now: datetime, npi: str | None, user_id: str, report: TickReport) -> _Claim | None:
        """Transaction 1: lock the provider's due rows, take the day's nudge, lease the rows."""
        settings = self.settings
        with self.store.session() as session, session.begin():
            if not _hold_provider(session, _provider_key(npi, user_id)):
                return None  # another worker is gathering this provider's rows: one message, not two halves
            rows = session.execute(
                select(Query.id, Query.sent_at, Query.reminder_count, Query.escalation_step)
                .where(Query.status == "open", Query.next_due_at <= now,
                       Query.provider_npi == npi if npi is not None else Query.provider_npi.is_(None),
                       Query.provider_user_id == user_id)
                .order_by(Query.id)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return None  # another worker holds them
            escalation_ids, reminder_ids = [], []
            for query_id, sent_at, reminder_count, escalation_step in rows:
                age = self.calendar.business_elapsed(as_utc(sent_at), now)
                if escalation_step == 0 and age >= settings.vma_escalate_after:
                    escalation_ids.append(query_id)
                elif reminder_count == 0 and age >= settings.vma_reminder_after:
                    reminder_ids.append(query_id)
                else:
                    # Due time was computed under other settings; re-aim it rather than act early.
                    session.execute(update(Query).where(Query.id == query_id)
                                    .values(next_due_at=self._next_due(as_utc(sent_at), reminder_count, escalation_step)))
            key = _provider_key(npi, user_id)
            day = None
            if reminder_ids:
                day = self.calendar.business_day_of(now)
                if not _insert_nudge(session, provider_key=key, day=day, kind="reminder", now=now):
                    day = None
                    next_day = self.calendar.next_business_day_start(now)
                    for query_id, sent_at, *_ in (r for r in rows if r[0] in reminder_ids):
                        escalation_due = self.calendar.add_business(as_utc(sent_at), settings.vma_escalate_after)
                        session.execute(update(Query).where(Query.id == query_id)
                                        .values(next_due_at=min(next_day, escalation_due)))
                    report.deferred_by_cap += len(reminder_ids)
                    reminder_ids = []
            claimed = escalation_ids + reminder_ids
            if claimed:
                session.execute(update(Query).where(Query.id.in_(claimed)).values(next_due_at=now + CLAIM_LEASE))
        if not claimed:
            return None
        return _Claim(key, npi, user_id, reminder_ids, escalation_ids, day)

    def _next_due(self, sent_at: datetime, reminder_count: int, escalation_step: int) -> datetime | None:
        if escalation_step:
            return None
        escalation_due = self.calendar.add_business(sent_at, self.settings.vma_escalate_after)
        if reminder_count:
            return escalation_due
        return min(self.calendar.add_business(sent_at, self.settings.vma_reminder_after), escalation_due)

    # -- acting on a claim ---------------------------------------------------------------------

    def _remind(self, now: datetime, claim: _Claim, report: TickReport) -> None:
        items = self._items(claim.reminder_ids, now)
        if not items:  # all answered or withdrawn since the claim: give the day's slot back
            self._release_nudge(claim, now)
            return
        try:
            sent = self.notifier.send_reminder(claim.user_id, items)
        except Exception as exc:  # any Slack or network error: retry later, never lose the reminder
            log.warning("reminder to %s failed, retrying in %s: %s", claim.user_id, RETRY_AFTER, exc)
            self._release_nudge(claim, now)
            self._retry_later([item.query.query_id for item in items], now, "reminder", exc)
            report.failures += 1
            return
        ids = [item.query.query_id for item in items]
        self._record(now, ids, kind="reminder", detail={"channel": sent.channel, "ts": sent.ts,
                                                        "provider_key": claim.provider_key},
                     nudge=(claim, f"{sent.channel}:{sent.ts}"))
        report.reminders_sent += 1
        report.queries_reminded += len(ids)

    def _escalate(self, now: datetime, claim: _Claim, report: TickReport) -> None:
        items = self._items(claim.escalation_ids, now)
        if not items:
            return
        person = self.directory.by_npi(claim.provider_npi) if (self.directory and claim.provider_npi) else None
        provider_name = (person.name if person else None) or items[0].summary.provider_name
        targets = [t for t in ((person.supervisor_slack_user_id if person else None),
                               self.settings.vma_manager_channel) if t]
        ids = [item.query.query_id for item in items]
        delivered = []
        for target in targets:
            try:
                sent = self.notifier.send_escalation(target, provider_name, items)
            except Exception as exc:
                log.warning("escalation to %s failed, retrying in %s: %s", target, RETRY_AFTER, exc)
                self._retry_later(ids, now, "escalation", exc)
                report.failures += 1
                return
            delivered.append({"target": target, "channel": sent.channel, "ts": sent.ts})
        if not targets:
            log.warning("no supervisor and no VMA_MANAGER_CHANNEL: escalation of queries %s recorded only", ids)
        self._record(now, ids, kind="escalation", detail={"delivered": delivered, "provider_key": claim.provider_key})
        report.escalations_sent += 1
        report.queries_escalated += len(ids)

    def _items(self, query_ids: list[int], now: datetime) -> list:
        """The reminder items for the claimed queries that are still open, each with its business age."""
        with self.store.session() as session:
            rows = session.execute(
                select(Query, ChartRecord).join(ChartRecord, ChartRecord.id == Query.chart_record_id)
                .where(Query.id.in_(query_ids), Query.status == "open").order_by(Query.chart_id, Query.id)
            ).all()
            items = []
            for query, record in rows:
                view = self.views.query_view(query)
                view.age_business_hours = round(
                    self.calendar.business_elapsed(as_utc(query.sent_at), now).total_seconds() / 3600, 1)
                items.append(ReminderItem(query=view, summary=self.views.chart_summary(record, self.settings)))
        return items

    def _record(self, now: datetime, query_ids: list[int], *, kind: str, detail: dict,
                nudge: tuple[_Claim, str] | None = None) -> None:
        """Transaction 3: the message went out; move the queries on and keep the record."""
        with self.store.session() as session, session.begin():
            rows = session.execute(
                select(Query).where(Query.id.in_(query_ids)).with_for_update()
            ).scalars().all()
            for query in rows:
                # The message went out for every query it names, so the audit log says so; only a query
                # still open is moved on (one answered meanwhile keeps its answer and its clock stopped).
                if query.status == "open":
                    if kind == "reminder":
                        query.reminder_count += 1
                        query.last_reminded_at = now
                    else:
                        query.escalated_at = now
                        query.escalation_step += 1
                    query.next_due_at = self._next_due(as_utc(query.sent_at), query.reminder_count,
                                                       query.escalation_step)
                session.add(AuditEvent(at=now, actor="vma", action=f"{kind}_sent", chart_id=query.chart_id,
                                       query_id=query.id, detail=detail))
            if nudge is not None:
                claim, message_id = nudge
                session.execute(update(Nudge).where(Nudge.provider_key == claim.provider_key,
                                                    Nudge.business_day == claim.business_day,
                                                    Nudge.kind == "reminder").values(message_id=message_id))

    def _release_nudge(self, claim: _Claim, now: datetime) -> None:
        with self.store.session() as session, session.begin():
            session.execute(delete(Nudge).where(Nudge.provider_key == claim.provider_key,
                                                Nudge.business_day == claim.business_day,
                                                Nudge.kind == "reminder", Nudge.message_id.is_(None)))

    def _retry_later(self, query_ids: list[int], now: datetime, kind: str, error: Exception) -> None:
        with self.store.session() as session, session.begin():
            session.execute(update(Query).where(Query.id.in_(query_ids), Query.status == "open")
                            .values(next_due_at=now + RETRY_AFTER))
            session.add(AuditEvent(at=now, actor="vma", action=f"{kind}_failed", chart_id=None, query_id=None,
                                   detail={"query_ids": query_ids, "error": str(error)[:500]}))


# pg_try_advisory_xact_lock(int4, int4): vma's namespace for a provider's reminder rows ("VMB").
PROVIDER_LOCK_NAMESPACE = 0x564D42


def _hold_provider(session, provider_key: str) -> bool:
    """Take the provider for this transaction. Row locks alone let two workers split one provider's due
    rows between them (each skips the rows the other locked first) and send two reminders; on
    PostgreSQL a transaction-scoped advisory lock per provider makes one worker gather them all.
    SQLite serializes writing transactions already."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = zlib.crc32(provider_key.encode()) & 0x7FFFFFFF
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:ns, :key)"),
                                {"ns": PROVIDER_LOCK_NAMESPACE, "key": key}).scalar())


def tick(now: datetime, store, notifier, settings, directory=None) -> TickReport:
    """Send every reminder and escalation due at ``now``; safe to run from several workers at once."""
    return ReminderEngine(store, notifier, settings, directory).tick(now)
