"""Non-billable code: a category or subcategory header that has more specific codes beneath it.

What it finds
    A proposed diagnosis code that the release lists as a category or
    subcategory with codes beneath it (``IcdRelease.is_billable`` false and
    children present): M25.56 (Pain in knee) instead of M25.561 / M25.562 /
    M25.569, E11 instead of a code of E11.-. A header that only lacks its 7th
    character is left to ``seventh-character``; a header whose missing axis
    ``laterality``, ``acuity`` or ``specificity`` already reports (for example
    I50.2, whose children differ only by acuity) is left to that check, so one
    problem gives one finding.

Why it matters
    Only codes at the full number of characters are valid on a claim: a
    header is rejected like any invalid code, and it hides the detail
    (side, type, complication) that the more specific codes carry.

Example
    M25.56 (Pain in knee) with the assessment "Left knee pain": correct to
    M25.562. N18.3 (Chronic kidney disease, stage 3) with "Stage 3 chronic
    kidney disease" and no 3a/3b: correct to N18.30. I25.1 (Atherosclerotic heart disease of native coronary artery)
    with no statement about angina: query with I25.10, I25.11- and I25.8-
    level choices as the tabular gives them.

Resolution (correct or query)
    ``correct`` when the note names exactly one of the billable codes beneath
    the header: the words that code adds to the header ("left", "with
    hyperglycemia", "stage 4") stand in a sentence that documents the
    condition, not negated and (outpatient) not uncertain; when several match,
    the most specific is kept if it contains the others (vma.checks.support.refine; laboratory
    names count: "ALT 128" is a liver transaminase). When the note documents
    nothing the more specific codes need and the header has an "unspecified"
    code that re-checking would leave alone ("Stage 3 chronic kidney disease"
    on N18.3: N18.30), ``correct`` to it. ``query`` when the note hints at a
    more specific code without settling it (an uncertain "possibly stage 4",
    part of a code's words), or when no such default exists: the billable codes
    beneath the header (or, when there are many, the next level of the
    tabular, each labelled "(E11.2-)"), "Other" and "Clinically undetermined".
    "Other" codes are never chosen from wording; they are choices for the
    provider.
"""

from __future__ import annotations

from typing import Iterator

from vma.checks import CheckContext, register
from vma.checks.support.acuity_findings import acuity_findings
from vma.checks.support.axes.evidence import condition_mentions
from vma.checks.support.axes.index import AxisIndex, axis_index
from vma.checks.support.axes.wording import cite_all, code_label, condition_name
from vma.checks.support.axes.words import OPEN, SPECIFICITY, key_words
from vma.checks.support.axis_findings import correction, specificity_query
from vma.checks.support.headers import billable_bases
from vma.checks.support.laterality_findings import laterality_findings
from vma.checks.support.refine.decide import decide
from vma.checks.support.refine.documented import chart_codes, documentation
from vma.checks.support.seventh_findings import seventh_character_findings
from vma.checks.support.specificity_findings import specificity_findings
from vma.findings import Choice, Finding, query_choices

CHECK = "non-billable-code"
MAX_LISTED = 12  # more billable codes than this beneath a header: offer the next tabular level instead


def is_header(ctx: CheckContext, code: str) -> bool:
    index = axis_index(ctx.icd)
    rel = ctx.icd
    return code in rel and not rel.is_billable(code) and bool(rel.children(code)) and not index.needs_seventh(code)


def _reported_by_axis_checks(ctx: CheckContext) -> set[str]:
    """Targets ("diagnosis:2") that the axis checks already report."""
    targets: set[str] = set()
    for findings in (seventh_character_findings, laterality_findings, acuity_findings, specificity_findings):
        targets |= {f.target for f in findings(ctx) if f.target}
    return targets


def _choices(index: AxisIndex, header: str, candidates: list[str], hits: list[str]) -> list[Choice]:
    if len(hits) > 1:
        listed = hits
    elif len(candidates) <= MAX_LISTED:
        listed = candidates
    else:
        out = []
        for child in index.release.children(header):
            if index.is_base(child):
                out.append(Choice(label=code_label(index, child), codes=[child]))
            elif any(True for _ in billable_bases(index, child)):
                out.append(Choice(label=f"{index.release.description(child)} ({child}-)", codes=[child]))
        return out
    return [Choice(label=code_label(index, c), codes=[c]) for c in listed]


def unspecified_child(ctx: CheckContext, index: AxisIndex, header: str, codes: tuple[str, ...]) -> str | None:
    """The header's "unspecified" code ("stage 3 unspecified" under N18.3) when re-checking it would
    find nothing more to ask or correct (its own open axis is not a side or acuity to query)."""
    own = key_words(ctx.icd.description(header) or "")
    found = [c for c in billable_bases(index, header)
             if OPEN in index.words(c) and key_words(ctx.icd.description(c) or "") - {OPEN} <= own]
    if len(found) != 1 or documentation(ctx.note, index, header, ctx.outpatient).hinted - {found[0]}:
        return None  # none, or the note hints at a more specific code without settling it: ask
    return found[0] if decide(ctx.note, index, found[0], ctx.outpatient, codes) is None else None


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    index = axis_index(ctx.icd)
    codes = chart_codes(dx.code for dx in ctx.chart.diagnoses)
    for position, dx in enumerate(ctx.chart.diagnoses):
        code = dx.code
        if not is_header(ctx, code):
            continue
        decision = decide(ctx.note, index, code, ctx.outpatient, codes)
        if decision is not None:
            if decision.check != SPECIFICITY:
                continue  # laterality or acuity reports the header's open axis
            if decision.action == "correct":
                yield correction(ctx, index, position, decision, CHECK)
            else:
                yield specificity_query(ctx, index, position, decision, CHECK)
            continue
        target = f"diagnosis:{position}"
        description = ctx.icd.description(code)
        default = unspecified_child(ctx, index, code, codes)
        mentions = [m for m in condition_mentions(ctx.note, index, code, ctx.outpatient) if m.counts]
        if default is not None:
            yield Finding(check=CHECK, action="correct", code=code,
                          message=(f"{code} ({description}) is a header, not a billable code, and the note documents "
                                   f"nothing that its more specific codes need: the code is {default} "
                                   f"({ctx.icd.description(default)})."),
                          evidence=cite_all([m.sentence for m in mentions]), suggested_codes=[default], target=target)
            continue
        candidates = billable_bases(index, code)
        condition = condition_name(description or code)
        if mentions:
            where = " in the assessment" if any(m.in_assessment for m in mentions) else ""
            indicators = f"{condition[0].upper()}{condition[1:]} is documented{where} without further detail."
        else:
            indicators = f"The note does not describe the {condition} further."
        yield Finding(check=CHECK, action="query", code=code,
                      message=(f"{code} ({description}) is a category header with {len(candidates)} more specific "
                               "codes beneath it, and the note does not settle which one applies."),
                      evidence=cite_all([m.sentence for m in mentions]),
                      question=(f"{indicators} Based on your clinical judgment, which of the following best "
                                f"describes the {condition} addressed at this visit?"),
                      choices=query_choices(_choices(index, code, candidates, [])), target=target)


@register(
    "non-billable-code",
    actions=("correct", "query"),
    references=(
        "ICD-10-CM Official Guidelines for Coding and Reporting FY2026, I.A.3 (only codes, never categories or "
        'subcategories, are reported) and I.B.2 ("codes ... are to be used only if they are the highest level '
        "of specificity ... a code is invalid if it has not been coded to the full number of characters "
        'required for that code"), I.B.2 and I.B.18 (code to the highest specificity documented), IV.H '
        "(uncertain diagnoses, outpatient)",
        "AHIMA/ACDIS Guidelines for Achieving a Compliant Query Practice (2022 update)",
    ),
)
def check(ctx: CheckContext) -> list[Finding]:
    return list(_findings(ctx))
