"""Receiving: a chart in from any adapter, stored (or refused) at once; versions, addenda and rejects.

The checks do not run here: intake answers the sender straight away and ``flows.process`` picks the
stored version up. A newer version settles the older one's open queries (kept, carried or withdrawn).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from vma.chart import Chart, ChartInputError
from vma.clock import parse_instant
from vma.conversations.common import ServiceCore, json_safe, log, unauthenticated
from vma.intake import parse_chart
from vma.store.models import ChartRecord, IntakeRejection, Query
from vma.store.status import ChartStatus, IntakeOutcome, QueryStatus


@dataclass
class IntakeResult:
    outcome: IntakeOutcome
    chart_id: str | None
    status: str
    errors: list[dict] = field(default_factory=list)  # [{"field": ..., "message": ...}]
    duplicate: bool = False
    record_id: int | None = None



class Receiving(ServiceCore):
    # -- intake ----------------------------------------------------------------------------------

    def intake(self, raw: bytes | str, source: str, sender: str | None = None) -> IntakeResult:
        """Store the input and answer at once; checks run later in ``process``.

        ``source`` is the channel (``http:charts``, ``mllp``...); ``sender`` who used it (the intake
        token's source name, or the peer address), recorded in the audit log."""
        now = self._now()
        if isinstance(raw, (bytes, bytearray)):
            # Kept even when it is not UTF-8: the escapes show reviewers the exact bytes.
            raw_text = bytes(raw).decode("utf-8", "backslashreplace")
        else:
            raw_text = str(raw)
        raw_text = raw_text.replace("\x00", "\\x00")  # PostgreSQL text cannot hold NUL
        try:
            chart, fmt = parse_chart(raw)
        except ChartInputError as exc:
            return self._reject(raw_text, source, [{"field": e.field, "message": e.message} for e in exc.errors],
                                sender=sender)
        except Exception as exc:  # a reader defect must not turn bad input into a crash or a lost message
            log.exception("reader failed on input from %s", source)
            return self._reject(raw_text, source,
                                [{"field": "(input)", "message": f"unreadable input ({type(exc).__name__})"}],
                                sender=sender)

        dumped = chart.model_dump(mode="json")
        if json_safe(dumped) != dumped:  # rare: re-validate only when a NUL had to go
            chart = Chart.model_validate(json_safe(dumped))
        extra = chart.model_extra or {}
        cancelled = bool(extra.get("cancelled"))
        # An unauthenticated notice and the authenticated one that follows often share document and version
        # (MDM T02 "IP" then T04 "AU"): separate keys, so the signed one is not taken for a duplicate.
        doc_key = chart.doc_key + ("#cancel" if cancelled else "") + ("#unauthenticated" if unauthenticated(chart) else "")
        signed_at = parse_instant(chart.signature.signed_at) if chart.signature else None
        try:
            with self.store.session() as session, session.begin():
                existing = session.execute(select(ChartRecord).where(ChartRecord.doc_key == doc_key)).scalar_one_or_none()
                if existing is not None:
                    return IntakeResult(IntakeOutcome.DUPLICATE, existing.chart_id, existing.status, duplicate=True, record_id=existing.id)
                current = session.execute(
                    select(ChartRecord).where(ChartRecord.chart_id == chart.chart_id, ChartRecord.is_current.is_(True))
                    .order_by(ChartRecord.id.desc()).with_for_update()
                ).scalars().all()
                newest = max((r.version for r in current), default=None)
                chart = self._join_addendum(session, chart)
                is_current = cancelled or newest is None or chart.version >= newest
                record = ChartRecord(
                    chart_id=chart.chart_id, version=chart.version, document_id=chart.document_id, doc_key=doc_key,
                    raw=raw_text, fmt=fmt, source=source, chart_json=json_safe(chart.model_dump(mode="json")),
                    provider_npi=chart.provider.npi, status=ChartStatus.RECEIVED if is_current else ChartStatus.SUPERSEDED,
                    is_current=is_current, signed_at=signed_at, received_at=now,
                )
                if is_current:
                    for old in current:
                        old.is_current = False
                        if old.status not in (ChartStatus.POSTED, ChartStatus.CANCELLED):
                            old.status = ChartStatus.CANCELLED if cancelled else ChartStatus.SUPERSEDED
                session.add(record)
                session.flush()
                self._audit(session, "intake", chart_id=chart.chart_id,
                            detail={"record_id": record.id, "version": chart.version, "source": source, "format": fmt,
                                    "doc_key": doc_key, "cancelled": cancelled, "current": is_current,
                                    **({"sender": sender} if sender else {})})
                return IntakeResult(IntakeOutcome.STORED, chart.chart_id, record.status, record_id=record.id)
        except IntegrityError:
            # Another worker stored the same document version between our read and our insert.
            with self.store.session() as session:
                existing = session.execute(select(ChartRecord).where(ChartRecord.doc_key == doc_key)).scalar_one()
                return IntakeResult(IntakeOutcome.DUPLICATE, existing.chart_id, existing.status, duplicate=True, record_id=existing.id)

    def _join_addendum(self, session, chart: Chart) -> Chart:
        """An addendum (HL7 T05/T06, FHIR ``appends``) often carries only its own text: the checks must see
        the earlier version's note with it, and its codes when the addendum sends none."""
        if (chart.model_extra or {}).get("revision_kind") != "addendum":
            return chart
        earlier = session.execute(
            select(ChartRecord).where(ChartRecord.chart_id == chart.chart_id,
                                      ChartRecord.document_id == chart.document_id,
                                      ChartRecord.version < chart.version, ChartRecord.status != ChartStatus.CANCELLED)
            .order_by(ChartRecord.version.desc(), ChartRecord.id.desc()).limit(1)
        ).scalar_one_or_none()
        if earlier is None:
            return chart
        base = Chart.model_validate(earlier.chart_json)
        before, added = base.note_text().strip(), chart.note_text().strip()
        data = chart.model_dump(mode="json")
        if before and " ".join(before.split()) not in " ".join(added.split()):  # some EHRs resend the whole note
            data["note"] = {"text": f"{before}\n\n{added}" if added else before, "sections": None}
        if not chart.diagnoses and not chart.procedures:
            data["diagnoses"] = [d.model_dump(mode="json") for d in base.diagnoses]
            data["procedures"] = [p.model_dump(mode="json") for p in base.procedures]
        data["addendum_to_version"] = earlier.version
        return Chart.model_validate(data)

    def _reject(self, raw_text: str, source: str, errors: list[dict], sender: str | None = None) -> IntakeResult:
        with self.store.session() as session, session.begin():
            errors = json_safe(errors)
            rejection = IntakeRejection(received_at=self._now(), source=source, raw=raw_text, errors=errors)
            session.add(rejection)
            session.flush()
            self._audit(session, "intake_rejected", detail={"rejection_id": rejection.id, "source": source,
                                                            "errors": errors, **({"sender": sender} if sender else {})})
        return IntakeResult(IntakeOutcome.INVALID, None, "invalid", errors=errors)

    def withdraw_for_version(self, session, record, new_queries: list) -> set[int]:
        """A newer version: keep the older versions' open queries it still raises, withdraw the rest.

        A kept query moves to the new version (same DM, same reminder clock), so the provider is not
        asked twice; the matching new query is then not stored. Returns ``id()`` of the new queries so replaced.
        """
        old_open = session.execute(
            select(Query).where(Query.chart_id == record.chart_id, Query.status == QueryStatus.OPEN,
                                Query.chart_record_id != record.id).order_by(Query.id).with_for_update()
        ).scalars().all()
        replaced: set[int] = set()
        moot = []
        for old in old_open:
            match = next((q for q in new_queries if id(q) not in replaced and q.check == old.check and q.code == old.code
                          and (q.target == old.target or q.target is None or old.target is None)), None)
            if match is None:
                moot.append(old)
                continue
            replaced.add(id(match))
            old.chart_record_id = record.id
            # The new version's wording and targets are the ones its answer applies to.
            old.question, old.evidence, old.choices, old.target = match.question, match.evidence, match.choices, match.target
        if moot:
            self.withdraw(session, moot, record, f"version {record.version} of the chart no longer needs it")
        self._reuse_answers(session, record, [q for q in new_queries if id(q) not in replaced])
        return replaced

    def _reuse_answers(self, session, record, new_queries: list) -> None:
        """A question the provider already answered on an earlier version is not asked again: the answer carries."""
        if not new_queries:
            return
        answered = session.execute(
            select(Query).where(Query.chart_id == record.chart_id, Query.status == QueryStatus.ANSWERED,
                                Query.chart_record_id != record.id).order_by(Query.answered_at.desc())
        ).scalars().all()
        for query in new_queries:
            earlier = next((a for a in answered if a.check == query.check and a.code == query.code
                            and a.target == query.target), None)
            if earlier is None:
                continue
            query.status = QueryStatus.ANSWERED
            query.answered_at, query.answered_by = earlier.answered_at, earlier.answered_by
            query.answer_json = dict(earlier.answer_json or {}, carried_from_query=earlier.id)
            labels = [c.get("label") for c in query.choices or []]
            label = (earlier.answer_json or {}).get("label")
            query.answer_index = labels.index(label) if label in labels else None
            query.sent_at, query.provider_user_id = earlier.sent_at, earlier.provider_user_id
            query.dm_channel, query.dm_ts = earlier.dm_channel, earlier.dm_ts

    def withdraw(self, session, queries: list, record, reason: str) -> None:
        """Withdraw open queries; their DMs get a short update (written to the outbox in this transaction)."""
        now = self._now()
        by_message: dict[tuple[str, str], list[int]] = {}
        for query in queries:
            if query.status != QueryStatus.OPEN:
                continue
            query.status = QueryStatus.WITHDRAWN
            query.withdrawn_at = now
            query.next_due_at = None
            self._audit(session, "withdraw", chart_id=query.chart_id, query_id=query.id,
                        detail={"reason": reason, "record_id": record.id})
            if query.dm_channel and query.dm_ts:
                by_message.setdefault((query.dm_channel, query.dm_ts), []).append(query.id)
        for (channel, ts), ids in by_message.items():
            self._outbox(session, f"withdrawn:{record.id}:{channel}:{ts}", "withdrawn", channel,
                         {"query_ids": ids, "reason": reason, "channel": channel, "ts": ts})

