"""The human report of ``vma check``."""

from __future__ import annotations

from vma.chart import Chart
from vma.findings import CHECK_FAILED, ChartReport

_ACTION_LABEL = {"query": "QUERY provider", "correct": "CORRECT", "info": "NOTE"}


def render_text(chart: Chart, report: ChartReport) -> str:
    from vma.checks import parse_date
    from vma.reference import default_reference

    ref = default_reference()
    icd = ref.icd_for(parse_date(chart.encounter.date_of_service))
    lines = [f"{chart.chart_id}  {report.status.upper()}  (document {chart.document_id or '-'} v{chart.version}, "
             f"DOS {chart.encounter.date_of_service or '?'}, POS {chart.encounter.place_of_service or '?'})"]
    for dx in chart.diagnoses:
        desc = icd.description(dx.code) or "not in ICD-10-CM"
        poa = f"  POA {dx.poa}" if dx.poa else ""
        lines.append(f"  dx  {dx.code:<9} {desc}{poa}")
    for px in chart.procedures:
        mods = ("-" + "-".join(px.modifiers)) if px.modifiers else ""
        lines.append(f"  px  {px.code}{mods} x{px.units}  -> dx {','.join(map(str, px.diagnosis_pointers)) or '-'}")
    if not report.findings:
        lines.append("  no findings")
    if report.status == "incomplete":
        failed = ", ".join(f.failed_check or "?" for f in report.findings if f.check == CHECK_FAILED)
        lines.append(f"  CHECK FAILED: {failed}. This chart was not fully checked and is not clear; "
                     "the error is in the log.")
    for f in report.findings:
        if f.check == CHECK_FAILED:
            lines.append(f"  [{f.check}] {f.failed_check or ''}".rstrip())
            lines.append(f"      {f.message}")
            continue
        head = f"  [{f.check}] {_ACTION_LABEL[f.action]}"
        if f.code:
            head += f" {f.code}"
        lines.append(head)
        lines.append(f"      {f.message}")
        if f.evidence:
            lines.append(f"      evidence: {f.evidence}")
        if f.rule_id:
            lines.append(f"      payer rule: {f.rule_id} (payer {f.payer_id})"
                         + (f"; references: {'; '.join(f.references)}" if f.references else ""))
        if f.suggested_codes:
            lines.append(f"      suggested: {', '.join(f.suggested_codes)}")
        if f.question:
            lines.append(f"      question: {f.question}")
            for i, opt in enumerate(f.options, 1):
                lines.append(f"        {i}. {opt}")
    return "\n".join(lines)
