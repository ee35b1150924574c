"""Sex and age: a diagnosis code that conflicts with the patient's sex or age.

What it finds
    A proposed ICD-10-CM code that the CMS Medicare Code Editor (MCE) limits
    to one sex (female-only: pregnancy chapter O00-O9A, female genital organs
    N70-N98, C51-C58 ...; male-only: N40-N53, C60-C63 ...) or to an age band
    (newborn age 0: Z38.-, Z05.-, Z00.11-; pediatric 0-17: Z00.12-; maternity
    9-64: O00-O9A, Z34.- ...; adult 15-124: Z00.0- ...), plus the tabular's
    own BMI age bands at Z68. The age is the patient's age in whole years on
    the date of service, from ``patient.birth_date``. The bands and lists are
    kept as tabular ranges in ``vma/reference/data/sex_age_edits.json`` with
    their source and release; nothing is hand-listed code by code.

Why it matters
    The MCE age edit treats such a code as "clinically and virtually
    impossible" for the age and returns the claim: either the code or the
    birth date is wrong, and either error follows the patient. A sex-specific
    code whose condition the note never documents is a code the record does
    not support, whatever the claim edits say.

Example
    Z00.129 (Encounter for routine child health examination without abnormal
    findings) for a patient aged 62 whose note records an annual exam:
    correct to Z00.00 (Encounter for general adult medical examination
    without abnormal findings). N97.9 (Female infertility, unspecified) on a
    male patient whose note documents an infertility work-up: correct to
    N46.9 (Male infertility, unspecified). O26.891 on a patient recorded as
    male whose note documents the pregnancy: info for the coder.

Resolution (correct, query or info)
    Age conflict: ``correct`` (error) when the tabular has a code of the same
    meaning for the patient's age band and the note does not document the
    age-specific condition (it never calls the visit a child's, an adult's
    ...). The counterpart is found in the tabular, not a hand list: another
    age-edited group of the same category whose band holds the patient's age
    (the only one), tied to the coded group by its description (the same
    words but the age words) or by an Excludes1 note naming the coded group
    by its age words ("general health check-up of infant or child
    (Z00.12.-)" at Z00.0); below it, the code that adds the same words to its
    group as the coded code does ("without abnormal findings": Z00.129 ->
    Z00.00), so the other axis is kept. Otherwise ``query`` (error) asking
    the provider to confirm the diagnosis, with the coded condition, "Other"
    and "Clinically undetermined" (a yes/no-style confirmation of a
    documented diagnosis is a compliant query). When the note states an age
    ("52-year-old") that differs from the birth date's and fits the code,
    the birth date is the likelier error: ``info`` (error) for the coder to
    have registration fix it, not a question to the provider.
    Chapter 16 perinatal codes after age 0: ``info`` (warning) when the note
    ties the condition to the perinatal period (Guideline I.C.16.a.4 keeps its
    code for life); when it does not, and the tabular sends only the newborn
    form to Chapter 16 from a code of the same condition (R17 "Excludes1:
    neonatal jaundice (P55, P57-P59)"), ``correct`` to that code; when the
    note names the condition's cause ("jaundice from Gilbert syndrome"),
    ``correct`` with no suggestion: the sign is integral to the cause, which
    is coded instead (I.B.4, I.B.5), and the newborn code is removed.
    Sex conflict: never a query (the patient's sex is settled by
    registration, not by asking the physician). ``info`` (warning) when the
    note documents the coded condition (its words, not negated, in any
    section, or the words of its organ), when the note describes the patient
    as of the code's sex (registration is then the likelier error), or when
    it records a transgender or intersex patient: CMS deactivated the MCE
    diagnosis sex-conflict edit from 2024-10-01 and such a code can be
    right. ``correct`` (error) when the note documents nothing of the coded
    condition: to the tabular's code of the same description with the other
    sex's word (N97.9 Female infertility -> N46.9 Male infertility) when the
    note documents that condition without the code's sex, else with no
    suggestion (the code is removed).
    Sexes other than M/F, and a missing or unreadable birth date or date of
    service, give no finding here (missing-element and invalid-date report
    those).

References
    CMS Medicare Code Editor, Definitions of Medicare Code Edits (ICD-10 MCE,
    v41-v43): edit 4 "Age conflict" (newborn 0, pediatric 0-17, maternity
    9-64, adult 15-124) and edit 5 "Sex conflict" (deactivated for diagnoses
    from 2024-10-01). ICD-10-CM Tabular List: Z00.0 and Z00.12 (adult and
    child health examinations, Excludes1 at Z00.0), the note at Z68 (BMI
    adult codes 20 years and older; pediatric 2-19). ICD-10-CM Official
    Guidelines FY2026 I.A.12.a (Excludes1: the two conditions are mutually
    exclusive), the introduction (code assignment rests on the provider's
    documentation) and IV.J (code the conditions documented for the
    encounter), I.C.15.a (Chapter 15 codes on maternal records only),
    I.C.16.a.1 and I.C.16.a.4 (Chapter 16 codes on newborn records; used
    throughout life when the condition persists), I.C.21.c.13 (routine
    examinations with and without abnormal findings). AHIMA/ACDIS Guidelines
    for Achieving a Compliant Query Practice (2022 update).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Iterator

from vma.checks.support.axes.evidence import condition_mentions
from vma.checks.support.axes.index import axis_index
from vma.checks.support.axes.wording import cite_all, condition_name
from vma.checks.support.axes.words import OPEN, RESIDUAL, description_words, same_word
from vma.chart import age_on
from vma.checks import CheckContext, parse_date, register
from vma.findings import Choice, Finding, query_choices
from vma.notes import Sentence, cite, is_negated_at
from vma.reference.icd10cm import CodeRef, IcdRelease, note_code_refs

CHECK_ID = "sex-age"
DATA_FILE = "sex_age_edits.json"


@dataclass(frozen=True)
class AgeEdit:
    category: str
    label: str
    min_age: int
    max_age: int
    refs: tuple[CodeRef, ...]
    lifelong_allowed: bool = False
    guideline: str = ""

    def covers(self, code: str) -> bool:
        return any(r.covers(code) for r in self.refs)


@dataclass(frozen=True)
class SexEdit:
    sex: str  # the only sex the code fits: "F" or "M"
    label: str
    refs: tuple[CodeRef, ...]

    def covers(self, code: str) -> bool:
        return any(r.covers(code) for r in self.refs)


@dataclass(frozen=True)
class SexAgeEdits:
    source: str
    release: str
    age: tuple[AgeEdit, ...]
    sex: tuple[SexEdit, ...]


def _refs(entries: list[str], where: str) -> tuple[CodeRef, ...]:
    out = []
    for entry in entries:
        found = note_code_refs(entry)
        if len(found) != 1:
            raise ValueError(f"{DATA_FILE}: {where}: cannot read code or range {entry!r}")
        out.append(found[0])
    return tuple(out)


def parse_edits(data: dict) -> SexAgeEdits:
    """The edit tables from their JSON layout; a malformed entry is an error naming it."""
    for key in ("source", "release", "age", "sex"):
        if key not in data:
            raise ValueError(f"{DATA_FILE}: missing field {key!r}")
    ages = []
    for i, row in enumerate(data["age"]):
        where = f"age[{i}]"
        try:
            ages.append(AgeEdit(row["category"], row["label"], int(row["min_age"]), int(row["max_age"]),
                                _refs(row["codes"], where), bool(row.get("lifelong_allowed", False)),
                                row.get("guideline", "")))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{DATA_FILE}: {where}: missing or wrong field {exc}") from None
    sexes = []
    for i, row in enumerate(data["sex"]):
        where = f"sex[{i}]"
        try:
            if row["sex"] not in ("F", "M"):
                raise ValueError(f"{DATA_FILE}: {where}.sex must be F or M")
            sexes.append(SexEdit(row["sex"], row["label"], _refs(row["codes"], where)))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{DATA_FILE}: {where}: missing or wrong field {exc}") from None
    return SexAgeEdits(data["source"], data["release"], tuple(ages), tuple(sexes))


@lru_cache(maxsize=1)
def load_edits() -> SexAgeEdits:
    text = resources.files("vma.reference").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return parse_edits(json.loads(text))


_SEX_VALUES = {"f": "F", "female": "F", "w": "F", "woman": "F", "m": "M", "male": "M", "man": "M"}
_SEX_NAMES = {"F": "female", "M": "male"}


def chart_sex(value: str | None) -> str | None:
    """F or M from the chart's sex field; other values (U, X, O, unknown) get no sex edit."""
    return _SEX_VALUES.get((value or "").strip().lower())


_STATED_AGE = re.compile(r"\b(\d{1,3})[-\s]?(?:year|yr)s?[-\s]?old\b|\b(\d{1,3})\s?(?:y/o|yo)\b", re.I)
_STATED_INFANT = re.compile(r"\b\d{1,2}[-\s](?:day|week|month)s?[-\s]old\b", re.I)
_STATED_SEX = re.compile(r"\b(male|female|man|woman|boy|girl|gentleman|lady)\b", re.I)
_SEX_WORDS = {"male": "M", "man": "M", "boy": "M", "gentleman": "M",
              "female": "F", "woman": "F", "girl": "F", "lady": "F"}


@dataclass(frozen=True)
class Stated:
    age: int | None
    sex: str | None
    sentence: object | None


def stated_demographics(ctx: CheckContext) -> Stated:
    """The age and sex the note states in its first "NN-year-old woman" style sentence."""
    for sentence in ctx.note.sentences:
        m = _STATED_AGE.search(sentence.text)
        infant = _STATED_INFANT.search(sentence.text)
        if not m and not infant:
            continue
        age = int(m.group(1) or m.group(2)) if m else 0
        sex_m = _STATED_SEX.search(sentence.text)
        sex = _SEX_WORDS[sex_m.group(1).lower()] if sex_m else None
        return Stated(age, sex, sentence)
    return Stated(None, None, None)


def _label(release: IcdRelease, code: str) -> str:
    return f"{release.description(code) or code} ({code})"


# -- the tabular: codes of the same meaning for another age band or the other sex -------------------

# Words by which tabular descriptions (and notes) name an age group: "routine child health
# examination" (Z00.12) against "general adult medical examination" (Z00.0).
AGE_WORDS = frozenset({"adult", "adults", "child", "children", "childhood", "infant", "infants", "newborn",
                       "newborns", "neonate", "neonatal", "pediatric", "paediatric", "juvenile", "adolescent",
                       "adolescents", "elderly", "senile"})
# Words by which descriptions name a sex; a code's counterpart swaps them ("Female infertility" N97 /
# "Male infertility" N46).
SEX_TERMS = {"female": "F", "woman": "F", "women": "F", "male": "M", "man": "M", "men": "M"}
_SEX_SWAP = {"female": "male", "male": "female", "woman": "man", "man": "woman", "women": "men", "men": "women"}
# Sections that state why the patient came and what was found at this visit.
_ENCOUNTER_SECTIONS = ("preamble", "chief_complaint", "hpi", "assessment", "plan", "procedure")


def _group_of(release: IcdRelease, edit: AgeEdit, code: str) -> str | None:
    """The tabular code (category or subcategory) by which the edit names the coded code; ranges give none."""
    for ref in edit.refs:
        if ref.covers(code):
            return ref.first if ref.first == ref.last and ref.first in release else None
    return None


def _words(release: IcdRelease, code: str) -> tuple[str, ...]:
    return axis_index(release).words(code)


def _group_age_words(release: IcdRelease, group: str) -> set[str]:
    """Age words of a group's description and inclusion terms, and of the codes beneath it."""
    texts = [release.description(group) or "", *release.notes(group, "inclusionTerm")]
    for d in release.descendants(group):
        texts.append(release.description(d) or "")
        texts.extend(release.notes(d, "inclusionTerm"))
    return {w for t in texts for w in description_words(t) if w in AGE_WORDS}


def _same_meaning(release: IcdRelease, coded: str, other: str) -> bool:
    """Two groups that the tabular separates by age only: the same description but the age words,
    or an Excludes1 note at one that names the other by its age words (Z00.0: "general health
    check-up of infant or child (Z00.12.-)")."""
    if set(_words(release, coded)) - AGE_WORDS == set(_words(release, other)) - AGE_WORDS:
        return True
    for at, named in ((coded, other), (other, coded)):
        ages = _group_age_words(release, named)
        for note in release.notes(at, "excludes1"):
            if any(r.covers(named) for r in note_code_refs(note)) and ages & set(description_words(note)):
                return True
    return False


def _same_axis(release: IcdRelease, group: str, code: str, other: str) -> str | None:
    """The billable code beneath ``other`` that adds to it what ``code`` adds to ``group``."""
    if code == group:
        return other if release.is_billable(other) else None
    added = set(_words(release, code)) - set(_words(release, group))
    head = set(_words(release, other))
    hits = [d for d in release.descendants(other)
            if release.is_billable(d) and set(_words(release, d)) - head == added]
    return hits[0] if len(hits) == 1 else None


def age_counterpart(release: IcdRelease, edits: SexAgeEdits, edit: AgeEdit, code: str,
                    ages: list[int]) -> tuple[str, AgeEdit] | None:
    """The code of the same meaning as ``code`` for the patient's age band, and that band's edit.

    Searched in the code's category among the groups the age edits name: exactly one whose band
    holds every age given (two, as Z00.11- and Z00.12- at age 0, leave it open), tied to the coded
    group by the tabular (see :func:`_same_meaning`), with the code that keeps the coded code's
    other axis beneath it. None when the tabular has no such code.
    """
    group = _group_of(release, edit, code)
    if group is None:
        return None
    found: list[tuple[str, AgeEdit]] = []
    for other in edits.age:
        if other is edit or other.lifelong_allowed or not all(other.min_age <= a <= other.max_age for a in ages):
            continue
        for ref in other.refs:
            if ref.first == ref.last and ref.first in release and ref.first[:3] == group[:3] \
                    and not ref.covers(code) and not ref.covers(group):
                found.append((ref.first, other))
    if len(found) != 1:
        return None
    other_group, other_edit = found[0]
    if not _same_meaning(release, group, other_group):
        return None
    target = _same_axis(release, group, code, other_group)
    return (target, other_edit) if target else None


_SEXED: dict[tuple[int, str], tuple[IcdRelease, dict[tuple[str, ...], list[str]]]] = {}


def _codes_in(release: IcdRelease, ref: CodeRef) -> list[str]:
    """Tabular codes a data-file entry holds, found through the categories its ends name."""
    lo, hi = ref.first[:3], ref.last[:3]
    cats = [lo] if lo == hi else [
        f"{lo[0]}{a}{b}" for a in "0123456789" for b in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        if lo <= f"{lo[0]}{a}{b}" <= hi] if lo[0] == hi[0] else []
    out = []
    for cat in cats:
        if cat not in release:
            continue
        for code in (cat, *release.descendants(cat)):
            if ref.covers(code):
                out.append(code)
    return out


def _billable_by_words(release: IcdRelease, edits: SexAgeEdits, sex: str) -> dict[tuple[str, ...], list[str]]:
    """Billable codes of one sex's list, keyed by their description words; built once per release."""
    held = _SEXED.get((id(release), sex))
    if held is not None and held[0] is release:
        return held[1]
    table: dict[tuple[str, ...], list[str]] = {}
    for edit in edits.sex:
        if edit.sex != sex:
            continue
        for ref in edit.refs:
            for code in _codes_in(release, ref):
                if release.is_billable(code):
                    table.setdefault(_words(release, code), []).append(code)
    _SEXED[(id(release), sex)] = (release, table)
    return table


def sex_counterpart(release: IcdRelease, edits: SexAgeEdits, code: str, sex: str) -> str | None:
    """The code of ``sex``'s list whose description is the coded one with the sex word swapped
    ("Female infertility, unspecified" N97.9 -> "Male infertility, unspecified" N46.9)."""
    words = _words(release, code)
    if not any(w in _SEX_SWAP for w in words):
        return None
    swapped = tuple(_SEX_SWAP.get(w, w) for w in words)
    hits = [c for c in dict.fromkeys(_billable_by_words(release, edits, sex).get(swapped, [])) if c != code]
    return hits[0] if len(hits) == 1 else None


# -- the note -----------------------------------------------------------------------------------------

def _age_group_stated(ctx: CheckContext, words: set[str]):
    """A sentence of this encounter (reason for visit, history of the illness, assessment) naming
    the coded code's age group ("well child visit"), not negated."""
    if not words:
        return None
    for sentence, toks in ctx.note.tokenized:
        if sentence.section not in _ENCOUNTER_SECTIONS:
            continue
        for t in toks:
            if any(same_word(t.norm, w) for w in words) and not is_negated_at(sentence.text, t.start):
                return sentence
    return None


_GENDER_IDENTITY = re.compile(
    r"\b(?:transgender|transsexual|trans[\s-](?:wom[ae]n|m[ae]n|male|female|patient|person)|trans(?:wom[ae]n|m[ae]n)|"
    r"gender[\s-](?:affirming|affirmation|dysphoria|identity|incongruence|reassignment|transition)|"
    r"non-?binary|intersex|differences? (?:of|in) sex(?:ual)? development|"
    r"assigned (?:male|female) at birth)\b", re.I)
_GENDER_IDENTITY_ABBREV = re.compile(r"\b(?:AFAB|AMAB|MTF|FTM|M2F|F2M)\b")


_PRONOUNS = {"he": "M", "him": "M", "his": "M", "himself": "M", "she": "F", "her": "F", "hers": "F", "herself": "F"}


def pronoun_sex(ctx: CheckContext):
    """(sex, first sentence) by which the note's own narrative refers to the patient ("she", "his"):
    the clear majority of personal pronouns in the encounter sections, or (None, None)."""
    counts = {"F": 0, "M": 0}
    first: dict[str, object] = {}
    for sentence, toks in ctx.note.tokenized:
        if sentence.section not in _ENCOUNTER_SECTIONS:
            continue
        for t in toks:
            sex = _PRONOUNS.get(t.norm)
            if sex is not None:
                counts[sex] += 1
                first.setdefault(sex, sentence)
    for sex, other in (("F", "M"), ("M", "F")):
        if counts[sex] >= 2 and counts[sex] > 2 * counts[other]:
            return sex, first[sex]
    return None, None


def _gender_identity(ctx: CheckContext):
    for sentence in ctx.note.sentences:
        if _GENDER_IDENTITY.search(sentence.text) or _GENDER_IDENTITY_ABBREV.search(sentence.text):
            return sentence
    return None


# idf of "cervix", "prostatic", "pap", "infertility" is 7.6-11.8 in the FY2026 tabular; "encounter",
# "malignant", "disease" stay below 6. A word this rare names the organ or the condition.
_RARE_WORD_IDF = 8.0


def _organ_words(release: IcdRelease, code: str) -> set[str]:
    """The rarer words of the code, its ancestors and the inclusion terms of the code and its
    parent ("prostatic", "cervix", "pap", "menopause"): a note using any of them touches the coded
    condition. Deliberately wide: it only keeps a finding at info."""
    index = axis_index(release)
    texts = [release.description(code) or ""]
    for owner in (code, release.parent(code)):
        if owner:
            texts.extend(release.notes(owner, "inclusionTerm"))
    texts.extend(release.description(a) or "" for a in release.ancestors(code))
    out = set()
    for text in texts:
        for w in description_words(text):
            if w in SEX_TERMS or w in RESIDUAL or w == OPEN or any(c.isdigit() for c in w) or len(w) < 3:
                continue
            if index.idf(w) >= _RARE_WORD_IDF:
                out.add(w)
    return out


def _touches(ctx: CheckContext, words: set[str]):
    """The first sentence using one of ``words`` not negated."""
    if not words:
        return None
    for sentence, toks in ctx.note.tokenized:
        for t in toks:
            if any(same_word(t.norm, w) for w in words) and not is_negated_at(sentence.text, t.start):
                return sentence
    return None


@dataclass(frozen=True)
class SexReading:
    documented: bool
    counterpart: str | None = None
    cited: tuple = ()


def _core_words(index, code: str) -> set[str]:
    words = [w for w in dict.fromkeys(index.words(code))
             if w not in SEX_TERMS and w not in RESIDUAL and w != OPEN and not any(c.isdigit() for c in w)]
    return set(sorted(words, key=index.idf, reverse=True)[:2])


def read_sex_specific(ctx: CheckContext, edits: SexAgeEdits, code: str, code_sex: str, patient_sex: str) -> SexReading:
    """Whether the note documents the sex-specific condition of ``code`` (its words not negated, in
    any section, or the rarer words of its organ), or, without the code's sex word, the condition
    of the counterpart code for the patient's recorded sex."""
    release = ctx.icd
    index = axis_index(release)
    # A mention documents the sex-specific condition only with one of the code's two rarest words
    # ("prostatic", "hyperplasia" of N40.1): "lower urinary tract symptoms" alone is half its words
    # by weight, and is documented of women too.
    core = _core_words(index, code)
    mentions = [m for m in condition_mentions(ctx.note, index, code, ctx.outpatient)
                if not m.negated and any(same_word(t.norm, w) for t in m.words for w in core)]
    counterpart = sex_counterpart(release, edits, code, patient_sex)
    if counterpart is not None:
        own_sex = {w for w in _words(release, code) if SEX_TERMS.get(w) == code_sex}
        sexed = [m for m in mentions
                 if any(same_word(t.norm, w) for t in m.words for w in own_sex)
                 and not any(is_negated_at(m.sentence.text, t.start) for t in m.words
                             if any(same_word(t.norm, w) for w in own_sex))]
        if sexed:
            return SexReading(True, cited=tuple(m.sentence for m in sexed))
        other = [m for m in condition_mentions(ctx.note, index, counterpart, ctx.outpatient) if m.counts]
        if other:
            return SexReading(False, counterpart, tuple(m.sentence for m in other))
    if mentions:
        return SexReading(True, cited=tuple(m.sentence for m in mentions))
    touched = _touches(ctx, _organ_words(release, code))
    if touched is not None:
        return SexReading(True, cited=(touched,))
    return SexReading(False)


# -- findings -----------------------------------------------------------------------------------------

def _on_chart(ctx: CheckContext, code: str) -> bool:
    return any(dx.code == code for dx in ctx.chart.diagnoses)


def _a(label: str) -> str:
    return f"{'an' if label[:1].lower() in 'aeiou' else 'a'} {label}"


def _band(edit: AgeEdit) -> str:
    return f"ages {edit.min_age}-{edit.max_age}" if edit.max_age > edit.min_age else f"age {edit.min_age}"


def _kept_detail(release: IcdRelease, group: str, code: str) -> str:
    """What the code adds to its group, in the tabular's words ("without abnormal findings")."""
    head, full = release.description(group) or "", release.description(code) or ""
    if code != group and full.lower().startswith(head.lower()):
        return full[len(head):].strip(" ,")
    return ""


# Words that make a condition the newborn's; what is left names the condition at any age.
_PERINATAL_WORDS = frozenset({"neonatal", "newborn", "perinatal", "neonate", "fetal", "fetus", "infant", "birth"})
# The note ties the condition to the perinatal period: then Guideline I.C.16.a.4 keeps the code for life.
_SINCE_BIRTH = re.compile(r"\b(?:since birth|from birth|at birth|born with|congenital\w*|neonatal|newborn|perinatal|"
                          r"as an? (?:infant|newborn|baby|neonate)|in infancy|prematur\w*|preterm)\b", re.I)


def _outside_perinatal_period(ctx: CheckContext, code: str):
    """For a Chapter 16 code on a patient past the newborn period whose note does not tie the
    condition to the perinatal period: the code of the same condition at any age, found where the
    tabular sends the newborn form away (R17 "Excludes1: neonatal jaundice (P55, P57-P59)"), when the
    note documents that condition. (counterpart, the Excludes1 note, cited sentences) or None."""
    release = ctx.icd
    index = axis_index(release)
    if any(_SINCE_BIRTH.search(s.text) and not is_negated_at(s.text, _SINCE_BIRTH.search(s.text).start())
           for s in ctx.note.sentences):
        return None
    own = set(description_words(release.description(code) or "")) - _PERINATAL_WORDS - {OPEN}
    if not own:
        return None
    best = None
    for owner, note, refs in release.excludes1_refs():
        if owner.startswith("P") or not any(ref.covers(code) for ref in refs):
            continue
        if not release.is_billable(owner):
            continue
        words = set(description_words(release.description(owner) or "")) - {OPEN}
        if not own <= words or words - own:
            continue  # not the same condition in its words
        best = best or (owner, note)
    if best is None:
        return None
    cited = [m.sentence for m in condition_mentions(ctx.note, index, best[0], ctx.outpatient) if m.counts]
    return (best[0], best[1], cited) if cited else None


# "Jaundice from Gilbert syndrome", "obstructive jaundice due to choledocholithiasis": the cause the note names.
_CAUSE = re.compile(r"\b(?:due to|from|secondary to|caused by|because of|attributed to|related to)\s+"
                    r"(?!(?:an? |the )?(?:unknown|unclear|undetermined|uncertain|unexplained)\b)"
                    r"((?:[A-Za-z][\w'-]*\s?){1,5})", re.I)
_CAUSE_END = re.compile(r"\s+(?:and|with|on|in|for|since|after|which)\b.*$", re.I)


def _stated_cause(sentences: list[Sentence]) -> str | None:
    for sentence in sentences:
        m = _CAUSE.search(sentence.text)
        if m and not is_negated_at(sentence.text, m.start()):
            return _CAUSE_END.sub("", m.group(1)).strip()
    return None


def _age_findings(ctx: CheckContext, edits: SexAgeEdits, age: int, stated: Stated) -> Iterator[Finding]:
    release = ctx.icd
    for position, dx, _ in ctx.known_diagnoses():
        for edit in edits.age:
            if not edit.covers(dx.code) or edit.min_age <= age <= edit.max_age:
                continue
            band = _band(edit)
            what = f"{dx.code} ({release.description(dx.code)}) is {_a(edit.label)} ({band})"
            target = f"diagnosis:{position}"
            if edit.lifelong_allowed:
                adult = _outside_perinatal_period(ctx, dx.code)
                cause = _stated_cause(adult[2]) if adult is not None else None
                if cause is not None:
                    counterpart, excluding, cited = adult
                    yield Finding(check=CHECK_ID, action="correct", code=dx.code,
                                  message=(f"{what}, and the patient is {age} on the date of service; the note "
                                           "describes the condition without tying it to the perinatal period "
                                           f"(Guideline I.C.16.a.4), and attributes it to {cause}: a sign integral to "
                                           f"the condition the note names is not coded beside it (Guidelines I.B.4, "
                                           f"I.B.5), so {dx.code} is removed, not turned into {counterpart}, and "
                                           f"{cause} is coded."),
                                  evidence=f"patient.birth_date {ctx.chart.patient.birth_date} (age {age}); "
                                           f"{cite_all(cited)}",
                                  suggested_codes=[], target=target)
                    break
                if adult is not None:
                    counterpart, excluding, cited = adult
                    yield Finding(check=CHECK_ID, action="correct", code=dx.code,
                                  message=(f"{what}, and the patient is {age} on the date of service; the note "
                                           "describes the condition without tying it to the perinatal period, so "
                                           f"the code is {counterpart} ({release.description(counterpart)}), whose "
                                           f"Excludes1 note sends only the newborn form to Chapter 16 "
                                           f"(\"{excluding}\"; Guideline I.C.16.a.4)."),
                                  evidence=f"patient.birth_date {ctx.chart.patient.birth_date} (age {age}); "
                                           f"{cite_all(cited)}",
                                  suggested_codes=[counterpart], target=target)
                    break
                yield Finding(check=CHECK_ID, action="info", severity="warning", code=dx.code,
                              message=(f"{what}, and the patient is {age} on the date of service. "
                                       f"{edit.guideline} Confirm the note documents the condition as "
                                       "continuing from the perinatal period."), target=target)
                break
            evidence = f"patient.birth_date {ctx.chart.patient.birth_date}, date of service " \
                       f"{ctx.chart.encounter.date_of_service} (age {age})"
            if stated.age is not None and stated.age != age and edit.min_age <= stated.age <= edit.max_age:
                yield Finding(check=CHECK_ID, action="info", severity="error", code=dx.code,
                              message=(f"{what}; the birth date gives age {age}, but the note states the patient "
                                       f"is {stated.age}. The birth date on the chart is the likelier error: "
                                       "have registration correct it."),
                              evidence=f"{evidence}; {cite(stated.sentence)}", target=target)
                break
            if stated.sentence is not None:
                evidence += f"; {cite(stated.sentence)}"
            correction = _age_correction(ctx, edits, edit, dx.code, age, stated)
            if correction is not None:
                target_code, other_edit, cited = correction
                group = _group_of(release, edit, dx.code) or dx.code
                kept = _kept_detail(release, group, dx.code)
                keeps = f" (the coded detail \"{kept}\" is kept)" if kept else ""
                if cited is not None and cited is not stated.sentence:
                    evidence += f"; {cite(cited)}"
                listed = _on_chart(ctx, target_code)
                fix = f"it is already on the chart: remove {dx.code}" if listed else \
                    f"report it instead of {dx.code}{keeps}"
                yield Finding(check=CHECK_ID, action="correct", severity="error", code=dx.code,
                              message=(f"{what}, and the patient is {age} on the date of service; nothing in the note "
                                       f"places the encounter in that age band. The code of the same meaning for "
                                       f"{_band(other_edit)} is {target_code} ({release.description(target_code)}): "
                                       f"{fix}."),
                              evidence=evidence, suggested_codes=[] if listed else [target_code], target=target)
                break
            question = (f"The chart lists {release.description(dx.code)} ({dx.code}) for a patient aged {age} on "
                        f"the date of service; the code is defined for {band}. Which diagnosis does your "
                        "documentation support for this encounter?")
            yield Finding(check=CHECK_ID, action="query", severity="error", code=dx.code,
                          message=f"{what}, and the patient is {age} on the date of service.",
                          evidence=evidence, question=question,
                          choices=query_choices([Choice(label=_label(release, dx.code), codes=[dx.code],
                                                        kind="confirm")]),
                          target=target)
            break  # one age finding per code, from the first band that fails


def _age_correction(ctx: CheckContext, edits: SexAgeEdits, edit: AgeEdit, code: str, age: int, stated: Stated):
    """(counterpart code, its edit, a sentence naming the visit) when the record decides the fix."""
    release = ctx.icd
    ages = [age] if stated.age is None or stated.age == age else [age, stated.age]
    found = age_counterpart(release, edits, edit, code, ages)
    if found is None:
        return None
    group = _group_of(release, edit, code)
    if group is None or _age_group_stated(ctx, _group_age_words(release, group)) is not None:
        return None  # the note calls the visit the coded age group's: only the provider can settle it
    target_code, other_edit = found
    index = axis_index(release)
    mentions = [m for m in condition_mentions(ctx.note, index, target_code, ctx.outpatient) if m.counts]
    cited = mentions[0].sentence if mentions else None
    if cited is None:
        reason = [s for s in ctx.note.sentences if s.section == "chief_complaint"]
        cited = reason[0] if reason else None
    return target_code, other_edit, cited


def _sex_findings(ctx: CheckContext, edits: SexAgeEdits, sex: str, stated: Stated) -> Iterator[Finding]:
    release = ctx.icd
    for position, dx, _ in ctx.known_diagnoses():
        for edit in edits.sex:
            if edit.sex == sex or not edit.covers(dx.code):
                continue
            what = f"{dx.code} ({release.description(dx.code)}) is {_a(edit.label)}"
            message = f"{what}, and the patient's sex on the chart is {_SEX_NAMES[sex]}."
            evidence = f"patient.sex {ctx.chart.patient.sex}"
            target = f"diagnosis:{position}"
            described, described_in = (stated.sex, stated.sentence) if stated.sex else pronoun_sex(ctx)
            if described == edit.sex:
                message += (f" The note describes the patient as {_SEX_NAMES[edit.sex]}: check the sex recorded "
                            "at registration.")
                evidence += f"; {cite(described_in)}"
                yield Finding(check=CHECK_ID, action="info", severity="warning", code=dx.code, message=message,
                              evidence=evidence, target=target)
                break
            identity = _gender_identity(ctx)
            reading = SexReading(True, cited=(identity,)) if identity is not None else \
                read_sex_specific(ctx, edits, dx.code, edit.sex, sex)
            if reading.documented:
                message += (" The note documents the condition; CMS no longer applies this edit to diagnoses "
                            "(MCE, from 2024-10-01) and the code may be right (for example for a transgender "
                            "patient): confirm the code and the recorded sex.")
                if reading.cited:
                    evidence += f"; {cite_all(list(reading.cited))}"
                yield Finding(check=CHECK_ID, action="info", severity="warning", code=dx.code, message=message,
                              evidence=evidence, target=target)
                break
            if described == sex:
                evidence += f"; {cite(described_in)}"
            condition = re.sub(r"^encounter for\s+", "", condition_name(release.description(dx.code) or dx.code))
            if reading.counterpart:
                evidence += f"; {cite_all(list(reading.cited))}"
                listed = _on_chart(ctx, reading.counterpart)
                fix = f", which is already on the chart: remove {dx.code}" if listed else f" instead of {dx.code}"
                message = (f"{what}, the patient's sex on the chart is {_SEX_NAMES[sex]}, and the note documents "
                           f"the condition without the {_SEX_NAMES[edit.sex]}-specific part of the code: "
                           f"report {reading.counterpart} ({release.description(reading.counterpart)}){fix}.")
                suggested = [] if listed else [reading.counterpart]
            else:
                message = (f"{what}, the patient's sex on the chart is {_SEX_NAMES[sex]}, and the note documents "
                           f"nothing of {condition}: the record does not support {dx.code}; remove it, or code "
                           "the condition the note documents.")
                suggested = []
            yield Finding(check=CHECK_ID, action="correct", severity="error", code=dx.code, message=message,
                          evidence=evidence, suggested_codes=suggested, target=target)
            break


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    if not ctx.chart.diagnoses:
        return
    edits = load_edits()
    stated = stated_demographics(ctx)
    birth = parse_date(ctx.chart.patient.birth_date)
    dos = ctx.dos
    if birth is not None and dos is not None and birth <= dos:
        yield from _age_findings(ctx, edits, age_on(birth, dos), stated)
    sex = chart_sex(ctx.chart.patient.sex)
    if sex is not None:
        yield from _sex_findings(ctx, edits, sex, stated)


@register(CHECK_ID)
def check(ctx: CheckContext) -> list[Finding]:
    return list(_findings(ctx))
