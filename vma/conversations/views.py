"""Stored rows -> the view objects of ``vma.conversations.ports``, with PHI trimmed to the audience.

``minimal`` PHI mode (the default): a chart is named by its ID and the masked
MRN ("***7120"); the patient's name and birth date never leave the database.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from vma.conversations.ports import (Change, ChartSummary, ClearedChart, CodeLine, OptionView, QueryView)

MASK = "***"
# A finding's message may quote the note ("one stable chronic illness (GERD, well controlled)"); in a
# channel, minimal mode keeps no run of this many words taken from the note.
NOTE_QUOTE_WORDS = 4
NOTE_TEXT_REDACTED = "[note text]"
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")


def mask_mrn(mrn: str | None) -> str:
    if not mrn:
        return "(no MRN)"
    text = str(mrn).strip()
    return MASK + text[-4:] if len(text) > 4 else MASK + text[-2:]


def _minimal(settings) -> bool:
    return getattr(settings, "vma_phi_mode", "minimal") != "full"


def _section(chart: dict | None, name: str) -> dict:
    value = (chart or {}).get(name)
    return value if isinstance(value, dict) else {}


def patient_label(chart: dict | None, settings) -> str:
    patient = _section(chart, "patient")
    masked = mask_mrn(patient.get("mrn"))
    if _minimal(settings):
        return masked
    name = patient.get("name")
    mrn = patient.get("mrn") or "no MRN"
    return f"{name} ({mrn})" if name else str(mrn)


def chart_summary(record, settings) -> ChartSummary:
    chart = record.chart_json or {}
    encounter = _section(chart, "encounter")
    provider = _section(chart, "provider")
    return ChartSummary(
        chart_id=record.chart_id,
        version=record.version or 1,
        patient_label=patient_label(chart, settings),
        date_of_service=encounter.get("date_of_service"),
        provider_name=provider.get("name"),
        provider_npi=record.provider_npi or provider.get("npi"),
        setting=encounter.get("setting"),
        payer=payer_label(chart),
    )


def payer_label(chart: dict) -> str | None:
    """The primary payer as coders name it: the payer's name, its ID, the plan. Not PHI (it names the
    insurer, not the patient), so shown in every PHI mode."""
    coverage = chart.get("coverage") if isinstance(chart.get("coverage"), dict) else None
    if not coverage:
        return None
    name, pid, plan = coverage.get("payer_name"), coverage.get("payer_id"), coverage.get("plan")
    label = " ".join(p for p in (name, f"({pid})" if pid and name else pid) if p)
    if plan:
        label = f"{label} · {plan}" if label else str(plan)
    return label or None


def query_view(query) -> QueryView:
    choices = query.choices or []
    options = [OptionView(index=i, label=str(c.get("label", "")), kind=c.get("kind", "code"))
               for i, c in enumerate(choices) if isinstance(c, dict)]
    answer = query.answer_json or {}
    return QueryView(
        query_id=query.id,
        chart_id=query.chart_id,
        check=query.check,
        code=query.code,
        question=query.question,
        evidence=query.evidence or "",
        options=options,
        status=query.status,
        answer_label=answer.get("label"),
        answered_by=query.answered_by,
        other_text=answer.get("other_text"),
    )


def _note_text(chart: dict | None) -> str:
    note = (chart or {}).get("note")
    if isinstance(note, dict):
        return str(note.get("text") or "")
    return str(note or "")


def redact_note_text(text: str | None, note: str | None) -> str | None:
    """``text`` with every run of NOTE_QUOTE_WORDS or more words copied from ``note`` replaced."""
    if not text or not note:
        return text
    note_words = [w.lower() for w in _WORD.findall(note)]
    grams = {tuple(note_words[i:i + NOTE_QUOTE_WORDS]) for i in range(len(note_words) - NOTE_QUOTE_WORDS + 1)}
    if not grams:
        return text
    matches = list(_WORD.finditer(text))
    words = [m.group(0).lower() for m in matches]
    spans: list[list[int]] = []
    for i in range(len(words) - NOTE_QUOTE_WORDS + 1):
        if tuple(words[i:i + NOTE_QUOTE_WORDS]) in grams:
            start, end = matches[i].start(), matches[i + NOTE_QUOTE_WORDS - 1].end()
            if spans and start <= spans[-1][1]:
                spans[-1][1] = end
            else:
                spans.append([start, end])
    if not spans:
        return text
    pieces, last = [], 0
    for start, end in spans:
        pieces += [text[last:start], NOTE_TEXT_REDACTED]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def cleared_chart(record, settings, codes: list[CodeLine], changes: list[Change] | None = None,
                  coder_notes: list[str] | None = None, signed_to_clear: timedelta | None = None) -> ClearedChart:
    changes, coder_notes = list(changes or []), list(coder_notes or [])
    if _minimal(settings):  # the coders' channel: the reasons may not carry the note's words
        note = _note_text(record.chart_json)
        changes = [replace(c, reason=redact_note_text(c.reason, note)) for c in changes]
        coder_notes = [redact_note_text(n, note) for n in coder_notes]
    return ClearedChart(summary=chart_summary(record, settings), codes=codes, changes=changes,
                        coder_notes=coder_notes, signed_to_clear=signed_to_clear)
