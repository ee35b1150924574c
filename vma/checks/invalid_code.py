"""Invalid code: a diagnosis code not in the ICD-10-CM release in force on the date of service, or a service line's CPT or HCPCS code malformed, unknown, or not in force on that date.

What it finds
    A proposed diagnosis code that the release chosen by the date of service
    does not list: a typo ("M25.5699"), a code of another classification (a CPT
    number or an ICD-9 code in the diagnosis list), a code deleted before the
    date of service or added after it. Two kinds of absent codes are left to
    the check that explains them better: a code that only lacks or misplaces
    its 7th character ("S93.401", "T21.11A", "S93.402B") belongs to
    ``seventh-character``, and a header that exists but is not billable
    (M25.5) belongs to ``non-billable-code``.

    On the service lines: a code that is neither CPT-shaped (five digits;
    four digits and F, T, U, A or M) nor HCPCS Level II-shaped (a letter A-V
    and four digits); a CPT code missing from the loaded CPT file
    (``VMA_CPT_FILE``); a HCPCS Level II code missing from the CMS file
    (``VMA_HCPCS_FILE``); a code added after, or retired before, the date of
    service (CPT retirements from the project's table; HCPCS add and
    termination dates from the CMS file). With only the bundled samples loaded,
    a well-formed code that the sample does not list is reported as ``info``:
    the sample cannot prove a code does not exist.

Why it matters
    A claim with a code that does not exist on its date of service is rejected
    outright (HIPAA requires the code set valid at the time the service was
    provided), and a code that slipped in from another release may mean
    something else than the provider documented.

    The clearinghouse or payer rejects a claim line whose procedure code is not
    valid for the date of service (X12 277CA rejection; CARC 181 "procedure
    code was invalid on the date of service"). A rejected claim is not in
    adjudication at all and must be corrected and resubmitted, delaying payment.

Example
    M54.50 on a visit of 2021-06-01: the code took effect on 2021-10-01, so it
    is invalid on that date (M54.5 was the code then). "99213" in the diagnosis
    list: a CPT code, not a diagnosis.

    Office visit on 2026-11-16 billed 99201: the code was deleted on 2021-01-01
    (new-patient office visits start at 99202). Correct to 99202 if the visit
    was straightforward, else to the level the note supports.

Resolution (correct, info)
    The provider's documentation is there; the coder re-selects a valid code
    for it. The message says why the code is invalid: the release that lists
    it and its effective date when another loaded release has it, and the
    nearest valid category above it, so the coder starts from the right place.
    ``suggested_codes`` names the code the record supports when one does:
    the nearest listed code above it when that code is billable and the
    invalid code only adds characters to it (K21.90 -> K21.9, M54.50 on a
    date before that code existed -> M54.5); else the one billable code
    beneath the nearest listed code that a transposed pair or one extra
    character turns it into (K21.10 -> K21.01); else, beneath a header, the
    one billable code whose added words the note documents with the
    condition, as ``non-billable-code`` reads them (E11.35 with "type 2
    diabetes with proliferative diabetic retinopathy ..."). A transposition
    that points at one code while the note documents another, several fits,
    and codes of other code sets (CPT, ICD-9) get no suggestion.

    Service lines: ``correct`` (target ``procedure:<index>``): replace the code with a valid
    one for the documented service; ``suggested_codes`` holds the successor of
    a retired code when there is one. ``info`` when only the bundled sample was
    consulted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vma.checks import CheckContext, register
from vma.checks.support.axes.evidence import condition_mentions
from vma.checks.support.axes.index import AxisIndex, axis_index
from vma.checks.support.axes.wording import cite_all
from vma.checks.support.axes.words import description_words, same_word
from vma.checks.support.headers import billable_bases, documented_codes
from vma.checks.support.notes.document import Sentence
from vma.checks.support.notes.words import is_negated_at, is_uncertain_at
from vma.checks.support.procedure_codes import invalid_procedure_findings
from vma.compiled_patterns import compile_pattern
from vma.findings import Finding
from vma.reference.icd10cm import IcdRelease

CHECK = "invalid-code"
_ICD_SHAPE = compile_pattern(r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")


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


def _lower(description: str | None) -> str:
    """A description inside a sentence: "Prediabetes" -> "prediabetes"; "GERD ..." stays."""
    text = description or ""
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _dotted(bare: str) -> str:
    return f"{bare[:3]}.{bare[3:]}" if len(bare) > 3 else bare


def _billable(index: AxisIndex, code: str) -> bool:
    return code in index.release and index.release.is_billable(code)


def one_slip_codes(index: AxisIndex, code: str, near: str) -> dict[str, str]:
    """Billable codes beneath ``near`` that the code becomes with one adjacent pair of characters
    swapped or one character dropped (the keying slips that leave a code off the tabular), each
    with the slip that turns it into the code."""
    bare = code.replace(".", "")
    under = near.replace(".", "")
    variants = [(bare[:i] + bare[i + 1] + bare[i] + bare[i + 2:], "two adjacent characters swapped")
                for i in range(len(bare) - 1)]
    variants += [(bare[:i] + bare[i + 1:], "one character added") for i in range(len(bare))]
    out: dict[str, str] = {}
    for v, slip in variants:
        cand = _dotted(v)
        if v != bare and v.startswith(under) and _billable(index, cand):
            out.setdefault(cand, slip)
    return out


_CONNECTIVES = frozenset({"with", "due", "in", "of"})
_NEGATING = frozenset({"without", "not", "no"})
# What a code leaves open is no claim the note must bear out: "unspecified whether descended or
# undescended", "unspecified portion". A leading "Unspecified" qualifies the rest of the
# description ("Unspecified systolic heart failure"), so it goes alone.
_OPEN_WHETHER = compile_pattern(r"\bunspecified\s+(?:whether|as to)\b[^,;]*", re.I)
_OPEN_WORD = compile_pattern(r"^\s*unspecified\b|\bunspecified(?:\s+\w+)?", re.I)


def claimed_words(description: str) -> tuple[str, ...]:
    """The description's words without what its "unspecified" clauses leave open."""
    return description_words(_OPEN_WORD.sub(" ", _OPEN_WHETHER.sub(" ", description)))


def slip_documented(ctx: CheckContext, index: AxisIndex, near: str, code: str) -> tuple[Sentence, ...]:
    """Sentences documenting the code's condition with every word the code adds to ``near``
    ("unspecified" aside): a keying slip is only followed where the note bears the code out."""
    head = set(index.words(near))
    added = {w for w in claimed_words(index.release.description(code) or "") if w not in head and w not in _CONNECTIVES}
    out = []
    for m in condition_mentions(ctx.note, index, code, ctx.outpatient):
        if not m.counts:
            continue
        at = [[t.start for t in m.words if same_word(t.norm, w)] for w in added]
        if not all(at):
            continue
        # "Mild intermittent asthma, no exacerbation" does not bear out "with exacerbation"; a code
        # that itself says "without" or "not" states the negation (as non-billable-code reads it).
        if not added & _NEGATING and any(
                all(is_negated_at(m.sentence.text, p) or ctx.outpatient and is_uncertain_at(m.sentence.text, p)
                    for p in positions) for positions in at):
            continue
        out.append(m.sentence)
    return tuple(out)


@dataclass(frozen=True)
class Suggestion:
    code: str
    reason: str
    cited: tuple[Sentence, ...] = ()


def _documented(ctx: CheckContext, index: AxisIndex, code: str) -> tuple[Sentence, ...]:
    """Sentences that document the suggested code's condition for this encounter, for the evidence."""
    return tuple(m.sentence for m in condition_mentions(ctx.note, index, code, ctx.outpatient) if m.counts)


def suggestion(ctx: CheckContext, code: str) -> Suggestion | None:
    """The code the record supports in place of an invalid ICD-10-CM-shaped code, if exactly one."""
    if not code or not _ICD_SHAPE.match(code):
        return None  # other code sets (CPT, ICD-9) and garbage: the coder starts over
    rel = ctx.icd
    near = nearest_listed(rel, code)
    if near is None:
        return None
    index = axis_index(rel)
    if _billable(index, near):
        # Guideline I.B.2: a code has as many characters as the tabular gives it, and no more.
        return Suggestion(near, "it only adds characters to that code, which is billable",
                          _documented(ctx, index, near))
    if index.needs_seventh(near) or not rel.children(near):
        return None
    slips = one_slip_codes(index, code, near)
    noted, _, cited = documented_codes(ctx, index, near, billable_bases(index, near))
    noted = [c for c in noted if _billable(index, c)]
    if len(noted) == 1 and (not slips or noted[0] in slips):
        # The note names the detail of one code beneath the header (non-billable-code's reading),
        # and no keying slip points elsewhere.
        return Suggestion(noted[0], f"the note documents {_lower(rel.description(noted[0]))}", tuple(cited))
    if len(slips) == 1 and not noted:
        # One keying slip away from one code, and the note states that code's condition with all
        # it adds to the header (an "unspecified" code, which the wording reading above never picks,
        # included); a slip to a detail the note lacks ("with bleeding") is not followed.
        (slipped, how), = slips.items()
        mentioned = slip_documented(ctx, index, near, slipped)
        if mentioned:
            return Suggestion(slipped, f"{code} is {slipped} with {how}, and the note documents "
                                       f"{_lower(rel.description(slipped))}", mentioned)
    return None


@register(
    "invalid-code",
    actions=("correct", "info"),
    references=(
        'ICD-10-CM Official Guidelines for Coding and Reporting FY2026, I.B.2 and I.A.3 ("a code is invalid if '
        'it has not been coded to the full number of characters required"; codes are reported to the highest '
        "number of characters available, and no more), I.A.19 (the code rests on the provider's statement), and "
        "the introduction (use the code set in effect on the date of service)",
        "45 CFR 162.1002 (HIPAA medical data code sets: ICD-10-CM for diagnoses; the version valid at the time "
        "the service is provided)",
        "CMS ICD-10-CM tabular XML releases (FY and April updates)",
        "CMS HCPCS Level II quarterly and annual update files (record layout: add, action-effective and "
        "termination dates)",
        "AMA CPT annual code changes (retirements effective January 1)",
        "X12 CARC 181 and 182",
        "CMS Medicare Claims Processing Manual Pub. 100-04 ch. 23 20.3 (use of HCPCS/CPT in effect on the date "
        "of service)",
    ),
)
def check(ctx: CheckContext) -> list[Finding]:
    out: list[Finding] = []
    for position, dx in enumerate(ctx.chart.diagnoses):
        code = dx.code
        if code and code in ctx.icd:
            continue  # listed: billable, or a header that non-billable-code explains
        if code and _ICD_SHAPE.match(code) and seventh_character_owns(ctx, code):
            continue
        found = suggestion(ctx, code)
        evidence = f"diagnoses[{position}].code = {code!r}"
        if found is None:
            fix = " Select the code for the documented condition from the release in force."
        else:
            fix = (f" {found.reason[0].upper()}{found.reason[1:]}: report {found.code} "
                   f"({ctx.icd.description(found.code)}).")
            if found.cited:
                evidence += f"; {cite_all(list(found.cited))}"
        out.append(Finding(
            check=CHECK, action="correct", severity="error", code=code or None,
            message=f"Diagnosis {position + 1} {code!r} is not a valid ICD-10-CM code: {_why(ctx, code)}."
                    + _hint(ctx, code) + fix,
            evidence=evidence, suggested_codes=[found.code] if found else [],
            target=f"diagnosis:{position}"))
    out.extend(invalid_procedure_findings(ctx))
    return out
