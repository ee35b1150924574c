"""Invalid procedure code: a service line's CPT or HCPCS code is malformed, unknown, or not in force on the date of service.

What it finds
    For each service line: a code that is neither CPT-shaped (five digits;
    four digits and F, T, U, A or M) nor HCPCS Level II-shaped (a letter A-V
    and four digits); a CPT code missing from the loaded CPT file
    (``VMA_CPT_FILE``); a HCPCS Level II code missing from the CMS file
    (``VMA_HCPCS_FILE``); a code added after, or retired before, the date of
    service (CPT retirements from the project's table; HCPCS add and
    termination dates from the CMS file). With only the bundled samples loaded,
    a well-formed code that the sample does not list is reported as ``info``:
    the sample cannot prove a code does not exist.

Why it matters
    The clearinghouse or payer rejects a claim line whose procedure code is not
    valid for the date of service (X12 277CA rejection; CARC 181 "procedure
    code was invalid on the date of service"). A rejected claim is not in
    adjudication at all and must be corrected and resubmitted, delaying payment.

Example
    Office visit on 2026-11-16 billed 99201: the code was deleted on 2021-01-01
    (new-patient office visits start at 99202). Correct to 99202 if the visit
    was straightforward, else to the level the note supports.

Resolution (correct)
    ``correct`` (target ``procedure:<index>``): replace the code with a valid
    one for the documented service; ``suggested_codes`` holds the successor of
    a retired code when there is one. ``info`` when only the bundled sample was
    consulted.

References
    CMS HCPCS Level II quarterly and annual update files (record layout:
    add, action-effective and termination dates); AMA CPT annual code changes
    (retirements effective January 1); X12 CARC 181 and 182; CMS Medicare
    Claims Processing Manual Pub. 100-04 ch. 23 20.3 (use of HCPCS/CPT in
    effect on the date of service).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterator

from vma.checks import CheckContext, register
from vma.checks.support.claim_lines import line_name, target
from vma.findings import Finding
from vma.reference.cpt import is_cpt_shape
from vma.reference.hcpcs import is_hcpcs_shape

INVALID_CODE = "invalid-code"


def _not_in_force(code: str, name: str, added: date | None, ended: date | None, dos: date,
                  index: int, successor: str | None) -> Finding:
    if added is not None and dos < added:
        why = f"{code} takes effect on {added.isoformat()}, after the date of service {dos.isoformat()}"
        fix = "bill the code that was in force on the date of service"
    else:
        assert ended is not None
        why = f"{code} was retired after {ended.isoformat()} and is not valid on the date of service {dos.isoformat()}"
        fix = f"replace it with {successor} if that describes the documented service" if successor else \
            "replace it with the current code for the documented service"
    return Finding(
        check=INVALID_CODE, action="correct", severity="error", code=code,
        message=f"{name}: {why}. The payer rejects the line as invalid for the date of service; {fix}.",
        suggested_codes=[successor] if successor else [], target=target(index))


@dataclass(frozen=True)
class _CodeSetWording:
    """How a finding names a procedure code set (CPT or HCPCS Level II)."""

    in_loaded_set: str  # "a CPT code in the loaded code set"
    sample: str  # "the project's CPT sample list"
    authority: str  # "the current CPT code set"
    variable: str  # the setting that loads the full set
    replacement: str  # what to replace an invalid code with


_CPT = _CodeSetWording("a CPT code in the loaded code set", "the project's CPT sample list",
                       "the current CPT code set", "VMA_CPT_FILE", "the code for the service the note documents")
_HCPCS = _CodeSetWording("a HCPCS Level II code in the loaded CMS file", "the bundled HCPCS Level II subset",
                         "the current CMS HCPCS file", "VMA_HCPCS_FILE",
                         "the HCPCS code for the documented service or supply")


def _not_in_code_set(code: str, name: str, index: int, code_set, wording: _CodeSetWording) -> Finding:
    """A code the set does not hold: invalid when the set is complete, unconfirmed against a sample."""
    if code_set.complete:
        return Finding(
            check=INVALID_CODE, action="correct", severity="error", code=code,
            message=f"{name}: {code} is not {wording.in_loaded_set} ({code_set.source}). The payer rejects the "
                    f"line as an invalid procedure code; replace it with {wording.replacement}.",
            target=target(index))
    return Finding(
        check=INVALID_CODE, action="info", severity="info", code=code,
        message=f"{name}: {code} is not in {wording.sample}, so its validity on the date of service is not "
                f"confirmed. Confirm it in {wording.authority} (set {wording.variable} to check automatically); "
                "an invalid code is rejected by the payer.",
        target=target(index))


@register(INVALID_CODE)
def check(ctx: CheckContext) -> Iterator[Finding]:
    dos = ctx.dos
    for i, proc in enumerate(ctx.procedures):
        code = proc.code
        name = line_name(i, proc)
        if is_cpt_shape(code):
            entry = ctx.ref.cpt.get(code)
            if entry is None:
                yield _not_in_code_set(code, name, i, ctx.ref.cpt, _CPT)
            elif dos is not None and not entry.in_force(dos):
                yield _not_in_force(code, name, entry.added, entry.deleted, dos, i, entry.replaced_by)
        elif is_hcpcs_shape(code):
            entry = ctx.ref.hcpcs.get(code)
            if entry is None:
                yield _not_in_code_set(code, name, i, ctx.ref.hcpcs, _HCPCS)
            elif dos is not None and not entry.in_force(dos):
                yield _not_in_force(code, name, entry.added, entry.terminated, dos, i, None)
        else:
            yield Finding(
                check=INVALID_CODE, action="correct", severity="error", code=code,
                message=f"{name}: {code!r} is neither a CPT code (five characters: four digits and a digit or "
                        "F/T/U/A/M) nor a HCPCS Level II code (a letter A-V and four digits). The clearinghouse "
                        "rejects the line; enter the procedure code for the documented service (diagnosis codes "
                        "belong in the diagnoses, not on a service line).",
                target=target(i))
