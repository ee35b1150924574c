"""Medically unlikely edits: units of service above what CMS allows per line or per date of service.

What it finds
    Service lines whose units exceed the MUE value for their code in the
    practitioner MUE table (``VMA_MUE_FILE``, else the bundled sample). The
    MUE adjudication indicator (MAI) decides how units are counted: MAI 1 is
    a line edit (each line on its own); MAI 2 (policy) and MAI 3 (clinical)
    are date-of-service edits (the units of every line with that code on the
    date are added up). Units at or under the value are clean.

Why it matters
    A line over a MAI 1 value is denied in full. Over a MAI 2 or 3 value, all
    the units of that code on that date are denied; a MAI 2 denial follows
    from regulation or CPT instruction and is not overturned on appeal, a MAI 3
    denial may be paid on appeal when the record shows the units were
    medically necessary (NCCI MUE FAQ; CARC 151).

Example
    20610 (large joint injection) billed with 3 units on one line, MUE 2 with
    MAI 1: the payer denies the line. Both knees: report 20610-RT and 20610-LT
    on two lines of one unit each (or 50 on one line); otherwise correct the
    units to what was done.

Resolution (correct)
    ``correct`` on the line (target ``procedure:<index>``): reduce the units
    to what the note documents, or, for a MAI 1 edit where more was truly
    done at separate sites or sessions, report the extra units on separate
    lines with the anatomic modifier or 76/91/XS that applies. The message
    names the MUE value and indicator.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from vma.checks import CheckContext, register
from vma.checks.support.claim_lines import line_name, target
from vma.findings import Finding
from vma.reference.mue import ADJUDICATION, MueEdit

MUE = "mue"


def _over_line(edit: MueEdit, index: int, name: str, units: int) -> Finding:
    return Finding(
        check=MUE, action="correct", severity="error", code=edit.code,
        message=(f"{name}: {units} units exceed the medically unlikely edit for {edit.code} ({edit.units} per line, "
                 f"MAI 1 {ADJUDICATION[1]}; rationale: {edit.rationale or 'not given'}). The payer denies the whole "
                 f"line. Reduce the units to what the note documents; if more were truly done at separate sites or "
                 f"sessions, report them on separate lines with the modifier that applies (RT/LT, 76, 91 or XS)."),
        evidence=f"{units} units billed, MUE {edit.units}", target=target(index))


def _over_day(edit: MueEdit, lines: list[tuple[int, str, int]]) -> Finding:
    total = sum(u for _, _, u in lines)
    names = ", ".join(name for _, name, _ in lines)
    if edit.indicator == 2:
        consequence = ("The payer denies every unit of this code on the date of service, and the limit is set by "
                       "policy, so an appeal will not succeed.")
    else:
        consequence = ("The payer denies every unit of this code on the date of service; it may pay on appeal only "
                       "with records showing the extra units were medically necessary.")
    return Finding(
        check=MUE, action="correct", severity="error", code=edit.code,
        message=(f"{names}: {total} units of {edit.code} on the date of service exceed the medically unlikely edit "
                 f"({edit.units} per day, MAI {edit.indicator} {ADJUDICATION[edit.indicator]}; rationale: "
                 f"{edit.rationale or 'not given'}). {consequence} Correct the units to what the note documents."),
        evidence=f"{total} units billed on the date, MUE {edit.units}", target=target(lines[0][0]))


@register(
    MUE,
    actions=("correct",),
    references=(
        "CMS NCCI Medically Unlikely Edits page and MUE FAQs (adjudication indicators)",
        "CMS Medicare NCCI Policy Manual ch. I section V",
        "CMS practitioner services MUE table, quarterly release layout",
        "X12 CARC 151",
    ),
)
def check(ctx: CheckContext) -> Iterator[Finding]:
    table = ctx.ref.mue
    per_day: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
    edits: dict[str, MueEdit] = {}
    for i, proc in enumerate(ctx.procedures):
        edit = table.get(proc.code)
        if edit is None:
            continue
        edits[proc.code] = edit
        if edit.per_line:
            if proc.units > edit.units:
                yield _over_line(edit, i, line_name(i, proc), proc.units)
        else:
            per_day[proc.code].append((i, line_name(i, proc), proc.units))
    for code, lines in per_day.items():
        if sum(u for _, _, u in lines) > edits[code].units:
            yield _over_day(edits[code], lines)
