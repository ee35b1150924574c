"""Shared pieces of the axis checks (laterality, acuity, specificity, non-billable-code).

Not a check itself (no ``register``): each proposed code gets one decision from
:func:`vma.refine.decide` (which check reports it, and whether it is a correction or a
query); this module turns a decision into the finding's words, so that a code fixed on
several axes at once reads the same whichever check reports it.
"""

from __future__ import annotations

from vma.axes import ACUITY_TERMS, SIDE_TERMS, AxisIndex, axis_index, cite_all, code_label, condition_name, \
    uncertain_remark, with_seventh
from vma.checks import CheckContext
from vma.findings import Choice, Finding, query_choices
from vma.notes import quote
from vma.refine import Decision, chart_codes, decide, key_words


def decisions(ctx: CheckContext, check_id: str):
    """(position, decision) for each known diagnosis whose decision belongs to ``check_id``."""
    index = axis_index(ctx.icd)
    codes = chart_codes(dx.code for dx in ctx.chart.diagnoses)
    for position, dx, _entry in ctx.known_diagnoses():
        decision = decide(ctx.note, index, dx.code, ctx.outpatient, codes)
        if decision is not None and decision.check == check_id:
            yield position, decision


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def suggested(index: AxisIndex, d: Decision) -> list[str]:
    return [with_seventh(index, t, d.seventh) for t in d.targets]


def correction(ctx: CheckContext, index: AxisIndex, position: int, d: Decision, check_id: str) -> Finding:
    """A correction to the code that settles every axis the note documents."""
    rel = index.release
    codes = suggested(index, d)
    described = _and([f"{c} ({rel.description(c) or c})" for c in codes])
    coded = f"{d.code} ({rel.description(d.code) or rel.description(d.base) or d.code})"
    documented = _and(d.documented)
    if len(codes) > 1:
        message = (f"{coded} names one side; the note documents {documented}, and the tabular has no bilateral "
                   f"code, so both are coded: {described} (Guideline I.B.13).")
    elif d.base in rel and rel.is_billable(d.base) and _states_other_value(index, d):
        message = f"{coded} does not match the note, which documents {documented}: the code is {described}."
    else:
        message = f"{coded} is less specific than the note, which documents {documented}: the code is {described}."
    if ctx.outpatient:
        message += uncertain_remark(d.sentences)
    return Finding(check=check_id, action="correct", code=d.code, message=message,
                   evidence=cite_all(d.sentences), suggested_codes=codes, target=f"diagnosis:{position}")


def _states_other_value(index: AxisIndex, d: Decision) -> bool:
    """The proposed code states a side or acuity that the correction replaces."""
    own = key_words(index.release.description(d.base) or "")
    new = set().union(*(key_words(index.release.description(t) or "") for t in d.targets))
    return bool((own - new) & (SIDE_TERMS | ACUITY_TERMS))


def specificity_query(ctx: CheckContext, index: AxisIndex, position: int, d: Decision, check_id: str) -> Finding:
    """A query among the codes that fit what the note documents in part, or that its clinical
    indicators call for: the indicators are quoted, the answer is never suggested."""
    rel = index.release
    description = rel.description(d.base) or d.base
    condition = condition_name(description)
    where = " in the assessment" if any(s.section in ("assessment", "plan") for s in d.sentences) else ""
    if d.reason == "partial":
        said = _and([f'"{w}"' for w in d.documented])
        indicators = (f"{condition[0].upper()}{condition[1:]} is documented{where} as {said}, which does not "
                      "match one code of the classification.")
        message = (f"{d.code} ({description}) is unspecified, and the note documents {said} for the {condition} "
                   "without settling which more specific code applies.")
        asks = "best describes"
    else:
        asks_for = d.rule.asks if d.rule else "type"
        indicators = (f"{condition[0].upper()}{condition[1:]} is documented{where} without its {asks_for}; "
                      f"the record shows {_and(_quotes(d))}.")
        message = (f"{d.code} ({description}) leaves the {asks_for} of the {condition} unspecified, and the "
                   "record holds clinical indicators of a more specific form.")
        asks = "best describes"
    choices = [Choice(label=code_label(index, c), codes=[c])
               for c in (with_seventh(index, r.code, d.seventh) for r in d.options)]
    question = (f"{indicators} Based on your clinical judgment, which of the following {asks} the {condition} "
                "addressed at this visit?")
    return Finding(check=check_id, action="query", code=d.code, message=message, evidence=cite_all(d.sentences),
                   question=question, choices=query_choices(choices), target=f"diagnosis:{position}")


def _quotes(d: Decision) -> list[str]:
    out = []
    for s in d.sentences:
        if s.section in ("assessment",) and len(d.sentences) > 1 and s is d.sentences[0]:
            continue
        out.append(quote(s, 120))
    return out[:2] or ["the findings cited"]
