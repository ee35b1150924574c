"""Combination: a combination code, "code first" or "use additional code" the chart misses.

What it finds
    1. Hypertension with heart or kidney involvement coded apart: I10 with a
       heart failure code (I50.-) instead of I11.0; I10 with I51.4, I51.5,
       I51.7, I51.89 or I51.9 instead of I11.9; I10 with chronic kidney disease
       (N18.-) instead of I12.-; heart and kidney together instead of I13.-;
       and a hypertensive code that no longer matches the other codes (I11.9
       next to I50.-, I12.- next to I50.-, I11.0 next to N18.-). The guideline
       presumes the causal link.
    2. Diabetes "without complications" (E08.9-E13.9) next to chronic kidney
       disease (N18.-) instead of the "with diabetic chronic kidney disease"
       combination (E08.22-E13.22): the Index links them with "with".
    3. A "use additional code" note on a proposed code (or its category, block
       or chapter) whose code is absent while the note documents it: long-term
       insulin (Z79.4), oral (Z79.84) or injectable non-insulin (Z79.85)
       antidiabetic drugs; the stage of chronic kidney disease (N18.-); the
       type of heart failure (I50.-). Tobacco use or dependence documented
       under a note asking for it (F17.-, Z72.0, Z87.891): info.
    4. A manifestation code ("... in diseases classified elsewhere") whose
       "code first" note names no code on the chart: info.
    Notes come from the tabular of the release in force on the date of
    service. Nothing fires for a "use additional code" note the record does
    not document (most say "if applicable").

Why it matters
    Coding hypertension and heart failure separately when a combination code
    exists misstates the condition and is returned by payers; a missing
    additional code (insulin use, CKD stage, heart failure type) leaves out
    what the tabular requires to complete the picture.

Example
    I10 and I50.22 while the assessment reads "Hypertension. Chronic systolic
    heart failure, on carvedilol": correct I10 to I11.0 (I50.22 stays as the
    additional code). E11.9 with "Lantus 20 units nightly" and no Z79.4:
    correct to E11.9 plus Z79.4.

Resolution (correct or info)
    ``correct`` when the codes on the chart and the guideline's presumption
    settle it, or the note states what the additional code needs;
    ``suggested_codes`` replace the finding's code: ["I11.0"] for I10, or the
    code kept plus the code added (["E11.9", "Z79.4"]). No finding when the
    provider documents that the conditions are unrelated (I.C.9.a: "coded
    separately if the provider has documented they are unrelated"), when
    insulin is temporary or sliding-scale (I.C.4.a.3), or when the note does
    not document the additional condition. ``info`` for tobacco (use versus
    dependence is the provider's wording to choose) and for manifestation
    codes without their underlying disease.

References
    ICD-10-CM Official Guidelines for Coding and Reporting FY2026: I.A.13
    (etiology/manifestation, "code first", "use additional code"), I.A.15
    ("with" presumes a causal relationship), I.B.9 (combination codes),
    I.C.4.a.2 and I.C.4.a.3 (diabetes complications; long-term insulin,
    oral and injectable non-insulin drugs; not for temporary insulin),
    I.C.9.a.1-3 (hypertension with heart disease, with CKD, with both),
    I.C.14.a (CKD stage). CMS ICD-10-CM Tabular List notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

from vma.checks import CheckContext, register
from vma.findings import Finding
from vma.notes import ASSESSMENT_SECTIONS, Sentence, cite, is_negated_at, is_uncertain_at, lower_case_pattern
from vma.reference.icd10cm import CodeRef, IcdRelease, note_code_refs

CHECK_ID = "combination"

# -- what the codes on the chart say ------------------------------------------------------

HEART_NO_FAILURE = ("I51.4", "I51.5", "I51.7", "I51.89", "I51.9")  # I.C.9.a.1 (FY2026 wording)
STAGE5 = ("N18.5", "N18.6")


def _starts(code: str, *prefixes: str) -> bool:
    return any(code == p or code.startswith(p + ".") or (len(p) > 3 and code.startswith(p)) for p in prefixes)


@dataclass
class HypertensionPicture:
    hypertension: list[int] = field(default_factory=list)  # positions of I10-I13 codes
    heart_failure: bool = False
    heart_disease: bool = False
    kidney: bool = False
    kidney_stage5: bool = False


def picture(codes: list[str]) -> HypertensionPicture:
    p = HypertensionPicture()
    for i, code in enumerate(codes):
        if _starts(code, "I10", "I11", "I12", "I13"):
            p.hypertension.append(i)
        if _starts(code, "I50") or code in ("I11.0", "I13.0", "I13.2"):
            p.heart_failure = True
        if code in HEART_NO_FAILURE or _starts(code, "I11", "I13"):
            p.heart_disease = True
        if _starts(code, "N18", "I12", "I13"):
            p.kidney = True
        if code in STAGE5 or code in ("I12.0", "I13.11", "I13.2"):
            p.kidney_stage5 = True
    p.heart_disease = p.heart_disease or p.heart_failure
    return p


def hypertension_target(p: HypertensionPicture) -> str:
    """The hypertension code the combination of conditions calls for (Guideline I.C.9.a.1-3)."""
    if p.heart_disease and p.kidney:
        if p.heart_failure:
            return "I13.2" if p.kidney_stage5 else "I13.0"
        return "I13.11" if p.kidney_stage5 else "I13.10"
    if p.heart_disease:
        return "I11.0" if p.heart_failure else "I11.9"
    if p.kidney:
        return "I12.0" if p.kidney_stage5 else "I12.9"
    return "I10"


# -- what the note says -------------------------------------------------------------------

_UNRELATED = re.compile(r"\b(?:unrelated to|not related to|not due to|not caused by|not secondary to|"
                        r"independent of)\b", re.I)
_HEART_WORDS = re.compile(r"\b(?:heart|cardiac|cardiomyopathy|myocarditis|cardiomegaly|chf|hf|hfref|hfpef)\b", re.I)
_KIDNEY_WORDS = re.compile(r"\b(?:kidney|renal|ckd|esrd|nephropathy)\b", re.I)


def stated_unrelated(ctx: CheckContext, organ: re.Pattern[str], cause: re.Pattern[str]) -> Sentence | None:
    """A sentence saying the organ's disease is not due to the named cause (hypertension, diabetes)."""
    for s in ctx.note.sentences:
        m = _UNRELATED.search(s.text)
        if m and organ.search(s.text) and cause.search(s.text[m.start():]):
            return s
    return None


_HTN = re.compile(r"\b(?:hypertension|htn|hypertensive|blood pressure)\b", re.I)
_DIABETES = re.compile(r"\b(?:diabet\w*|dm|t2dm|t1dm)\b", re.I)


@dataclass(frozen=True)
class Documented:
    code: str
    sentences: tuple[Sentence, ...]


def _affirmed(ctx: CheckContext, pattern: re.Pattern[str], exclude: re.Pattern[str] | None = None,
              sections: tuple[str, ...] | None = None) -> list[Sentence]:
    """Sentences stating the pattern, not negated, not uncertain (outpatient), not ruled out by ``exclude``."""
    out = []
    fast = lower_case_pattern(pattern)  # only the match position is used, so lower-cased text is fine
    for s in ctx.note.sentences:
        if sections is not None and s.section not in sections:
            continue
        m = fast.search(s.text)
        if not m:
            continue
        if is_negated_at(s.text, m.start()) or (ctx.outpatient and is_uncertain_at(s.text, m.start())):
            continue
        if exclude is not None and exclude.search(s.text):
            continue
        out.append(s)
    return out


# Sections where current medications and plans are stated; past history is not current use.
_CURRENT = ("medications", "assessment", "plan", "hpi", "preamble", "procedure", "instructions")

_INSULIN = re.compile(r"\b(?:insulin|glargine|lantus|basaglar|toujeo|semglee|levemir|detemir|degludec|tresiba|"
                      r"humalog|lispro|novolog|aspart|fiasp|apidra|glulisine|humulin|novolin|nph)\b", re.I)
# Guideline I.C.4.a.3: no Z79.4 for insulin given temporarily to bring blood sugar under control.
_TEMPORARY_INSULIN = re.compile(r"\b(?:sliding[- ]scale|temporar\w*|one[- ]time|correction(?:al)? (?:scale|dose)|"
                                r"while (?:inpatient|hospitali[sz]ed|admitted)|in clinic today|stat dose)\b", re.I)
_ORAL_ANTIDIABETIC = re.compile(r"\b(?:metformin|glucophage|glipizide|glyburide|glimepiride|pioglitazone|"
                                r"sitagliptin|januvia|janumet|saxagliptin|linagliptin|tradjenta|alogliptin|"
                                r"empagliflozin|jardiance|dapagliflozin|farxiga|canagliflozin|invokana|"
                                r"ertugliflozin|repaglinide|nateglinide|rybelsus|oral semaglutide|"
                                r"oral (?:hypoglycemic|antidiabetic|diabetes) (?:agents?|drugs?|medications?))\b", re.I)
# Weight-management brands (Wegovy, Zepbound) are not diabetes control and are left out on purpose.
_INJECTABLE_NON_INSULIN = re.compile(r"\b(?:liraglutide|victoza|dulaglutide|trulicity|ozempic|exenatide|byetta|"
                                     r"bydureon|tirzepatide|mounjaro|pramlintide|symlin|"
                                     r"(?<!oral )semaglutide(?= (?:injection|weekly|\d+(?:\.\d+)? ?mg (?:sc|subq|weekly))))\b",
                                     re.I)
_STOPPED = re.compile(r"\b(?:stopped|discontinued|d/c'?d|held|hold|off)\b", re.I)

_CKD = re.compile(r"\b(?:ckd|chronic kidney disease|chronic renal (?:disease|insufficiency|failure))\b", re.I)
_CKD_STAGE = re.compile(r"\b(?:ckd|chronic kidney disease|chronic renal (?:disease|insufficiency|failure))\b"
                        r"[^.;]{0,25}?\b(?:stage|stg)\s*(1|2|3a|3b|3|4|5|i{1,3}[ab]?|iv|v)\b"
                        r"|\b(?:stage|stg)\s*(1|2|3a|3b|3|4|5|i{1,3}[ab]?|iv|v)\s+(?:ckd|chronic kidney disease)\b",
                        re.I)
_ESRD = re.compile(r"\b(?:esrd|end[- ]stage renal disease|end[- ]stage kidney disease)\b", re.I)
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iiia": "3a", "iiib": "3b", "iv": "4", "v": "5"}
_STAGE_CODE = {"1": "N18.1", "2": "N18.2", "3": "N18.30", "3a": "N18.31", "3b": "N18.32", "4": "N18.4",
               "5": "N18.5"}

_HF = re.compile(r"\b(?:heart failure|chf|hfref|hfpef|hfrecef|cardiac failure)\b", re.I)
_HF_SYSTOLIC = re.compile(r"\b(?:systolic|hfref|reduced ejection fraction|reduced ef)\b", re.I)
_HF_DIASTOLIC = re.compile(r"\b(?:diastolic|hfpef|preserved ejection fraction|preserved ef)\b", re.I)
_HF_UNSETTLED = re.compile(r"\b(?:mildly reduced|mid[- ]range|hfmref|hfimpef|improved ejection fraction|right[- ]"
                           r"(?:sided|heart)|biventricular|high[- ]output|end[- ]stage heart)\b", re.I)
_ACUTE_ON_CHRONIC = re.compile(r"\bacute[- ]on[- ]chronic\b|\bacutely decompensated chronic\b", re.I)
_ACUTE = re.compile(r"\b(?:acute|decompensated|exacerbation)\b", re.I)
_CHRONIC = re.compile(r"\bchronic\b", re.I)


def insulin_use(ctx: CheckContext) -> Documented | None:
    hits = _affirmed(ctx, _INSULIN, _TEMPORARY_INSULIN, _CURRENT)
    hits = [s for s in hits if not _STOPPED.search(s.text)]
    return Documented("Z79.4", tuple(hits)) if hits else None


def oral_antidiabetic_use(ctx: CheckContext) -> Documented | None:
    hits = [s for s in _affirmed(ctx, _ORAL_ANTIDIABETIC, None, _CURRENT)
            if not _STOPPED.search(s.text) or re.search(r"\bresume\b", s.text, re.I)]
    return Documented("Z79.84", tuple(hits)) if hits else None


def injectable_non_insulin_use(ctx: CheckContext) -> Documented | None:
    hits = [s for s in _affirmed(ctx, _INJECTABLE_NON_INSULIN, None, _CURRENT) if not _STOPPED.search(s.text)]
    return Documented("Z79.85", tuple(hits)) if hits else None


def ckd_stage(ctx: CheckContext) -> Documented | None:
    """The one CKD stage the note states (ESRD as N18.6); CKD without a stage is N18.9."""
    found: dict[str, list[Sentence]] = {}
    for s in _affirmed(ctx, re.compile(f"{_CKD.pattern}|{_ESRD.pattern}", re.I)):
        if s.section not in ASSESSMENT_SECTIONS + ("hpi", "preamble", "results"):
            continue
        if _ESRD.search(s.text):
            found.setdefault("N18.6", []).append(s)
            continue
        m = _CKD_STAGE.search(s.text)
        if m:
            raw = (m.group(1) or m.group(2)).lower()
            found.setdefault(_STAGE_CODE[_ROMAN.get(raw, raw)], []).append(s)
        else:
            found.setdefault("N18.9", []).append(s)
    staged = {c: v for c, v in found.items() if c != "N18.9"}
    if len(staged) == 1:
        code, sentences = next(iter(staged.items()))
        return Documented(code, tuple(sentences))
    if not staged and "N18.9" in found:
        return Documented("N18.9", tuple(found["N18.9"]))
    return None  # conflicting stages: the specificity check or the coder settles it


def heart_failure_type(ctx: CheckContext) -> Documented | None:
    """The I50 code the note's heart failure wording names, when it names one plainly."""
    hits = _affirmed(ctx, _HF, None, ASSESSMENT_SECTIONS + ("hpi", "preamble"))
    if not hits:
        return None
    codes = set()
    for s in hits:
        text = s.text
        if _HF_UNSETTLED.search(text):
            return None  # right-sided, HFmrEF and the like have their own codes: leave it to the coder
        systolic, diastolic = bool(_HF_SYSTOLIC.search(text)), bool(_HF_DIASTOLIC.search(text))
        if _ACUTE_ON_CHRONIC.search(text) or (_ACUTE.search(text) and _CHRONIC.search(text)):
            acuity = "3"
        elif _ACUTE.search(text):
            acuity = "1"
        elif _CHRONIC.search(text):
            acuity = "2"
        else:
            acuity = "0"
        if systolic and diastolic:
            codes.add(f"I50.4{acuity}")
        elif systolic:
            codes.add(f"I50.2{acuity}")
        elif diastolic:
            codes.add(f"I50.3{acuity}")
        else:
            codes.add("I50.9")
    specific = {c for c in codes if c != "I50.9"}
    if len(specific) == 1:
        return Documented(specific.pop(), tuple(hits))
    if not specific:
        return Documented("I50.9", tuple(hits))
    return None


DETECTORS: tuple[Callable[[CheckContext], Documented | None], ...] = (
    insulin_use, oral_antidiabetic_use, injectable_non_insulin_use, ckd_stage, heart_failure_type,
)

_SMOKING = re.compile(r"\b(?:current(?:ly)? smok\w*|smokes|smoker|smoking \d|\d+(?:\.\d+)? ?(?:ppd|packs? (?:per|a) day)|"
                      r"cigarettes? (?:daily|per day|a day)|vap(?:es|ing)|chews tobacco|tobacco use)\b", re.I)
_NOT_SMOKING_NOW = re.compile(r"\b(?:former|ex-?|quit|previous|past|never)\b|\bnon-?smok", re.I)
TOBACCO_REFS = ("F17", "Z72.0", "Z87.891")


# -- the findings ---------------------------------------------------------------------------

def _label(release: IcdRelease, code: str) -> str:
    return f"{code} ({release.description(code) or code})"


def _covered(refs: list[CodeRef], codes: list[str]) -> bool:
    return any(r.covers(c) for r in refs for c in codes)


def _hypertension_findings(ctx: CheckContext, codes: list[str], positions: list[int]) -> Iterator[Finding]:
    release = ctx.icd
    p = picture(codes)
    if not p.hypertension:
        return
    if p.heart_disease and stated_unrelated(ctx, _HEART_WORDS, _HTN):
        p.heart_disease = p.heart_failure = False
    if p.kidney and stated_unrelated(ctx, _KIDNEY_WORDS, _HTN):
        p.kidney = p.kidney_stage5 = False
    target = hypertension_target(p)
    at = p.hypertension[0]
    coded = codes[at]
    if coded == target or target == "I10" or any(codes[i] == target for i in p.hypertension):
        return
    if _starts(coded, "I11", "I12", "I13") and _rank(target) <= _rank(coded):
        return  # a combination code already on the chart says at least as much
    parts = []
    if p.heart_failure:
        parts.append("heart failure")
    elif p.heart_disease:
        parts.append("heart disease")
    if p.kidney:
        parts.append("chronic kidney disease")
    others = [c for c in codes if _starts(c, "I50", "N18") or c in HEART_NO_FAILURE]
    message = (f"{_label(release, coded)} is coded with {' and '.join(parts)} ({', '.join(others)}); the "
               f"classification presumes the causal link, so hypertension is coded {_label(release, target)}")
    keep = [c for c in others if not (c in ("I51.5", "I51.7"))]
    if keep:
        message += f", with {', '.join(keep)} kept as the additional code(s)"
    if any(c in ("I51.5", "I51.7") for c in others):
        message += "; I51.5 and I51.7 are not reported separately with I11 (no additional code)"
    message += ", unless the provider documents the conditions are unrelated (Guideline I.C.9.a)."
    yield Finding(check=CHECK_ID, action="correct", code=coded, message=message,
                  evidence=_evidence(ctx, codes, _HTN, _HEART_WORDS if p.heart_disease else None,
                                     _KIDNEY_WORDS if p.kidney else None),
                  suggested_codes=[target], target=f"diagnosis:{positions[at]}")


def _evidence(ctx: CheckContext, codes: list[str], *patterns: re.Pattern[str] | None) -> str:
    """The codes, then the first assessment sentence stating each condition."""
    cited: list[Sentence] = []
    for pattern in patterns:
        if pattern is None:
            continue
        hits = _affirmed(ctx, pattern, None, ASSESSMENT_SECTIONS) or _affirmed(ctx, pattern)
        if hits and hits[0] not in cited:
            cited.append(hits[0])
    return "; ".join([f"diagnoses: {', '.join(codes)}", *(cite(s) for s in cited)])


def _rank(code: str) -> int:
    return 3 if code.startswith("I13") else 2 if code.startswith(("I11", "I12")) else 1


def _diabetes_ckd_findings(ctx: CheckContext, codes: list[str], positions: list[int]) -> Iterator[Finding]:
    release = ctx.icd
    ckd = [c for c in codes if _starts(c, "N18")]
    if not ckd or stated_unrelated(ctx, _KIDNEY_WORDS, _DIABETES):
        return
    for i, code in enumerate(codes):
        m = re.fullmatch(r"(E0[89]|E1[013])\.9", code)
        if not m:
            continue
        target = f"{m.group(1)}.22"
        if target not in release or target in codes:
            continue
        yield Finding(check=CHECK_ID, action="correct", code=code,
                      message=(f"{_label(release, code)} is coded with chronic kidney disease ({', '.join(ckd)}); "
                               f"the Index links diabetes \"with\" chronic kidney disease, so the diabetes is coded "
                               f"{_label(release, target)} with {', '.join(ckd)} for the stage, unless the provider "
                               "documents the kidney disease is due to another cause (Guideline I.A.15)."),
                      evidence=_evidence(ctx, codes, _DIABETES, _KIDNEY_WORDS), suggested_codes=[target],
                      target=f"diagnosis:{positions[i]}")


def _additional_code_findings(ctx: CheckContext, codes: list[str], positions: list[int],
                              planned: set[str]) -> Iterator[Finding]:
    release = ctx.icd
    documented: dict[str, Documented | None] = {}

    def detect(fn: Callable[[CheckContext], Documented | None]) -> Documented | None:
        if fn.__name__ not in documented:
            documented[fn.__name__] = fn(ctx)
        return documented[fn.__name__]

    added: set[str] = set()
    tobacco_done = False
    for i, code in enumerate(codes):
        wanted: list[tuple[Documented, str, str]] = []
        for where, note in release.inherited_notes(code, "useAdditionalCode"):
            refs = note_code_refs(note)
            if not refs or _covered(refs, codes) or _covered(refs, sorted(planned)):
                continue
            if not tobacco_done and any(r.covers(t) for r in refs for t in TOBACCO_REFS):
                smoking = [s for s in _affirmed(ctx, _SMOKING) if not _NOT_SMOKING_NOW.search(s.text)]
                tobacco_refs = [n for w, n in release.inherited_notes(code, "useAdditionalCode")
                                if any(r.covers(t) for r in note_code_refs(n) for t in TOBACCO_REFS)]
                if smoking and not _covered([r for n in tobacco_refs for r in note_code_refs(n)], codes):
                    tobacco_done = True
                    yield Finding(check=CHECK_ID, action="info", severity="info", code=code,
                                  message=(f"The tabular at {where} asks for an additional code for tobacco "
                                           f"exposure, use or dependence with {code}, and the note documents "
                                           "smoking; add the code the provider's wording supports "
                                           "(tobacco use Z72.0 or dependence F17.-)."),
                                  evidence=cite(smoking[0]), target=f"diagnosis:{positions[i]}")
                continue
            for fn in DETECTORS:
                doc = detect(fn)
                if doc is None or doc.code in added or doc.code not in release:
                    continue
                if any(r.covers(doc.code) for r in refs):
                    wanted.append((doc, where, note))
        if not wanted:
            continue
        new_codes = list(dict.fromkeys(doc.code for doc, _, _ in wanted))
        added.update(new_codes)
        notes = "; ".join(dict.fromkeys(f'at {w}: "{n}"' for _, w, n in wanted))
        sentences = list(dict.fromkeys(s for doc, _, _ in wanted for s in doc.sentences[:1]))
        yield Finding(check=CHECK_ID, action="correct", code=code,
                      message=(f"The tabular asks for an additional code with {_label(release, code)} ({notes}), "
                               f"and the note documents it: add {', '.join(_label(release, c) for c in new_codes)}."),
                      evidence="; ".join(cite(s) for s in sentences), suggested_codes=[code, *new_codes],
                      target=f"diagnosis:{positions[i]}")


def _manifestation_findings(ctx: CheckContext, codes: list[str], positions: list[int]) -> Iterator[Finding]:
    release = ctx.icd
    for i, code in enumerate(codes):
        desc = release.description(code) or ""
        owner_desc = " ".join(release.description(a) or "" for a in (code, *release.ancestors(code)))
        if "in diseases classified elsewhere" not in owner_desc.lower():
            continue
        refs = [r for _, n in release.inherited_notes(code, "codeFirst") for r in note_code_refs(n)]
        if not refs:
            continue
        underlying = [j for j, c in enumerate(codes) if j != i and any(r.covers(c) for r in refs)]
        if underlying and min(underlying) < i:
            continue
        if underlying:
            message = (f"{code} ({desc}) is a manifestation code; its underlying condition "
                       f"({codes[underlying[0]]}) is sequenced after it, and the tabular says to code it first.")
        else:
            message = (f"{code} ({desc}) is a manifestation code; the tabular says to code the underlying "
                       "disease first, and no code on the chart is one its \"code first\" note names.")
        yield Finding(check=CHECK_ID, action="info", severity="warning", code=code, message=message,
                      evidence=f"diagnoses: {', '.join(codes)}", target=f"diagnosis:{positions[i]}")


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    known = ctx.known_diagnoses()
    if not known:
        return
    codes = [dx.code for _, dx, _ in known]
    positions = [pos for pos, _, _ in known]
    combined = list(_hypertension_findings(ctx, codes, positions))
    combined += list(_diabetes_ckd_findings(ctx, codes, positions))
    yield from combined
    # Codes a combination finding already brings in satisfy the notes that ask for them.
    planned = {c for f in combined for c in f.suggested_codes}
    yield from _additional_code_findings(ctx, codes, positions, planned)
    yield from _manifestation_findings(ctx, codes, positions)


@register(CHECK_ID)
def check(ctx: CheckContext) -> list[Finding]:
    return list(_findings(ctx))
