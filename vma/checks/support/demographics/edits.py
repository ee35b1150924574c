"""The CMS sex and age edits and what the tabular says of a code's counterparts: the code of the other sex, or of the patient's age group, that says the same."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

from vma.checks import CheckContext
from vma.checks.support.axes.index import axis_index
from vma.checks.support.axes.words import description_words
from vma.compiled_patterns import compile_pattern
from vma.reference import DATA
from vma.reference.icd10cm import CodeRef, IcdRelease, note_code_refs, per_release

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
    # code -> the edits covering it, in order: each chart's codes are otherwise tried against every range
    _covering: dict = field(default_factory=dict, repr=False, compare=False)
    # a code's first letter -> the edits with a range that may hold a code of that letter, in order
    _by_letter: dict = field(default_factory=dict, repr=False, compare=False)

    def covering(self, code: str) -> tuple[tuple[AgeEdit, ...], tuple[SexEdit, ...]]:
        """The age edits and the sex edits whose ranges hold ``code``."""
        found = self._covering.get(code)
        if found is None:
            ages, sexes = self._of_letter(code[:1])
            found = self._covering[code] = (tuple(e for e in ages if e.covers(code)),
                                            tuple(e for e in sexes if e.covers(code)))
        return found

    def _of_letter(self, letter: str) -> tuple[tuple[AgeEdit, ...], tuple[SexEdit, ...]]:
        """The edits that may hold a code beginning with ``letter``: a range holds only codes whose first
        letter lies between its ends' (a code compares with an end from its first character on), so a code
        of another letter is not tried against the rest, the sex edits' 26 ranges above all."""
        found = self._by_letter.get(letter)
        if found is None:
            def may_hold(edit) -> bool:
                return any(r.first[:1] <= letter <= r.last[:1] for r in edit.refs)

            found = self._by_letter[letter] = (tuple(filter(may_hold, self.age)), tuple(filter(may_hold, self.sex)))
        return found


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
    text = (DATA / DATA_FILE).read_text(encoding="utf-8")
    return parse_edits(json.loads(text))


_SEX_VALUES = {"f": "F", "female": "F", "w": "F", "woman": "F", "m": "M", "male": "M", "man": "M"}
_SEX_NAMES = {"F": "female", "M": "male"}


def chart_sex(value: str | None) -> str | None:
    """F or M from the chart's sex field; other values (U, X, O, unknown) get no sex edit."""
    return _SEX_VALUES.get((value or "").strip().lower())


# Every match of _STATED_AGE or _STATED_INFANT holds "old", "yo" or "y/o", and so does the sentence lower-cased
# (re.I folds no other character onto these letters): the patterns are searched only where one of them stands.
_STATED_AGE = compile_pattern(r"\b(\d{1,3})[-\s]?(?:year|yr)s?[-\s]?old\b|\b(\d{1,3})\s?(?:y/o|yo)\b", re.I)
_STATED_INFANT = compile_pattern(r"\b\d{1,2}[-\s](?:day|week|month)s?[-\s]old\b", re.I)
_STATED_SEX = compile_pattern(r"\b(male|female|man|woman|boy|girl|gentleman|lady)\b", re.I)
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
        low = sentence.text.lower()
        if "old" not in low and "yo" not in low and "y/o" not in low:
            continue
        m = _STATED_AGE.search(sentence.text)
        # An infant's age is read only where no age in years stands, and holds "day", "week" or "month".
        if not m and not (("day" in low or "week" in low or "month" in low) and _STATED_INFANT.search(sentence.text)):
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


@per_release
def _tabular_facts(release: IcdRelease) -> dict[tuple, object]:
    """What the tabular says of a group or a pair of codes, read once per release: the same for every chart."""
    return {}


def _group_age_words(release: IcdRelease, group: str) -> frozenset[str]:
    """Age words of a group's description and inclusion terms, and of the codes beneath it."""
    held = _tabular_facts(release)
    key = ("age words", group)
    found = held.get(key)
    if found is None:
        texts = [release.description(group) or "", *release.notes(group, "inclusionTerm")]
        for d in release.descendants(group):
            texts.append(release.description(d) or "")
            texts.extend(release.notes(d, "inclusionTerm"))
        found = held[key] = frozenset(w for t in texts for w in description_words(t) if w in AGE_WORDS)
    return found


def _same_meaning(release: IcdRelease, coded: str, other: str) -> bool:
    """Two groups that the tabular separates by age only: the same description but the age words,
    or an Excludes1 note at one that names the other by its age words (Z00.0: "general health
    check-up of infant or child (Z00.12.-)")."""
    held = _tabular_facts(release)
    key = ("same meaning", coded, other)
    if key not in held:
        held[key] = _read_same_meaning(release, coded, other)
    return held[key]


def _read_same_meaning(release: IcdRelease, coded: str, other: str) -> bool:
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
    held = _tabular_facts(release)
    key = ("same axis", group, code, other)
    if key not in held:
        held[key] = _read_same_axis(release, group, code, other)
    return held[key]


def _read_same_axis(release: IcdRelease, group: str, code: str, other: str) -> str | None:
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
