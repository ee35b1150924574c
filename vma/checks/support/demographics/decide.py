"""What the note says of the patient's sex and age group, and the sex-age findings of a chart."""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from typing import Iterator

from vma.chart import age_on
from vma.checks import CheckContext, parse_date
from vma.checks.support.axes.evidence import condition_mentions
from vma.checks.support.axes.index import DERIVED_FORMAT, axis_index
from vma.checks.support.axes.wording import cite_all, condition_name
from vma.checks.support.axes.words import OPEN, RESIDUAL, description_words, same_word
from vma.checks.support.demographics.edits import (
    _ENCOUNTER_SECTIONS,
    _SEX_NAMES,
    CHECK_ID,
    SEX_TERMS,
    AgeEdit,
    SexAgeEdits,
    Stated,
    _group_age_words,
    _group_of,
    _label,
    _words,
    age_counterpart,
    chart_sex,
    load_edits,
    sex_counterpart,
    stated_demographics,
)
from vma.checks.support.notes.document import Sentence, cite
from vma.checks.support.notes.words import is_negated_at
from vma.compiled_patterns import compile_pattern
from vma.findings import Choice, Finding, query_choices
from vma.reference.icd10cm import IcdRelease, per_release

# -- the note -----------------------------------------------------------------------------------------

def _age_group_stated(ctx: CheckContext, words: set[str]):
    """A sentence of this encounter (reason for visit, history of the illness, assessment) naming
    the coded code's age group ("well child visit"), not negated."""
    if not words:
        return None
    note = ctx.note
    return _first_naming(note, [i for i, s in enumerate(note.sentences) if s.section in _ENCOUNTER_SECTIONS], words)


def _first_naming(note, indexes, words: set[str]):
    """The first of the note's sentences at ``indexes`` with a word that is one of ``words`` and not negated.
    Their words are read from the note's normalised words (those of its tokens, in order), and a sentence is
    tokenised only for where such a word stands: most sentences name none."""
    firsts = _first_letters(words)
    norms_of = note.word_norms
    for i in indexes:
        for j, norm in enumerate(norms_of[i]):
            if norm[:1] in firsts and any(same_word(norm, w) for w in words):
                sentence, toks = note.tokenized[i]
                if not is_negated_at(sentence.text, toks[j].start):
                    return sentence
    return None


def _first_letters(words) -> frozenset[str]:
    """The words' first letters: same_word never matches a note word whose first letter is not among them
    (it compares first letters before anything else), so a token without one is passed over unasked."""
    return frozenset(w[:1] for w in words)


_GENDER_IDENTITY = compile_pattern(
    r"\b(?:transgender|transsexual|trans[\s-](?:wom[ae]n|m[ae]n|male|female|patient|person)|trans(?:wom[ae]n|m[ae]n)|"
    r"gender[\s-](?:affirming|affirmation|dysphoria|identity|incongruence|reassignment|transition)|"
    r"non-?binary|intersex|differences? (?:of|in) sex(?:ual)? development|"
    r"assigned (?:male|female) at birth)\b", re.I)
_GENDER_IDENTITY_ABBREV = compile_pattern(r"\b(?:AFAB|AMAB|MTF|FTM|M2F|F2M)\b")


_PRONOUNS = {"he": "M", "him": "M", "his": "M", "himself": "M", "she": "F", "her": "F", "hers": "F", "herself": "F"}


def pronoun_sex(ctx: CheckContext):
    """(sex, first sentence) by which the note's own narrative refers to the patient ("she", "his"):
    the clear majority of personal pronouns in the encounter sections, or (None, None)."""
    counts = {"F": 0, "M": 0}
    first: dict[str, object] = {}
    note = ctx.note
    for sentence, norms in zip(note.sentences, note.word_norms):  # the tokens' normalised words
        if sentence.section not in _ENCOUNTER_SECTIONS:
            continue
        for norm in norms:
            sex = _PRONOUNS.get(norm)
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
    return _first_naming(ctx.note, range(len(ctx.note.sentences)), words)


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
_SINCE_BIRTH = compile_pattern(r"\b(?:since birth|from birth|at birth|born with|congenital\w*|neonatal|newborn|perinatal|"
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
    best = _any_age_counterpart(release, code)
    if best is None:
        return None
    cited = [m.sentence for m in condition_mentions(ctx.note, index, best[0], ctx.outpatient) if m.counts]
    return (best[0], best[1], cited) if cited else None


@per_release
def _any_age_counterparts(release: IcdRelease) -> dict[str, tuple[str, str] | None]:
    """Each code's counterpart (:func:`_any_age_counterpart`) known so far: every Chapter 16 code's, from the
    compiled index (:func:`scan_any_age_counterparts`), and any other code's once worked out."""
    derived = release.derived
    if derived.get("format") == DERIVED_FORMAT and "any_age_counterparts" in derived:
        return pickle.loads(derived["any_age_counterparts"])
    return {}


def scan_any_age_counterparts(release: IcdRelease) -> dict[str, tuple[str, str] | None]:
    """The counterpart of every Chapter 16 code of the release: :func:`vma.checks.support.axes.index.derive` runs
    it when the index is compiled, so that no chart pays for reading the tabular's Excludes1 notes (a chart coding
    a newborn condition for an older patient took half as long again as another chart to check alone)."""
    return {code: _scan_any_age_counterpart(release, code) for code in release.codes() if code.startswith("P")}


@per_release
def _billable_excludes1_reaching(release: IcdRelease) -> dict[str, list[tuple[str, str, list]]]:
    """The Excludes1 notes of billable codes outside Chapter 16, in the tabular's order, by the first letter of
    the codes their references may cover: a reference covers only codes whose letter lies between those of
    its ends (CodeRef.covers compares codes from their first character)."""
    out: dict[str, list[tuple[str, str, list]]] = {}
    for entry in release.excludes1_refs():
        owner, _note, refs = entry
        if owner.startswith("P") or not release.is_billable(owner):
            continue
        letters = {chr(c) for ref in refs for c in range(ord(ref.first[:1] or "A"), ord(ref.last[:1] or "Z") + 1)}
        for letter in sorted(letters):
            out.setdefault(letter, []).append(entry)
    return out


def _any_age_counterpart(release: IcdRelease, code: str) -> tuple[str, str] | None:
    """The billable code of the same condition at any age that sends the newborn form ``code`` away in an
    Excludes1 note, with that note; found once per code, as it depends on the release alone (a scan of every
    Excludes1 note of the tabular, which cost each chart coding a newborn condition tens of milliseconds), and
    for a Chapter 16 code when the index is compiled."""
    known = _any_age_counterparts(release)
    if code not in known:
        known[code] = _scan_any_age_counterpart(release, code)
    return known[code]


def _scan_any_age_counterpart(release: IcdRelease, code: str) -> tuple[str, str] | None:
    """:func:`_any_age_counterpart` read from the tabular's Excludes1 notes."""
    own = set(description_words(release.description(code) or "")) - _PERINATAL_WORDS - {OPEN}
    best = None
    for owner, note, refs in _billable_excludes1_reaching(release).get(code[:1], ()) if own else ():
        if not any(ref.covers(code) for ref in refs):
            continue
        words = set(description_words(release.description(owner) or "")) - {OPEN}
        if not own <= words or words - own:
            continue  # not the same condition in its words
        best = best or (owner, note)
    return best


# "Jaundice from Gilbert syndrome", "obstructive jaundice due to choledocholithiasis": the cause the note names.
_CAUSE = compile_pattern(r"\b(?:due to|from|secondary to|caused by|because of|attributed to|related to)\s+"
                    r"(?!(?:an? |the )?(?:unknown|unclear|undetermined|uncertain|unexplained)\b)"
                    r"((?:[A-Za-z][\w'-]*\s?){1,5})", re.I)
_CAUSE_END = compile_pattern(r"\s+(?:and|with|on|in|for|since|after|which)\b.*$", re.I)


def _stated_cause(sentences: list[Sentence]) -> str | None:
    for sentence in sentences:
        m = _CAUSE.search(sentence.text)
        if m and not is_negated_at(sentence.text, m.start()):
            return _CAUSE_END.sub("", m.group(1)).strip()
    return None


def _age_findings(ctx: CheckContext, edits: SexAgeEdits, age: int, stated: Stated) -> Iterator[Finding]:
    release = ctx.icd
    for position, dx, _ in ctx.known_diagnoses():
        for edit in edits.covering(dx.code)[0]:
            if edit.min_age <= age <= edit.max_age:
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
        for edit in edits.covering(dx.code)[1]:
            if edit.sex == sex:
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


def sex_age_findings(ctx: CheckContext) -> list[Finding]:
    """The sex-age findings of a chart, computed once: the check reports them, and a code they replace no
    other check refines or adds to (:func:`vma.checks.support.kept_codes.removed_positions`)."""
    return ctx.shared(CHECK_ID, _findings)
