"""Place of service: the POS code does not fit the encounter's setting, its modifiers, or the codes billed.

What it finds
    A place-of-service code that is not in the CMS POS code set; a POS that
    contradicts the encounter setting (telehealth is POS 02 or 10, office 11,
    outpatient hospital 22 on campus or 19 off campus, emergency 23, inpatient
    21); a line with a telehealth modifier (95, 93, GT) whose place of service
    is an in-person one while the setting says telehealth; and codes billed at
    a place they do not belong: hospital inpatient or observation care
    (99221-99239) or a facility-only procedure (non-facility practice expense
    NA in the PFS) at a non-facility place such as the office; emergency
    department visits (99281-99285) outside POS 23; office visit codes on an
    inpatient or emergency department claim. Rules are data:
    vma/reference/data/pos_rules.json, with their sources.

Why it matters
    The POS decides the fee schedule rate (facility or non-facility) and
    whether a service is payable at all: a mismatch is rejected by the
    clearinghouse or denied (CARC 5, "procedure code/type of bill inconsistent
    with the place of service"), and a non-facility POS on a facility service
    is an overpayment found in audits. Telehealth claims need POS 02 or 10 for
    the telehealth payment rules to apply.

Example
    A video visit from the patient's home (setting telehealth) billed with POS
    11: correct to POS 10. 99232 (hospital follow-up) billed with POS 11: the
    code or the place is wrong; the payer denies the line.

Resolution (correct or query)
    ``correct`` (target ``chart`` for the POS, ``procedure:<index>`` for a
    code) with ``suggested_codes`` holding the POS when the setting gives one.
    ``query`` for a telehealth visit whose note does not say where the
    patient was (home, POS 10, or elsewhere, POS 02): only the provider knows.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator

from vma.checks import CheckContext, register
from vma.checks.support.claim_lines import TELEHEALTH, line_name, target
from vma.checks.support.notes.document import quote
from vma.compiled_patterns import compile_pattern
from vma.findings import Choice, Finding, query_choices
from vma.reference.pos import PLACES_OF_SERVICE, TELEHEALTH_POS, CodeRule, pos_label, pos_rules

PLACE_OF_SERVICE = "place-of-service"

_AT_HOME = compile_pattern(r"\b(?:patient|pt|she|he|they)\b[^.]{0,40}\b(?:at|from|in)\s+(?:(?:his|her|their|the\s+patient's)\s+)?home\b"
                      r"|\bpatient location\s*:?\s*home\b|\bfrom (?:his|her|their) home\b", re.I)
_AWAY = compile_pattern(r"\b(?:patient|pt|she|he|they)\b[^.]{0,40}\b(?:at|from|in)\s+(?:the\s+|a\s+|her\s+|his\s+|their\s+)?"
                   r"(?:clinic|school|work|workplace|office|nursing (?:home|facility)|facility|car|hotel)\b"
                   r"|\bpatient location\s*:?\s*(?!home)\w+", re.I)


@lru_cache(maxsize=4096)  # by procedure code: the rules are reference data, read once per process
def _code_rules(code: str) -> tuple[CodeRule, ...]:
    """The place-of-service rules for a procedure code, in the order the rules file lists them."""
    return tuple(pos_rules().for_code(code))


def telehealth_location(ctx: CheckContext) -> tuple[str | None, str]:
    """POS 10 when the note places the patient at home, 02 when elsewhere, None when it does not say."""
    for s in ctx.note.sentences:
        if _AT_HOME.search(s.text):
            return "10", s.text
    for s in ctx.note.sentences:
        if _AWAY.search(s.text):
            return "02", s.text
    return None, ""


def _setting_mismatch(ctx: CheckContext, pos: str) -> Finding | None:
    setting = ctx.chart.encounter.setting
    rules = pos_rules()
    if not setting or setting not in rules.settings:
        return None
    rule = rules.settings[setting]
    if pos in rule.accepted:
        return None
    tele_mods = sorted({m for p in ctx.procedures for m in p.modifiers if m in TELEHEALTH})
    mods = f" and the lines carry telehealth modifier {', '.join(tele_mods)}" if tele_mods else ""
    head = (f"The encounter setting is {setting}{mods} but the claim's place of service is {pos_label(pos)}. "
            "The payer prices and edits the claim by the POS, so a wrong POS means a rejection, a denial "
            "(CARC 5) or payment at the wrong rate.")
    if setting == "telehealth":
        where, said = telehealth_location(ctx)
        if where is None:
            choices = [Choice(label="Patient at home: POS 10 (telehealth in patient's home)", kind="value", value="10"),
                       Choice(label="Patient elsewhere: POS 02 (telehealth not in patient's home)", kind="value", value="02")]
            return Finding(
                check=PLACE_OF_SERVICE, action="query", severity="error", code=pos,
                message=head + " The note does not say where the patient was during the visit, which decides "
                               "between POS 10 and POS 02; the provider's answer fixes it.",
                question="Where was the patient during this telehealth visit?",
                choices=query_choices(choices), target="chart")
        return Finding(
            check=PLACE_OF_SERVICE, action="correct", severity="error", code=pos,
            message=head + f" The note places the patient {'at home' if where == '10' else 'away from home'}: "
                           f"correct the place of service to {pos_label(where)}.",
            evidence=quote(said), suggested_codes=[where], target="chart")
    usual = list(rule.usual)
    fix = (f"correct the place of service to {pos_label(usual[0])}" if len(usual) == 1 else
           "correct the place of service to " + " or ".join(pos_label(u) for u in usual) +
           " (whichever the department is registered as)")
    if pos in TELEHEALTH_POS:
        fix += "; if the visit was in fact by telehealth, correct the encounter setting instead"
    return Finding(check=PLACE_OF_SERVICE, action="correct", severity="error", code=pos,
                   message=f"{head} Fix: {fix}.", suggested_codes=usual[:1] if len(usual) == 1 else [],
                   target="chart")


@register(
    PLACE_OF_SERVICE,
    actions=("correct", "query"),
    references=(
        "CMS Place of Service Code Set",
        "Medicare Claims Processing Manual Pub. 100-04 ch. 12 sections 20.4.2 and 190.6, ch. 26 section 10.5",
        "CMS CY2024 and CY2025 PFS final rules (telehealth POS 02/10)",
        "CPT E/M guidelines (2023)",
        "X12 CARC 5",
    ),
)
def check(ctx: CheckContext) -> Iterator[Finding]:
    pos = (ctx.chart.encounter.place_of_service or "").strip()
    if not pos:
        return  # a missing POS is missing-element's finding
    if pos not in PLACES_OF_SERVICE:
        setting = ctx.chart.encounter.setting
        usual = list(pos_rules().settings[setting].usual) if setting in pos_rules().settings else []
        yield Finding(
            check=PLACE_OF_SERVICE, action="correct", severity="error", code=pos,
            message=(f"Place of service {pos!r} is not a code in the CMS place-of-service code set. The "
                     "clearinghouse rejects the claim; enter the two-digit POS where the service was given"
                     + (f" (for a {setting} encounter, {' or '.join(pos_label(u) for u in usual)})." if usual else ".")),
            suggested_codes=usual[:1] if len(usual) == 1 else [], target="chart")
        return
    mismatch = _setting_mismatch(ctx, pos)
    if mismatch is not None:
        yield mismatch
    for i, proc in enumerate(ctx.procedures):
        for rule in _code_rules(proc.code):
            if rule.permits(pos):
                continue
            yield Finding(
                check=PLACE_OF_SERVICE, action="correct", severity="error", code=proc.code,
                message=(f"{line_name(i, proc)} is {rule.label}, billed at {pos_label(pos)}: {rule.why}. The payer "
                         f"denies the line as inconsistent with the place of service (CARC 5). Either the place of "
                         f"service is wrong (correct it to where the service was given) or the code is (bill the "
                         f"code family that fits where the patient was seen)."),
                target=target(i))
            break
