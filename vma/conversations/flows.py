"""Flows: a stored chart version checked, its findings and queries stored, its provider asked.

``process`` is the spine of the route: claim the version, run the checks (``vma.checks``), store
what they found, send what is pending in the outbox, deliver the queries, tell the managers when a
check failed. ``process_pending`` and ``resume`` repeat the same steps for whatever a crash left.

A check that raises never lets a chart pass: the chart is stored ``incomplete`` (no DM, no coder
post), the manager channel is told which check failed on which chart, and it is checked again after
a restart or by a worker of another release.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from vma.chart import Chart
from vma.checks import run_checks
from vma.conversations import views
from vma.conversations.common import ServiceCore, json_safe, log, unauthenticated
from vma.conversations.ports import ChartSummary, QueryView
from vma.conversations.reminders import first_due_at
from vma.findings import CHECK_FAILED, OTHER, UNDETERMINED, ChartReport, Choice, Finding
from vma.store.models import ChartRecord, FindingRecord, OutboundMessage, Query
from vma.store.status import ChartStatus, OutboxState, QueryStatus
from vma.store.workers import release

PROCESS_LEASE = timedelta(minutes=5)


def _release() -> str:
    """The code release a check ran under: a chart that failed under one is checked again under another."""
    return release()


def finding_dump(finding: Finding) -> dict:
    """The finding with the fields the contract JSON leaves out (choices, target): the service needs them."""
    data = finding.model_dump(mode="json")
    data["choices"] = [c.model_dump(mode="json") for c in finding.choices]
    data["target"] = finding.target
    return data


def _claimable_for_checks(now: datetime):
    """A stored version nobody checks: new, or claimed without an owner longer than the lease.
    (A claim whose owner died is handed back to "received" by the takeover, at once.)"""
    return (ChartRecord.status == ChartStatus.RECEIVED) | (
        (ChartRecord.status == ChartStatus.PROCESSED) & ChartRecord.claimed_by.is_(None)
        & (ChartRecord.processed_at < now - PROCESS_LEASE))


def _failed_checks(report_json: dict | None) -> list[str]:
    return [f.get("failed_check") or "?" for f in (report_json or {}).get("findings") or []
            if f.get("check") == CHECK_FAILED]


def _choices_from_options(options: list[str]) -> list[Choice]:
    """Findings built before structured choices: plain labels, with the two escape answers recognised."""
    kinds = {OTHER: "other", UNDETERMINED: "undetermined"}
    return [Choice(label=o, kind=kinds.get(o, "value"), value=o) for o in options]


class Flows(ServiceCore):
    # -- checking ------------------------------------------------------------------------------

    def process(self, record_id: int) -> None:
        """Run the checks on a stored version, ask its provider, or hand it to the coders."""
        owner = self.workers.owner()
        now = self._now()
        with self.store.session() as session, session.begin():
            claimed = session.execute(
                update(ChartRecord)
                .where(ChartRecord.id == record_id, _claimable_for_checks(now))
                .values(status=ChartStatus.PROCESSED, processed_at=now, claimed_by=owner)
            ).rowcount == 1
            record = session.get(ChartRecord, record_id)
        if record is None:
            raise KeyError(f"no chart record {record_id}")
        if claimed:
            try:
                chart = Chart.model_validate(record.chart_json)
                cancelled = bool((chart.model_extra or {}).get("cancelled"))
                if cancelled or not record.is_current:
                    self._close_without_checks(record_id, cancelled)
                elif unauthenticated(chart):
                    self._hold_unauthenticated(record_id)
                else:
                    report = run_checks(chart, self.ref)
                    if report.status == "incomplete":
                        self._hold_incomplete(record_id, report)
                    else:
                        self._store_findings(record_id, chart, report)
            except Exception:
                # This worker lives on, so its claim would be respected forever: let go of it (the
                # lease of an ownerless claim retries it later) and let the caller log the error.
                self._release_check_claim(record_id, owner)
                raise
        self._dispatch_pending_notices()
        self._deliver(record_id)
        self._notify_check_failed(record_id)

    def _release_check_claim(self, record_id: int, owner: str) -> None:
        try:
            with self.store.session() as session, session.begin():
                session.execute(update(ChartRecord).where(ChartRecord.id == record_id, ChartRecord.claimed_by == owner,
                                                          ChartRecord.status == ChartStatus.PROCESSED).values(claimed_by=None))
        except Exception:
            log.warning("could not let go of the check claim on chart record %s", record_id, exc_info=True)

    def _close_without_checks(self, record_id: int, cancelled: bool) -> None:
        with self.store.session() as session, session.begin():
            record = session.get(ChartRecord, record_id)
            record.claimed_by = None
            if cancelled:
                record.status = ChartStatus.CANCELLED
                open_queries = session.execute(
                    select(Query).where(Query.chart_id == record.chart_id, Query.status == QueryStatus.OPEN).with_for_update()
                ).scalars().all()
                self.withdraw(session, open_queries, record, "the chart was cancelled")
                self._audit(session, "cancel", chart_id=record.chart_id,
                            detail={"record_id": record_id, "withdrawn": [q.id for q in open_queries]})
            else:
                record.status = ChartStatus.SUPERSEDED  # an older version arriving late: kept, not checked

    def _hold_unauthenticated(self, record_id: int) -> None:
        """Issue 5: only authenticated documents (TXA-17 AU/LA, FHIR current + final/amended) go to the checks;
        others stay stored, acknowledged and quiet until their authenticated version arrives."""
        with self.store.session() as session, session.begin():
            record = session.get(ChartRecord, record_id)
            record.status = ChartStatus.UNAUTHENTICATED
            record.claimed_by = None
            self._audit(session, "stored_unauthenticated", chart_id=record.chart_id,
                        detail={"record_id": record_id,
                                "completion_status": (record.chart_json or {}).get("completion_status")})

    def _hold_incomplete(self, record_id: int, report: ChartReport) -> None:
        """A check raised: the chart is held whole (no query, no coder post) until it is checked through.
        No finding or query rows are written: the next run starts from a clean slate."""
        now = self._now()
        failed = [f.failed_check for f in report.findings if f.check == CHECK_FAILED]
        with self.store.session() as session, session.begin():
            record = session.get(ChartRecord, record_id)
            record.report_json = json_safe({**report.model_dump(mode="json"), "release": _release()})
            record.status = ChartStatus.INCOMPLETE
            record.claimed_by = None
            record.processed_at = now
            self._audit(session, "check_failed", chart_id=record.chart_id,
                        detail={"record_id": record_id, "checks": failed, "release": _release()})
        log.error("chart %s (record %s) is incomplete: check(s) %s failed; held until they run through",
                  record.chart_id, record_id, ", ".join(failed))

    def _notify_check_failed(self, record_id: int) -> None:
        """Tell the manager channel which check failed on which chart (IDs only), once per chart version
        and release."""
        with self.store.session() as session:
            record = session.get(ChartRecord, record_id)
            if record is None or record.status != ChartStatus.INCOMPLETE or not record.is_current:
                return
            chart_id, version = record.chart_id, record.version
            failed = _failed_checks(record.report_json)
            release = (record.report_json or {}).get("release") or _release()
        channel = self.settings.vma_manager_channel
        notify = getattr(self.notifier, "post_check_failed", None)
        if not channel or notify is None:
            log.warning("chart %s is held incomplete (%s failed); %s", chart_id, ", ".join(failed),
                        "VMA_MANAGER_CHANNEL is not set" if not channel else "this notifier cannot tell the managers")
            return
        sent = self._send_once(f"check_failed:{record_id}:{release}", "check_failed", channel,
                               {"record_id": record_id, "checks": failed, "release": release},
                               lambda key: notify(channel, chart_id, version, failed, idem_key=key))
        if sent is not None:
            with self.store.session() as session, session.begin():
                self._audit(session, "post_check_failed", chart_id=chart_id,
                            detail={"record_id": record_id, "checks": failed, "channel": sent.channel, "ts": sent.ts})

    def recheck_incomplete(self, reason: str, only_other_releases: bool = False) -> int:
        """Send the charts a check failed on back to be checked: all of them (after a restart), or those
        that failed under another release than this one (a new release may carry the fix)."""
        with self.store.session() as session:
            rows = session.execute(select(ChartRecord.id, ChartRecord.report_json)
                                   .where(ChartRecord.status == ChartStatus.INCOMPLETE, ChartRecord.is_current.is_(True))
                                   .order_by(ChartRecord.id).limit(500)).all()
        ids = [record_id for record_id, report in rows
               if not only_other_releases or (report or {}).get("release") != _release()]
        if not ids:
            return 0
        with self.store.session() as session, session.begin():
            again = session.execute(
                update(ChartRecord).where(ChartRecord.id.in_(ids), ChartRecord.status == ChartStatus.INCOMPLETE)
                .values(status=ChartStatus.RECEIVED, claimed_by=None).returning(ChartRecord.id, ChartRecord.chart_id)
            ).all()
            for record_id, chart_id in again:
                self._audit(session, "recheck", chart_id=chart_id,
                            detail={"record_id": record_id, "reason": reason, "release": _release()})
        return len(again)

    def _store_findings(self, record_id: int, chart: Chart, report: ChartReport) -> None:
        now = self._now()
        with self.store.session() as session, session.begin():
            record = session.get(ChartRecord, record_id)
            record.report_json = json_safe(report.model_dump(mode="json"))
            record.claimed_by = None
            new_queries: list[Query] = []
            for finding in report.findings:
                session.add(FindingRecord(chart_record_id=record_id, check=finding.check, action=finding.action,
                                          code=finding.code, finding_json=json_safe(finding_dump(finding))))
                if finding.action == "query":
                    new_queries.append(Query(
                        chart_record_id=record_id, chart_id=record.chart_id, check=finding.check, code=finding.code,
                        question=json_safe(finding.question or finding.message), evidence=json_safe(finding.evidence or ""),
                        choices=json_safe([c.model_dump(mode="json") for c in finding.choices]) or [
                            c.model_dump(mode="json") for c in _choices_from_options(finding.options)],
                        target=finding.target, status=QueryStatus.OPEN, provider_npi=record.provider_npi,
                    ))
            kept = self.withdraw_for_version(session, record, new_queries)
            for query in new_queries:
                if id(query) not in kept:
                    session.add(query)
            session.flush()
            open_count = session.execute(
                select(func.count()).select_from(Query).where(Query.chart_record_id == record_id, Query.status == QueryStatus.OPEN)
            ).scalar_one()
            if open_count:
                record.status = ChartStatus.NEEDS_QUERY
            else:
                record.status = ChartStatus.NEEDS_CORRECTION if report.status == "needs_correction" else ChartStatus.CLEAR
                record.cleared_at = now
            record.processed_at = now
            self._audit(session, "checked", chart_id=record.chart_id,
                        detail={"record_id": record_id, "status": report.status,
                                "findings": [[f.check, f.action, f.code] for f in report.findings]})

    # -- asking the provider -------------------------------------------------------------------

    def _provider_user(self, record) -> tuple[str | None, str | None]:
        """(Slack user id, reason when none). The directory first, then Slack by the chart's email."""
        person = self.directory.by_npi(record.provider_npi)
        if person is not None and person.slack_user_id:
            return person.slack_user_id, None
        email = ((record.chart_json or {}).get("provider") or {}).get("email")
        if person is not None and person.email:
            email = email or person.email
        if not email:
            return None, f"provider NPI {record.provider_npi or '(none)'} is not in the directory and the chart has no provider email"
        user_id = self.notifier.resolve_user(email)  # a Slack failure raises: retried, not taken for "unknown"
        if not user_id:
            return None, f"no Slack user for the provider's email ({email}) and NPI {record.provider_npi or '(none)'} is not in the directory"
        return user_id, None

    def _deliver(self, record_id: int) -> None:
        with self.store.session() as session:
            record = session.get(ChartRecord, record_id)
            if record is None or not record.is_current or record.status not in (ChartStatus.NEEDS_QUERY, ChartStatus.ON_HOLD, ChartStatus.CLEAR,
                                                                              ChartStatus.NEEDS_CORRECTION):
                return
            unsent = session.execute(
                select(Query).where(Query.chart_record_id == record_id, Query.status == QueryStatus.OPEN, Query.sent_at.is_(None))
                .order_by(Query.id)
            ).scalars().all()
        if not unsent:
            self._maybe_clear(record_id)
            return
        try:
            user_id, reason = self._provider_user(record)
        except Exception as exc:
            log.warning("looking up the provider of chart record %s failed (will retry): %s", record_id, exc)
            return
        summary = views.chart_summary(record, self.settings)
        query_views = [views.query_view(q) for q in unsent]
        if user_id is None:
            self._hold_unroutable(record, summary, query_views, reason)
            return
        query_ids = [q.id for q in unsent]
        with self.store.session() as session, session.begin():
            session.execute(update(Query).where(Query.id.in_(query_ids)).values(provider_user_id=user_id))
            current = session.get(ChartRecord, record_id)
            current.provider_user_id = user_id
            if current.status == ChartStatus.ON_HOLD:
                current.status = ChartStatus.NEEDS_QUERY
        sent = self._send_once(f"query_dm:{record_id}", "query_dm", user_id, {"record_id": record_id, "query_ids": query_ids},
                               lambda key: self.notifier.send_query_dm(user_id, summary, query_views, idem_key=key))
        if sent is None:
            return
        now = self._now()
        answered_meanwhile = False
        with self.store.session() as session, session.begin():
            for query in session.execute(select(Query).where(Query.id.in_(query_ids), Query.sent_at.is_(None))
                                         .with_for_update()).scalars():
                query.sent_at = now
                query.dm_channel, query.dm_ts = sent.channel, sent.ts
                query.next_due_at = first_due_at(now, self.settings) if query.status == QueryStatus.OPEN else None
                if query.status == QueryStatus.ANSWERED:
                    # Clicked between Slack's reply and this commit: the answer found no DM to update
                    # then, so the update is queued now that the DM is known.
                    self._outbox(session, f"dm_update:{query.id}", "dm_update", sent.channel,
                                 {"query_id": query.id, "channel": sent.channel, "ts": sent.ts})
                    answered_meanwhile = True
                self._audit(session, "ask", chart_id=query.chart_id, query_id=query.id,
                            detail={"to": user_id, "channel": sent.channel, "ts": sent.ts, "check": query.check,
                                    "code": query.code, "question": query.question,
                                    "options": [c.get("label") for c in (query.choices or [])]})
        if answered_meanwhile:
            self._dispatch_pending_notices()

    def _hold_unroutable(self, record, summary: ChartSummary, query_views: list[QueryView], reason: str) -> None:
        with self.store.session() as session, session.begin():
            current = session.get(ChartRecord, record.id)
            if current.status != ChartStatus.ON_HOLD:
                current.status = ChartStatus.ON_HOLD
                self._audit(session, "unroutable", chart_id=record.chart_id, detail={"record_id": record.id,
                                                                                     "reason": reason})
        channel = self.settings.vma_manager_channel
        if not channel:
            log.warning("chart %s is on hold (%s) and VMA_MANAGER_CHANNEL is not set", record.chart_id, reason)
            return
        sent = self._send_once(f"unroutable:{record.id}", "unroutable", channel, {"record_id": record.id, "reason": reason},
                               lambda key: self.notifier.post_unroutable(channel, summary, query_views, reason, idem_key=key))
        if sent is not None:
            with self.store.session() as session, session.begin():
                self._audit(session, "post_unroutable", chart_id=record.chart_id,
                            detail={"record_id": record.id, "channel": sent.channel, "ts": sent.ts})

    # -- resuming --------------------------------------------------------------------------------

    def resume(self) -> int:
        """At start-up: the charts a check failed on are checked again (the restart may carry a fix), then
        whatever a crash left is finished (``process_pending``, which first takes over the dead's claims)."""
        steps = 0
        try:
            steps += self.recheck_incomplete("restart")
        except Exception:
            log.exception("sending incomplete charts back to the checks failed")
        try:
            steps += self.release_held_writebacks("restart")
        except Exception:
            log.exception("releasing held EHR write-backs failed")
        return steps + self.process_pending()

    def take_over_dead(self) -> int:
        """Release the claims of workers that are gone (at once, not after a lease); returns how many."""
        try:
            taken = self.workers.take_over_dead()
        except Exception:
            log.exception("looking for dead workers failed; tried again on the next tick")
            return 0
        released = 0
        for item in taken:
            count = len(item.checks) + len(item.sends) + len(item.reminders) + item.nudges
            released += count
            try:
                self._audit_alone("worker_takeover", detail={
                    "worker": item.worker_id, "host": item.host, "pid": item.pid, "why": item.why,
                    "by": self.workers.id, "checks": item.checks, "sends": item.sends,
                    "reminders": item.reminders, "nudges": item.nudges})
            except Exception:
                log.warning("could not audit the takeover of worker %s", item.worker_id, exc_info=True)
        return released

    def process_pending(self) -> int:
        """Finish whatever a crash or a failed Slack call left undone. Returns the number of steps taken."""
        steps = self.take_over_dead()
        try:
            steps += self.recheck_incomplete("new release", only_other_releases=True)
        except Exception:
            log.exception("sending incomplete charts of another release back to the checks failed")
        now = self._now()
        with self.store.session() as session:
            to_check = session.execute(
                select(ChartRecord.id).where(_claimable_for_checks(now)).order_by(ChartRecord.id).limit(200)
            ).scalars().all()
        for record_id in to_check:
            try:
                self.process(record_id)
                steps += 1
            except Exception:
                log.exception("processing chart record %s failed", record_id)
        steps += self._dispatch_pending_notices()
        with self.store.session() as session:
            undelivered = session.execute(
                select(Query.chart_record_id).join(ChartRecord, ChartRecord.id == Query.chart_record_id)
                .where(Query.status == QueryStatus.OPEN, Query.sent_at.is_(None), ChartRecord.status == ChartStatus.NEEDS_QUERY,
                       ChartRecord.is_current.is_(True))
                .distinct().limit(200)
            ).scalars().all()
            # A crash between a stored answer and the clearing leaves "needs_query" with nothing open.
            still_asking = select(Query.id).where(Query.chart_record_id == ChartRecord.id,
                                                  Query.status == QueryStatus.OPEN).exists()
            unposted = session.execute(
                select(ChartRecord.id).where(ChartRecord.status.in_((ChartStatus.CLEAR, ChartStatus.NEEDS_CORRECTION))
                                             | ((ChartRecord.status == ChartStatus.NEEDS_QUERY) & ~still_asking),
                                             ChartRecord.is_current.is_(True), ChartRecord.posted_at.is_(None))
                .order_by(ChartRecord.id).limit(200)
            ).scalars().all() if self.settings.vma_coder_channel else []
        for record_id in undelivered:
            try:
                self._deliver(record_id)
                steps += 1
            except Exception:
                log.exception("delivering the queries of chart record %s failed", record_id)
        for record_id in unposted:
            try:
                self._maybe_clear(record_id)
                steps += 1
            except Exception:
                log.exception("posting chart record %s failed", record_id)
        try:
            steps += self.dispatch_writebacks()
        except Exception:
            log.exception("writing answered queries back to the EHR failed; tried again on the next tick")
        # The managers' notice of a chart held incomplete, when its first attempt did not get through.
        with self.store.session() as session:
            incomplete = {
                f"check_failed:{record_id}:{(report or {}).get('release') or _release()}": record_id
                for record_id, report in session.execute(
                    select(ChartRecord.id, ChartRecord.report_json)
                    .where(ChartRecord.status == ChartStatus.INCOMPLETE, ChartRecord.is_current.is_(True))
                    .order_by(ChartRecord.id).limit(200))}
            told = set(session.execute(
                select(OutboundMessage.idem_key).where(OutboundMessage.idem_key.in_(list(incomplete)),
                                                       OutboundMessage.state == OutboxState.SENT)).scalars()) if incomplete else set()
        for key, record_id in incomplete.items():
            if key in told:
                continue
            try:
                self._notify_check_failed(record_id)
                steps += 1
            except Exception:
                log.exception("telling the managers about incomplete chart record %s failed", record_id)
        return steps

    def retry_on_hold(self) -> int:
        """Try again to reach the providers of charts on hold (after the directory was fixed)."""
        with self.store.session() as session:
            held = session.execute(select(ChartRecord.id).where(ChartRecord.status == ChartStatus.ON_HOLD,
                                                                ChartRecord.is_current.is_(True))).scalars().all()
        for record_id in held:
            self._deliver(record_id)
        return len(held)

