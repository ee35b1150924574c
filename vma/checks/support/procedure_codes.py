"""Procedure codes (CPT, HCPCS Level II) of the service lines that the code sets in force do not hold:
the service-line half of the ``invalid-code`` check."""


from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterator

from vma.checks import CheckContext
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


def invalid_procedure_findings(ctx: CheckContext) -> Iterator[Finding]:
    """The ``invalid-code`` findings of the service lines: each code malformed, unknown, or not in force."""
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
