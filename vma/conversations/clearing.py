"""Clearing: the chart's final codes (answers and corrections applied, sequenced, pointers remapped),
the cleared view the coders see, and the post to the coder channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select

from vma.chart import normalize_icd, normalize_procedure
from vma.clock import as_utc
from vma.conversations import views
from vma.conversations.common import ServiceCore, log
from vma.conversations.ports import Change, ClearedChart, CodeLine
from vma.reference.icd10cm import note_code_refs
from vma.store.models import ChartRecord, FindingRecord, Query
from vma.store.status import ChartStatus, QueryStatus

NO_DESCRIPTION = "(no description)"


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



class Clearing(ServiceCore):
    # -- clearing ------------------------------------------------------------------------------

    def _maybe_clear(self, record_id: int) -> None:
        now = self._now()
        with self.store.session() as session, session.begin():
            record = session.get(ChartRecord, record_id)
            if record is None or not record.is_current or record.status not in (ChartStatus.NEEDS_QUERY, ChartStatus.ON_HOLD, ChartStatus.CLEAR,
                                                                              ChartStatus.NEEDS_CORRECTION):
                return
            still_open = session.execute(
                select(func.count()).select_from(Query).where(Query.chart_record_id == record_id, Query.status == QueryStatus.OPEN)
            ).scalar_one()
            if still_open:
                return
            if record.status in (ChartStatus.NEEDS_QUERY, ChartStatus.ON_HOLD):
                record.status = ChartStatus.CLEAR
            if record.cleared_at is None:
                record.cleared_at = now
            # Two answers committed side by side may each have seen the other still open; whichever
            # clears the chart queues the write-back (at most once: the outbox key is the chart version).
            self._queue_writeback(session, record_id)
        self._post_cleared(record_id)

    def _post_cleared(self, record_id: int) -> None:
        channel = self.settings.vma_coder_channel
        if not channel:
            log.warning("chart record %s is clear but VMA_CODER_CHANNEL is not set: not posted", record_id)
            return
        with self.store.session() as session:
            record = session.get(ChartRecord, record_id)
            cleared = self.cleared_view(session, record)
        sent = self._send_once(f"cleared:{record_id}", "cleared", channel, {"record_id": record_id},
                               lambda key: self.notifier.post_cleared(channel, cleared, idem_key=key))
        if sent is None:
            return
        with self.store.session() as session, session.begin():
            record = session.get(ChartRecord, record_id)
            if record.status != ChartStatus.POSTED:
                record.status = ChartStatus.POSTED
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
            answered = [query for query in queries if query.status == QueryStatus.ANSWERED]
        else:
            answered = session.execute(select(Query).where(Query.chart_record_id == record.id,
                                                           Query.status == QueryStatus.ANSWERED)
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
        signed = as_utc(record.signed_at)
        cleared_at = as_utc(record.cleared_at) or self._now()
        signed_to_clear = cleared_at - signed if signed and cleared_at >= signed else None
        return views.cleared_chart(record, self.settings, codes, changes, notes, signed_to_clear)

    def _person_name(self, user_id: str | None) -> str:
        person = self.directory.by_user(user_id)
        if person is not None and person.name:
            return person.name
        # Someone the directory does not name: the messaging adapter says who (a Slack mention).
        return self.notifier.mention(user_id) if user_id else "unknown"

