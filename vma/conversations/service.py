"""The query loop: a chart in, questions to its provider, answers applied, the chart to the coders.

``ChartService`` is the domain's single entry point for the web app, the MLLP
listener, the drop folder and the scheduler. It owns no state between calls:
everything lives in the store, so a restart (or a second worker) resumes where
the first left off.

Delivery rules (why the code is shaped this way)
------------------------------------------------

- Intake stores the raw input (or the rejection, with the raw kept) and
  answers at once; the checks run in ``process``, which ``process_pending``
  repeats for anything stored and not yet processed (a crash after the ack).
- Every message to Slack has an ``OutboundMessage`` row keyed by its purpose
  ("query_dm:<record id>", "cleared:<record id>", "withdrawn:...",
  "dm_update:<query id>"). The row is written before the call (pending, with a
  claim naming the worker sending it, so two workers do not send it together)
  and marked sent with the channel and ts after it. A restart finds a sent row
  and does not send again; a pending row whose worker is gone (``vma.store.workers``:
  stale heartbeat, free advisory lock, or a dead process on this host) is taken
  over at once, on start-up and on every tick. A crash or a timeout after
  Slack accepted a post and before the row was marked is why each post carries
  its key as Slack metadata: a second attempt first looks for that copy
  (``notifier.find_sent``) and only posts when there is none. If Slack cannot be
  asked (no history scope), the post goes again: at least once, never lost.
- State changes that imply a message (a withdrawal, an answer's DM update) write
  the pending row in the same transaction as the change, so the message cannot
  be forgotten by a crash between the two.
- A check that raises never lets a chart pass: the chart is stored ``incomplete``
  (no DM, no coder post), the manager channel is told which check failed on which
  chart, and it is checked again after a restart or by a worker of another release.
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Callable

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from vma.chart import Chart, ChartInputError, normalize_icd, normalize_procedure
from vma.conversations import views
from vma.conversations.ports import Change, ChartSummary, ClearedChart, CodeLine, HomeView, QueryView, SentMessage
from vma.findings import CHECK_FAILED, ChartReport, Choice, Finding

log = logging.getLogger(__name__)

# A claim names its worker and is taken over as soon as that worker is gone (vma.store.workers). These
# leases only bound claims left without an owner: rows from before owned claims, or a claim its live
# worker let go of after an unexpected error (retried after the lease, not in a tight loop).
CLAIM_LEASE = timedelta(minutes=2)
# The outbox key of the message being sent. The notifier tags the Slack message with it, so that a
# later attempt (after a crash or a timeout that hid Slack's answer) finds the copy Slack already took.
SENDING_KEY: ContextVar[str | None] = ContextVar("vma_sending_key", default=None)
# Messages that post something new; a second attempt first looks for an earlier copy (updates are idempotent).
POSTING_KINDS = ("query_dm", "cleared", "unroutable", "check_failed")
PROCESS_LEASE = timedelta(minutes=5)
MAX_OTHER_TEXT = 2000
HOME_LIMIT = 10
NO_DESCRIPTION = "(no description)"
# Checks about the document rather than the codes; meaningless for a pasted note and code list.
ADHOC_SKIPPED_CHECKS = {"unsigned", "missing-element", "invalid-npi", "invalid-date", "place-of-service",
                        "dx-linkage", "sex-age", "poa"}
STAFF_ROLES = ("coder", "manager", "admin")
_CPT_SHAPE = re.compile(r"^(\d{5}|\d{4}[FTU])$")


@dataclass
class IntakeResult:
    http_status: int  # 202 stored, 200 exact duplicate, 400 invalid
    chart_id: str | None
    status: str
    errors: list[dict] = field(default_factory=list)  # [{"field": ..., "message": ...}]
    duplicate: bool = False
    record_id: int | None = None


@dataclass
class AnswerResult:
    ok: bool
    refused: bool = False
    reason: str | None = None
    already_answered: bool = False
    query: QueryView | None = None


@dataclass
class CheckchartResult:
    allowed: bool
    text: str
    summary: ChartSummary | None = None
    report: ChartReport | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


# Back-off of a write-back the EHR could not take (down, 5xx, no ACK): 30 s, doubling, at most 30 min.
WRITEBACK_RETRY_FIRST = timedelta(seconds=30)
WRITEBACK_RETRY_MAX = timedelta(minutes=30)


def writeback_backoff(attempts: int) -> timedelta:
    return min(WRITEBACK_RETRY_FIRST * (2 ** max(attempts - 1, 0)), WRITEBACK_RETRY_MAX)


def _release() -> str:
    """The code release a check ran under: a chart that failed under one is checked again under another."""
    from vma.store.workers import release

    return release()


def _claimable_for_checks(now: datetime):
    """A stored version nobody checks: new, or claimed without an owner longer than the lease.
    (A claim whose owner died is handed back to "received" by the takeover, at once.)"""
    from vma.store.models import ChartRecord

    return (ChartRecord.status == "received") | (
        (ChartRecord.status == "processed") & ChartRecord.claimed_by.is_(None)
        & (ChartRecord.processed_at < now - PROCESS_LEASE))


def _failed_checks(report_json: dict | None) -> list[str]:
    return [f.get("failed_check") or "?" for f in (report_json or {}).get("findings") or []
            if f.get("check") == CHECK_FAILED]


def _parse_instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_safe(value: Any) -> Any:
    """PostgreSQL's JSONB and text refuse NUL; a NUL an EHR sent becomes U+FFFD rather than a failed intake."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def finding_dump(finding: Finding) -> dict:
    """The finding with the fields the contract JSON leaves out (choices, target): the service needs them."""
    data = finding.model_dump(mode="json")
    data["choices"] = [c.model_dump(mode="json") for c in finding.choices]
    data["target"] = finding.target
    return data


def _unauthenticated(chart: Chart) -> bool:
    """An HL7/FHIR document its EHR marks as not (yet) authenticated; canonical charts say nothing and are checked."""
    return (chart.model_extra or {}).get("authenticated") is False


def _target_index(target: str | None) -> tuple[str, tuple[int, ...]] | None:
    """("diagnosis", (3,)) for "diagnosis:3"; ("diagnosis", (3, 5)) for "diagnosis:3,5" (a pair, as
    excludes1 and combination name it: the suggested codes are the codes kept of those positions).
    Positions are 0-based indexes into the chart's lists."""
    if not target or ":" not in target:
        return None
    kind, _, index = target.partition(":")
    parts = [p.strip() for p in index.split(",")]
    if kind not in ("diagnosis", "procedure") or not parts or not all(p.isdigit() for p in parts):
        return None
    positions = tuple(dict.fromkeys(int(p) for p in parts))
    if kind == "procedure" and len(positions) != 1:
        return None
    return kind, positions


MAX_POINTERS = 4  # a claim service line carries at most 4 diagnosis pointers (CMS-1500 24E, 837P SV107)


@dataclass
class _DxSlot:
    """One proposed diagnosis on its way to the final list."""

    original: str
    poa: Any
    codes: list[str] | None = None  # what replaces the code (None: the code stays)
    added: list[str] = field(default_factory=list)  # codes added beside it ("use additional code")
    dropped: bool = False
    moved_to: int | None = None  # a dropped code's pointers go to this slot

    @property
    def current(self) -> list[str]:
        return [*(self.codes if self.codes is not None else [self.original]), *self.added]


class _FinalDiagnoses:
    """The chart's diagnoses with answers and corrections applied, position by position."""

    def __init__(self, diagnoses: list[dict]):
        self.slots = [_DxSlot(normalize_icd(str(d.get("code") or "")), d.get("poa")) for d in diagnoses]

    def before(self, positions: tuple[int, ...]) -> str:
        return ", ".join(self.slots[p].original for p in positions if 0 <= p < len(self.slots))

    def set_poa(self, position: int, poa: Any) -> None:
        if 0 <= position < len(self.slots):
            self.slots[position].poa = poa

    def apply(self, positions: tuple[int, ...], codes: list[str]) -> bool:
        """Apply one answer or correction; False when it cannot (bad position, or an earlier change
        already replaced or dropped that code: the first one stands)."""
        if not codes or not all(0 <= p < len(self.slots) for p in positions):
            return False
        slots = [self.slots[p] for p in positions]
        if any(s.dropped for s in slots):
            return False
        if len(positions) == 1:
            slot = slots[0]
            base = slot.codes if slot.codes is not None else [slot.original]
            if slot.original in codes or (slot.codes is not None and set(slot.codes) <= set(codes)):
                # keeps the code and adds others: composes with a replacement made before it
                slot.added.extend(c for c in dict.fromkeys(codes)
                                  if c != slot.original and c not in base and c not in slot.added)
                return True
            if slot.codes is not None:
                return False
            slot.codes = list(dict.fromkeys(codes))
            return True
        # Several positions: the suggestion is the codes kept; a position whose code is not kept
        # is dropped, and codes new to these positions take the place of the first one dropped.
        kept = set(codes)
        known = {c for s in slots for c in s.current}
        dropped = [p for p, s in zip(positions, slots) if not kept & set(s.codes if s.codes is not None else [s.original])]
        staying = [p for p in positions if p not in dropped]
        new = [c for c in dict.fromkeys(codes) if c not in known]
        if new and dropped:
            host = dropped[0]
            self.slots[host].codes = new
            for p in dropped[1:]:
                self.slots[host].added.extend(self.slots[p].added)
            dropped = dropped[1:]
        elif new:
            host = staying[0]
            self.slots[host].added.extend(new)
        else:
            host = staying[0] if staying else None
        for p in dropped:
            slot = self.slots[p]
            slot.dropped, slot.moved_to = True, host
            if host is not None:
                self.slots[host].added.extend(c for c in slot.added if c not in self.slots[host].current)
            slot.added = []
        return True

    def build(self) -> tuple[list[dict], dict[int, int]]:
        """The final diagnoses ({code, poa}) and, for each 1-based chart position, the 1-based final
        position its pointers go to (absent when nothing took a dropped code's place)."""
        final: list[dict] = []
        at: dict[str, int] = {}
        group: dict[int, int] = {}
        for index, slot in enumerate(self.slots):
            if slot.dropped:
                continue
            for n, code in enumerate(dict.fromkeys(slot.current)):
                if code not in at:
                    at[code] = len(final)
                    final.append({"code": code, "poa": slot.poa})
                if n == 0:
                    group[index] = at[code]
        new_position: dict[int, int] = {}
        for index in range(len(self.slots)):
            at_slot, seen = index, set()
            while at_slot not in group and self.slots[at_slot].moved_to is not None and at_slot not in seen:
                seen.add(at_slot)
                at_slot = self.slots[at_slot].moved_to
            if at_slot in group:
                new_position[index + 1] = group[at_slot] + 1
        return final, new_position


def _code_first_edges(release, codes: list[str]) -> list[tuple[int, int, str]]:
    """(i, j, where): codes[i] goes before codes[j], because a "code first" note of codes[j]
    (on it or a code, block or chapter above it) names codes[i] (Guideline I.A.13)."""
    from vma.reference.icd10cm import note_code_refs

    edges = []
    for j, code in enumerate(codes):
        if release.get(code) is None:
            continue
        by_owner: dict[str, list[str]] = {}
        for where, note in release.inherited_notes(code, "codeFirst"):
            by_owner.setdefault(where, []).append(note)
        for where, owner_notes in by_owner.items():
            # T36-T50: "code first, for adverse effects, the nature of the adverse effect" binds adverse
            # effects only; a poisoning is sequenced before its manifestations (Guideline I.C.19.e.5).
            if any("for adverse effects" in n for n in owner_notes) and \
                    "adverse effect" not in (release.description(code) or "").lower():
                continue
            refs = [r for n in owner_notes for r in note_code_refs(n)]
            for i, other in enumerate(codes):
                if i != j and any(r.covers(other) for r in refs) and not any(e[:2] == (i, j) for e in edges):
                    edges.append((i, j, where))
    pairs = {(i, j) for i, j, _ in edges}
    return [e for e in edges if (e[1], e[0]) not in pairs]  # notes naming each other settle nothing


def code_first_order(release, codes: list[str]) -> tuple[list[int], list[tuple[int, int, str]]]:
    """Indexes of ``codes`` in reporting order, and the "code first" edges that moved a code.

    A code named by another's "code first" note goes right before the first code that names it;
    every other code keeps its place (a stable topological order; a cycle keeps the order given).
    """
    n = len(codes)
    edges = _code_first_edges(release, codes)
    if not edges:
        return list(range(n)), []
    after: dict[int, set[int]] = {i: set() for i in range(n)}
    before: dict[int, set[int]] = {i: set() for i in range(n)}
    for i, j, _ in edges:
        after[i].add(j)
        before[j].add(i)
    rank = list(range(n))  # a code pulled forward takes the place of the earliest code it must precede
    changed = True
    while changed:
        changed = False
        for i in range(n):
            low = min([rank[i], *(rank[j] for j in after[i])])
            if low < rank[i]:
                rank[i], changed = low, True
    order: list[int] = []
    left = set(range(n))
    while left:
        ready = [i for i in left if not (before[i] & left)] or list(left)
        pick = min(ready, key=lambda i: (rank[i], i))
        order.append(pick)
        left.remove(pick)
    moved = [(i, j, where) for i, j, where in edges if order.index(i) < order.index(j) and i > j]
    return order, moved


def _sequence_diagnoses(release, final_dx: list[dict], new_position: dict[int, int]
                        ) -> tuple[list[dict], dict[int, int], list[tuple[str, str, str]]]:
    codes = [d["code"] for d in final_dx]
    order, moved = code_first_order(release, codes)
    if not moved:
        return final_dx, new_position, []
    where_now = {old: new for new, old in enumerate(order)}
    remapped = {chart_pos: where_now[final_pos - 1] + 1 for chart_pos, final_pos in new_position.items()}
    return ([final_dx[i] for i in order], remapped,
            [(codes[i], codes[j], where) for i, j, where in moved])


def _final_pointers(pointers: list, new_position: dict[int, int], final_codes: list[str], release
                    ) -> tuple[list[int], list[int]]:
    """A service line's pointers in final positions: remapped, without duplicates, etiology before the
    manifestation it points at too, at most four. Returns (pointers, chart pointers left off)."""
    out: list[int] = []
    lost: list[int] = []
    for p in pointers:
        if not isinstance(p, int) or isinstance(p, bool):
            continue
        new = new_position.get(p)
        if new is None:
            lost.append(p)
        elif new not in out:
            out.append(new)
    if release is not None and len(out) > 1:
        order, _ = code_first_order(release, [final_codes[q - 1] for q in out])
        out = [out[k] for k in order]
    if len(out) > MAX_POINTERS:
        back = {v: k for k, v in new_position.items()}
        lost.extend(back.get(q, q) for q in out[MAX_POINTERS:])
        out = out[:MAX_POINTERS]
    return out, lost


class ChartService:
    def __init__(self, store, notifier, settings, directory=None, ref=None, clock: Callable[[], datetime] | None = None,
                 ehr=None):
        from vma.directory import Directory

        self.store = store
        self.notifier = notifier
        # The EHR write-back port (vma.integrations.ehr.EhrWriteBack), or None when no EHR target is set.
        self.ehr = ehr
        self.settings = settings
        self.directory = directory if directory is not None else Directory()
        self._ref = ref
        self.clock = clock or _utc_now
        from vma.store.workers import WorkerRegistry

        # Registers on the first claim; ``vma serve`` starts it (heartbeat thread, advisory lock) at start-up.
        self.workers = WorkerRegistry.from_settings(store, settings, clock=self._now)

    @property
    def ref(self):
        if self._ref is None:
            import copy

            from vma.reference import default_reference

            ref = default_reference()
            wanted = getattr(self.settings, "vma_rules_dir", None)
            if (wanted or None) != (ref.settings.vma_rules_dir or None):
                # This service's own payer rule packs (settings given in code, as the demo does), beside
                # the process's code sets: a copy shares the loaded tables and loads only its packs.
                from vma.rules import load_rules

                ref = copy.copy(ref)
                ref.__dict__["payer_rules"] = load_rules(wanted)
            self._ref = ref
        return self._ref

    def _now(self) -> datetime:
        return _as_utc(self.clock())

    # -- audit -----------------------------------------------------------------------------------

    def _audit(self, session, action: str, *, actor: str = "vma", chart_id: str | None = None,
               query_id: int | None = None, detail: dict | None = None) -> None:
        from vma.store.models import AuditEvent

        session.add(AuditEvent(at=self._now(), actor=actor or "unknown", action=action, chart_id=chart_id,
                               query_id=query_id, detail=detail or {}))

    def _audit_alone(self, action: str, **kwargs) -> None:
        """An audit event in its own transaction (the caller's session is only reading)."""
        with self.store.session() as session, session.begin():
            self._audit(session, action, **kwargs)

    # -- intake ----------------------------------------------------------------------------------

    def intake(self, raw: bytes | str, source: str, sender: str | None = None) -> IntakeResult:
        """Store the input and answer at once; checks run later in ``process``.

        ``source`` is the channel (``http:charts``, ``mllp``...); ``sender`` who used it (the intake
        token's source name, or the peer address), recorded in the audit log."""
        from vma.intake import parse_chart
        from vma.store.models import ChartRecord

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
        doc_key = chart.doc_key + ("#cancel" if cancelled else "") + ("#unauthenticated" if _unauthenticated(chart) else "")
        signed_at = _parse_instant(chart.signature.signed_at) if chart.signature else None
        try:
            with self.store.session() as session, session.begin():
                existing = session.execute(select(ChartRecord).where(ChartRecord.doc_key == doc_key)).scalar_one_or_none()
                if existing is not None:
                    return IntakeResult(200, existing.chart_id, existing.status, duplicate=True, record_id=existing.id)
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
                    provider_npi=chart.provider.npi, status="received" if is_current else "superseded",
                    is_current=is_current, signed_at=signed_at, received_at=now,
                )
                if is_current:
                    for old in current:
                        old.is_current = False
                        if old.status not in ("posted", "cancelled"):
                            old.status = "cancelled" if cancelled else "superseded"
                session.add(record)
                session.flush()
                self._audit(session, "intake", chart_id=chart.chart_id,
                            detail={"record_id": record.id, "version": chart.version, "source": source, "format": fmt,
                                    "doc_key": doc_key, "cancelled": cancelled, "current": is_current,
                                    **({"sender": sender} if sender else {})})
                return IntakeResult(202, chart.chart_id, record.status, record_id=record.id)
        except IntegrityError:
            # Another worker stored the same document version between our read and our insert.
            with self.store.session() as session:
                existing = session.execute(select(ChartRecord).where(ChartRecord.doc_key == doc_key)).scalar_one()
                return IntakeResult(200, existing.chart_id, existing.status, duplicate=True, record_id=existing.id)

    def _join_addendum(self, session, chart: Chart) -> Chart:
        """An addendum (HL7 T05/T06, FHIR ``appends``) often carries only its own text: the checks must see
        the earlier version's note with it, and its codes when the addendum sends none."""
        from vma.store.models import ChartRecord

        if (chart.model_extra or {}).get("revision_kind") != "addendum":
            return chart
        earlier = session.execute(
            select(ChartRecord).where(ChartRecord.chart_id == chart.chart_id,
                                      ChartRecord.document_id == chart.document_id,
                                      ChartRecord.version < chart.version, ChartRecord.status != "cancelled")
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
        from vma.store.models import IntakeRejection

        with self.store.session() as session, session.begin():
            errors = json_safe(errors)
            rejection = IntakeRejection(received_at=self._now(), source=source, raw=raw_text, errors=errors)
            session.add(rejection)
            session.flush()
            self._audit(session, "intake_rejected", detail={"rejection_id": rejection.id, "source": source,
                                                            "errors": errors, **({"sender": sender} if sender else {})})
        return IntakeResult(400, None, "invalid", errors=errors)

    # -- checking ------------------------------------------------------------------------------

    def process(self, record_id: int) -> None:
        """Run the checks on a stored version, ask its provider, or hand it to the coders."""
        from vma.checks import run_checks
        from vma.store.models import ChartRecord

        owner = self.workers.owner()
        now = self._now()
        with self.store.session() as session, session.begin():
            claimed = session.execute(
                update(ChartRecord)
                .where(ChartRecord.id == record_id, _claimable_for_checks(now))
                .values(status="processed", processed_at=now, claimed_by=owner)
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
                elif _unauthenticated(chart):
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
        from vma.store.models import ChartRecord

        try:
            with self.store.session() as session, session.begin():
                session.execute(update(ChartRecord).where(ChartRecord.id == record_id, ChartRecord.claimed_by == owner,
                                                          ChartRecord.status == "processed").values(claimed_by=None))
        except Exception:
            log.warning("could not let go of the check claim on chart record %s", record_id, exc_info=True)

    def _close_without_checks(self, record_id: int, cancelled: bool) -> None:
        from vma.store.models import ChartRecord, Query

        with self.store.session() as session, session.begin():
            record = session.get(ChartRecord, record_id)
            record.claimed_by = None
            if cancelled:
                record.status = "cancelled"
                open_queries = session.execute(
                    select(Query).where(Query.chart_id == record.chart_id, Query.status == "open").with_for_update()
                ).scalars().all()
                self.withdraw(session, open_queries, record, "the chart was cancelled")
                self._audit(session, "cancel", chart_id=record.chart_id,
                            detail={"record_id": record_id, "withdrawn": [q.id for q in open_queries]})
            else:
                record.status = "superseded"  # an older version arriving late: kept, not checked

    def _hold_unauthenticated(self, record_id: int) -> None:
        """Issue 5: only authenticated documents (TXA-17 AU/LA, FHIR current + final/amended) go to the checks;
        others stay stored, acknowledged and quiet until their authenticated version arrives."""
        from vma.store.models import ChartRecord

        with self.store.session() as session, session.begin():
            record = session.get(ChartRecord, record_id)
            record.status = "unauthenticated"
            record.claimed_by = None
            self._audit(session, "stored_unauthenticated", chart_id=record.chart_id,
                        detail={"record_id": record_id,
                                "completion_status": (record.chart_json or {}).get("completion_status")})

    def _hold_incomplete(self, record_id: int, report: ChartReport) -> None:
        """A check raised: the chart is held whole (no query, no coder post) until it is checked through.
        No finding or query rows are written: the next run starts from a clean slate."""
        from vma.store.models import ChartRecord

        now = self._now()
        failed = [f.failed_check for f in report.findings if f.check == CHECK_FAILED]
        with self.store.session() as session, session.begin():
            record = session.get(ChartRecord, record_id)
            record.report_json = json_safe({**report.model_dump(mode="json"), "release": _release()})
            record.status = "incomplete"
            record.claimed_by = None
            record.processed_at = now
            self._audit(session, "check_failed", chart_id=record.chart_id,
                        detail={"record_id": record_id, "checks": failed, "release": _release()})
        log.error("chart %s (record %s) is incomplete: check(s) %s failed; held until they run through",
                  record.chart_id, record_id, ", ".join(failed))

    def _notify_check_failed(self, record_id: int) -> None:
        """Tell the manager channel which check failed on which chart (IDs only), once per chart version
        and release."""
        from vma.store.models import ChartRecord

        with self.store.session() as session:
            record = session.get(ChartRecord, record_id)
            if record is None or record.status != "incomplete" or not record.is_current:
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
                               lambda: notify(channel, chart_id, version, failed))
        if sent is not None:
            with self.store.session() as session, session.begin():
                self._audit(session, "post_check_failed", chart_id=chart_id,
                            detail={"record_id": record_id, "checks": failed, "channel": sent.channel, "ts": sent.ts})

    def recheck_incomplete(self, reason: str, only_other_releases: bool = False) -> int:
        """Send the charts a check failed on back to be checked: all of them (after a restart), or those
        that failed under another release than this one (a new release may carry the fix)."""
        from vma.store.models import ChartRecord

        with self.store.session() as session:
            rows = session.execute(select(ChartRecord.id, ChartRecord.report_json)
                                   .where(ChartRecord.status == "incomplete", ChartRecord.is_current.is_(True))
                                   .order_by(ChartRecord.id).limit(500)).all()
        ids = [record_id for record_id, report in rows
               if not only_other_releases or (report or {}).get("release") != _release()]
        if not ids:
            return 0
        with self.store.session() as session, session.begin():
            again = session.execute(
                update(ChartRecord).where(ChartRecord.id.in_(ids), ChartRecord.status == "incomplete")
                .values(status="received", claimed_by=None).returning(ChartRecord.id, ChartRecord.chart_id)
            ).all()
            for record_id, chart_id in again:
                self._audit(session, "recheck", chart_id=chart_id,
                            detail={"record_id": record_id, "reason": reason, "release": _release()})
        return len(again)

    def _store_findings(self, record_id: int, chart: Chart, report: ChartReport) -> None:
        from vma.store.models import ChartRecord, FindingRecord, Query

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
                        target=finding.target, status="open", provider_npi=record.provider_npi,
                    ))
            kept = self.withdraw_for_version(session, record, new_queries)
            for query in new_queries:
                if id(query) not in kept:
                    session.add(query)
            session.flush()
            open_count = session.execute(
                select(func.count()).select_from(Query).where(Query.chart_record_id == record_id, Query.status == "open")
            ).scalar_one()
            if open_count:
                record.status = "needs_query"
            else:
                record.status = "needs_correction" if report.status == "needs_correction" else "clear"
                record.cleared_at = now
            record.processed_at = now
            self._audit(session, "checked", chart_id=record.chart_id,
                        detail={"record_id": record_id, "status": report.status,
                                "findings": [[f.check, f.action, f.code] for f in report.findings]})

    def withdraw_for_version(self, session, record, new_queries: list) -> set[int]:
        """A newer version: keep the older versions' open queries it still raises, withdraw the rest.

        A kept query moves to the new version (same DM, same reminder clock), so the provider is not
        asked twice; the matching new query is then not stored. Returns ``id()`` of the new queries so replaced.
        """
        from vma.store.models import Query

        old_open = session.execute(
            select(Query).where(Query.chart_id == record.chart_id, Query.status == "open",
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
        from vma.store.models import Query

        if not new_queries:
            return
        answered = session.execute(
            select(Query).where(Query.chart_id == record.chart_id, Query.status == "answered",
                                Query.chart_record_id != record.id).order_by(Query.answered_at.desc())
        ).scalars().all()
        for query in new_queries:
            earlier = next((a for a in answered if a.check == query.check and a.code == query.code
                            and a.target == query.target), None)
            if earlier is None:
                continue
            query.status = "answered"
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
            if query.status != "open":
                continue
            query.status = "withdrawn"
            query.withdrawn_at = now
            query.next_due_at = None
            self._audit(session, "withdraw", chart_id=query.chart_id, query_id=query.id,
                        detail={"reason": reason, "record_id": record.id})
            if query.dm_channel and query.dm_ts:
                by_message.setdefault((query.dm_channel, query.dm_ts), []).append(query.id)
        for (channel, ts), ids in by_message.items():
            self._outbox(session, f"withdrawn:{record.id}:{channel}:{ts}", "withdrawn", channel,
                         {"query_ids": ids, "reason": reason, "channel": channel, "ts": ts})

    # -- the outbox ----------------------------------------------------------------------------

    def _outbox(self, session, key: str, kind: str, channel: str | None, payload: dict) -> None:
        from vma.store.models import OutboundMessage

        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(OutboundMessage).values(
            idem_key=key, kind=kind, channel=channel, state="pending", attempts=0, created_at=self._now(),
            payload=payload).on_conflict_do_nothing(index_elements=["idem_key"]))

    def _send_once(self, key: str, kind: str, channel: str | None, payload: dict,
                   send: Callable[[], SentMessage | None]) -> SentMessage | None:
        """Send the message named ``key`` unless it was sent already; None when it could not be sent now."""
        from vma.store.models import OutboundMessage

        owner = self.workers.owner()
        now = self._now()
        with self.store.session() as session, session.begin():
            self._outbox(session, key, kind, channel, payload)
            row = session.execute(select(OutboundMessage).where(OutboundMessage.idem_key == key)).scalar_one()
            if row.state == "sent":
                return SentMessage(channel=row.channel or "", ts=row.ts or "")
            tried_before, created_at = row.attempts > 0, row.created_at
            # Free, or held without an owner past the lease; a claim whose worker died was freed by the takeover.
            claimed = session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == row.id, OutboundMessage.state != "sent",
                       OutboundMessage.claimed_at.is_(None)
                       | (OutboundMessage.claimed_by.is_(None) & (OutboundMessage.claimed_at < now - CLAIM_LEASE)))
                .values(claimed_at=now, claimed_by=owner, attempts=OutboundMessage.attempts + 1)
            ).rowcount == 1
        if not claimed:
            return None  # another worker is sending it right now
        try:
            sent = self._earlier_copy(key, kind, channel, created_at) if tried_before else None
            if sent is None:
                token = SENDING_KEY.set(key)
                try:
                    sent = send()
                finally:
                    SENDING_KEY.reset(token)
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
                            .values(state="sent", channel=sent.channel, ts=sent.ts, sent_at=self._now(),
                                    claimed_at=None, claimed_by=None))
        return sent

    def _earlier_copy(self, key: str, kind: str, channel: str | None, since: datetime | None) -> SentMessage | None:
        """The message an earlier attempt got to Slack without learning so (killed or timed out in the call)."""
        find = getattr(self.notifier, "find_sent", None)
        if find is None or kind not in POSTING_KINDS or not channel:
            return None
        try:
            found = find(channel, key, _as_utc(since) or self._now())
        except Exception as exc:  # cannot look (scope, outage): sending again risks a copy, never a loss
            log.warning("looking for an earlier copy of %s failed: %s", key, exc)
            return None
        if found is not None:
            log.info("%s had reached Slack before (ts %s): not sent again", key, found.ts)
        return found

    def _dispatch_pending_notices(self) -> int:
        """Send the withdrawal and DM-update messages that state changes left in the outbox."""
        from vma.store.models import OutboundMessage

        with self.store.session() as session:
            rows = session.execute(
                select(OutboundMessage.idem_key, OutboundMessage.kind, OutboundMessage.channel, OutboundMessage.payload)
                .where(OutboundMessage.state == "pending",
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
        from vma.store.models import ChartRecord, Query

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
        return lambda: self.notifier.send_withdrawn(message, summary, query_views, reason) or message

    def _dm_update_sender(self, payload: dict):
        from vma.store.models import ChartRecord, Query

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
        return lambda: self.notifier.update_query_dm(message, summary, query_views) or message

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
        import hashlib

        from vma.conversations.writeback import document_key, writeback_payload
        from vma.store.models import ChartRecord, OutboundMessage, Query

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
        from sqlalchemy import or_

        from vma.conversations.writeback import EHR_KINDS
        from vma.store.models import OutboundMessage

        if self.ehr is None:
            return 0
        now = self._now()
        with self.store.session() as session:
            due = session.execute(
                select(OutboundMessage.id, OutboundMessage.kind).where(
                    OutboundMessage.state == "pending", OutboundMessage.kind.in_(EHR_KINDS),
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
        from vma.conversations.writeback import TARGET_LABEL
        from vma.store.models import OutboundMessage

        owner = self.workers.owner()
        now = self._now()
        with self.store.session() as session, session.begin():
            claimed = session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == row_id, OutboundMessage.state == "pending",
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
        from vma.store.models import OutboundMessage

        now = self._now()
        audit = {"key": key, "target": kind, "document_id": payload.get("document_id"),
                 "original_document_id": payload.get("original_document_id"), "attempt": attempts, "result": detail}
        chart_id = payload.get("chart_id")
        with self.store.session() as session, session.begin():
            if outcome == "accepted":
                session.execute(update(OutboundMessage).where(OutboundMessage.id == row_id).values(
                    state="sent", sent_at=now, claimed_at=None, claimed_by=None, next_attempt_at=None,
                    last_error=None))
                self._audit(session, "ehr_writeback", chart_id=chart_id, detail=audit)
            elif outcome == "refused":
                session.execute(update(OutboundMessage).where(OutboundMessage.id == row_id).values(
                    state="held", claimed_at=None, claimed_by=None, next_attempt_at=None, last_error=detail))
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
        return lambda: self.notifier.post_ehr_held(
            channel, str(payload.get("chart_id")), int(payload.get("version") or 1),
            str(payload.get("document_id")), str(payload.get("target")), str(payload.get("outcome")))

    def release_held_writebacks(self, reason: str) -> int:
        """Held write-backs go back to pending, and waiting ones are due at once (at start-up: a restart is
        how an operator says the EHR interface was fixed); each is tried once more, and held again, with a
        new notice, if still refused."""
        from vma.conversations.writeback import EHR_KINDS
        from vma.store.models import OutboundMessage

        with self.store.session() as session, session.begin():
            session.execute(update(OutboundMessage).where(OutboundMessage.state == "pending",
                                                          OutboundMessage.kind.in_(EHR_KINDS))
                            .values(next_attempt_at=None))
            held = session.execute(select(OutboundMessage).where(OutboundMessage.state == "held",
                                                                 OutboundMessage.kind.in_(EHR_KINDS))).scalars().all()
            for row in held:
                row.state, row.next_attempt_at = "pending", None
                self._audit(session, "ehr_writeback_released", chart_id=(row.payload or {}).get("chart_id"),
                            detail={"key": row.idem_key, "reason": reason, "last_error": row.last_error})
        return len(held)

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
        from vma.conversations.reminders import first_due_at
        from vma.store.models import ChartRecord, Query

        with self.store.session() as session:
            record = session.get(ChartRecord, record_id)
            if record is None or not record.is_current or record.status not in ("needs_query", "on_hold", "clear",
                                                                              "needs_correction"):
                return
            unsent = session.execute(
                select(Query).where(Query.chart_record_id == record_id, Query.status == "open", Query.sent_at.is_(None))
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
            if current.status == "on_hold":
                current.status = "needs_query"
        sent = self._send_once(f"query_dm:{record_id}", "query_dm", user_id, {"record_id": record_id, "query_ids": query_ids},
                               lambda: self.notifier.send_query_dm(user_id, summary, query_views))
        if sent is None:
            return
        now = self._now()
        with self.store.session() as session, session.begin():
            for query in session.execute(select(Query).where(Query.id.in_(query_ids), Query.sent_at.is_(None))
                                         .with_for_update()).scalars():
                query.sent_at = now
                query.dm_channel, query.dm_ts = sent.channel, sent.ts
                query.next_due_at = first_due_at(now, self.settings) if query.status == "open" else None
                self._audit(session, "ask", chart_id=query.chart_id, query_id=query.id,
                            detail={"to": user_id, "channel": sent.channel, "ts": sent.ts, "check": query.check,
                                    "code": query.code, "question": query.question,
                                    "options": [c.get("label") for c in (query.choices or [])]})

    def _hold_unroutable(self, record, summary: ChartSummary, query_views: list[QueryView], reason: str) -> None:
        from vma.store.models import ChartRecord

        with self.store.session() as session, session.begin():
            current = session.get(ChartRecord, record.id)
            if current.status != "on_hold":
                current.status = "on_hold"
                self._audit(session, "unroutable", chart_id=record.chart_id, detail={"record_id": record.id,
                                                                                     "reason": reason})
        channel = self.settings.vma_manager_channel
        if not channel:
            log.warning("chart %s is on hold (%s) and VMA_MANAGER_CHANNEL is not set", record.chart_id, reason)
            return
        sent = self._send_once(f"unroutable:{record.id}", "unroutable", channel, {"record_id": record.id, "reason": reason},
                               lambda: self.notifier.post_unroutable(channel, summary, query_views, reason))
        if sent is not None:
            with self.store.session() as session, session.begin():
                self._audit(session, "post_unroutable", chart_id=record.chart_id,
                            detail={"record_id": record.id, "channel": sent.channel, "ts": sent.ts})

    # -- answers -------------------------------------------------------------------------------

    def may_answer(self, user_id: str | None, query) -> bool:
        if not user_id:
            return False
        return user_id == query.provider_user_id or self.directory.may_answer(user_id, query.provider_npi)

    def answer(self, query_id: int, user_id: str, option_index: int, other_text: str | None = None) -> AnswerResult:
        from vma.store.models import Query

        with self.store.session() as session:
            query = session.get(Query, query_id)
            if query is None:
                return AnswerResult(ok=False, reason="This query no longer exists.")
            if not self.may_answer(user_id, query):
                self._audit_alone("answer_refused", actor=user_id, chart_id=query.chart_id, query_id=query_id,
                                  detail={"option_index": option_index})
                return AnswerResult(ok=False, refused=True,
                                    reason="Only the provider this query was sent to, or their delegate, can answer it.")
            if query.status == "answered":
                return AnswerResult(ok=True, already_answered=True, query=views.query_view(query))
            if query.status == "withdrawn":
                return AnswerResult(ok=False, reason="This query was withdrawn: the chart was amended or cancelled.",
                                    query=views.query_view(query))
            choices = query.choices or []
            if not isinstance(option_index, int) or not 0 <= option_index < len(choices):
                return AnswerResult(ok=False, reason=f"No answer option {option_index} on this query.",
                                    query=views.query_view(query))
            choice = choices[option_index]
            text = json_safe((other_text or "").strip()[:MAX_OTHER_TEXT]) or None
            if choice.get("kind") == "other" and not text:
                return AnswerResult(ok=False, reason="'Other' needs a short free-text answer.",
                                    query=views.query_view(query))
            answer_json = {"label": choice.get("label"), "kind": choice.get("kind", "code"),
                           "codes": list(choice.get("codes") or []), "poa": choice.get("poa"),
                           "value": choice.get("value"), "other_text": text if choice.get("kind") == "other" else None}
            record_id = query.chart_record_id
        now = self._now()
        with self.store.session() as session, session.begin():
            won = session.execute(
                update(Query).where(Query.id == query_id, Query.status == "open")
                .values(status="answered", answered_at=now, answered_by=user_id, answer_index=option_index,
                        answer_json=answer_json, next_due_at=None)
            ).rowcount == 1
            if won:
                self._audit(session, "answer", actor=user_id, chart_id=query.chart_id, query_id=query_id,
                            detail={"option_index": option_index, **answer_json})
                if query.dm_channel and query.dm_ts:
                    self._outbox(session, f"dm_update:{query_id}", "dm_update", query.dm_channel,
                                 {"query_id": query_id, "channel": query.dm_channel, "ts": query.dm_ts})
                # The last answer of the chart version queues its write-back to the EHR in this very
                # transaction: a crash after the commit cannot forget it.
                self._queue_writeback(session, record_id)
        with self.store.session() as session:
            fresh = session.get(Query, query_id)
            view = views.query_view(fresh)
        if not won:  # a second click raced the first; the first one counts
            return AnswerResult(ok=fresh.status == "answered", already_answered=fresh.status == "answered",
                                reason=None if fresh.status == "answered" else "This query is no longer open.",
                                query=view)
        self._dispatch_pending_notices()
        self._maybe_clear(record_id)
        self.dispatch_writebacks()
        return AnswerResult(ok=True, query=view)

    # -- clearing ------------------------------------------------------------------------------

    def _maybe_clear(self, record_id: int) -> None:
        from vma.store.models import ChartRecord, Query

        now = self._now()
        with self.store.session() as session, session.begin():
            record = session.get(ChartRecord, record_id)
            if record is None or not record.is_current or record.status not in ("needs_query", "on_hold", "clear",
                                                                              "needs_correction"):
                return
            still_open = session.execute(
                select(func.count()).select_from(Query).where(Query.chart_record_id == record_id, Query.status == "open")
            ).scalar_one()
            if still_open:
                return
            if record.status in ("needs_query", "on_hold"):
                record.status = "clear"
            if record.cleared_at is None:
                record.cleared_at = now
            # Two answers committed side by side may each have seen the other still open; whichever
            # clears the chart queues the write-back (at most once: the outbox key is the chart version).
            self._queue_writeback(session, record_id)
        self._post_cleared(record_id)

    def _post_cleared(self, record_id: int) -> None:
        from vma.store.models import ChartRecord

        channel = self.settings.vma_coder_channel
        if not channel:
            log.warning("chart record %s is clear but VMA_CODER_CHANNEL is not set: not posted", record_id)
            return
        with self.store.session() as session:
            record = session.get(ChartRecord, record_id)
            cleared = self.cleared_view(session, record)
        sent = self._send_once(f"cleared:{record_id}", "cleared", channel, {"record_id": record_id},
                               lambda: self.notifier.post_cleared(channel, cleared))
        if sent is None:
            return
        with self.store.session() as session, session.begin():
            record = session.get(ChartRecord, record_id)
            if record.status != "posted":
                record.status = "posted"
                record.posted_at = self._now()
                self._audit(session, "post", chart_id=record.chart_id,
                            detail={"record_id": record_id, "channel": sent.channel, "ts": sent.ts,
                                    "codes": [c.code for c in cleared.codes],
                                    "changes": [[c.check, c.before, c.after, c.source] for c in cleared.changes]})

    def _describe(self, code: str, kind: str, dos: date | None) -> str:
        try:
            if kind == "diagnosis":
                return self.ref.icd_for(dos).description(code) or NO_DESCRIPTION
            for table in ("cpt", "hcpcs"):
                try:
                    codes = getattr(self.ref, table)
                except Exception:  # that reference module is missing or its file unreadable
                    continue
                for method in ("describe", "description"):
                    fn = getattr(codes, method, None)
                    text = fn(code) if callable(fn) else None
                    if text:
                        return str(text)
                entry = codes.get(code) if hasattr(codes, "get") else None
                text = getattr(entry, "description", None) or getattr(entry, "label", None)
                if text:
                    return str(text)
        except Exception:
            log.exception("describing %s failed", code)
        return NO_DESCRIPTION

    def final_codes(self, session, record, queries=None) -> tuple[list[CodeLine], list[Change], list[str]]:
        """The chart's codes with answers and supported corrections applied, what changed, and notes for the coder.

        Answers apply first, then corrections in the order the checks found them. A correction
        that keeps its code and adds others ([E11.9, Z79.4]) composes with one that replaces the
        code ([E11.621]); a target naming several positions keeps the positions whose code is in
        the suggestion and drops the others. Then the diagnoses are put in the order the
        tabular's "code first" notes ask for, and each service line's pointers follow its
        diagnoses: a pointer to a dropped code goes to the code that replaced it, no duplicates,
        at most four.

        ``queries``: the record's queries in id order when the caller has read them already (saves a query).
        """
        from vma.store.models import FindingRecord, Query

        chart = record.chart_json or {}
        diagnoses = [dict(d) for d in chart.get("diagnoses") or [] if isinstance(d, dict)]
        procedures = [dict(p) for p in chart.get("procedures") or [] if isinstance(p, dict)]
        dx = _FinalDiagnoses(diagnoses)
        replace_px: dict[int, list[str]] = {}
        changes: list[Change] = []
        notes: list[str] = []

        def apply(target, codes: list[str]) -> bool:
            kind, positions = target
            if kind == "diagnosis":
                return dx.apply(positions, codes)
            if positions[0] in replace_px or not 0 <= positions[0] < len(procedures):
                return False
            replace_px[positions[0]] = codes
            return True

        if queries is not None:
            answered = [query for query in queries if query.status == "answered"]
        else:
            answered = session.execute(select(Query).where(Query.chart_record_id == record.id,
                                                           Query.status == "answered")
                                       .order_by(Query.id)).scalars().all()
        for query in answered:
            answer = query.answer_json or {}
            kind = answer.get("kind", "code")
            who = self._person_name(query.answered_by)
            label = answer.get("label") or ""
            target = _target_index(query.target)
            if kind == "code" and answer.get("codes") and target:
                codes = [normalize_icd(str(c)) if target[0] == "diagnosis" else normalize_procedure(str(c))
                         for c in answer["codes"] if c]
                before = dx.before(target[1]) if target[0] == "diagnosis" and len(target[1]) > 1 else query.code
                if apply(target, codes):
                    changes.append(Change(check=query.check, before=before, after=codes,
                                          reason=f"answered by {who}: {label}", source="answer"))
                else:
                    notes.append(f"{query.check} on {query.code or 'the chart'}: {who} answered \"{label}\", "
                                 "which an earlier change to the same code overlaps; coder to decide.")
            elif kind == "poa" and target and target[0] == "diagnosis":
                dx.set_poa(target[1][0], answer.get("poa"))
                changes.append(Change(check=query.check, before=query.code, after=[f"{query.code} POA {answer.get('poa')}"],
                                      reason=f"answered by {who}: {label}", source="answer"))
            elif kind in ("other", "undetermined"):
                said = f"Other: {answer.get('other_text')}" if kind == "other" else "Clinically undetermined"
                notes.append(f"{query.check} on {query.code or 'the chart'}: {who} answered \"{said}\"; coder to decide.")
                changes.append(Change(check=query.check, before=query.code, after=[query.code] if query.code else [],
                                      reason=f"answered by {who}: {said}", source="coder-review",
                                      needs_coder_confirmation=True))
            else:
                changes.append(Change(check=query.check, before=query.code,
                                      after=[query.code] if query.code else [],
                                      reason=f"answered by {who}: {label}", source="answer"))

        findings = session.execute(select(FindingRecord).where(FindingRecord.chart_record_id == record.id)
                                   .order_by(FindingRecord.id)).scalars().all()
        for row in findings:
            data = row.finding_json or {}
            target = _target_index(data.get("target"))
            suggested = [c for c in data.get("suggested_codes") or [] if c]
            if target and target[0] == "diagnosis":
                suggested = [normalize_icd(str(c)) for c in suggested]
            before = dx.before(target[1]) if target and target[0] == "diagnosis" and len(target[1]) > 1 else row.code
            if row.action == "correct" and suggested and target and apply(target, suggested):
                changes.append(Change(check=row.check, before=before, after=suggested,
                                      reason=data.get("message") or "the record supports it", source="correction",
                                      needs_coder_confirmation=True))
            elif row.action in ("correct", "info"):
                notes.append(f"{row.check}{' on ' + row.code if row.code else ''}: {data.get('message', '')}")

        dos = None
        try:
            dos = date.fromisoformat(str((chart.get("encounter") or {}).get("date_of_service"))[:10])
        except ValueError:
            pass
        release = None
        try:
            release = self.ref.icd_for(dos)
        except Exception:  # no tabular for that date: keep the order as coded
            log.exception("no ICD-10-CM release for %s", dos)
        final_dx, new_position = dx.build()
        if release is not None:
            final_dx, new_position, moved = _sequence_diagnoses(release, final_dx, new_position)
            for early, late, where in moved:
                changes.append(Change(check="combination", before=f"{late}, {early}", after=[early, late],
                                      reason=(f"the tabular at {where} says to code {early} first (\"code first\", "
                                              "Guideline I.A.13)"),
                                      source="sequence", needs_coder_confirmation=True))
        final_px: list[dict] = []
        for index, px in enumerate(procedures):
            codes = replace_px.get(index) or [px.get("code")]
            pointers, lost = _final_pointers(px.get("diagnosis_pointers") or [], new_position,
                                             [d["code"] for d in final_dx], release)
            if lost:
                notes.append(f"dx-linkage on {px.get('code')}: diagnosis pointer(s) {', '.join(map(str, lost))} "
                             "left off the final line (no such diagnosis, or more than the 4 a claim line carries); "
                             "coder to review.")
            for code in codes:
                final_px.append({**px, "code": normalize_procedure(str(code)), "diagnosis_pointers": pointers})

        lines = [CodeLine(code=d["code"], description=self._describe(d["code"], "diagnosis", dos), kind="diagnosis",
                          poa=d.get("poa")) for d in final_dx]
        lines += [CodeLine(code=p["code"], description=self._describe(p["code"], "procedure", dos), kind="procedure",
                           modifiers=list(p.get("modifiers") or []), units=p.get("units"),
                           pointers=list(p.get("diagnosis_pointers") or [])) for p in final_px]
        return lines, changes, notes

    def cleared_view(self, session, record) -> ClearedChart:
        codes, changes, notes = self.final_codes(session, record)
        signed = _as_utc(record.signed_at)
        cleared_at = _as_utc(record.cleared_at) or self._now()
        signed_to_clear = cleared_at - signed if signed and cleared_at >= signed else None
        return views.cleared_chart(record, self.settings, codes, changes, notes, signed_to_clear)

    def _person_name(self, user_id: str | None) -> str:
        person = self.directory.by_user(user_id)
        if person is not None and person.name:
            return person.name
        return f"<@{user_id}>" if user_id else "unknown"

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
        from vma.store.models import ChartRecord, OutboundMessage, Query

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
                .where(Query.status == "open", Query.sent_at.is_(None), ChartRecord.status == "needs_query",
                       ChartRecord.is_current.is_(True))
                .distinct().limit(200)
            ).scalars().all()
            # A crash between a stored answer and the clearing leaves "needs_query" with nothing open.
            still_asking = select(Query.id).where(Query.chart_record_id == ChartRecord.id,
                                                  Query.status == "open").exists()
            unposted = session.execute(
                select(ChartRecord.id).where(ChartRecord.status.in_(("clear", "needs_correction"))
                                             | ((ChartRecord.status == "needs_query") & ~still_asking),
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
                    .where(ChartRecord.status == "incomplete", ChartRecord.is_current.is_(True))
                    .order_by(ChartRecord.id).limit(200))}
            told = set(session.execute(
                select(OutboundMessage.idem_key).where(OutboundMessage.idem_key.in_(list(incomplete)),
                                                       OutboundMessage.state == "sent")).scalars()) if incomplete else set()
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
        from vma.store.models import ChartRecord

        with self.store.session() as session:
            held = session.execute(select(ChartRecord.id).where(ChartRecord.status == "on_hold",
                                                                ChartRecord.is_current.is_(True))).scalars().all()
        for record_id in held:
            self._deliver(record_id)
        return len(held)

    # -- /checkchart and App Home --------------------------------------------------------------

    def _current_record(self, session, chart_id: str):
        from vma.store.models import ChartRecord

        return session.execute(
            select(ChartRecord).where(ChartRecord.chart_id == chart_id, ChartRecord.is_current.is_(True))
            .order_by(ChartRecord.id.desc()).limit(1)
        ).scalar_one_or_none()

    def may_view(self, user_id: str | None, record) -> bool:
        if not user_id or record is None:
            return False
        return self.directory.may_view(user_id, record.provider_npi) or user_id == record.provider_user_id

    def checkchart(self, chart_id: str, user_id: str) -> CheckchartResult:
        from vma.store.models import AuditEvent, Query

        chart_id = (chart_id or "").strip()
        refusal = CheckchartResult(allowed=False, text=f"Chart {chart_id[:60]} is not available to you.")
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
                    return CheckchartResult(allowed=True, text=f"No chart {chart_id[:60]} is stored.")
                return refusal
            summary = views.chart_summary(record, self.settings)
            if record.report_json:
                report = ChartReport.model_validate(record.report_json)
            else:
                from vma.checks import run_checks

                report = run_checks(Chart.model_validate(record.chart_json), self.ref)
            queries = session.execute(select(Query).where(Query.chart_record_id == record.id).order_by(Query.id)).scalars().all()
            codes, changes, notes = self.final_codes(session, record, queries=queries)
            text = _checkchart_text(summary, record.status, report, queries, codes)
        return CheckchartResult(allowed=True, text=text, summary=summary, report=report)

    def check_adhoc(self, note_text: str, codes_text: str) -> ChartReport:
        """Check a pasted note and code list without storing anything."""
        from vma.checks import run_checks

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
        from vma.store.models import ChartRecord, Query

        role = self.directory.role_of(user_id)
        npis = [p.npi for p in self.directory.providers_for(user_id)]
        home = HomeView(user_id=user_id, role=role)
        with self.store.session() as session:
            mine = (Query.provider_user_id == user_id)
            if npis:
                mine = mine | Query.provider_npi.in_(npis)
            rows = session.execute(
                select(Query, ChartRecord).join(ChartRecord, ChartRecord.id == Query.chart_record_id)
                .where(Query.status == "open", mine).order_by(Query.sent_at, Query.id).limit(HOME_LIMIT * 5)
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
                    select(ChartRecord).where(ChartRecord.status == "posted", ChartRecord.is_current.is_(True))
                    .order_by(ChartRecord.posted_at.desc()).limit(HOME_LIMIT)
                ).scalars().all()
                home.ready_charts = [self.cleared_view(session, r) for r in posted]
                waiting = session.execute(
                    select(ChartRecord, func.count(Query.id))
                    .join(Query, (Query.chart_record_id == ChartRecord.id) & (Query.status == "open"))
                    .where(ChartRecord.is_current.is_(True), ChartRecord.status.in_(("needs_query", "on_hold")))
                    .group_by(ChartRecord.id).order_by(ChartRecord.received_at).limit(HOME_LIMIT)
                ).all()
                home.waiting_charts = [(views.chart_summary(r, self.settings), count) for r, count in waiting]
        return home


def _choices_from_options(options: list[str]) -> list[Choice]:
    """Findings built before structured choices: plain labels, with the two escape answers recognised."""
    from vma.findings import OTHER, UNDETERMINED

    kinds = {OTHER: "other", UNDETERMINED: "undetermined"}
    return [Choice(label=o, kind=kinds.get(o, "value"), value=o) for o in options]


def _checkchart_text(summary: ChartSummary, status: str, report: ChartReport, queries: list, codes: list[CodeLine]) -> str:
    lines = [f"*Chart {summary.chart_id}* (version {summary.version}) · patient {summary.patient_label} · "
             f"date of service {summary.date_of_service or 'unknown'} · status {status}"]
    if codes:
        lines.append("Codes: " + "; ".join(f"{c.code} {c.description}" for c in codes))
    if report.findings:
        lines.append(f"Findings ({report.status}):")
        for finding in report.findings:
            lines.append(f"• {finding.check} [{finding.action}]{' ' + finding.code if finding.code else ''}: "
                         f"{finding.message}")
    else:
        lines.append("No findings: the chart is clear.")
    if queries:
        counts: dict[str, int] = {}
        for query in queries:
            counts[query.status] = counts.get(query.status, 0) + 1
        lines.append("Queries: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return "\n".join(lines)
