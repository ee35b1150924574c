"""The Excludes1 decision for each pair on a chart: which code the record keeps, or the physician's choice."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from vma.checks import CheckContext
from vma.checks.support.axes.index import AxisIndex, axis_index
from vma.checks.support.axes.wording import cite_all, code_label
from vma.checks.support.axes.words import RESIDUAL, description_words, key_words, same_word
from vma.checks.support.exclusions.pairs import (
    _UNRELATED,
    CHECK_ID,
    Exclusion,
    excluded_pairs,
    excluding_notes,
    note_predicates,
)
from vma.checks.support.exclusions.readings import (
    ABSENT,
    CONTRADICTED,
    NEGATED,
    OTHER_TYPE,
    PREDIABETES,
    UNCERTAIN,
    Reading,
    _reading,
    combination_covers,
    diabetes_kind,
)
from vma.checks.support.notes.document import Sentence
from vma.checks.support.notes.words import HISTORY_SECTIONS
from vma.checks.support.refine.decide import decide
from vma.checks.support.refine.documented import chart_codes
from vma.compiled_patterns import compile_pattern
from vma.findings import Choice, Finding, query_choices
from vma.reference.icd10cm import IcdRelease

# -- the decision --------------------------------------------------------------------------------------

SYMPTOM_CHAPTER = 18  # Symptoms, signs and abnormal clinical and laboratory findings (R00-R99)
NOT_DIAGNOSES = frozenset({20, 21})  # external causes (V00-Y99), factors and encounters (Z00-Z99)


@dataclass
class Decision:
    keep: str
    drop: str
    why: str  # the sentence of the message that says why


FACTOR_CHAPTER = 21  # Z00-Z99: factors influencing health status and contact with health services


def _is_symptom(release: IcdRelease, code: str) -> bool:
    return release.chapter_of(code) == SYMPTOM_CHAPTER


def _is_diagnosis(release: IcdRelease, code: str) -> bool:
    chapter = release.chapter_of(code)
    return chapter is not None and chapter != SYMPTOM_CHAPTER and chapter not in NOT_DIAGNOSES


def _lower(text: str) -> str:
    return text[0].lower() + text[1:] if text and not text[:2].isupper() else text


def _refutes(reading: Reading, name: str, code: str, outpatient: bool) -> str:
    """How the note stands against a code it does not support, as a clause after "the note"."""
    if reading.state == NEGATED:
        return f"states that {name} ({code}) is not present"
    if reading.state == UNCERTAIN:
        setting = ", which is not coded in the outpatient setting" if outpatient else ""
        return f"states {name} ({code}) only as uncertain{setting}"
    if reading.state == PREDIABETES:
        return f"states prediabetes, which is not diabetes mellitus ({code})"
    return f"does not mention {name} ({code})"


def _documents(name: str, code: str, reading: Reading) -> str:
    """What the note documents for a kept code, saying when the type is the default one."""
    if reading.by_default:
        return (f"diabetes with no type stated anywhere in the record, which is coded as type 2 ({code}; "
                f"Guideline I.C.4.a.2)")
    return f"{name} ({code})"


# Words an Excludes1 note shares with any condition of its kind: they name no condition in particular.
_GENERIC_WORDS = frozenset({"other", "unspecified", "specified", "disorder", "disease", "condition", "abnormal",
                            "abnormality", "finding", "nos", "certain", "due", "with", "without", "not",
                            "elsewhere", "classified", "mental", "behavioral", "sign", "symptom", "state"})


def _stems(words) -> frozenset[str]:
    # "vertiginous syndromes" names the vertigo of H81.1: words compared by their first six letters.
    return frozenset(w[:6] for w in words if w not in _GENERIC_WORDS)


def _title_stems(release: IcdRelease, code: str) -> frozenset[str]:
    words: set[str] = set()
    for c in (code, *release.ancestors(code)):
        words |= key_words(release.description(c) or "")
    return _stems(words)


def _names_the_condition(release: IcdRelease, exclusions: list[Exclusion]) -> bool:
    """The Excludes1 note calls a condition by its own name ("wheezing NOS (R06.2)" at J45, "vertigo NOS
    (R42)" at H81, "vertiginous syndromes (H81.-)" at R42), rather than by a whole chapter or block
    ("mental and behavioral disorders (F01-F99)" at R46): only then is the symptom the diagnosis's own sign."""
    for ex in exclusions:
        named = _stems(key_words(ex.note))  # the code references in parentheses are not words
        if named & (_title_stems(release, ex.excluded) | _title_stems(release, ex.owner)):
            return True
    return False


# "Jaundice due to Gilbert syndrome", "chest pain from reflux": the note ties the two together.
_LINKED = compile_pattern(r"\b(?:due to|secondary to|caused by|because of|related to|attributed to|from|with)\b", re.I)


def _linked(ra: Reading, rb: Reading) -> bool:
    shared = set(s.start for s in ra.sentences) & set(s.start for s in rb.sentences)
    return any(_LINKED.search(s.text) for s in ra.sentences if s.start in shared)


def _surely_absent(release: IcdRelease, code: str, reading: Reading) -> bool:
    """The note never names the code's condition. An "Other ..." code names none a reader can look for
    ("Other symptoms and signs involving appearance and behavior" is the aggressive behavior the note
    states), so its silence is a reading miss, never grounds to drop it."""
    return reading.state == ABSENT and not (set(description_words(release.description(code) or "")) & RESIDUAL)


# Guideline I.C.9.b: the combination codes of I25.1-/I25.7- for coronary atherosclerosis with angina; a cause
# the note gives the angina other than the coronary disease ("angina due to anemia") takes the presumption away.
_NATIVE_CAD_WITHOUT_ANGINA = "I25.10"
_WITH_ANGINA = "I25.11"
_ANGINA_WORDS = compile_pattern(r"\bangina\b|\banginal\b", re.I)
_OTHER_CAUSE = compile_pattern(r"\b(?:due to|secondary to|caused by|from|related to|attributed to)\b(?![^.;]*\b(?:coronary|cad|"
                          r"ashd|atheroscler\w*|ischemi\w*|stenos\w*|blockage|plaque)\b)", re.I)


def _presumed_angina_combination(ctx: CheckContext, a: str, b: str) -> tuple[str, str] | None:
    """(combination code, the angina code) for native coronary atherosclerosis coded without angina beside
    an angina code (I20.-), when the note gives the angina no other cause."""
    release = ctx.icd
    pair = {a, b}
    if _NATIVE_CAD_WITHOUT_ANGINA not in pair:
        return None
    angina = (pair - {_NATIVE_CAD_WITHOUT_ANGINA}).pop()
    if not angina.startswith("I20"):
        return None
    for sentence in ctx.note.sentences:
        hit = _ANGINA_WORDS.search(sentence.text)
        if hit and _OTHER_CAUSE.search(sentence.text, hit.end()):
            return None
    # the angina as the note documents it ("stable angina" on I20.9 is I20.89), so the pair is settled in one step

    refined = decide(ctx.note, axis_index(release), angina, ctx.outpatient)
    if refined is not None and refined.action == "correct" and len(refined.targets) == 1:
        angina_kind = refined.targets[0]
    else:
        angina_kind = angina
    found = _angina_combination(release, angina_kind)
    return (found, angina) if found else None


def _angina_combination(release: IcdRelease, angina: str) -> str | None:
    kind = set(description_words(release.description(angina) or "")) - {"angina", "pectoris"}
    for combo in release.children(_WITH_ANGINA):
        # the combination whose Excludes1 names this angina "without atherosclerotic heart disease" ...
        if any(test(angina) for note in release.notes(combo, "excludes1") for test in note_predicates(note)):
            return combo
    for combo in release.children(_WITH_ANGINA):
        # ... or whose title says the same kind ("refractory")
        if kind and kind <= set(description_words(release.description(combo) or "")):
            return combo
    return None


def _decide(ctx: CheckContext, a: str, b: str, ra: Reading, rb: Reading,
            exclusions: list[Exclusion] = ()) -> Decision | None:
    release = ctx.icd
    name = {a: _lower(release.description(a) or a), b: _lower(release.description(b) or b)}
    reading = {a: ra, b: rb}

    # Rule 2: a sign or symptom with the definitive diagnosis that explains it. A note naming a whole
    # chapter or block ("anemias (D50-D64)" is specific, "mental and behavioral disorders (F01-F99)" is
    # not) says nothing of which diagnoses explain the symptom: unless the note ties the two, it is the
    # I.A.12.a query ("if it is not clear whether the two conditions ... are related or not").
    symptoms = [c for c in (a, b) if _is_symptom(release, c)]
    if len(symptoms) == 1:
        s = symptoms[0]
        d = b if s == a else a
        explains = not exclusions or _names_the_condition(release, exclusions) or _linked(ra, rb)
        if _is_diagnosis(release, d) and (explains or _surely_absent(release, s, reading[s])):
            if reading[d].documented:
                return Decision(d, s, f"The note documents {_documents(name[d], d, reading[d])}; {name[s]} ({s}) "
                                      f"is a sign or finding that this diagnosis explains, so it is not coded "
                                      f"beside it (Guidelines I.B.4, I.B.5, IV.D).")
            if reading[d].refuted and reading[s].documented:
                return Decision(s, d, f"The note documents {name[s]} ({s}) but "
                                      f"{_refutes(reading[d], name[d], d, ctx.outpatient)}; the sign or finding is "
                                      f"coded when the diagnosis is not established (Guidelines IV.D, IV.H).")

    # Rule 3: a combination code that already says the other code's condition.
    for broad, narrow in ((a, b), (b, a)):
        if combination_covers(release, broad, narrow):
            if reading[broad].refuted:
                if reading[narrow].documented:
                    return Decision(narrow, broad,
                                    f"The note documents {name[narrow]} ({narrow}) and "
                                    f"{_refutes(reading[broad], name[broad], broad, ctx.outpatient)}, so the "
                                    f"combination code does not apply (Guidelines I.A.12.a, IV.H).")
                break  # the note denies what the combination adds: nothing to decide by wording
            return Decision(broad, narrow, f"{broad} ({name[broad]}) is a combination code whose tabular wording "
                                           f"already includes {name[narrow]} ({narrow}); the component is not coded "
                                           f"beside it (Guidelines I.A.15, I.B.9).")

    # Rules 4 and 5: the note documents one of the two and contradicts, refutes or omits the other.
    for keep, drop in ((a, b), (b, a)):
        rk, rd = reading[keep], reading[drop]
        if not rk.documented or rd.documented:
            continue
        if rd.state == CONTRADICTED:
            if _is_symptom(release, keep):
                return None  # the note states diabetes of another type: the symptom still goes, the type is asked
            if rk.by_default:
                stated = _documents(name[keep], keep, rk)
            elif rk.stated_type:
                stated = f"{rk.stated_type} diabetes ({keep}; Guideline I.C.4.a)"
            else:
                stated = f"{name[keep]} ({keep})"
            return Decision(keep, drop, f"The record states {stated}, so {name[drop]} ({drop}) is not supported.")
        # A sign, or a factor of chapter 21 ("Tobacco use" beside the nicotine dependence the note documents:
        # Index, Smoker - see Dependence, drug, nicotine), that the note never names goes.
        if rd.refuted or (_surely_absent(release, drop, rd)
                          and (_is_symptom(release, drop) or release.chapter_of(drop) == FACTOR_CHAPTER)):
            return Decision(keep, drop, f"The note documents {_documents(name[keep], keep, rk)} and "
                                        f"{_refutes(rd, name[drop], drop, ctx.outpatient)} (Guidelines I.A.12.a, "
                                        f"IV.H).")
    return None


# -- evidence ------------------------------------------------------------------------------------------

def _naming_sentences(ctx: CheckContext, index: AxisIndex, code: str, limit: int = 2) -> list[Sentence]:
    """Sentences that name a good part of the code's condition words: evidence only, when the
    condition reader found no full mention (never used to decide)."""
    variants = index.condition_terms(code)
    scored = []
    note = ctx.note
    for sentence, norms in zip(note.sentences, note.word_norms):  # the tokens' normalised words
        if sentence.section in HISTORY_SECTIONS:
            continue
        best = 0.0
        for terms in variants:
            total = sum(w for _, w in terms) or 1.0
            got = sum(w for term, w in terms if any(same_word(n, term) for n in norms))
            best = max(best, got / total)
        if best >= 1 / 3:
            scored.append((-best, sentence.start, sentence))
    return [s for _, _, s in sorted(scored, key=lambda t: t[:2])[:limit]]


def _where_label(where: str) -> str:
    if where.startswith("chapter:"):
        return f"chapter {where.split(':', 1)[1]}"
    return where


def _refined_out_of_the_pair(ctx: CheckContext, index: AxisIndex, codes: list[str], a: str, b: str) -> bool:
    """One code of the pair is corrected, in one step, to the code the note documents, and that code is
    no longer excluded ("allergic rhinitis with asthma (J45.909)" at J30: J45.909 with "moderate
    persistent asthma" is J45.40, which J30.2 may stand beside): the pair is gone from the final code
    list, and a question about it would ask what the record already settles."""
    held = chart_codes(codes)
    for mine, other in ((a, b), (b, a)):
        d = decide(ctx.note, index, mine, ctx.outpatient, held)
        if d is None or d.action != "correct" or len(d.targets) != 1:
            continue
        target = d.targets[0]
        if target != mine and target in ctx.icd and not excluding_notes(ctx.icd, target, other) \
                and not excluding_notes(ctx.icd, other, target):
            return True
    return False


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    known = ctx.known_diagnoses()
    if len(known) < 2:
        return
    release = ctx.icd
    index = axis_index(release)
    codes = [dx.code for _, dx, _ in known]
    for i, j, exclusions in excluded_pairs(release, codes):
        pos_a, dx_a, _ = known[i]
        pos_b, dx_b, _ = known[j]
        a, b = dx_a.code, dx_b.code
        if _refined_out_of_the_pair(ctx, index, codes, a, b):
            continue
        first = exclusions[0]
        rule = (f'{first.owner} falls under an Excludes1 note at {_where_label(first.where)}: '
                f'"{first.note}"')
        ra, rb = _reading(ctx, index, a, b), _reading(ctx, index, b, a)
        desc_a, desc_b = release.description(a), release.description(b)
        pair = f"{a} ({desc_a}) and {b} ({desc_b})"
        target = f"diagnosis:{pos_a},{pos_b}"
        named = list(dict.fromkeys(ra.sentences[:2] + rb.sentences[:2]))
        unrelated = [s for s in dict.fromkeys(ra.sentences + rb.sentences) if _UNRELATED.search(s.text)]
        if unrelated:
            yield Finding(check=CHECK_ID, action="info", severity="info", code=b,
                          message=(f"{pair} are normally not reported together ({rule}); the note states the "
                                   "conditions are unrelated, which the Excludes1 exception allows "
                                   "(Guideline I.A.12.a)."),
                          evidence=cite_all(unrelated), target=target)
            continue
        presumed = _presumed_angina_combination(ctx, a, b)
        if presumed is not None:
            combo, angina = presumed
            cad = b if angina == a else a
            yield Finding(check=CHECK_ID, action="correct", severity="error", code=angina,
                          message=(f"{pair} are not reported together ({rule}; Guideline I.A.12.a). A causal "
                                   f"relationship between coronary atherosclerosis and angina is presumed unless the "
                                   f"note attributes the angina to another cause (Guideline I.C.9.b): both are "
                                   f"{combo} ({release.description(combo)}). Code {combo} in place of {cad} and {angina}."),
                          evidence=cite_all(list(dict.fromkeys(ra.sentences[:2] + rb.sentences[:2])), limit=3) or rule,
                          suggested_codes=[combo], target=target)
            continue
        decision = _decide(ctx, a, b, ra, rb, exclusions)
        if decision is not None:
            kept, dropped = (ra, rb) if decision.keep == a else (rb, ra)
            cited = kept.sentences[:2] + dropped.sentences[:1]
            if not cited:
                cited = _naming_sentences(ctx, index, decision.keep) or _naming_sentences(ctx, index, decision.drop)
            evidence = cite_all(list(dict.fromkeys(cited)), limit=3) or rule
            yield Finding(check=CHECK_ID, action="correct", severity="error", code=decision.drop,
                          message=(f"{pair} are not reported together ({rule}; Guideline I.A.12.a). "
                                   f"{decision.why} Keep {decision.keep} and remove {decision.drop}."),
                          evidence=evidence, suggested_codes=[decision.keep], target=target)
            continue
        both = ra.documented and rb.documented
        cited = named or _naming_sentences(ctx, index, a) + _naming_sentences(ctx, index, b)
        evidence = cite_all(list(dict.fromkeys(cited)), limit=4) or rule
        both_label = f"Both, as unrelated conditions ({a} and {b})"
        choices = [Choice(label=code_label(index, a), codes=[a]),
                   Choice(label=code_label(index, b), codes=[b])]
        kinds = {diabetes_kind(release, a), diabetes_kind(release, b)}
        if None in kinds:
            choices.append(Choice(label=both_label, codes=[a, b]))
        else:
            # One patient has one type of diabetes mellitus: never "both"; the other specified type
            # (E13) is the answer for a type neither code names (I.C.4.a).
            other = "E13" + a[3:]
            if OTHER_TYPE not in kinds and release.is_billable(other):
                choices.append(Choice(label=code_label(index, other), codes=[other]))
        opening = "The note documents" if both else "The diagnoses reported for this encounter are"
        question = (f"{opening} {_lower(desc_a)} and {_lower(desc_b)}. "
                    "ICD-10-CM classifies these as conditions that do not occur together unless they are "
                    "unrelated. Based on your clinical judgment, which condition(s) did the patient have at "
                    "this encounter?")
        if both:
            state = "the note documents both."
        else:
            missing = [c for c, r in ((a, ra), (b, rb)) if not r.documented]
            state = ("the note does not clearly document " + " or ".join(missing)
                     + ", and the record alone does not settle which condition is present.")
        yield Finding(check=CHECK_ID, action="query", severity="error", code=b,
                      message=(f"{pair} are not reported together ({rule}), unless the conditions are "
                               f"unrelated; {state}"),
                      evidence=evidence, question=question, choices=query_choices(choices), target=target)


def excludes1_findings(ctx: CheckContext) -> list[Finding]:
    """The Excludes1 findings of a chart, computed once: the check reports them, and what they drop no
    other check refines or adds to (:func:`vma.checks.support.kept_codes.removed_positions`)."""
    return ctx.shared(CHECK_ID, _findings)
