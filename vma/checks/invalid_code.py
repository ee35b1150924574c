"""Invalid code: a diagnosis code that is not in the ICD-10-CM release in force on the date of service.

What it finds
    A proposed diagnosis code that the release chosen by the date of service
    does not list: a typo ("M25.5699"), a code of another classification (a CPT
    number or an ICD-9 code in the diagnosis list), a code deleted before the
    date of service or added after it. Two kinds of absent codes are left to
    the check that explains them better: a code that only lacks or misplaces
    its 7th character ("S93.401", "T21.11A", "S93.402B") belongs to
    ``seventh-character``, and a header that exists but is not billable
    (M25.5) belongs to ``non-billable-code``. Procedure codes are judged by
    their own module of this check.

Why it matters
    A claim with a code that does not exist on its date of service is rejected
    outright (HIPAA requires the code set valid at the time the service was
    provided), and a code that slipped in from another release may mean
    something else than the provider documented.

Example
    M54.50 on a visit of 2021-06-01: the code took effect on 2021-10-01, so it
    is invalid on that date (M54.5 was the code then). "99213" in the diagnosis
    list: a CPT code, not a diagnosis.

Resolution (correct)
    The provider's documentation is there; the coder re-selects a valid code
    for it. The message says why the code is invalid: the release that lists
    it and its effective date when another loaded release has it, and the
    nearest valid category above it, so the coder starts from the right place.

References
    ICD-10-CM Official Guidelines for Coding and Reporting FY2026, I.B.1 and
    I.A ("a code is invalid if it has not been coded to the full number of
    characters required"), and the introduction (use the code set in effect
    on the date of service); 45 CFR 162.1002 (HIPAA medical data code sets:
    ICD-10-CM for diagnoses; the version valid at the time the service is
    provided); CMS ICD-10-CM tabular XML releases (FY and April updates).
"""

from __future__ import annotations

import re

from vma.axes import axis_index
from vma.checks import CheckContext, register
from vma.findings import Finding
from vma.reference.icd10cm import IcdRelease

CHECK = "invalid-code"
_ICD_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")


def seventh_character_owns(ctx: CheckContext, code: str) -> bool:
    """True for an absent code that is a real 7th-character base with its 7th character
    missing, misplaced (no X placeholder) or not allowed: ``seventh-character`` reports it."""
    index = axis_index(ctx.icd)
    if index.needs_seventh(code):
        return True
    bare = code.replace(".", "")
    if len(bare) < 5:
        return False
    base_bare = bare[:-1].rstrip("X") if len(bare) == 7 else bare[:-1]
    base = f"{base_bare[:3]}.{base_bare[3:]}" if len(base_bare) > 3 else base_bare
    if not index.needs_seventh(base):
        return False
    return len(bare) < 7 or bare[:6] == base_bare.ljust(6, "X")


def nearest_listed(release: IcdRelease, code: str) -> str | None:
    """The longest leading part of the code that the release lists ("M25.5699" -> "M25.569")."""
    bare = code.replace(".", "")
    for n in range(len(bare) - 1, 2, -1):
        cand = f"{bare[:3]}.{bare[3:n]}" if n > 3 else bare[:3]
        if cand in release:
            return cand
    return bare[:3] if bare[:3] in release else None


def _why(ctx: CheckContext, code: str) -> str:
    if not code:
        return "the code is empty"
    if re.fullmatch(r"[0-9]{5}|[0-9]{4}[FTU]", code):
        return "it has the form of a CPT procedure code, not an ICD-10-CM diagnosis code"
    if re.fullmatch(r"[0-9]{3}(?:\.[0-9]{1,2})?|[VE][0-9]{2,3}(?:\.[0-9]{1,2})?", code) and not _ICD_SHAPE.match(code):
        return "it has the form of an ICD-9-CM code, which is not used for services after 2015-09-30"
    if not _ICD_SHAPE.match(code):
        return "it is not shaped like an ICD-10-CM code (a letter, two characters, then up to four after a dot)"
    release = ctx.icd
    elsewhere = [r for r in ctx.ref.icd_catalog.releases if r is not release and code in r]
    when = f" in force on {ctx.dos.isoformat()}" if ctx.dos else ""
    reason = f"it is not in {release.name}{when}"
    if elsewhere:
        other = elsewhere[-1]
        relation = "takes effect later" if other.effective > release.effective else "is an earlier release"
        reason += f"; {other.name} (effective {other.effective.isoformat()}, which {relation}) lists it"
    return reason


def _hint(ctx: CheckContext, code: str) -> str:
    if not _ICD_SHAPE.match(code or ""):
        return ""
    near = nearest_listed(ctx.icd, code)
    if near is None:
        return ""
    return f" The nearest listed code above it is {near} ({ctx.icd.description(near)})."


@register("invalid-code")
def check(ctx: CheckContext) -> list[Finding]:
    out: list[Finding] = []
    for position, dx in enumerate(ctx.chart.diagnoses):
        code = dx.code
        if code and code in ctx.icd:
            continue  # listed: billable, or a header that non-billable-code explains
        if code and _ICD_SHAPE.match(code) and seventh_character_owns(ctx, code):
            continue
        out.append(Finding(
            check=CHECK, action="correct", severity="error", code=code or None,
            message=f"Diagnosis {position + 1} {code!r} is not a valid ICD-10-CM code: {_why(ctx, code)}."
                    + _hint(ctx, code) + " Select the code for the documented condition from the release in force.",
            evidence=f"diagnoses[{position}].code = {code!r}",
            target=f"diagnosis:{position}"))
    return out
