"""Shared pieces of the axis checks (laterality, acuity, specificity, non-billable-code).

Not a check itself (no ``register``): each proposed code gets one decision from
:func:`vma.checks.support.refine.decide.decide` (which check reports it, and whether it is a correction or a
query); this module turns a decision into the finding's words, so that a code fixed on
several axes at once reads the same whichever check reports it.
"""

from __future__ import annotations

import re

from vma.checks import CheckContext
from vma.checks.support.axes.index import AxisIndex, axis_index
from vma.checks.support.axes.wording import cite_all, code_label, condition_name, uncertain_remark, with_seventh
from vma.checks.support.axes.words import ACUITY_TERMS, SIDE_TERMS, key_words
from vma.checks.support.kept_codes import removed_positions
from vma.checks.support.notes.document import quote
from vma.checks.support.refine.decide import Decision, decide
from vma.checks.support.refine.documented import chart_codes
from vma.compiled_patterns import compile_pattern
from vma.findings import Choice, Finding, query_choices


def decisions(ctx: CheckContext, check_id: str):
    """(position, decision) for each known diagnosis whose decision belongs to ``check_id``."""
    index = axis_index(ctx.icd)
    codes = chart_codes(dx.code for dx in ctx.chart.diagnoses)
    removed: set[int] | None = None
    for position, dx, _entry in ctx.known_diagnoses():
        decision = decide(ctx.note, index, dx.code, ctx.outpatient, codes)
        if decision is not None and decision.check == check_id:
            removed = removed_positions(ctx) if removed is None else removed
            if position in removed:
                continue  # a code the record does not keep (excludes1, sex-age) is not refined
            yield position, decision


def plural(word: str) -> str:
    if word == "foot":
        return "feet"
    if word.endswith(("s", "x", "sh", "ch")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def both_sides_label(description: str, site_head: str) -> str:
    """ "Primary osteoarthritis, right elbow" -> "Primary osteoarthritis, right and left elbows"."""
    rx = compile_pattern(rf"\bright\b((?:\s+[\w'-]+){{0,3}}?\s+){re.escape(site_head)}\b", re.I)
    m = rx.search(description)
    if not m:
        return re.sub(r"\bright\b", "right and left", description, count=1)
    return description[:m.start()] + f"right and left{m.group(1)}{plural(site_head)}" + description[m.end():]


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
    if d.reason == "superseded":
        kept = _and([f"{c} ({rel.description(c) or c})" for c in d.documented])
        message = (f"{coded} is coded beside {kept}, the code the note documents for the same condition; "
                   f"{d.code} says nothing more of it and is removed (Guidelines I.B.2, I.A.9.b).")
        return Finding(check=check_id, action="correct", code=d.code, message=message,
                       evidence=cite_all(d.sentences), suggested_codes=[], target=f"diagnosis:{position}")
    if len(codes) > 1:
        message = (f"{coded} names one side; the note documents {documented}, and the tabular has no bilateral "
                   f"code, so both are coded: {described} (Guideline I.B.13).")
    elif not (rel.is_billable(d.base) or index.needs_seventh(d.base)):
        message = (f"{coded} is a category header, not a billable code, and the note documents "
                   f"{_lower(rel.description(codes[0]) or documented)}: the code is {described}.")
    elif d.reason == "redirected-excludes1":
        message = (f"{coded} does not fit the note, which documents \"{documented}\": the tabular excludes that "
                   f"form from {d.base} and codes it elsewhere (Excludes1, Guideline I.A.12.a), so the code is "
                   f"{described}.")
    elif d.reason == "redirected-title":
        message = (f"{coded} is less specific than the note, which documents \"{documented}\", a condition the "
                   f"tabular codes on its own: the code is {described} (Guideline I.B.2).")
    elif _states_other_value(index, d):
        message = f"{coded} does not match the note, which documents {documented}: the code is {described}."
    else:
        message = f"{coded} is less specific than the note, which documents {documented}: the code is {described}."
    if ctx.outpatient:
        message += uncertain_remark(d.sentences)
    return Finding(check=check_id, action="correct", code=d.code, message=message,
                   evidence=cite_all(d.sentences), suggested_codes=codes, target=f"diagnosis:{position}")


def _lower(text: str) -> str:
    return text[0].lower() + text[1:] if text and not text[:2].isupper() else text


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
    if d.reason == "side-of-target":
        indicators = (f"{condition[0].upper()}{condition[1:]} is documented{where} as {_and(d.documented)} "
                      "without a side.")
        message = (f"{d.code} ({description}) is unspecified, and the note documents {_and(d.documented)} but not "
                   "which side.")
        asks = "best describes"
    elif d.reason == "acuity-of-target":
        kind = _and([f'"{w}"' for w in d.documented[:1]]) if d.documented else "its type"
        flare = [w for w in d.documented[1:]]
        if flare:
            indicators = (f"{condition[0].upper()}{condition[1:]} is documented{where} as {kind} with "
                          f"{_and([chr(34) + w + chr(34) for w in flare])}, without stating whether it is a new "
                          "(acute) condition or an acute exacerbation of a chronic one.")
        else:
            indicators = (f"{condition[0].upper()}{condition[1:]} is documented{where} as {kind}, without stating "
                          "whether it is acute, chronic or an acute exacerbation of a chronic condition.")
        message = f"{d.code} ({description}) is unspecified; the note documents {kind} but not its acuity."
        asks = "best describes"
    elif d.reason == "partial" and all(r.acuity and not r.terms for r in d.options):
        said = _and([f'"{w}"' for w in d.documented])
        indicators = (f"{condition[0].upper()}{condition[1:]} is documented{where} as {said}, without stating "
                      "whether it is acute or an acute exacerbation of a chronic condition.")
        message = (f"{d.code} ({description}) leaves the acuity open, and the note documents {said} without "
                   "stating whether the condition is acute or acute on chronic.")
        asks = "best describes"
    elif d.reason == "partial":
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
    right = next((r for r in d.options if r.side == frozenset({"right"})), None)
    left = next((r for r in d.options if r.side == frozenset({"left"})), None)
    if d.reason == "side-of-target" and right and left and not any(r.side == frozenset({"right", "left"})
                                                                    for r in d.options):
        r_code, l_code = with_seventh(index, right.code, d.seventh), with_seventh(index, left.code, d.seventh)
        both = both_sides_label(rel.description(r_code) or "", right.site[-1] if right.site else "side")
        choices.append(Choice(label=f"{both} ({r_code} and {l_code})", codes=[r_code, l_code]))
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
