"""The outbox: every message vma sends (Slack notices, EHR write-backs) has a row keyed by its purpose.

This module owns the outbox key. A row is written before the send (pending, claimed by the worker
sending it) and marked sent after it, so a restart never sends twice and never forgets. The key is
handed to the notifier as an argument, which tags the Slack message with it; a second attempt asks the
notifier (``find_sent``) for a copy Slack already took before posting again.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import String, cast, exists, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from vma.clock import as_utc
from vma.conversations import views
from vma.conversations.common import ServiceCore, log
from vma.conversations.ports import SentMessage
from vma.conversations.writeback import EHR_KINDS, TARGET_LABEL, document_key, writeback_payload
from vma.store.models import ChartRecord, OutboundMessage, Query
from vma.store.status import OutboxState, QueryStatus

# A claim names its worker and is taken over as soon as that worker is gone (vma.store.workers). These
# leases only bound claims left without an owner: rows from before owned claims, or a claim its live
# worker let go of after an unexpected error (retried after the lease, not in a tight loop).
CLAIM_LEASE = timedelta(minutes=2)
# Messages that post something new; a second attempt first looks for an earlier copy (updates are idempotent).
POSTING_KINDS = ("query_dm", "cleared", "unroutable", "check_failed")
# Back-off of a write-back the EHR could not take (down, 5xx, no ACK): 30 s, doubling, at most 30 min.
WRITEBACK_RETRY_FIRST = timedelta(seconds=30)
WRITEBACK_RETRY_MAX = timedelta(minutes=30)


def writeback_backoff(attempts: int) -> timedelta:
    return min(WRITEBACK_RETRY_FIRST * (2 ** max(attempts - 1, 0)), WRITEBACK_RETRY_MAX)



class Outbox(ServiceCore):
    # -- the outbox ----------------------------------------------------------------------------

    def _outbox(self, session, key: str, kind: str, channel: str | None, payload: dict) -> None:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(OutboundMessage).values(
            idem_key=key, kind=kind, channel=channel, state=OutboxState.PENDING, attempts=0, created_at=self._now(),
            payload=payload).on_conflict_do_nothing(index_elements=["idem_key"]))

    def _send_once(self, key: str, kind: str, channel: str | None, payload: dict,
                   send: Callable[[str], SentMessage | None]) -> SentMessage | None:
        """Send the message named ``key`` unless it was sent already; None when it could not be sent now.

        ``send`` gets the key: a notifier that posts something new tags the message with it, so that a
        later attempt (after a crash or a timeout that hid the answer) finds the copy already taken."""

        owner = self.workers.owner()
        now = self._now()
        with self.store.session() as session, session.begin():
            self._outbox(session, key, kind, channel, payload)
            row = session.execute(select(OutboundMessage).where(OutboundMessage.idem_key == key)).scalar_one()
            if row.state == OutboxState.SENT:
                return SentMessage(channel=row.channel or "", ts=row.ts or "")
            tried_before, created_at = row.attempts > 0, row.created_at
            # Free, or held without an owner past the lease; a claim whose worker died was freed by the takeover.
            claimed = session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == row.id, OutboundMessage.state != OutboxState.SENT,
                       OutboundMessage.claimed_at.is_(None)
                       | (OutboundMessage.claimed_by.is_(None) & (OutboundMessage.claimed_at < now - CLAIM_LEASE)))
                .values(claimed_at=now, claimed_by=owner, attempts=OutboundMessage.attempts + 1)
            ).rowcount == 1
        if not claimed:
            return None  # another worker is sending it right now
        try:
            sent = self._earlier_copy(key, kind, channel, created_at) if tried_before else None
            if sent is None:
                sent = send(key)
        except Exception as exc:  # Slack or network: the row stays pending and is retried
            log.warning("sending %s failed (will retry): %s", key, exc)
            with self.store.session() as session, session.begin():
                session.execute(update(OutboundMessage).where(OutboundMessage.idem_key == key)
                                .values(claimed_at=None, claimed_by=None, last_error=str(exc)[:500]))
            return None
        if sent is None:
            sent = SentMessage(channel=channel or "", ts=str(payload.get("ts") or ""))
        with self.store.session() as session, session.begin():
            session.execute(update(OutboundMessage).where(OutboundMessage.idem_key == key)
                            .values(state=OutboxState.SENT, channel=sent.channel, ts=sent.ts, sent_at=self._now(),
                                    claimed_at=None, claimed_by=None))
        return sent

    def _earlier_copy(self, key: str, kind: str, channel: str | None, since: datetime | None) -> SentMessage | None:
        """The message an earlier attempt got to Slack without learning so (killed or timed out in the call)."""
        if kind not in POSTING_KINDS or not channel:
            return None
        try:
            found = self.notifier.find_sent(channel, key, as_utc(since) or self._now())
        except Exception as exc:  # cannot look (scope, outage): sending again risks a copy, never a loss
            log.warning("looking for an earlier copy of %s failed: %s", key, exc)
            return None
        if found is not None:
            log.info("%s had reached Slack before (ts %s): not sent again", key, found.ts)
        return found

    def _queue_missed_dm_updates(self) -> None:
        """Queue the DM update of any query answered in the last day whose DM has none yet. The answer
        queues it itself; this catches an answer and the DM's record that crossed (each committed
        without seeing the other), so the provider's DM never keeps its buttons after the answer."""
        now = self._now()
        key = literal("dm_update:").concat(cast(Query.id, String))
        with self.store.session() as session, session.begin():
            missed = session.execute(
                select(Query.id, Query.dm_channel, Query.dm_ts)
                .where(Query.status == QueryStatus.ANSWERED, Query.answered_at >= now - timedelta(days=1),
                       Query.dm_ts.is_not(None), ~exists().where(OutboundMessage.idem_key == key))
            ).all()
            for query_id, channel, ts in missed:
                self._outbox(session, f"dm_update:{query_id}", "dm_update", channel,
                             {"query_id": query_id, "channel": channel, "ts": ts})

    def _dispatch_pending_notices(self) -> int:
        """Send the withdrawal and DM-update messages that state changes left in the outbox."""
        self._queue_missed_dm_updates()
        with self.store.session() as session:
            rows = session.execute(
                select(OutboundMessage.idem_key, OutboundMessage.kind, OutboundMessage.channel, OutboundMessage.payload)
                .where(OutboundMessage.state == OutboxState.PENDING,
                       OutboundMessage.kind.in_(("withdrawn", "dm_update", "ehr_held")))
                .order_by(OutboundMessage.id).limit(200)
            ).all()
        done = 0
        for key, kind, channel, payload in rows:
            payload = payload or {}
            if kind == "withdrawn":
                send = self._withdrawn_sender(payload)
            elif kind == "ehr_held":
                send = self._ehr_held_sender(channel, payload)
            else:
                send = self._dm_update_sender(payload)
            if send is not None and self._send_once(key, kind, channel, payload, send) is not None:
                done += 1
        return done

    def _withdrawn_sender(self, payload: dict):
        with self.store.session() as session:
            queries = session.execute(select(Query).where(Query.id.in_(payload.get("query_ids") or []))
                                      .order_by(Query.id)).scalars().all()
            if not queries:
                return None
            record = session.get(ChartRecord, queries[0].chart_record_id)
            summary = views.chart_summary(record, self.settings)
            query_views = [views.query_view(q) for q in queries]
        message = SentMessage(channel=payload["channel"], ts=payload["ts"])
        reason = payload.get("reason") or "no longer needed"
        return lambda key: self.notifier.send_withdrawn(message, summary, query_views, reason) or message

    def _dm_update_sender(self, payload: dict):
        channel, ts = payload.get("channel"), payload.get("ts")
        if not channel or not ts:
            return None
        with self.store.session() as session:
            queries = session.execute(select(Query).where(Query.dm_channel == channel, Query.dm_ts == ts)
                                      .order_by(Query.id)).scalars().all()
            if not queries:
                return None
            record = session.get(ChartRecord, queries[-1].chart_record_id)
            summary = views.chart_summary(record, self.settings)
            query_views = [views.query_view(q) for q in queries]
        message = SentMessage(channel=channel, ts=ts)
        return lambda key: self.notifier.update_query_dm(message, summary, query_views) or message

    # -- write-back to the EHR (contract section 7) ---------------------------------------------

    def _writeback_name(self, user_id: str | None) -> str:
        """Who answered, as the record should say it: the directory's name and NPI, else the Slack user."""
        person = self.directory.by_user(user_id)
        if person is not None and person.name:
            return f"{person.name} (NPI {person.npi})" if getattr(person, "npi", None) else person.name
        return f"Slack user {user_id}" if user_id else "unknown"

    def _queue_writeback(self, session, record_id: int) -> None:
        """Queue the chart version's write-back, one outbox row per EHR target, once every query of the
        version (withdrawn ones aside) is answered. Runs inside the caller's transaction."""
        if self.ehr is None or not self.ehr.kinds:
            return
        record = session.get(ChartRecord, record_id)
        if record is None or not record.is_current:
            return
        queries = session.execute(select(Query).where(Query.chart_record_id == record_id)
                                  .order_by(Query.id)).scalars().all()
        payload = writeback_payload(record, queries, self._writeback_name)
        if payload is None:
            return
        for kind in self.ehr.kinds:
            key = f"{kind}:{document_key(record)}"
            if len(key) > 200:  # the outbox key's width; a long document ID is named by its digest
                key = f"{kind}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
            if session.execute(select(OutboundMessage.id).where(OutboundMessage.idem_key == key)).first():
                continue
            self._outbox(session, key, kind, None, payload)
            self._audit(session, "ehr_writeback_queued", chart_id=record.chart_id,
                        detail={"key": key, "target": kind, "document_id": payload["document_id"],
                                "original_document_id": payload["original_document_id"], "record_id": record_id,
                                "query_ids": payload["query_ids"]})

    def dispatch_writebacks(self) -> int:
        """Send the write-backs that are due (pending, past their back-off); returns how many were settled."""


        if self.ehr is None:
            return 0
        now = self._now()
        with self.store.session() as session:
            due = session.execute(
                select(OutboundMessage.id, OutboundMessage.kind).where(
                    OutboundMessage.state == OutboxState.PENDING, OutboundMessage.kind.in_(EHR_KINDS),
                    or_(OutboundMessage.next_attempt_at.is_(None), OutboundMessage.next_attempt_at <= now))
                .order_by(OutboundMessage.id).limit(100)
            ).all()
        settled = 0
        unreachable: set[str] = set()
        for row_id, kind in due:
            if kind in unreachable:
                continue  # one timeout per target and tick: the reminders that share the tick are not held up
            outcome = self._write_back(row_id)
            if outcome == "retry":
                unreachable.add(kind)
            elif outcome is not None:
                settled += 1
        return settled

    def _write_back(self, row_id: int) -> str | None:
        """One attempt at one write-back: "accepted", "refused", "retry", or None when another worker has it."""
        owner = self.workers.owner()
        now = self._now()
        with self.store.session() as session, session.begin():
            claimed = session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == row_id, OutboundMessage.state == OutboxState.PENDING,
                       OutboundMessage.claimed_at.is_(None)
                       | (OutboundMessage.claimed_by.is_(None) & (OutboundMessage.claimed_at < now - CLAIM_LEASE)))
                .values(claimed_at=now, claimed_by=owner, attempts=OutboundMessage.attempts + 1)
            ).rowcount == 1
            if not claimed:
                return None  # another worker is sending it
            row = session.get(OutboundMessage, row_id)
            key, kind, payload, attempts = row.idem_key, row.kind, dict(row.payload or {}), row.attempts
        try:
            # MSH-10 is new on every attempt (a message control ID names one transmission); TXA-12 is not.
            result = self.ehr.send(kind, payload, control_id=f"VMA{row_id}-{attempts}")
            outcome, detail = result.outcome, result.detail
        except Exception as exc:  # an adapter defect or an unforeseen network error: retried, never lost
            log.exception("writing back %s failed unexpectedly (will retry)", key)
            outcome, detail = "retry", f"{type(exc).__name__}: {exc}"
        self._settle_write_back(row_id, key, kind, payload, attempts, outcome, str(detail)[:500],
                                TARGET_LABEL.get(kind, kind))
        return outcome

    def _settle_write_back(self, row_id: int, key: str, kind: str, payload: dict, attempts: int, outcome: str,
                           detail: str, target: str) -> None:
        now = self._now()
        audit = {"key": key, "target": kind, "document_id": payload.get("document_id"),
                 "original_document_id": payload.get("original_document_id"), "attempt": attempts, "result": detail}
        chart_id = payload.get("chart_id")
        with self.store.session() as session, session.begin():
            if outcome == "accepted":
                session.execute(update(OutboundMessage).where(OutboundMessage.id == row_id).values(
                    state=OutboxState.SENT, sent_at=now, claimed_at=None, claimed_by=None, next_attempt_at=None,
                    last_error=None))
                self._audit(session, "ehr_writeback", chart_id=chart_id, detail=audit)
            elif outcome == "refused":
                session.execute(update(OutboundMessage).where(OutboundMessage.id == row_id).values(
                    state=OutboxState.HELD, claimed_at=None, claimed_by=None, next_attempt_at=None, last_error=detail))
                self._audit(session, "ehr_writeback_held", chart_id=chart_id, detail=audit)
                channel = self.settings.vma_manager_channel
                if channel:
                    # Told in the same transaction as the hold, through the outbox (sent just below, or by
                    # the next tick if Slack is down). The reason stays in the audit log: it may name the patient.
                    self._outbox(session, f"ehr_held:{key}:{attempts}", "ehr_held", channel, {
                        "chart_id": chart_id, "version": payload.get("version"),
                        "document_id": payload.get("document_id"), "target": target,
                        "outcome": detail.split(":", 1)[0]})
                else:
                    log.warning("write-back %s held (%s) and VMA_MANAGER_CHANNEL is not set", key, detail)
            else:
                delay = writeback_backoff(attempts)
                session.execute(update(OutboundMessage).where(OutboundMessage.id == row_id).values(
                    claimed_at=None, claimed_by=None, next_attempt_at=now + delay, last_error=detail))
                self._audit(session, "ehr_writeback_retry", chart_id=chart_id,
                            detail={**audit, "next_attempt_in_seconds": int(delay.total_seconds())})
        log.log(logging.INFO if outcome == "accepted" else logging.WARNING, "write-back %s to %s: %s (%s)",
                key, target, outcome, detail)
        if outcome == "refused":
            self._dispatch_pending_notices()

    def _ehr_held_sender(self, channel: str | None, payload: dict):
        if not channel:
            return None
        return lambda key: self.notifier.post_ehr_held(
            channel, str(payload.get("chart_id")), int(payload.get("version") or 1),
            str(payload.get("document_id")), str(payload.get("target")), str(payload.get("outcome")), idem_key=key)

    def release_held_writebacks(self, reason: str) -> int:
        """Held write-backs go back to pending, and waiting ones are due at once (at start-up: a restart is
        how an operator says the EHR interface was fixed); each is tried once more, and held again, with a
        new notice, if still refused."""
        with self.store.session() as session, session.begin():
            session.execute(update(OutboundMessage).where(OutboundMessage.state == OutboxState.PENDING,
                                                          OutboundMessage.kind.in_(EHR_KINDS))
                            .values(next_attempt_at=None))
            held = session.execute(select(OutboundMessage).where(OutboundMessage.state == OutboxState.HELD,
                                                                 OutboundMessage.kind.in_(EHR_KINDS))).scalars().all()
            for row in held:
                row.state, row.next_attempt_at = OutboxState.PENDING, None
                self._audit(session, "ehr_writeback_released", chart_id=(row.payload or {}).get("chart_id"),
                            detail={"key": row.idem_key, "reason": reason, "last_error": row.last_error})
        return len(held)

