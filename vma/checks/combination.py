"""Combination: a combination code, "code first" or "use additional code" the chart misses.

What it finds
    1. Hypertension with heart or kidney involvement coded apart: I10 with a
       heart failure code (I50.-) instead of I11.0; I10 with I51.4, I51.5,
       I51.7, I51.89 or I51.9 instead of I11.9; I10 with chronic kidney disease
       (N18.-) instead of I12.-; heart and kidney together instead of I13.-;
       and a hypertensive code that no longer matches the other codes (I11.9
       next to I50.-, I12.- next to I50.-, I11.0 next to N18.-). The guideline
       presumes the causal link.
    2. Diabetes coded apart from a condition the classification links to it
       with "with": E11.9 beside a foot ulcer (L97.5-) instead of E11.621,
       beside CKD (N18.-) instead of E11.22, beside polyneuropathy in diseases
       classified elsewhere (G63) instead of E11.42. The links are read from
       the tabular of the release, per chart code: a "use additional code"
       note on an E08-E13 combination code naming the code (E11.621: L97.4-,
       L97.5-), a "code first" or "code also" note on the code naming the
       combination code (N18: E11.22; K31.84: E11.43), or an Excludes1 note
       sending the condition "in diabetes" to it (G63: E08-E13 with .42, the
       other code then dropped). The narrowest reference wins (L97.519: E11.621
       over E11.622); the diabetes type of the coded E08-E13 code is kept; only
       combination codes whose title names the condition are presumed ("with
       other specified complication" needs the provider's link).
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
    heart failure, on carvedilol": correct I10 to I11.0, sequenced first (I50.22
    stays after it as the additional code). E11.9 and L97.519 for "Diabetes.
    Non-healing ulcer, right foot": correct E11.9 to E11.621 (L97.519 after it).
    E11.9 with "Lantus 20 units nightly" and no Z79.4: correct to E11.9 plus
    Z79.4.

Resolution (correct or info)
    ``correct`` when the codes on the chart and the guideline's presumption
    settle it, or the note states what the additional code needs;
    ``suggested_codes`` replace the finding's code: ["I11.0"] for I10, or the
    code kept plus the code added (["E11.9", "Z79.4"]); several diabetic
    complications give several combination codes in one suggestion
    (["E11.22", "E11.621"]). A target naming two positions ("diagnosis:0,3")
    drops the other code the combination code includes (G63 into E11.42).
    The message names the sequence the "code first" notes ask for. No finding
    when the provider documents that the conditions are unrelated or the
    condition has another cause ("venous stasis ulcer", "CKD due to lithium
    nephropathy, not due to diabetes"), or the chart codes another cause the
    condition's "code first" note names (I87.31- for a leg ulcer) (I.A.15,
    I.C.9.a: "coded separately if the provider has documented they are
    unrelated"), when
    insulin is temporary or sliding-scale (I.C.4.a.3), or when the note does
    not document the additional condition. ``info`` for tobacco (use versus
    dependence is the provider's wording to choose) and for manifestation
    codes without their underlying disease.

References
    ICD-10-CM Official Guidelines for Coding and Reporting FY2026: I.A.12.a
    (Excludes1), I.A.13 (etiology/manifestation, "code first", "use additional
    code"), I.A.15 ("with" presumes a causal relationship), I.B.9 (combination
    codes), I.C.4.a (as many diabetes codes as needed to describe all
    complications), I.C.4.a.2 and I.C.4.a.3 (diabetes complications; long-term insulin,
    oral and injectable non-insulin drugs; not for temporary insulin),
    I.C.9.a.1-3 (hypertension with heart disease, with CKD, with both),
    I.C.14.a (CKD stage). CMS ICD-10-CM Tabular List notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

from vma.checks.support.axes.index import axis_index
from vma.checks import CheckContext, register
from vma.findings import Finding
from vma.notes import (
    ASSESSMENT_SECTIONS,
    HISTORY_SECTIONS,
    Sentence,
    cite,
    is_negated_at,
    is_past_or_planned,
    is_uncertain_at,
    lazy_pattern,
    lower_case_pattern,
)
from vma.reference.icd10cm import CodeRef, IcdRelease, note_code_refs, per_release
from vma.checks.support.refine.decide import decide
from vma.checks.support.refine.documented import chart_codes

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

_UNRELATED = lazy_pattern(r"\b(?:unrelated to|not related to|not due to|not caused by|not secondary to|"
                          r"independent of)\b", re.I)
_HEART_WORDS = lazy_pattern(r"\b(?:heart|cardiac|cardiomyopathy|myocarditis|cardiomegaly|chf|hf|hfref|hfpef)\b", re.I)
_KIDNEY_WORDS = lazy_pattern(r"\b(?:kidney|renal|ckd|esrd|nephropathy)\b", re.I)


def stated_unrelated(ctx: CheckContext, organ: re.Pattern[str], cause: re.Pattern[str]) -> Sentence | None:
    """A sentence saying the organ's disease is not due to the named cause (hypertension, diabetes)."""
    for s in ctx.note.sentences:
        m = _UNRELATED.search(s.text)
        if m and organ.search(s.text) and cause.search(s.text[m.start():]):
            return s
    return None


_HTN = lazy_pattern(r"\b(?:hypertension|htn|hypertensive|blood pressure)\b", re.I)
_DIABETES = lazy_pattern(r"\b(?:diabet\w*|dm|t2dm|t1dm)\b", re.I)


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

_INSULIN = lazy_pattern(r"\b(?:insulin|glargine|lantus|basaglar|toujeo|semglee|levemir|detemir|degludec|tresiba|"
                        r"humalog|lispro|novolog|aspart|fiasp|apidra|glulisine|humulin|novolin|nph)\b", re.I)
# Guideline I.C.4.a.3: no Z79.4 for insulin given temporarily to bring blood sugar under control.
_TEMPORARY_INSULIN = lazy_pattern(r"\b(?:sliding[- ]scale|temporar\w*|one[- ]time|correction(?:al)? (?:scale|dose)|"
                                  r"while (?:inpatient|hospitali[sz]ed|admitted)|in clinic today|stat dose)\b", re.I)
_ORAL_ANTIDIABETIC = lazy_pattern(r"\b(?:metformin|glucophage|glipizide|glyburide|glimepiride|pioglitazone|"
                                  r"sitagliptin|januvia|janumet|saxagliptin|linagliptin|tradjenta|alogliptin|"
                                  r"empagliflozin|jardiance|dapagliflozin|farxiga|canagliflozin|invokana|"
                                  r"ertugliflozin|repaglinide|nateglinide|rybelsus|oral semaglutide|"
                                  r"oral (?:hypoglycemic|antidiabetic|diabetes) (?:agents?|drugs?|medications?))\b", re.I)
# Weight-management brands (Wegovy, Zepbound) are not diabetes control and are left out on purpose.
_INJECTABLE_NON_INSULIN = lazy_pattern(r"\b(?:liraglutide|victoza|dulaglutide|trulicity|ozempic|exenatide|byetta|"
                                       r"bydureon|tirzepatide|mounjaro|pramlintide|symlin|"
                                       r"(?<!oral )semaglutide(?= (?:injection|weekly|\d+(?:\.\d+)? ?mg (?:sc|subq|weekly))))\b",
                                       re.I)
_STOPPED = lazy_pattern(r"\b(?:stopped|discontinued|d/c'?d|held|hold|off)\b", re.I)

_CKD = lazy_pattern(r"\b(?:ckd|chronic kidney disease|chronic renal (?:disease|insufficiency|failure))\b", re.I)
_CKD_STAGE = lazy_pattern(r"\b(?:ckd|chronic kidney disease|chronic renal (?:disease|insufficiency|failure))\b"
                          r"[^.;]{0,25}?\b(?:stage|stg)\s*(1|2|3a|3b|3|4|5|i{1,3}[ab]?|iv|v)\b"
                          r"|\b(?:stage|stg)\s*(1|2|3a|3b|3|4|5|i{1,3}[ab]?|iv|v)\s+(?:ckd|chronic kidney disease)\b",
                          re.I)
_ESRD = lazy_pattern(r"\b(?:esrd|end[- ]stage renal disease|end[- ]stage kidney disease)\b", re.I)
_CKD_OR_ESRD = lazy_pattern(f"{_CKD.pattern}|{_ESRD.pattern}", re.I)
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iiia": "3a", "iiib": "3b", "iv": "4", "v": "5"}
_STAGE_CODE = {"1": "N18.1", "2": "N18.2", "3": "N18.30", "3a": "N18.31", "3b": "N18.32", "4": "N18.4",
               "5": "N18.5"}

_HF = lazy_pattern(r"\b(?:heart failure|chf|hfref|hfpef|hfrecef|cardiac failure)\b", re.I)
_HF_SYSTOLIC = lazy_pattern(r"\b(?:systolic|hfref|reduced ejection fraction|reduced ef)\b", re.I)
_HF_DIASTOLIC = lazy_pattern(r"\b(?:diastolic|hfpef|preserved ejection fraction|preserved ef)\b", re.I)
_HF_UNSETTLED = lazy_pattern(r"\b(?:mildly reduced|mid[- ]range|hfmref|hfimpef|improved ejection fraction|right[- ]"
                             r"(?:sided|heart)|biventricular|high[- ]output|end[- ]stage heart)\b", re.I)
_ACUTE_ON_CHRONIC = lazy_pattern(r"\bacute[- ]on[- ]chronic\b|\bacutely decompensated chronic\b", re.I)
_ACUTE = lazy_pattern(r"\b(?:acute|decompensated|exacerbation)\b", re.I)
_CHRONIC = lazy_pattern(r"\bchronic\b", re.I)


def insulin_use(ctx: CheckContext) -> Documented | None:
    hits = _affirmed(ctx, _INSULIN, _TEMPORARY_INSULIN, _CURRENT)
    hits = [s for s in hits if not _STOPPED.search(s.text)]
    return Documented("Z79.4", tuple(hits)) if hits else None


def oral_antidiabetic_use(ctx: CheckContext) -> Documented | None:
    # current use only (I.C.4.a.3): "initially on metformin, now needs insulin" is no metformin today
    hits = [s for s in _affirmed(ctx, _ORAL_ANTIDIABETIC, None, _CURRENT)
            if (not _STOPPED.search(s.text) or re.search(r"\bresume\b", s.text, re.I))
            and not all(is_past_or_planned(s.text, m.start()) for m in _ORAL_ANTIDIABETIC.finditer(s.text))]
    return Documented("Z79.84", tuple(hits)) if hits else None


def injectable_non_insulin_use(ctx: CheckContext) -> Documented | None:
    hits = [s for s in _affirmed(ctx, _INJECTABLE_NON_INSULIN, None, _CURRENT) if not _STOPPED.search(s.text)]
    return Documented("Z79.85", tuple(hits)) if hits else None


def ckd_stage(ctx: CheckContext) -> Documented | None:
    """The one CKD stage the note states (ESRD as N18.6); CKD without a stage is N18.9."""
    found: dict[str, list[Sentence]] = {}
    for s in _affirmed(ctx, _CKD_OR_ESRD):
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

_SMOKING = lazy_pattern(r"\b(?:current(?:ly)? smok\w*|smokes|smoker|smoking \d|\d+(?:\.\d+)? ?(?:ppd|packs? (?:per|a) day)|"
                        r"cigarettes? (?:daily|per day|a day)|vap(?:es|ing)|chews tobacco|tobacco use)\b", re.I)
_NOT_SMOKING_NOW = lazy_pattern(r"\b(?:former|ex-?|quit|previous|past|never)\b|\bnon-?smok", re.I)
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
        # I50 and N18 carry "code first" notes naming I11.0, I12.- and I13.- (Guideline I.A.13, I.C.9.a).
        message += (f", sequenced before {' and '.join(keep)}, which "
                    f"{'stays after it as the additional code' if len(keep) == 1 else 'stay after it as the additional codes'}")
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


# -- diabetes "with" its complications (Guideline I.A.15), derived from the tabular ---------------

DIABETES_CATEGORIES = ("E08", "E09", "E10", "E11", "E13")
# A combination title whose "with" part names no condition ("with other specified complication",
# "with unspecified complications", "with other diabetic kidney complication") links nothing by itself:
# those need the provider's stated link, so they are never presumed here.
_GENERIC_WITH = lazy_pattern(r"\bcomplications?\b", re.I)
# A diabetes code named in a note: "E11.22" (not the start of a range "E08.311-"), or "E08-E13 with .42".
_DM_CODE = lazy_pattern(r"(?<![-\w])(E0[89]|E1[0-3])\.([0-9A-Z]{1,4})(?![0-9A-Z])(?!\s*-)")
_DM_WITH = lazy_pattern(r"\bE0[89]\s*-\s*E1[0-3]\s+with\s+\.([0-9A-Z]{1,4})(?![0-9A-Z])(?!\s*-)")
_UNBOUNDED = 1 << 30
_GENERIC_HEADS = frozenset({"disease", "diseases", "complication", "complications", "disorder", "disorders",
                            "condition", "conditions", "part"})


@dataclass(frozen=True)
class DiabetesRule:
    """A diabetes combination code and the codes its "use additional code" note asks for."""

    code: str
    refs: tuple[CodeRef, ...]
    note: str


class DiabetesTable:
    """Per release: the "use additional code" notes of the E08-E13 combination codes, by category.

    Built from the E08-E13 subtrees only (a few hundred codes), once per release and process.
    """

    def __init__(self, release: IcdRelease):
        self.release = release
        self.rules: dict[str, tuple[DiabetesRule, ...]] = {}
        for category in DIABETES_CATEGORIES:
            found = []
            for code in (category, *release.descendants(category)):
                if not combination_names_condition(release, code):
                    continue
                for note in release.notes(code, "useAdditionalCode"):
                    refs = tuple(note_code_refs(note))
                    if refs:
                        found.append(DiabetesRule(code, refs, note))
            self.rules[category] = tuple(found)
        self._widths: dict[CodeRef, int] = {}

    def width(self, ref: CodeRef) -> int:
        """How many tabular codes a note reference covers: the narrower, the more specific the link."""
        if ref not in self._widths:
            self._widths[ref] = _ref_width(self.release, ref)
        return self._widths[ref]


_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _ref_width(release: IcdRelease, ref: CodeRef) -> int:
    lo, hi = ref.first, ref.last
    if lo == hi:
        return 1 + sum(1 for _ in release.descendants(lo)) if lo in release else _UNBOUNDED
    if lo[0] != hi[0]:
        return _UNBOUNDED
    count = 0
    for a in _ALNUM:
        for b in _ALNUM:
            category = lo[0] + a + b
            if lo[:3] <= category <= hi[:3] and category in release:
                count += sum(1 for c in (category, *release.descendants(category)) if ref.covers(c))
    return count or _UNBOUNDED


@per_release
def diabetes_table(release: IcdRelease) -> DiabetesTable:
    return DiabetesTable(release)


def diabetes_category(code: str) -> str | None:
    return code[:3] if code[:3] in DIABETES_CATEGORIES else None


def combination_names_condition(release: IcdRelease, code: str) -> bool:
    """A billable diabetes code whose title names the condition it is "with" (E11.621 "with foot ulcer")."""
    desc = release.description(code) or ""
    if not release.is_billable(code) or " with " not in desc:
        return False
    return not _GENERIC_WITH.search(desc.split(" with ", 1)[1])


def with_head(release: IcdRelease, code: str) -> str | None:
    """The noun the combination title is "with" ("ulcer" for "with foot ulcer"), unless it is generic."""
    from vma.checks.support.axes.words import description_words

    desc = (release.description(code) or "").split(" with ", 1)[-1].split(" without ", 1)[0]
    words = [w for w in description_words(desc) if w not in ("diabetic", "diabetes", "mellitus")]
    return words[-1] if words and words[-1] not in _GENERIC_HEADS else None


@per_release
def _title_links(release: IcdRelease) -> dict[tuple[str, str], tuple[str, str] | None]:
    return {}


def _named_by_title(release: IcdRelease, code: str, category: str) -> tuple[str, str] | None:
    links = _title_links(release)
    if (code, category) not in links:
        links[code, category] = _scan_named_by_title(release, code, category)
    return links[code, category]


def _scan_named_by_title(release: IcdRelease, code: str, category: str) -> tuple[str, str] | None:
    """The one combination code of ``category`` whose "with" condition is, word for word, the chart
    code's own title or one of its inclusion terms ("with diabetic peripheral angiopathy" and I73.9's
    "Peripheral angiopathy NOS"): the Index's "Diabetes, with" entry the coder follows, and the link
    Guideline I.A.15 presumes. Nothing when the words match several, or only in part."""
    from vma.checks.support.axes.words import OPEN, description_words, fold

    def words(text: str) -> frozenset[str]:
        return frozenset(fold(w) for w in description_words(text)
                         if w not in (OPEN, "diabetic", "diabetes", "mellitus", "nos"))

    for kind in ("excludes1", "codeFirst", "codeAlso"):
        for _, note in release.inherited_notes(code, kind):
            if any(m.group(1) != category for m in _DM_CODE.finditer(note)):
                return None  # the tabular lists the diabetes codes it means, and this category is not one
    names = {words(t): t for t in (release.description(code) or "", *release.notes(code, "inclusionTerm"))}
    names.pop(frozenset(), None)
    found = []
    for target in release.descendants(category):
        if not combination_names_condition(release, target):
            continue
        part = (release.description(target) or "").split(" with ", 1)[1].split(" without ", 1)[0]
        if words(part) in names:
            found.append((target, names[words(part)]))
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class DiabetesLink:
    """The combination code a chart code calls for with the chart's diabetes."""

    combination: str  # E11.621
    other: str  # the chart code it links: L97.519
    included: bool  # the other code's condition is inside the combination code (an Excludes1 says so)
    notes: tuple[str, ...]  # the tabular notes that say it, for the message


def _named_combinations(note: str, category: str) -> list[str]:
    out = [f"{m.group(1)}.{m.group(2)}" for m in _DM_CODE.finditer(note) if m.group(1) == category]
    out += [f"{category}.{m.group(1)}" for m in _DM_WITH.finditer(note)]
    return out


def diabetes_link(release: IcdRelease, code: str, category: str) -> DiabetesLink | None:
    """The one combination code of ``category`` that ``code`` calls for, per the tabular, or None.

    Three kinds of note say it: a "use additional code" note on the combination code naming
    ``code`` (E11.621: L97.4-, L97.5-); a "code first" / "code also" note on ``code`` naming
    the combination code (N18: E11.22; K31.84: E11.43); an Excludes1 note on ``code`` sending
    its condition "in diabetes" to the combination code (G63: E08-E13 with .42). When several
    combination codes apply, the one whose reference is narrowest wins (L97.519: E11.621's
    L97.5- over E11.622's L97.1-L97.9); a tie between different codes is left to the coder.
    """
    if diabetes_category(code):
        return None
    table = diabetes_table(release)
    width: dict[str, int] = {}
    included: set[str] = set()
    notes: dict[str, list[str]] = {}
    for rule in table.rules.get(category, ()):
        hits = [r for r in rule.refs if r.covers(code)]
        if hits:
            w = min(table.width(r) for r in hits)
            width[rule.code] = min(width.get(rule.code, _UNBOUNDED), w)
            notes.setdefault(rule.code, []).append(f'{rule.code} "use additional {rule.note}"')
    for kind, label in (("codeFirst", "code first"), ("codeAlso", "code also"), ("excludes1", "Excludes1")):
        for where, note in release.inherited_notes(code, kind):
            for target in _named_combinations(note, category):
                if kind != "excludes1" and target == f"{category}.9":
                    return None  # the tabular asks for diabetes "without complications" beside it (N76.82)
                if not combination_names_condition(release, target):
                    continue
                width.setdefault(target, _UNBOUNDED)
                if kind == "excludes1":
                    included.add(target)
                notes.setdefault(target, []).append(f'Excludes1 at {where} "{note}"' if kind == "excludes1"
                                                    else f'"{label}" note at {where}')
    if not width:
        named = _named_by_title(release, code, category)
        if named is None:
            return None
        target, term = named
        return DiabetesLink(target, code, True, (f'{target} "{release.description(target)}" names "{term}" '
                                                 f'({code}); Index: Diabetes, with',))
    best = min(width.values())
    chosen = [c for c, w in width.items() if w == best]
    if len(chosen) != 1:
        return None
    target = chosen[0]
    return DiabetesLink(target, code, target in included, tuple(dict.fromkeys(notes[target])))


# What the note may say against the presumed link: the condition is due to something else.
_CAUSE = lazy_pattern(r"\b(?:due to|secondary to|caused by|because of|attributed to|result(?:ing)? (?:of|from)|"
                      r"related to|induced by)\b", re.I)
_CAUSE_END = lazy_pattern(r"[.;,:()]|\bbut\b|\bwith\b", re.I)
# Words naming another etiology right before the condition ("venous stasis ulcer", "alcoholic
# polyneuropathy"): the tabular's own alternatives to the diabetic code (L97's "code first" venous,
# varicose, atherosclerotic; L89 pressure; G62.0-G62.2 drug-induced, alcoholic, toxic). "Hypertensive"
# is not one: the classification presumes hypertension and diabetes both linked to CKD (I.C.9.a.2).
_OTHER_ETIOLOGY = frozenset({
    "venous", "stasis", "varicose", "arterial", "ischemic", "ischaemic", "atherosclerotic", "pressure",
    "decubitus", "traumatic", "alcoholic", "lupus", "polycystic", "idiopathic", "toxic", "hereditary",
    "congenital", "postphlebitic", "postthrombotic", "chemotherapy", "drug",
})
_DIABETES_WORDS = frozenset({"diabetes", "diabetic", "diabetics"})
# Description words that say nothing about where or what the condition is.
_VAGUE_WORDS = frozenset({"non", "pressure", "chronic", "acute", "unspecified", "severity", "other", "part",
                          "specified", "elsewhere", "classified", "diseases", "disease", "right", "left",
                          "bilateral", "with", "without", "limited", "breakdown", "stage"})


@dataclass
class LinkReading:
    linked: list[Sentence] = field(default_factory=list)  # the note ties the condition to diabetes
    elsewhere: list[Sentence] = field(default_factory=list)  # the note gives it another cause
    mentions: list[Sentence] = field(default_factory=list)  # sentences naming the condition


def read_link(ctx: CheckContext, link: DiabetesLink) -> LinkReading:
    """What the note says about the cause of the linked condition."""
    from vma.checks.support.axes.evidence import condition_mentions
    from vma.checks.support.axes.index import axis_index
    from vma.checks.support.axes.words import description_words

    release = ctx.icd
    note = ctx.note
    reading = LinkReading()
    anchors: dict[int, set[int]] = {}  # sentence index -> token indexes where the condition is named
    head = with_head(release, link.combination)
    mention_starts = {id(m.sentence): m.first for m in condition_mentions(note, axis_index(release), link.other,
                                                                            ctx.outpatient) if not m.negated}
    # The head noun alone ("ulcer") also names other conditions ("peptic ulcer"): it anchors a
    # sentence only beside a word of the coded condition's own description ("foot", "calf").
    own_words = set(description_words(release.description(link.other) or "")) - _VAGUE_WORDS - {head}
    for k, (sentence, words) in enumerate(note.tokenized):
        if sentence.section in HISTORY_SECTIONS:
            continue
        spots = set()
        if id(sentence) in mention_starts:
            spots.add(mention_starts[id(sentence)])
        if head and own_words & {w.norm for w in words}:
            spots.update(i for i, w in enumerate(words) if w.norm.startswith(head) and len(w.norm) <= len(head) + 5
                         and not is_negated_at(sentence.text, w.start))
        if spots:
            anchors[k] = spots
    for k, spots in anchors.items():
        sentence, words = note.tokenized[k]
        reading.mentions.append(sentence)
        text = sentence.text
        unrelated = _UNRELATED.search(text)
        if unrelated and _DIABETES.search(text, unrelated.start()):
            reading.elsewhere.append(sentence)  # "not due to diabetes", "unrelated to his diabetes"
            continue
        verdict = None
        for i in sorted(spots):
            before = {w.norm for w in words[max(0, i - 3):i]}
            if before & _DIABETES_WORDS:
                verdict = "linked"
                break
            cause = _CAUSE.search(text, words[i].start)
            if cause and cause.start() - words[i].end < 80:
                stop = _CAUSE_END.search(text, cause.end())
                clause = text[cause.end(): stop.start() if stop else len(text)]
                if not re.search(r"\bnot\s*$", text[:cause.start()], re.I):
                    verdict = "linked" if _DIABETES.search(clause) else "elsewhere"
                    break
            if before & _OTHER_ETIOLOGY and not re.search(r"\bnon-?\s*pressure\b", text, re.I):
                verdict = "elsewhere"
                break
        if verdict == "linked":
            reading.linked.append(sentence)
        elif verdict == "elsewhere":
            reading.elsewhere.append(sentence)
    return reading


def _other_causes_coded(release: IcdRelease, code: str, codes: list[str]) -> list[str]:
    """Other codes on the chart that the condition's own "code first" note names as possible causes.

    Hypertension (I10-I16) is not "another cause": the classification presumes both links for
    chronic kidney disease (I.C.9.a.2 and I.A.15). Gangrene is a complication, not a cause.
    """
    refs = [r for _, n in release.inherited_notes(code, "codeFirst") for r in note_code_refs(n)]
    return [other for other in codes
            if other != code and not diabetes_category(other)
            and not _starts(other, "I10", "I11", "I12", "I13", "I15", "I16", "I1A", "I96")
            and any(r.covers(other) for r in refs)]


def attributed_elsewhere(ctx: CheckContext, link: DiabetesLink, reading: LinkReading, codes: list[str]) -> bool:
    """The chart codes another cause of the condition (a code its "code first" note names) that
    either includes the condition itself (I87.311 "... with ulcer", I70.234 "... with ulceration")
    or that the note names in the same sentence as the condition ("hypothyroidism with
    polyneuropathy"). A cause merely present elsewhere on the chart (E78.5 under "metabolic
    diseases (E70-E88)") does not undo the "with" presumption."""
    from vma.checks.support.axes.evidence import condition_mentions
    from vma.checks.support.axes.index import axis_index
    from vma.checks.support.axes.words import description_words

    release = ctx.icd
    others = _other_causes_coded(release, link.other, codes)
    if not others:
        return False
    head = with_head(release, link.combination)
    mentioned = {id(s) for s in reading.mentions}
    for other in others:
        if head and any(w.startswith(head) for w in description_words(release.description(other) or "")):
            return True
        if any(id(m.sentence) in mentioned and m.counts
               for m in condition_mentions(ctx.note, axis_index(release), other, ctx.outpatient)):
            return True
    return False


def _diabetes_findings(ctx: CheckContext, codes: list[str], positions: list[int],
                       handled: set[str]) -> Iterator[Finding]:
    release = ctx.icd
    dm = [i for i, c in enumerate(codes) if diabetes_category(c)]
    categories = {diabetes_category(codes[i]) for i in dm}
    if not dm or len(categories) != 1:
        return  # no diabetes, or two types at once: the type must be settled first (excludes1)
    category = categories.pop()
    links: list[DiabetesLink] = []
    cited: list[Sentence] = []
    for j, code in enumerate(codes):
        link = diabetes_link(release, code, category)
        if link is None or link.combination in codes or any(link.combination == l.combination for l in links):
            continue
        siblings = release.siblings(link.combination)
        if any(c in siblings for c in codes if diabetes_category(c)):
            continue  # the coder chose another code of the same kind: the axis checks judge it
        reading = read_link(ctx, link)
        if reading.elsewhere and not reading.linked:
            continue  # the provider states another cause (I.A.15: "unless ... clearly states ... unrelated")
        if not reading.linked and attributed_elsewhere(ctx, link, reading, codes):
            continue
        links.append(link)
        cited.extend((reading.linked or [s for s in reading.mentions if s.section in ASSESSMENT_SECTIONS]
                      or reading.mentions)[:1])
    if not links:
        return
    targets = [l.combination for l in links]

    # The code to correct: "without complications", "unspecified complications" or a header above
    # the combination code (E11.6 for E11.621) is replaced; a specific diabetes code keeps its place
    # and the combination code is added beside it (Guideline I.C.4.a).
    def less_specific(code: str) -> bool:
        return code in (f"{category}.9", f"{category}.8") or (
            not release.is_billable(code) and any(t.startswith(code) for t in targets))

    at = next((i for i in dm if less_specific(codes[i])), dm[0])
    coded = codes[at]
    replaced = less_specific(coded)
    dropped = [l.other for l in links if l.included]
    handled.update(l.other for l in links)
    suggested = targets if replaced else [coded, *targets]
    where = sorted([positions[at]] + [positions[codes.index(c)] for c in dropped])
    linked_to = " and ".join(_label(release, l.other) for l in links)
    target_labels = " and ".join(_label(release, t) for t in targets)
    message = (f"{_label(release, coded)} is coded with {linked_to}; the classification presumes diabetes and "
               f"{'these conditions' if len(links) > 1 else 'this condition'} are linked (\"with\", "
               f"Guideline I.A.15), so ")
    if replaced:
        message += f"{coded} becomes {target_labels}"
    else:
        message += (f"{coded} stays and {target_labels} is added (Guideline I.C.4.a: as many diabetes codes as "
                    "the complications need)")
    clauses = []
    for l in links:
        if l.included:
            clauses.append(f"{l.other} is dropped, {l.combination} includes it")
        else:
            clauses.append(f"{l.other} stays, sequenced after {l.combination} as its additional code")
    message += "; " + "; ".join(clauses)
    message += " (tabular: " + "; ".join(dict.fromkeys(n for l in links for n in l.notes[:2])) + ")"
    message += ". No change if the provider documents that the condition is due to another cause."
    evidence = _evidence(ctx, codes, _DIABETES)
    extra = [cite(s) for s in dict.fromkeys(cited) if cite(s) not in evidence]
    yield Finding(check=CHECK_ID, action="correct", code=coded, message=message,
                  evidence="; ".join([evidence, *extra]), suggested_codes=suggested,
                  target="diagnosis:" + ",".join(str(p) for p in where))


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


def _manifestation_findings(ctx: CheckContext, codes: list[str], positions: list[int],
                            handled: set[str]) -> Iterator[Finding]:
    release = ctx.icd
    for i, code in enumerate(codes):
        if code in handled:
            continue
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
    handled: set[str] = set()  # codes a combination finding already accounts for
    combined += list(_diabetes_findings(ctx, codes, positions, handled))
    yield from combined
    # Codes a combination finding already brings in satisfy the notes that ask for them.
    planned = {c for f in combined for c in f.suggested_codes}
    yield from _additional_code_findings(ctx, codes, positions, planned)
    yield from _manifestation_findings(ctx, codes, positions, handled)


@register(CHECK_ID)
def check(ctx: CheckContext) -> list[Finding]:
    found = list(_findings(ctx))
    if not found:
        return found
    # No combination or additional code for a code the record does not keep (dropped by excludes1,
    # replaced by sex-age): E11.9 on a chart whose note states type 1 gets no Z79.4 beside it.
    removed = {f"diagnosis:{i}" for i in ctx.removed_positions()}
    # ... nor while the provider is asked which of two codes the patient has (the answer may drop it).
    for f in ctx.findings_of("excludes1"):
        if f.action == "query" and (f.target or "").startswith("diagnosis:"):
            removed |= {f"diagnosis:{part}" for part in f.target.split(":", 1)[1].split(",")}
    return _name_the_kept_code(ctx, [f for f in found if f.target not in removed])


def _name_the_kept_code(ctx: CheckContext, found: list[Finding]) -> list[Finding]:
    """An additional code goes beside the code the chart keeps: where this check's combination, or the
    axis checks' one-step refinement, replaces the code ("E11.9 becomes E11.22"), the suggestion and the
    message name that code, so applying every correction leaves E11.22 and Z79.84, not E11.9 again."""
    replaced = {f.target: f.suggested_codes[0] for f in found
                if f.action == "correct" and f.target and len(f.suggested_codes) == 1 and f.suggested_codes[0] != f.code}
    out = []
    for f in found:
        if f.action == "correct" and f.target and len(f.suggested_codes) > 1 and f.suggested_codes[0] == f.code:
            kept = replaced.get(f.target)
            if kept is None and f.code:
                d = decide(ctx.note, axis_index(ctx.icd), f.code, ctx.outpatient,
                           chart_codes(dx.code for dx in ctx.chart.diagnoses))
                if d is not None and d.action == "correct" and len(d.targets) == 1 and not d.seventh:
                    kept = d.targets[0]
            if kept and kept != f.code:
                f = f.model_copy(update={
                    "suggested_codes": [kept, *f.suggested_codes[1:]],
                    "message": f"{f.message} {f.code} itself is corrected to {_label(ctx.icd, kept)}; the additional "
                               f"code goes beside it."})
        out.append(f)
    return out
