"""Lookup: ``/checkchart`` (a stored chart, or a pasted note and codes checked on the spot) and App Home.

Read-only but for the audit row each lookup writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, insert, select

from vma.chart import Chart, normalize_icd
from vma.checks import run_checks
from vma.conversations import views
from vma.conversations.common import ServiceCore
from vma.conversations.ports import ChartSummary, CodeLine, HomeView, QueryView
from vma.findings import ChartReport
from vma.store.models import AuditEvent, ChartRecord, Query
from vma.store.status import ChartStatus, QueryStatus

HOME_LIMIT = 10
# Checks about the document rather than the codes; meaningless for a pasted note and code list.
ADHOC_SKIPPED_CHECKS = {"unsigned", "missing-element", "invalid-npi", "invalid-date", "place-of-service",
                        "dx-linkage", "sex-age", "poa"}
STAFF_ROLES = ("coder", "manager", "admin")
_CPT_SHAPE = re.compile(r"^(\d{5}|\d{4}[FTU])$")


@dataclass
class CheckchartResult:
    """What /checkchart found; the Slack adapter words it (templates/checkchart_text.txt.j2).

    Not allowed: the chart is not shown (nor said to exist). Allowed without a summary: no such chart
    is stored (told to staff only)."""

    allowed: bool
    chart_id: str
    summary: ChartSummary | None = None
    report: ChartReport | None = None
    status: str | None = None
    codes: list[CodeLine] = field(default_factory=list)
    query_counts: list[tuple[str, int]] = field(default_factory=list)  # (query status, how many), by status



class Lookup(ServiceCore):
    # -- /checkchart and App Home --------------------------------------------------------------

    def _current_record(self, session, chart_id: str):
        return session.execute(
            select(ChartRecord).where(ChartRecord.chart_id == chart_id, ChartRecord.is_current.is_(True))
            .order_by(ChartRecord.id.desc()).limit(1)
        ).scalar_one_or_none()

    def may_view(self, user_id: str | None, record) -> bool:
        if not user_id or record is None:
            return False
        return self.directory.may_view(user_id, record.provider_npi) or user_id == record.provider_user_id

    def checkchart(self, chart_id: str, user_id: str) -> CheckchartResult:
        chart_id = (chart_id or "").strip()
        refusal = CheckchartResult(allowed=False, chart_id=chart_id)
        # One transaction for the reads and the audit row: one connection and one commit per lookup,
        # which is what keeps 50 lookups at once quick.
        with self.store.session() as session, session.begin():
            record = self._current_record(session, chart_id) if chart_id else None
            allowed = self.may_view(user_id, record)
            # A plain INSERT (no unit-of-work flush for one row nobody reads back here).
            session.execute(insert(AuditEvent).values(
                at=self._now(), actor=user_id or "unknown", action="checkchart" if allowed else "checkchart_refused",
                chart_id=chart_id[:200] or None, query_id=None, detail={}))
            if not allowed:
                if record is None and self.directory.role_of(user_id) in STAFF_ROLES:
                    return CheckchartResult(allowed=True, chart_id=chart_id)
                return refusal
            summary = views.chart_summary(record, self.settings)
            if record.report_json:
                report = ChartReport.model_validate(record.report_json)
            else:
                report = run_checks(Chart.model_validate(record.chart_json), self.ref)
            queries = session.execute(select(Query).where(Query.chart_record_id == record.id).order_by(Query.id)).scalars().all()
            codes, changes, notes = self.final_codes(session, record, queries=queries)
            counts: dict[str, int] = {}
            for query in queries:
                counts[query.status] = counts.get(query.status, 0) + 1
            return CheckchartResult(allowed=True, chart_id=chart_id, summary=summary, report=report,
                                    status=record.status, codes=codes, query_counts=sorted(counts.items()))

    def check_adhoc(self, note_text: str, codes_text: str) -> ChartReport:
        """Check a pasted note and code list without storing anything."""
        today = self._now().date().isoformat()
        diagnoses, procedures = [], []
        for token in re.split(r"[\s,;]+", codes_text or ""):
            token = token.strip().upper()
            if not token:
                continue
            if self._looks_like_procedure(token, today):
                procedures.append({"code": token, "units": 1})
            else:
                diagnoses.append({"code": token})
        pointers = list(range(1, min(4, len(diagnoses)) + 1))
        for procedure in procedures:
            procedure["diagnosis_pointers"] = pointers
        chart = Chart.model_validate({
            "chart_id": "ADHOC", "version": 1,
            "patient": {}, "encounter": {"date_of_service": today, "setting": "office", "place_of_service": "11"},
            "provider": {}, "signature": {"signed_by": "(pasted)", "signed_at": self._now().isoformat()},
            "note": {"text": note_text or ""}, "diagnoses": diagnoses, "procedures": procedures,
        })
        report = run_checks(chart, self.ref)
        kept = [f for f in report.findings if f.check not in ADHOC_SKIPPED_CHECKS]
        return ChartReport.from_findings("ADHOC", kept)

    def _looks_like_procedure(self, token: str, today: str) -> bool:
        if "." in token:
            return False
        if _CPT_SHAPE.match(token):
            return True
        if re.fullmatch(r"[A-Z]\d{4}", token):
            # HCPCS Level II and ICD-10-CM share this shape (G2212 / G22.12): the tabular decides.
            return self.ref.icd_for(date.fromisoformat(today)).get(normalize_icd(token)) is None
        return False

    def home(self, user_id: str) -> HomeView:
        role = self.directory.role_of(user_id)
        npis = [p.npi for p in self.directory.providers_for(user_id)]
        home = HomeView(user_id=user_id, role=role)
        with self.store.session() as session:
            mine = (Query.provider_user_id == user_id)
            if npis:
                mine = mine | Query.provider_npi.in_(npis)
            rows = session.execute(
                select(Query, ChartRecord).join(ChartRecord, ChartRecord.id == Query.chart_record_id)
                .where(Query.status == QueryStatus.OPEN, mine).order_by(Query.sent_at, Query.id).limit(HOME_LIMIT * 5)
            ).all()
            grouped: dict[int, tuple[ChartSummary, list[QueryView]]] = {}
            for query, record in rows:
                if record.id not in grouped:
                    if len(grouped) >= HOME_LIMIT:
                        continue
                    grouped[record.id] = (views.chart_summary(record, self.settings), [])
                grouped[record.id][1].append(views.query_view(query))
            home.open_queries = list(grouped.values())
            if role in STAFF_ROLES:
                posted = session.execute(
                    select(ChartRecord).where(ChartRecord.status == ChartStatus.POSTED, ChartRecord.is_current.is_(True))
                    .order_by(ChartRecord.posted_at.desc()).limit(HOME_LIMIT)
                ).scalars().all()
                home.ready_charts = [self.cleared_view(session, r) for r in posted]
                waiting = session.execute(
                    select(ChartRecord, func.count(Query.id))
                    .join(Query, (Query.chart_record_id == ChartRecord.id) & (Query.status == QueryStatus.OPEN))
                    .where(ChartRecord.is_current.is_(True), ChartRecord.status.in_((ChartStatus.NEEDS_QUERY, ChartStatus.ON_HOLD)))
                    .group_by(ChartRecord.id).order_by(ChartRecord.received_at).limit(HOME_LIMIT)
                ).all()
                home.waiting_charts = [(views.chart_summary(r, self.settings), count) for r, count in waiting]
        return home
