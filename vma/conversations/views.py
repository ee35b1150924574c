"""Stored rows -> the view objects of ``vma.conversations.ports``, with PHI trimmed to the audience.

``minimal`` PHI mode (the default): a chart is named by its ID and the masked
MRN ("***7120"); the patient's name and birth date never leave the database.
"""

from __future__ import annotations

from datetime import timedelta

from vma.conversations.ports import (Change, ChartSummary, ClearedChart, CodeLine, OptionView, QueryView)

MASK = "***"


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
    )


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


def cleared_chart(record, settings, codes: list[CodeLine], changes: list[Change] | None = None,
                  coder_notes: list[str] | None = None, signed_to_clear: timedelta | None = None) -> ClearedChart:
    return ClearedChart(summary=chart_summary(record, settings), codes=codes, changes=list(changes or []),
                        coder_notes=list(coder_notes or []), signed_to_clear=signed_to_clear)
