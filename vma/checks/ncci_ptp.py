"""NCCI procedure-to-procedure: two service lines form a PTP pair the payer will bundle.

What it finds
    Every ordered pair of codes on the claim that the NCCI practitioner PTP
    table (``VMA_NCCI_PTP_FILES``, else the bundled sample) lists as column 1 /
    column 2 with an edit in force on the date of service (effective on or
    before it, deletion date on or after it; modifier indicator 9 rows are not
    edits). With modifier indicator 0 the pair is reported whatever the
    modifiers. With indicator 1 it is reported unless the lines carry a
    modifier that bypasses the edit: 59 or XE/XS/XP/XU on either line; 25 or
    57 on the E/M line when one of the codes is an E/M (59 never bypasses for
    an E/M); different anatomic modifiers (RT on one line, LT on the other;
    fingers, toes, eyelids, coronary arteries); or 24, 27, 58, 78, 79 or 91.

Why it matters
    The payer pays the column 1 code and denies the column 2 code (CARC 97,
    "payment included in the allowance for another service") when the pair is
    billed for the same patient, provider and date. Indicator 0 edits are never
    paid, whatever modifier is appended; appending 59 to force them is a
    compliance finding in audits.

Example
    93000 (ECG with interpretation) and 93010 (interpretation only) on one
    visit: indicator 0, the payer denies 93010; remove it. 97530 and 97140 in
    the same session: indicator 1, the payer denies 97140 unless the note shows
    they were done in separate, distinct time intervals and the line carries
    59 or XU.

Resolution (correct)
    ``correct`` on the column 2 line (target ``procedure:<index>``): for
    indicator 0 remove the column 2 code; for indicator 1 either append the
    modifier the documentation supports (``suggested_codes`` gives
    ``<code>-25`` for an E/M in the pair) or remove the column 2 code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from vma.chart import Procedure
from vma.checks import CheckContext, register
from vma.checks.support.claim_lines import ANATOMIC, DISTINCT_SERVICE, EM_SAME_DAY, GLOBAL_PERIOD, line_name, target
from vma.findings import Finding
from vma.reference.cpt import is_em

if TYPE_CHECKING:  # the edit table (and SQLite) is loaded only for a chart with two procedures or more
    from vma.reference.ncci import PtpEdit

NCCI_PTP = "ncci-ptp"


def bypassed(edit: PtpEdit, first: Procedure, second: Procedure) -> bool:
    """Whether the lines' modifiers bypass an indicator-1 edit between them."""
    if edit.modifier_indicator != 1:
        return False
    em_lines = [p for p in (first, second) if is_em(p.code)]
    if em_lines:
        return any(EM_SAME_DAY & set(p.modifiers) for p in em_lines)
    mods1, mods2 = set(first.modifiers), set(second.modifiers)
    if (mods1 | mods2) & (DISTINCT_SERVICE | GLOBAL_PERIOD):
        return True
    sites1, sites2 = mods1 & ANATOMIC, mods2 & ANATOMIC
    return bool(sites1 and sites2 and sites1 != sites2)


def _finding(ctx: CheckContext, edit: PtpEdit, i1: int, p1: Procedure, i2: int, p2: Procedure) -> Finding:
    name1, name2 = line_name(i1, p1), line_name(i2, p2)
    when = f"effective {edit.effective.isoformat()}" if edit.effective else "long-standing"
    head = (f"{name2} is column 2 of an NCCI PTP edit with {name1} ({edit.column1}/{edit.column2}, {when}, "
            f"modifier indicator {edit.modifier_indicator}; rationale: {edit.rationale or 'not given'}).")
    suggested: list[str] = []
    if edit.modifier_indicator == 0:
        forced = sorted((set(p1.modifiers) | set(p2.modifiers)) & (DISTINCT_SERVICE | EM_SAME_DAY | ANATOMIC))
        extra = (f" The modifier {', '.join(forced)} on these lines does not change that; do not append one to force payment."
                 if forced else "")
        msg = (f"{head} The payer pays {edit.column1} and denies {edit.column2}: indicator 0 means no modifier "
               f"bypasses this edit.{extra} Remove {edit.column2} from the claim; its work is included in {edit.column1}.")
    else:
        em = next((p for p in (p1, p2) if is_em(p.code)), None)
        if em is not None:
            suggested = [f"{em.code}-25"]
            fix = (f"If the note documents a significant, separately identifiable E/M beyond the usual pre- and "
                   f"post-procedure work, append modifier 25 to the {em.code} line; otherwise remove {em.code}.")
        else:
            fix = (f"If the note documents that {edit.column2} was distinct (a separate site or lesion: XS; a "
                   f"separate encounter: XE; a different practitioner: XP; a non-overlapping service: XU; else 59), "
                   f"append that modifier to the {edit.column2} line; if it was not distinct, remove {edit.column2}.")
        msg = f"{head} The payer denies {edit.column2} as bundled into {edit.column1} unless a modifier shows it was distinct. {fix}"
    return Finding(check=NCCI_PTP, action="correct", severity="error", code=edit.column2, message=msg,
                   evidence=f"{edit.column1} + {edit.column2} on the same date of service",
                   suggested_codes=suggested, target=target(i2))


@register(
    NCCI_PTP,
    actions=("correct",),
    references=(
        "CMS NCCI Policy Manual for Medicare Services (2026), ch. I sections D-E (modifiers and modifier "
        "indicators)",
        "CMS NCCI PTP edit files, practitioner services, quarterly release layout",
        'CMS MLN1783722 "Proper Use of Modifiers 59, XE, XP, XS and XU"',
        "X12 CARC 97",
    ),
)
def check(ctx: CheckContext) -> Iterator[Finding]:
    procs = ctx.procedures
    if len(procs) < 2:
        return
    edits = ctx.ref.ncci.edits_among((p.code for p in procs), ctx.dos)
    reported: set[int] = set()
    for edit in sorted(edits, key=lambda e: (e.column1, e.column2)):
        firsts = [(i, p) for i, p in enumerate(procs) if p.code == edit.column1]
        seconds = [(i, p) for i, p in enumerate(procs) if p.code == edit.column2]
        for i2, p2 in seconds:
            if i2 in reported:
                continue
            # The column 2 line is paid only if it is shown distinct from every column 1 line on the claim.
            blocking = [(i1, p1) for i1, p1 in firsts if not bypassed(edit, p1, p2)]
            if blocking:
                i1, p1 = blocking[0]
                reported.add(i2)
                yield _finding(ctx, edit, i1, p1, i2, p2)
