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

from datetime import date
from typing import Iterator

from vma.checks import CheckContext, register
from vma.checks._claim import line_name, target
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


@register(INVALID_CODE)
def check(ctx: CheckContext) -> Iterator[Finding]:
    dos = ctx.dos
    for i, proc in enumerate(ctx.procedures):
        code = proc.code
        name = line_name(i, proc)
        if is_cpt_shape(code):
            cpt = ctx.ref.cpt
            entry = cpt.get(code)
            if entry is None:
                if cpt.complete:
                    yield Finding(
                        check=INVALID_CODE, action="correct", severity="error", code=code,
                        message=f"{name}: {code} is not a CPT code in the loaded code set ({cpt.source}). "
                                "The payer rejects the line as an invalid procedure code; replace it with the "
                                "code for the service the note documents.",
                        target=target(i))
                else:
                    yield Finding(
                        check=INVALID_CODE, action="info", severity="info", code=code,
                        message=f"{name}: {code} is not in the project's CPT sample list, so its validity on the "
                                "date of service is not confirmed. Confirm it in the current CPT code set "
                                "(set VMA_CPT_FILE to check automatically); an invalid code is rejected by the payer.",
                        target=target(i))
                continue
            if dos is not None and not entry.in_force(dos):
                yield _not_in_force(code, name, entry.added, entry.deleted, dos, i, entry.replaced_by)
        elif is_hcpcs_shape(code):
            hcpcs = ctx.ref.hcpcs
            h = hcpcs.get(code)
            if h is None:
                if hcpcs.complete:
                    yield Finding(
                        check=INVALID_CODE, action="correct", severity="error", code=code,
                        message=f"{name}: {code} is not a HCPCS Level II code in the loaded CMS file "
                                f"({hcpcs.source}). The payer rejects the line as an invalid procedure code; "
                                "replace it with the HCPCS code for the documented service or supply.",
                        target=target(i))
                else:
                    yield Finding(
                        check=INVALID_CODE, action="info", severity="info", code=code,
                        message=f"{name}: {code} is not in the bundled HCPCS Level II subset, so its validity on "
                                "the date of service is not confirmed. Confirm it in the current CMS HCPCS file "
                                "(set VMA_HCPCS_FILE to check automatically); an invalid code is rejected by the payer.",
                        target=target(i))
                continue
            if dos is not None and not h.in_force(dos):
                yield _not_in_force(code, name, h.added, h.terminated, dos, i, None)
        else:
            yield Finding(
                check=INVALID_CODE, action="correct", severity="error", code=code,
                message=f"{name}: {code!r} is neither a CPT code (five characters: four digits and a digit or "
                        "F/T/U/A/M) nor a HCPCS Level II code (a letter A-V and four digits). The clearinghouse "
                        "rejects the line; enter the procedure code for the documented service (diagnosis codes "
                        "belong in the diagnoses, not on a service line).",
                target=target(i))
