"""What the chart's codes and the note say for combination coding: the hypertension picture (Guideline I.C.9.a), insulin and other diabetes drugs, CKD stage, heart failure type."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterator

from vma.checks import CheckContext
from vma.checks.support.notes.document import NoteDoc, Sentence, cite
from vma.checks.support.notes.patterns import _folds_onto_ascii, lazy_pattern, lower_case_pattern
from vma.checks.support.notes.words import ASSESSMENT_SECTIONS, is_negated_at, is_past_or_planned, is_uncertain_at
from vma.checks.support.scan import gated
from vma.findings import Finding
from vma.reference.icd10cm import IcdRelease, note_code_refs

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


@lru_cache(maxsize=4096)  # by code
def _code_picture(code: str) -> tuple[bool, bool, bool, bool, bool]:
    """What one code tells of the hypertension picture: hypertension, heart failure, heart disease, kidney
    disease, stage 5 or end-stage kidney disease."""
    return (_starts(code, "I10", "I11", "I12", "I13"),
            _starts(code, "I50") or code in ("I11.0", "I13.0", "I13.2"),
            code in HEART_NO_FAILURE or _starts(code, "I11", "I13"),
            _starts(code, "N18", "I12", "I13"),
            code in STAGE5 or code in ("I12.0", "I13.11", "I13.2"))


def picture(codes: list[str]) -> HypertensionPicture:
    p = HypertensionPicture()
    for i, code in enumerate(codes):
        hypertension, heart_failure, heart_disease, kidney, kidney_stage5 = _code_picture(code)
        if hypertension:
            p.hypertension.append(i)
        p.heart_failure = p.heart_failure or heart_failure
        p.heart_disease = p.heart_disease or heart_disease
        p.kidney = p.kidney or kidney
        p.kidney_stage5 = p.kidney_stage5 or kidney_stage5
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
    for s in gated(ctx.note, fast, sections):
        m = fast.search(s.text)
        if not m:
            continue
        if is_negated_at(s.text, m.start()) or (ctx.outpatient and is_uncertain_at(s.text, m.start())):
            continue
        if exclude is not None and exclude.search(s.text):
            continue
        out.append(s)
    return out


# ASCII letters lower-cased, every other byte a space (a character outside ASCII encodes to one "?").
_LETTER_BYTES = bytes(c | 0x20 if 65 <= c <= 90 else c if 97 <= c <= 122 else 32 for c in range(256))


def _letter_runs(note: NoteDoc) -> str | None:
    """The note's sentences as runs of lower-cased ASCII letters, each run a space before it; None when re.I may match
    an ASCII letter of a pattern to another character of the note. A pattern's word that stands between word
    boundaries in a sentence is one of these runs: a character that is not a word character is not a letter, and
    sentences are kept apart."""
    key = "combination.letter_runs"
    if key in note.memo:
        return note.memo[key]
    joined = " ".join(s.text for s in note.sentences)
    runs = None
    if not _folds_onto_ascii(joined):
        runs = " " + joined.encode("ascii", "replace").translate(_LETTER_BYTES).decode("ascii")
    note.memo[key] = runs
    return runs


def _letter_words(note: NoteDoc, runs: str) -> frozenset[str]:
    """Those of the note's runs (``runs``, see _letter_runs) that are among _ASKED_WORDS: picked out of the note's
    hundreds, they cost less than a set of them all."""
    key = "combination.letter_words"
    found = note.memo.get(key)
    if found is None:
        found = note.memo[key] = _ASKED_WORDS.intersection(runs.split())
    return found


# Up to this many words and starts are looked for in a note's runs one by one before its words are read (see
# _may_state): a search for each costs less than splitting the note into words, for a few.
_FEW = 10


def _may_state(note: NoteDoc, words: frozenset[str], starts: tuple[str, ...] = ()) -> bool:
    """Whether a pattern each of whose matches holds one of ``words`` as a whole word, or a word beginning with one of
    ``starts``, may match some sentence of the note: most notes name no drug of a list, and one look at the note's
    words settles that instead of a search for each name."""
    runs = _letter_runs(note)
    if runs is None:
        return True
    if ("combination.letter_words" not in note.memo and len(words) + len(starts) <= _FEW
            and not any(w in runs for w in words) and not any(start in runs for start in starts)):
        return False  # a run that is one of the words, or begins with a start, holds it
    if not words <= _ASKED_WORDS:
        return not words.isdisjoint(runs.split()) or any(" " + start in runs for start in starts)
    return not _letter_words(note, runs).isdisjoint(words) or any(" " + start in runs for start in starts)


# Sections where current medications and plans are stated; past history is not current use.
_CURRENT = ("medications", "assessment", "plan", "hpi", "preamble", "procedure", "instructions")

_INSULIN_NAMES = ("insulin", "glargine", "lantus", "basaglar", "toujeo", "semglee", "levemir", "detemir", "degludec",
                  "tresiba", "humalog", "lispro", "novolog", "aspart", "fiasp", "apidra", "glulisine", "humulin", "novolin",
                  "nph")
_INSULIN = lazy_pattern(rf"\b(?:{'|'.join(_INSULIN_NAMES)})\b", re.I)
# Guideline I.C.4.a.3: no Z79.4 for insulin given temporarily to bring blood sugar under control.
_TEMPORARY_INSULIN = lazy_pattern(r"\b(?:sliding[- ]scale|temporar\w*|one[- ]time|correction(?:al)? (?:scale|dose)|"
                                  r"while (?:inpatient|hospitali[sz]ed|admitted)|in clinic today|stat dose)\b", re.I)
_ORAL_ANTIDIABETIC_NAMES = ("metformin", "glucophage", "glipizide", "glyburide", "glimepiride", "pioglitazone",
                            "sitagliptin", "januvia", "janumet", "saxagliptin", "linagliptin", "tradjenta", "alogliptin",
                            "empagliflozin", "jardiance", "dapagliflozin", "farxiga", "canagliflozin", "invokana",
                            "ertugliflozin", "repaglinide", "nateglinide", "rybelsus")
_ORAL_ANTIDIABETIC = lazy_pattern(rf"\b(?:{'|'.join(_ORAL_ANTIDIABETIC_NAMES)}|oral semaglutide|"
                                  r"oral (?:hypoglycemic|antidiabetic|diabetes) (?:agents?|drugs?|medications?))\b", re.I)
# Weight-management brands (Wegovy, Zepbound) are not diabetes control and are left out on purpose.
_INJECTABLE_NON_INSULIN_NAMES = ("liraglutide", "victoza", "dulaglutide", "trulicity", "ozempic", "exenatide",
                                 "byetta", "bydureon", "tirzepatide", "mounjaro", "pramlintide", "symlin")
_INJECTABLE_NON_INSULIN = lazy_pattern(rf"\b(?:{'|'.join(_INJECTABLE_NON_INSULIN_NAMES)}|"
                                       r"(?<!oral )semaglutide(?= (?:injection|weekly|\d+(?:\.\d+)? ?mg (?:sc|subq|weekly))))\b",
                                       re.I)
# A word every match of each drug pattern holds (see _may_state).
_INSULIN_WORDS = frozenset(_INSULIN_NAMES)
_ORAL_ANTIDIABETIC_WORDS = frozenset((*_ORAL_ANTIDIABETIC_NAMES, "oral"))
_INJECTABLE_NON_INSULIN_WORDS = frozenset((*_INJECTABLE_NON_INSULIN_NAMES, "semaglutide"))
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
    if not _may_state(ctx.note, _INSULIN_WORDS):
        return None
    hits = _affirmed(ctx, _INSULIN, _TEMPORARY_INSULIN, _CURRENT)
    hits = [s for s in hits if not _STOPPED.search(s.text)]
    return Documented("Z79.4", tuple(hits)) if hits else None


def oral_antidiabetic_use(ctx: CheckContext) -> Documented | None:
    # current use only (I.C.4.a.3): "initially on metformin, now needs insulin" is no metformin today
    if not _may_state(ctx.note, _ORAL_ANTIDIABETIC_WORDS):
        return None
    hits = [s for s in _affirmed(ctx, _ORAL_ANTIDIABETIC, None, _CURRENT)
            if (not _STOPPED.search(s.text) or re.search(r"\bresume\b", s.text, re.I))
            and not all(is_past_or_planned(s.text, m.start()) for m in _ORAL_ANTIDIABETIC.finditer(s.text))]
    return Documented("Z79.84", tuple(hits)) if hits else None


def injectable_non_insulin_use(ctx: CheckContext) -> Documented | None:
    if not _may_state(ctx.note, _INJECTABLE_NON_INSULIN_WORDS):
        return None
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
# Every code each detector may return: a "use additional code" note naming none of them needs no reading of
# the note for it (see detectors_for).
DETECTOR_CODES: dict[Callable[[CheckContext], Documented | None], tuple[str, ...]] = {
    insulin_use: ("Z79.4",),
    oral_antidiabetic_use: ("Z79.84",),
    injectable_non_insulin_use: ("Z79.85",),
    ckd_stage: (*_STAGE_CODE.values(), "N18.6", "N18.9"),
    heart_failure_type: ("I50.9", *(f"I50.{kind}{acuity}" for kind in "234" for acuity in "0123")),
}


@lru_cache(maxsize=1024)  # by the tabular note's text (reference data, never a chart's)
def detectors_for(note: str) -> tuple[Callable[[CheckContext], Documented | None], ...]:
    """The detectors, in order, one of whose codes the note's references cover."""
    refs = note_code_refs(note)
    return tuple(fn for fn in DETECTORS
                 if fn not in DETECTOR_CODES or any(r.covers(c) for r in refs for c in DETECTOR_CODES[fn]))

_SMOKING = lazy_pattern(r"\b(?:current(?:ly)? smok\w*|smokes|smoker|smoking \d|\d+(?:\.\d+)? ?(?:ppd|packs? (?:per|a) day)|"
                        r"cigarettes? (?:daily|per day|a day)|vap(?:es|ing)|chews tobacco|tobacco use)\b", re.I)
# Every match holds one of these words, or a word beginning "smok" (see _may_state).
_SMOKING_WORDS = frozenset(("ppd", "pack", "packs", "cigarette", "cigarettes", "vapes", "vaping", "tobacco"))
_SMOKING_STARTS = ("smok",)
# Every word the checks ask _may_state about: the only runs of a note _letter_words keeps.
_ASKED_WORDS = _INSULIN_WORDS | _ORAL_ANTIDIABETIC_WORDS | _INJECTABLE_NON_INSULIN_WORDS | _SMOKING_WORDS
_NOT_SMOKING_NOW = lazy_pattern(r"\b(?:former|ex-?|quit|previous|past|never)\b|\bnon-?smok", re.I)
TOBACCO_REFS = ("F17", "Z72.0", "Z87.891")


# -- the findings ---------------------------------------------------------------------------

def _label(release: IcdRelease, code: str) -> str:
    return f"{code} ({release.description(code) or code})"


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
