"""Modifier: a modifier is missing, invalid, or does not fit the code, the note or the place of service.

What it finds
    On each service line:
    - a modifier that is neither a CPT modifier nor a HCPCS Level II modifier
      in force on the date of service (the CMS HCPCS file, ``VMA_HCPCS_FILE``);
    - sides: RT and LT on one line, 50 with RT or LT, a side modifier that
      contradicts the side in the procedure note or the laterality of the
      diagnosis the line points at, and a code that is performed on one side
      (the project's table marks them) billed without a side;
    - 25 on an E/M billed on the same day as a minor procedure (or a
      problem visit billed with a preventive visit) when it is missing, and
      25 on a line that is not an E/M;
    - 59 on an E/M line, 59 together with XE/XS/XP/XU, and 59/X modifiers on a
      line that no NCCI edit in force pairs with another code on the claim
      (indicator-1 pairs missing their modifier and indicator-0 pairs are
      reported by ``ncci-ptp``);
    - telehealth: an E/M on a telehealth claim (setting telehealth, POS 02 or
      10) without 95 (audio and video) or 93 (audio only), the one that
      contradicts the note, GT (retired for professional claims), and 95/93 on
      an in-person claim;
    - 26 and TC on one line, or on a code without professional/technical
      components;
    - CQ/CO on a line that is not a therapy service, on an evaluation, without
      the matching therapy plan modifier (GP with CQ, GO with CO), or both.

Why it matters
    Payers reject lines with invalid modifiers and deny lines whose modifiers
    contradict the code (CARC 4, "procedure code inconsistent with the
    modifier used"). Missing 25 on a same-day E/M bundles the visit into the
    procedure and loses it; a wrong side pays the wrong site and becomes a
    duplicate when the other side is billed; 59 where it is not needed is the
    most audited modifier (OIG); telehealth modifiers and CQ/CO change the
    payment amount.

Example
    20610-RT while the procedure note documents a left knee injection and the
    diagnosis is M17.12 (left knee osteoarthritis): correct to 20610-LT.
    20610 billed without a side and the note never says which knee: ask the
    provider (right, left, or both).

Resolution (correct or query)
    ``correct`` (target ``procedure:<index>``) when the record settles the
    modifier; ``suggested_codes`` give the line as ``<code>-<modifier>``.
    ``query`` when only the provider can settle it: the side is not in the
    note, the note and the diagnosis name different sides, or a telehealth
    visit does not say whether video was used. ``info`` for a 59 that no edit
    needs and a 25 on a lone E/M.
"""

from __future__ import annotations

import re
from typing import Iterator

from vma.chart import Procedure
from vma.checks import CheckContext, register
from vma.checks.support.claim_lines import (
    DISTINCT_SERVICE,
    EM_SAME_DAY,
    SIDE_MODIFIERS,
    SIDE_OF_MODIFIER,
    description_side,
    documented_side,
    line_name,
    target,
)
from vma.checks.support.notes.document import quote
from vma.compiled_patterns import compile_pattern
from vma.findings import Choice, Finding, query_choices
from vma.reference.cpt import is_em
from vma.reference.pos import TELEHEALTH_POS

MODIFIER = "modifier"
_SHAPE = compile_pattern(r"^[0-9A-Z]{2}$")
_AUDIO_ONLY = compile_pattern(r"\b(?:audio[- ]only|telephone (?:visit|call|encounter)|by (?:tele)?phone|phone (?:visit|call)|"
                         r"no video|video (?:was )?(?:not available|unavailable|failed))\b", re.I)
_VIDEO = compile_pattern(r"\b(?:video|audio[- ]?visual|audio and video|audio-video|zoom|facetime|doxy)\b", re.I)
_PREVENTIVE = ("99381", "99397")
_PROBLEM_VISIT = ("99202", "99215")
_TELE_VISIT_CODES = ("98000", "98015")  # telemedicine codes carry the mode in the code itself
_THERAPY_EVAL = ("97161", "97168")


def _in(code: str, bounds: tuple[str, str]) -> bool:
    return len(code) == len(bounds[0]) and bounds[0] <= code <= bounds[1]


def _finding(i: int, proc: Procedure, message: str, action: str = "correct", suggested: list[str] | None = None,
             evidence: str = "", severity: str = "error", **query) -> Finding:
    return Finding(check=MODIFIER, action=action, severity=severity if action != "info" else "info", code=proc.code,
                   message=f"{line_name(i, proc)}: {message}", evidence=evidence,
                   suggested_codes=suggested or [], target=target(i), **query)


def _with(proc: Procedure, add: list[str] = (), drop: set[str] = frozenset()) -> str:
    mods = [m for m in proc.modifiers if m not in drop]
    mods += [m for m in add if m not in mods]
    return "-".join([proc.code, *mods])


def _unknown(ctx: CheckContext, i: int, proc: Procedure) -> Iterator[Finding]:
    for mod in proc.modifiers:
        if not _SHAPE.match(mod):
            yield _finding(i, proc, f"{mod!r} is not a modifier (modifiers are two letters or digits). The payer "
                                    "rejects the line; remove it or enter the modifier intended.",
                           suggested=[_with(proc, drop={mod})])
            continue
        if ctx.ref.cpt.modifier_label(mod):
            continue
        level2 = ctx.ref.hcpcs.modifier(mod)
        if level2 is None:
            yield _finding(i, proc, f"modifier {mod} is neither a CPT modifier nor a HCPCS Level II modifier in the "
                                    f"loaded CMS file. The payer rejects the line (invalid modifier); remove it or "
                                    "replace it with the modifier intended.", suggested=[_with(proc, drop={mod})])
        elif ctx.dos is not None and not level2.in_force(ctx.dos):
            when = (f"was retired after {level2.terminated.isoformat()}" if level2.terminated and ctx.dos > level2.terminated
                    else f"takes effect on {level2.added.isoformat() if level2.added else 'a later date'}")
            yield _finding(i, proc, f"modifier {mod} ({level2.short}) {when}, so it is not valid on the date of "
                                    f"service {ctx.dos.isoformat()}. The payer rejects the line; use the modifier "
                                    "in force on that date.", suggested=[_with(proc, drop={mod})])


def _sides(ctx: CheckContext, i: int, proc: Procedure, sided: bool) -> Iterator[Finding]:
    mods = set(proc.modifiers)
    if {"RT", "LT"} <= mods:
        yield _finding(i, proc, "RT and LT on one line. The payer denies or pays one side only; report a bilateral "
                                "procedure with modifier 50 on one line (or RT and LT on two lines, as the payer "
                                "requires).", suggested=[_with(proc, ["50"], {"RT", "LT"})])
        return
    if "50" in mods and mods & {"RT", "LT"}:
        yield _finding(i, proc, "modifier 50 (bilateral) together with a side modifier. The payer denies the "
                                "contradiction; keep 50 for a bilateral procedure or the one side that was done.",
                       suggested=[_with(proc, drop={"RT", "LT"})])
        return
    billed = next((SIDE_OF_MODIFIER[m] for m in proc.modifiers if m in SIDE_OF_MODIFIER), None)
    if billed is None and not sided:
        return
    note_side, said = documented_side(ctx.note)
    dx_sides = set()
    for p in proc.diagnosis_pointers:
        if 1 <= p <= len(ctx.chart.diagnoses):
            entry = ctx.icd.get(ctx.chart.diagnoses[p - 1].code)
            side = description_side(entry.description) if entry is not None else None
            if side:
                dx_sides.add(side)
    dx_side = next(iter(dx_sides)) if len(dx_sides) == 1 else None
    if billed is not None:
        if note_side and note_side != billed:
            if dx_side == billed:
                yield _side_query(i, proc, f"modifier {SIDE_MODIFIERS[billed]} and the diagnosis say {billed}, "
                                           f"but the procedure note says {note_side}.", said)
            else:
                mod = SIDE_MODIFIERS[note_side]
                yield _finding(i, proc, f"modifier {SIDE_MODIFIERS[billed]} says {billed} but the note documents "
                                        f"the procedure on the {note_side} side. The payer pays the wrong site and "
                                        f"denies the correct one later as a duplicate; correct the modifier to {mod}.",
                               suggested=[_with(proc, [mod], {"RT", "LT", "50"})], evidence=quote(said))
        elif note_side is None and dx_side and dx_side != billed:
            yield _side_query(i, proc, f"modifier {SIDE_MODIFIERS[billed]} says {billed}, the diagnosis it points "
                                       f"at says {dx_side}, and the note does not name the side.", "")
        return
    # A one-sided code with no side on the line.
    known = {s for s in (note_side, dx_side) if s}
    if len(known) == 1:
        side = known.pop()
        mod = SIDE_MODIFIERS[side]
        source = "the note" if note_side else "the diagnosis"
        yield _finding(i, proc, f"{proc.code} is reported per side and the line has no side modifier; {source} "
                                f"says {side}. Payers deny such lines without RT, LT or 50; append {mod}.",
                       suggested=[_with(proc, [mod])], evidence=quote(said) if note_side else "")
    elif len(known) == 2:
        yield _side_query(i, proc, f"the line has no side modifier; the note says {note_side} but the diagnosis "
                                   f"says {dx_side}.", said)
    else:
        yield _side_query(i, proc, "the line has no side modifier and neither the note nor the diagnosis names "
                                   "the side.", "")


def _side_query(i: int, proc: Procedure, why: str, said: str) -> Finding:
    choices = [Choice(label=f"Right side ({proc.code}-RT)", kind="value", value="RT"),
               Choice(label=f"Left side ({proc.code}-LT)", kind="value", value="LT"),
               Choice(label=f"Both sides ({proc.code}-50)", kind="value", value="50")]
    return _finding(i, proc, f"{why} The payer denies a per-side procedure without a side it can trust; the "
                             f"provider's answer settles the modifier.", action="query", evidence=quote(said) if said else "",
                    question=f"On which side was {proc.code} performed?", choices=query_choices(choices))


def _same_day_em(ctx: CheckContext, i: int, proc: Procedure, procs: list[Procedure]) -> Iterator[Finding]:
    mods = set(proc.modifiers)
    if not is_em(proc.code):
        if "25" in mods:
            yield _finding(i, proc, "modifier 25 is for an E/M service only. The payer denies the line "
                                    "(modifier inconsistent with the procedure); remove 25.",
                           suggested=[_with(proc, drop={"25"})])
        if "59" in mods and mods & (DISTINCT_SERVICE - {"59"}):
            both = sorted(mods & (DISTINCT_SERVICE - {"59"}))
            yield _finding(i, proc, f"59 together with {', '.join(both)}: the X modifiers replace 59, and payers "
                                    f"reject lines with both; keep {both[0]} and remove 59.",
                           suggested=[_with(proc, drop={"59"})])
        return
    if "59" in mods or mods & DISTINCT_SERVICE:
        bad = sorted(mods & DISTINCT_SERVICE)
        yield _finding(i, proc, f"modifier {', '.join(bad)} is never used on an E/M service (NCCI). The payer "
                                "denies the line; a significant, separately identifiable E/M on the day of a "
                                "procedure takes 25 instead.", suggested=[_with(proc, ["25"], set(bad))])
        return  # the 25 is already suggested; one finding per line is enough
    others = [p for j, p in enumerate(procs) if j != i]
    procedures = [p for p in others if ctx.ref.cpt.kind(p.code) in ("minor", "major", "surgery")]
    preventive = [p for p in others if _in(p.code, _PREVENTIVE)]
    if mods & EM_SAME_DAY:
        if "25" in mods and not [p for p in others if not is_em(p.code) or _in(p.code, _PREVENTIVE)]:
            yield _finding(i, proc, "modifier 25 on an E/M billed with no procedure or other service the same "
                                    "day. It is not needed and some payers reject it; remove 25.",
                           action="info", suggested=[_with(proc, drop={"25"})])
        return
    if procedures and not _bundled_by_ptp(ctx, proc, procedures):
        names = ", ".join(p.code for p in procedures)
        yield _finding(i, proc, f"E/M billed the same day as {names} without modifier 25. The payer treats the "
                                "visit as part of the procedure's global payment and denies it. If the note documents "
                                "a significant, separately identifiable E/M beyond the procedure's usual pre- and "
                                "post-service work, append 25 (57 if this visit decided on major surgery); otherwise "
                                "remove the E/M line.", suggested=[_with(proc, ["25"])])
    elif preventive and _in(proc.code, _PROBLEM_VISIT):
        yield _finding(i, proc, f"problem-oriented visit billed with preventive visit {preventive[0].code} without "
                                "modifier 25. The payer pays only the preventive visit; append 25 to the problem "
                                "visit when the note documents the separate problem work.",
                       suggested=[_with(proc, ["25"])])


def _bundled_by_ptp(ctx: CheckContext, em: Procedure, procedures: list[Procedure]) -> bool:
    """True when an NCCI edit already pairs the E/M with a procedure: ncci-ptp reports it, with the 25."""
    codes = [em.code, *(p.code for p in procedures)]
    return any(em.code in (e.column1, e.column2) for e in ctx.ref.ncci.edits_among(codes, ctx.dos))


def _distinct_without_edit(ctx: CheckContext, i: int, proc: Procedure, procs: list[Procedure]) -> Iterator[Finding]:
    used = sorted(set(proc.modifiers) & DISTINCT_SERVICE)
    if not used or is_em(proc.code):
        return
    codes = {p.code for p in procs}
    if len(codes) > 1 and any(proc.code in (e.column1, e.column2)
                              for e in ctx.ref.ncci.edits_among(codes, ctx.dos)):
        return
    yield _finding(i, proc, f"modifier {', '.join(used)} but no NCCI edit in force pairs {proc.code} with another "
                            f"code on this claim ({ctx.ref.ncci.sources[0].name if len(ctx.ref.ncci.sources) == 1 else 'loaded PTP files'}). "
                            "The modifier is not needed, and an unneeded 59/X modifier is a common audit "
                            "finding; remove it unless the payer's own edits require it.",
                   action="info", suggested=[_with(proc, drop=set(used))])


def _telehealth(ctx: CheckContext, i: int, proc: Procedure) -> Iterator[Finding]:
    enc = ctx.chart.encounter
    pos = (enc.place_of_service or "").strip()
    tele_setting, tele_pos = enc.setting == "telehealth", pos in TELEHEALTH_POS
    mods = set(proc.modifiers)
    tele_mods = mods & {"95", "93", "GT"}
    if not tele_setting and not tele_pos:
        if tele_mods and enc.setting is not None and pos:
            yield _finding(i, proc, f"telehealth modifier {', '.join(sorted(tele_mods))} on an in-person "
                                    f"{enc.setting} encounter at POS {pos}. The payer applies telehealth rules to "
                                    "an in-person service (or denies it); remove the modifier, or correct the "
                                    "setting and POS if the visit was by telehealth.",
                           suggested=[_with(proc, drop=tele_mods)])
        return
    if tele_setting != tele_pos:
        return  # setting and POS disagree: place-of-service reports that first
    if not is_em(proc.code) or _in(proc.code, _TELE_VISIT_CODES):
        return
    audio = [s for s in ctx.note.sentences if _AUDIO_ONLY.search(s.text)]
    video = [s for s in ctx.note.sentences if _VIDEO.search(s.text) and not _AUDIO_ONLY.search(s.text)]
    mode = "93" if audio else ("95" if video else None)
    said = (audio or video or [None])[0]
    if "GT" in mods:
        new = mode or "95"
        yield _finding(i, proc, f"GT is retired for professional telehealth claims; the payer rejects it. Use {new} "
                                f"({'audio only' if new == '93' else 'audio and video'}).",
                       suggested=[_with(proc, [new], {"GT"})], evidence=quote(said) if said else "")
        return
    if {"95", "93"} <= mods:
        keep = mode or "95"
        yield _finding(i, proc, "95 (audio and video) and 93 (audio only) on one line contradict each other; the "
                                f"payer denies the line. Keep {keep}{' as the note documents' if mode else ''}.",
                       suggested=[_with(proc, drop={"93", "95"} - {keep})], evidence=quote(said) if said else "")
        return
    if mode and tele_mods and mode not in tele_mods:
        wrong = next(iter(tele_mods))
        yield _finding(i, proc, f"modifier {wrong} says {'audio only' if wrong == '93' else 'audio and video'} but "
                                f"the note documents {'an audio-only' if mode == '93' else 'a video'} visit. Audio-only "
                                f"and video visits are paid under different rules; correct the modifier to {mode}.",
                       suggested=[_with(proc, [mode], {wrong})], evidence=quote(said))
        return
    if tele_mods:
        return
    if mode:
        yield _finding(i, proc, f"telehealth E/M without a telehealth modifier. The payer pays it as an in-person "
                                f"visit or denies it; append {mode} ({'audio only' if mode == '93' else 'audio and video'}"
                                ", as the note documents).", suggested=[_with(proc, [mode])], evidence=quote(said))
    else:
        choices = [Choice(label=f"Audio and video ({proc.code}-95)", kind="value", value="95"),
                   Choice(label=f"Audio only ({proc.code}-93)", kind="value", value="93")]
        yield _finding(i, proc, "telehealth E/M without a telehealth modifier, and the note does not say whether "
                                "video was used. The payer needs 95 (audio and video) or 93 (audio only); the "
                                "provider's answer settles which.", action="query",
                       question="Was this telehealth visit conducted with both audio and video, or audio only?",
                       choices=query_choices(choices))


def _components(ctx: CheckContext, i: int, proc: Procedure) -> Iterator[Finding]:
    mods = set(proc.modifiers)
    if {"26", "TC"} <= mods:
        yield _finding(i, proc, "26 (professional component) and TC (technical component) on one line. The payer "
                                "denies it; bill the global service with neither modifier, or each component on "
                                "its own line when different parties furnished them.",
                       suggested=[_with(proc, drop={"26", "TC"})])
        return
    traits = ctx.ref.cpt.traits(proc.code)
    used = mods & {"26", "TC"}
    if used and traits is not None and not traits.pctc:
        mod = used.pop()
        yield _finding(i, proc, f"modifier {mod} on a code without professional and technical components. The "
                                f"payer denies the line (modifier inconsistent with the procedure); remove {mod}"
                                + ("; the interpretation alone and the tracing alone have their own codes (93010, 93005)."
                                   if proc.code == "93000" else "."),
                       suggested=[_with(proc, drop={mod})])


def _assistants(ctx: CheckContext, i: int, proc: Procedure) -> Iterator[Finding]:
    mods = set(proc.modifiers)
    used = mods & {"CQ", "CO"}
    if not used:
        return
    if ctx.ref.cpt.kind(proc.code) != "therapy":
        yield _finding(i, proc, f"{', '.join(sorted(used))} marks a therapy service furnished by a therapy "
                                "assistant; this is not a therapy code. The payer denies the line; remove it.",
                       suggested=[_with(proc, drop=used)])
        return
    if _in(proc.code, _THERAPY_EVAL):
        yield _finding(i, proc, f"{', '.join(sorted(used))} on a therapy evaluation: evaluations are furnished by "
                                "the therapist, not an assistant. The payer denies the line; remove the modifier "
                                "(or correct the code if an assistant furnished treatment).",
                       suggested=[_with(proc, drop=used)])
        return
    if used == {"CQ", "CO"}:
        yield _finding(i, proc, "CQ (physical therapist assistant) and CO (occupational therapy assistant) on one "
                                "line. The payer denies it; keep the one for the assistant who furnished the service, "
                                "matching the plan modifier (GP or GO).", suggested=[])
        return
    mod = used.pop()
    plan = "GP" if mod == "CQ" else "GO"
    other = "GO" if plan == "GP" else "GP"
    if other in mods:
        yield _finding(i, proc, f"{mod} is for {'physical' if mod == 'CQ' else 'occupational'} therapy assistants "
                                f"but the line is under a {'occupational' if other == 'GO' else 'physical'} therapy "
                                f"plan ({other}). The payer denies the mismatch; use "
                                f"{'CO' if mod == 'CQ' else 'CQ'} with {other}, or {plan} with {mod}.", suggested=[])
    elif plan not in mods:
        yield _finding(i, proc, f"{mod} without the therapy plan modifier {plan}. Payers require {plan} on every "
                                f"line of a {'physical' if plan == 'GP' else 'occupational'} therapy plan and deny "
                                f"the line without it; append {plan}.", suggested=[_with(proc, [plan])])


@register(
    MODIFIER,
    actions=("correct", "query", "info"),
    references=(
        "CPT Appendix A (modifiers)",
        "CMS HCPCS Level II file (modifiers with their dates)",
        "CMS NCCI Policy Manual ch. I E.1-E.3 and MLN1783722 (59 and X{EPSU})",
        "CMS MLN Fact Sheet MLN905364 / Pub. 100-04 ch. 12 30.6.6 (modifier 25)",
        "Pub. 100-04 ch. 12 40.7 (50, RT/LT)",
        "ch. 13 20 (26/TC)",
        "CMS CY2024-2025 PFS final rules (95, 93, telehealth POS)",
        "CMS CY2020 PFS final rule and Pub. 100-04 ch. 5 10.3 (CQ/CO with GP/GO)",
        "X12 CARC 4",
    ),
)
def check(ctx: CheckContext) -> Iterator[Finding]:
    procs = ctx.procedures
    for i, proc in enumerate(procs):
        unknown = list(_unknown(ctx, i, proc))
        yield from unknown
        traits = ctx.ref.cpt.traits(proc.code)
        yield from _sides(ctx, i, proc, sided=bool(traits and traits.sided))
        yield from _same_day_em(ctx, i, proc, procs)
        yield from _distinct_without_edit(ctx, i, proc, procs)
        yield from _telehealth(ctx, i, proc)
        yield from _components(ctx, i, proc)
        yield from _assistants(ctx, i, proc)
