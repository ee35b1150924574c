"""Excludes1: two codes on the chart that the tabular says are never reported together.

What it finds
    A pair of proposed ICD-10-CM codes where an Excludes1 note on one code, or
    on any of its ancestors (subcategory, category, block, chapter), names the
    other code: a plain code ("P29.2"), a category with its subdivisions
    ("E10.-") or a range ("O10-O11"). The notes come from the tabular of the
    release in force on the date of service, never from a hand list. A pair is
    reported once, even when each code's notes name the other. Excludes2 notes
    ("not included here", both may be coded) are never read.

Why it matters
    An Excludes1 note means "NOT CODED HERE": the two conditions cannot occur
    together (type 1 with type 2 diabetes, a congenital with an acquired form,
    a symptom with the diagnosis that explains it) and reporting both is a
    coding error that payer edits reject, unless the two conditions are
    unrelated to each other (Guideline I.A.12.a exception).

Example
    J45.909 (Unspecified asthma, uncomplicated) with R06.2 (Wheezing); the
    assessment says "Newly diagnosed allergic asthma" and the exam notes
    wheezing. J45 excludes "wheezing NOS (R06.2)": the wheeze is a sign of the
    asthma the note diagnoses. Correct: remove R06.2, keep J45.909.
    E10.9 with E11.9 where the assessment names "Type 1 diabetes mellitus" and
    "Type 2 diabetes mellitus" as two problems: only the provider can say which,
    so the pair is a query (E10.9 / E11.9 / both, unrelated / Other /
    Clinically undetermined).

Resolution (correct, query or info)
    Decided in this order, as a coder reads the record:

    1. ``info`` when the note states the two conditions are unrelated: the
       Excludes1 exception applies (I.A.12.a) and there is nothing to fix.
    2. ``correct`` when one code is a sign, symptom or abnormal finding
       (chapter 18, R00-R99) and the note documents the other, definitive
       diagnosis, and either the Excludes1 note names that condition in the
       note's own words (R10.1- "abdominal pain" excluded at a code whose
       title the note states) or the note links the two ("pain due to",
       "from", "secondary to"): the symptom is integral to it, remove the R
       code (I.B.4, I.B.5, IV.D). A chapter-wide note that merely lists the
       symptom under a distant diagnosis does not make it integral. When the
       note states the diagnosis only as negated or (outpatient) uncertain
       and documents the symptom, the symptom is kept and the diagnosis
       removed (IV.D, IV.H).
    3. ``correct`` when one code is a combination code whose tabular wording
       ("A with B", "A due to B", including its inclusion terms) already holds
       every word of the other code's description ("Intervertebral disc
       disorders with radiculopathy, lumbar region" holds "Radiculopathy,
       lumbar region"): remove the narrower code (I.B.9). The narrower code is
       kept instead only when the note negates the combination's condition.
    4. ``correct`` for the diabetes types (E08-E13): the type the note states
       wins, and diabetes with no type stated anywhere in the record is type 2
       (I.C.4.a, I.C.4.a.2); the other type is removed. A type that is neither
       ("type 1.5", "LADA", "type 1 and/or 2") is a query with the E10, E11
       and E13 codes as options, never "both": the two types cannot coexist.
       Coronary disease without angina (I25.10) with an angina code is
       corrected to the combination I25.11- of the angina type the note
       documents: the guidelines presume the link (I.C.9.b) unless the note
       names another cause of the angina.
    5. ``correct`` when the note documents exactly one of the two conditions
       and negates, states as uncertain (outpatient) or contradicts the other,
       or never mentions the other when that other is a symptom code: keep the
       documented one.
    6. ``query`` otherwise: both conditions are documented as separate active
       conditions, or neither is, or only one is and the other is a definitive
       diagnosis the reader could not find (a reading miss is not grounds to
       drop a diagnosis). Guideline I.A.12.a says to query when it is not clear
       whether the two conditions are related.

    A correction names the code to remove as ``code`` and the code kept in
    ``suggested_codes``; a query's options carry the codes of each answer. Both
    apply to the two positions of the pair (``target`` is
    ``diagnosis:<i>,<j>``): the chosen codes replace the pair.

References
    ICD-10-CM Official Guidelines for Coding and Reporting FY2026: I.A.12.a
    (Excludes1: "the two conditions cannot occur together"; exception when
    the conditions are unrelated; "If it is not clear whether the two
    conditions involving an Excludes1 note are related or not, query the
    provider"), I.A.12 (notes apply to the code and its subdivisions), I.A.15
    ("with" links two conditions), I.B.4 and I.B.5 (signs and symptoms are not
    coded when a related definitive diagnosis is established; symptoms routinely
    associated with a disease process are not assigned as additional codes),
    I.B.9 (combination codes: do not add a code for what the combination code
    already says), I.C.9.b (coronary disease with angina: combination
    codes, the causal link presumed), I.C.4.a (diabetes coded by type), I.C.4.a.2 (type not
    documented: default E11), IV.D (codes for signs and symptoms when a
    definitive diagnosis is not established), IV.H (uncertain diagnoses,
    outpatient). CMS ICD-10-CM Tabular List (Excludes1 notes, inclusion terms).
    AHIMA/ACDIS Guidelines for Achieving a Compliant Query Practice (2022
    update).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

from vma.checks.support.axes.evidence import Mention, condition_mentions
from vma.checks.support.axes.index import AxisIndex, axis_index
from vma.checks.support.axes.wording import cite_all, code_label
from vma.checks.support.axes.words import RESIDUAL, description_words, key_words, same_word
from vma.checks import CheckContext, register
from vma.findings import Choice, Finding, query_choices
from vma.notes import HISTORY_SECTIONS, Sentence, clause_bounds, is_negated_at, is_uncertain_at
from vma.reference.icd10cm import IcdRelease, note_code_refs, per_release
from vma.checks.support.refine.decide import decide
from vma.checks.support.refine.documented import chart_codes

CHECK_ID = "excludes1"

# The provider saying so is the I.A.12.a exception; the cue must share a sentence with a condition.
_UNRELATED = re.compile(r"\b(?:unrelated|not related|independent(?:ly)? of|separate (?:from|condition|process))\b",
                        re.I)


@dataclass(frozen=True)
class Exclusion:
    owner: str   # the code whose notes hold the Excludes1 ("E11.9")
    where: str   # where the note is written ("E11", a block id, "chapter:4")
    note: str    # the note text
    excluded: str  # the other code on the chart that the note names


# Qualified references: "(E08-E13 with .42)", "(B27.- with fifth character 2)", "(S02.- with 7th
# character B)", "(I69. with final characters -23)". The range alone would cover codes the note does not
# mean (N08 excludes only diabetes ".21", not E11.22), so the qualifier is applied, and a qualifier that
# cannot be read ("with ketoacidosis") drops the reference rather than guessing.
_SEGMENT = re.compile(r"\(([^()]*)\)")
_FIRST_CODE = re.compile(r"\b[A-Z][0-9][0-9A-Z]")
_Q_SUBCATEGORY = re.compile(r"^\.(\d+)-?$")
_Q_SUBRANGE = re.compile(r"^\.(\d+)-\.(\d+)$")
_Q_POSITION = re.compile(r"^(?:(fifth|5th|seventh|7th)[- ]characters?|(fifth to sixth) characters)\s*\.?([0-9A-Z]+)$",
                         re.I)
_Q_FINAL = re.compile(r"^final characters\s*-?([0-9A-Z]+)$", re.I)


def _qualifier(text: str) -> Callable[[str], bool] | None:
    q = " ".join(text.split()).rstrip(".")
    m = _Q_SUBCATEGORY.match(q)
    if m:
        digits = m.group(1)
        return lambda bare: bare[3:].startswith(digits)
    m = _Q_SUBRANGE.match(q)
    if m:
        lo, hi = m.group(1), m.group(2)
        return lambda bare: lo <= bare[3:3 + len(lo)] and bare[3:3 + len(hi)] <= hi
    m = _Q_POSITION.match(q)
    if m:
        which, span, value = (m.group(1) or "").lower(), m.group(2), m.group(3).upper()
        start = 4 if span or which in ("fifth", "5th") else 6
        return lambda bare: bare[start:start + len(value)] == value
    m = _Q_FINAL.match(q)
    if m:
        tail = m.group(1).upper()
        return lambda bare: bare.endswith(tail)
    return None


def note_predicates(note: str) -> list[Callable[[str], bool]]:
    """One test per code reference of an Excludes1 note, qualifiers applied."""
    segments = _SEGMENT.findall(note) or [note]
    tests: list[Callable[[str], bool]] = []
    for seg in segments:
        first = _FIRST_CODE.search(seg)
        with_at = re.search(r"\s*\bwith\b", seg[first.end():]) if first else None
        if with_at is None:
            tests.extend(ref.covers for ref in note_code_refs(seg))
            continue
        cut = first.end() + with_at.start()
        qualify = _qualifier(seg[first.end() + with_at.end():])
        if qualify is None:
            continue
        for ref in note_code_refs(seg[:cut]):
            tests.append(lambda code, ref=ref, qualify=qualify: ref.covers(code) and qualify(code.replace(".", "")))
    return tests


def excluding_notes(release: IcdRelease, code: str, other: str) -> list[tuple[str, str]]:
    """(where, note) for each Excludes1 note on ``code`` or above it that names ``other``."""
    hits = []
    for where, note in release.inherited_notes(code, "excludes1"):
        if any(test(other) for test in note_predicates(note)):
            hits.append((where, note))
    return hits


def excluded_pairs(release: IcdRelease, codes: list[str]) -> list[tuple[int, int, list[Exclusion]]]:
    """(i, j, exclusions) for each pair of positions whose codes exclude one another, i < j."""
    out = []
    for i, a in enumerate(codes):
        for j in range(i + 1, len(codes)):
            b = codes[j]
            if a == b:
                continue  # a repeated code is a duplicate, not an Excludes1 conflict
            found = [Exclusion(a, w, n, b) for w, n in excluding_notes(release, a, b)]
            found += [Exclusion(b, w, n, a) for w, n in excluding_notes(release, b, a)]
            if found:
                out.append((i, j, found))
    return out


def _distinct_phrases(index: AxisIndex, code: str, other: str) -> set[tuple[str, ...]]:
    """Words naming ``code``'s condition that ``other``'s wording lacks ("type 1" for E10.9
    against E11.9). A bare number only counts with the word before it, so "A1c 7.1" is not "type 1"."""
    theirs = {w for terms in index.condition_terms(other) for w, _ in terms}
    out: set[tuple[str, ...]] = set()
    for terms in index.condition_terms(code):
        seq = [w for w, _ in terms]
        for i, word in enumerate(seq):
            if word in theirs:
                continue
            if any(ch.isdigit() for ch in word) and len(word) <= 3 and i > 0:
                out.add((seq[i - 1], word))
            else:
                out.add((word,))
    return out


def _holds(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(words[k:k + n] == phrase for k in range(len(words) - n + 1))


def _first_at(words: tuple[str, ...], phrases: set[tuple[str, ...]]) -> int | None:
    """Where the first of ``phrases`` starts in ``words``, or None."""
    return min((k for p in phrases for k in range(len(words) - len(p) + 1) if words[k:k + len(p)] == p),
               default=None)


def _naming_mentions(ctx: CheckContext, index: AxisIndex, code: str, other: str) -> list[Mention]:
    """Mentions of ``code``'s condition that tell it apart from ``other``'s, whatever their status.

    The two conditions of an Excludes1 pair share most of their words ("Type 2
    diabetes mellitus" half-matches type 1), so a sentence counts for a code only
    when it also holds a word that tells the code apart from the other, or when it
    names the shared condition without the words that would make it the other
    ("Panic disorder without agoraphobia" is F41.0, not F40.01 Agoraphobia with
    panic disorder).
    """
    distinct = _distinct_phrases(index, code, other)
    theirs = _distinct_phrases(index, other, code)
    out = []
    for m in condition_mentions(ctx.note, index, code, ctx.outpatient):
        if not distinct:
            out.append(m)
            continue
        words = tuple(t.norm for t in m.words)
        at = _first_at(words, distinct)
        if at is None:
            other_at = _first_at(words, theirs) if theirs else -1
            if other_at is None or (other_at >= 0 and is_negated_at(m.sentence.text, m.words[other_at].start)):
                out.append(m)
            continue
        # The telling word may be negated on its own: "panic disorder without agoraphobia" names panic
        # disorder and denies the agoraphobia of F40.01.
        if not m.negated and at != m.first and is_negated_at(m.sentence.text, m.words[at].start):
            m = replace(m, negated=True)
        out.append(m)
    return out


def documenting_mentions(ctx: CheckContext, index: AxisIndex, code: str, other: str) -> list[Mention]:
    """Mentions that document ``code`` (for this encounter) as distinct from ``other``."""
    return [m for m in _naming_mentions(ctx, index, code, other) if m.counts and not _not_established(ctx, m)]


# -- how the note stands on one code of the pair -------------------------------------------------------

DOCUMENTED, NEGATED, UNCERTAIN, CONTRADICTED, ABSENT = "documented", "negated", "uncertain", "contradicted", "absent"
PREDIABETES = "prediabetes"  # the note names the state before diabetes (R73.03), not diabetes mellitus

# Work-up wording names a condition that is not established (Guideline IV.D/IV.H read "rule out" the
# same way); the notes module's uncertainty cues do not list these.
_WORKUP = re.compile(r"\b(?:evaluat(?:e|ed|ing|ion) (?:for|of)|work(?:ing)?[- ]?up (?:for|of)|screen(?:ed|ing)? for|"
                     r"assess(?:ed|ing|ment)? for|check(?:ed|ing)? for|test(?:ed|ing)? for|monitor(?:ed|ing)? for|"
                     r"at risk (?:for|of)|risk (?:for|of)|to exclude)\b", re.I)
# Another person's condition ("her mother has diabetes") documents nothing about the patient. A relative
# who only reports ("mother reports he has been wheezing", pediatric notes) does not match.
_KIN = re.compile(r"\bfamily history\b|\bfhx?\b|\b(?:mother|father|sister|brother|sibling|grandmother|grandfather|"
                  r"aunt|uncle|cousin)(?:'s)?\s+(?:has|had|have|with|was|is|also|who|suffers|died)\b", re.I)


def _clause(sentence: str, pos: int) -> str:
    start, end = clause_bounds(sentence, pos)
    return sentence[start:end]


def _not_established(ctx: CheckContext, m: Mention) -> bool:
    """A work-up or someone else's condition: not a diagnosis of this patient at this encounter."""
    text = _clause(m.sentence.text, m.words[m.first].start)
    return bool(_KIN.search(text) or (ctx.outpatient and _WORKUP.search(text)))


@dataclass
class Reading:
    """What the note says about one code: its state and the sentences that show it."""

    state: str
    sentences: list[Sentence] = field(default_factory=list)
    stated_type: str | None = None  # diabetes: the type the note states ("type 1"), or None when unstated
    by_default: bool = False        # diabetes: type 2 only because no type is stated (I.C.4.a.2)

    @property
    def documented(self) -> bool:
        return self.state == DOCUMENTED

    @property
    def refuted(self) -> bool:
        """The note says the condition is not (or not yet) there, as opposed to not mentioning it."""
        return self.state in (NEGATED, UNCERTAIN, PREDIABETES)


def _generic_reading(ctx: CheckContext, index: AxisIndex, code: str, other: str) -> Reading:
    mentions = _naming_mentions(ctx, index, code, other)
    documented = [m for m in mentions if m.counts and not _not_established(ctx, m)]
    if documented:
        return Reading(DOCUMENTED, [m.sentence for m in documented])
    live = [m for m in mentions
            if not m.in_history and not _KIN.search(_clause(m.sentence.text, m.words[m.first].start))]
    negated = [m for m in live if m.negated]
    if negated:
        return Reading(NEGATED, [m.sentence for m in negated])
    uncertain = [m for m in live if m.uncertain or (ctx.outpatient and _not_established(ctx, m))]
    if uncertain:
        return Reading(UNCERTAIN, [m.sentence for m in uncertain])
    return Reading(ABSENT)


# -- per-release facts, computed once per code and kept with the release ------------------------------

@per_release
def _memo(release: IcdRelease) -> dict:
    """A cache of tabular facts for one release."""
    return {}


def _cached(release: IcdRelease, key: tuple, compute: Callable[[], object]):
    memo = _memo(release)
    if key not in memo:
        memo[key] = compute()
    return memo[key]


# -- diabetes types (Guideline I.C.4.a) -----------------------------------------------------------------

TYPE_1, TYPE_2, OTHER_TYPE = "type 1", "type 2", "other type"
# "Type 1.5", latent autoimmune diabetes of adults, "type 1 and type 2": wordings a coder cannot settle to one
# type from the record; the provider is asked (type 1, type 2 or other specified, E13), never "both".
MIXED_TYPE = "mixed type"


def _diabetes_kind(release: IcdRelease, code: str) -> str | None:
    block = release.block_of(code)
    if block is None or description_words(release.blocks.get(block, ("",))[0]) != ("diabetes", "mellitus"):
        return None
    chain = [code, *release.ancestors(code)]
    words = description_words(release.description(chain[-1]) or "")
    if _holds(words, ("type", "1")):
        return TYPE_1
    if _holds(words, ("type", "2")):
        return TYPE_2
    return OTHER_TYPE  # E08 due to underlying condition, E09 drug or chemical induced, E13 other specified


def diabetes_kind(release: IcdRelease, code: str) -> str | None:
    """The diabetes type of a code of the tabular's "Diabetes mellitus" block (E08-E13), else None."""
    return _cached(release, ("diabetes-kind", code), lambda: _diabetes_kind(release, code))


# Words around "diabetes" that state its type. Tokens are normalised: "type II" -> "type 2", "T2DM" ->
# "type 2 diabetes mellitus". The other types are stated before the word ("steroid-induced diabetes")
# or as "diabetes due to" (E08); these follow the tabular's inclusion terms of E10, E11 and E13.
_BEFORE_TYPE_1 = frozenset({"juvenile", "brittle", "autoimmune"})
# Insulin-dependent / non-insulin-dependent name diabetes without its type (Index: Diabetes, insulin
# dependent - code to Diabetes, by type; Guideline I.C.4.a.3: insulin use does not make it type 1).
_DIABETES_WORDS = frozenset({"diabetes", "iddm", "niddm"})
# Only right before the word: "neuropathy secondary to diabetes" states no type.
_BEFORE_OTHER = frozenset({"secondary", "induced", "pancreatectomy", "postpancreatectomy", "postprocedural",
                           "pancreatogenic", "gestational", "monogenic", "neonatal"})
_NOT_DIABETES_MELLITUS = frozenset({"insipidus"})
# Index: Prediabetes, prediabetic R73.03; Borderline, diabetes mellitus R73.03. Not diabetes mellitus.
_NOT_YET = frozenset({"pre", "borderline"})


@dataclass(frozen=True)
class _Statement:
    sentence: Sentence
    kind: str | None   # TYPE_1 / TYPE_2 / OTHER_TYPE, or None when the words state no type
    counts: bool       # documents diabetes for this encounter
    refuted: str | None  # NEGATED / UNCERTAIN when the note says it is not there (yet)


def _type_near(norms: list[str], i: int) -> str | None:
    """The type stated around the word "diabetes" at ``norms[i]``."""
    before = norms[max(0, i - 4):i]
    after = norms[i + 1:i + 5]
    around = norms[max(0, i - 6):i + 8]
    if "lada" in around or "latent" in before or _holds(tuple(around), ("double", "diabetes")):
        return MIXED_TYPE
    for window in (before, after):
        for k in range(len(window) - 2):
            if window[k] == "type" and window[k + 1] in ("1", "one") and window[k + 2] in ("5", "and", "or"):
                return MIXED_TYPE  # "type 1.5", "type 1 and type 2", "type 1 or 2"
    for window in (before, after):
        for k in range(len(window) - 1):
            if window[k] == "type" and window[k + 1] in ("1", "one", "2", "two"):
                return TYPE_1 if window[k + 1] in ("1", "one") else TYPE_2
    previous = norms[i - 1] if i > 0 else ""
    near = tuple(norms[max(0, i - 3):i])
    if previous in _BEFORE_TYPE_1 or _holds(near, ("ketosis", "prone")) or _holds(near, ("juvenile", "onset")):
        return TYPE_1
    if _holds(near, ("adult", "onset")):
        return TYPE_2
    if previous in _BEFORE_OTHER or _holds(near, ("cystic", "fibrosis")):
        return OTHER_TYPE
    rest = [w for w in after if w != "mellitus"]
    if rest[:2] == ["due", "to"]:
        return OTHER_TYPE
    return None


def _diabetes_statements(ctx: CheckContext) -> list[_Statement]:
    key = ("excludes1:diabetes", ctx.outpatient)
    memo = ctx.note.memo
    if key in memo:
        return memo[key]
    out: list[_Statement] = []
    for sentence, words in ctx.note.tokenized:
        norms = [t.norm for t in words]
        for i, word in enumerate(norms):
            prediabetes = word.startswith("prediabet")
            if not prediabetes and (word not in _DIABETES_WORDS or (i > 0 and norms[i - 1] in _DIABETES_WORDS)):
                continue
            if set(norms[i + 1:i + 3]) & _NOT_DIABETES_MELLITUS:
                continue
            prediabetes = prediabetes or bool(set(norms[max(0, i - 2):i]) & _NOT_YET)
            pos = words[i].start
            clause = _clause(sentence.text, pos)
            if _KIN.search(clause) or sentence.section == "family":
                continue
            refuted = None
            if prediabetes:
                if not is_negated_at(sentence.text, pos) and sentence.section not in HISTORY_SECTIONS:
                    out.append(_Statement(sentence, None, False, PREDIABETES))
                continue
            if is_negated_at(sentence.text, pos):
                refuted = NEGATED
            elif ctx.outpatient and (is_uncertain_at(sentence.text, pos) or _WORKUP.search(clause)):
                refuted = UNCERTAIN
            counts = refuted is None and sentence.section not in HISTORY_SECTIONS
            out.append(_Statement(sentence, _type_near(norms, i), counts, refuted))
    memo[key] = out
    return out


def _diabetes_reading(ctx: CheckContext, kind: str) -> Reading:
    """How the note stands on diabetes of ``kind``: the type it states wins; no type stated
    anywhere in the record means type 2 (Guideline I.C.4.a.2)."""
    statements = _diabetes_statements(ctx)
    mixed = [s for s in statements if s.counts and s.kind == MIXED_TYPE]
    if mixed and kind in (TYPE_1, TYPE_2):
        return Reading(DOCUMENTED, [s.sentence for s in mixed])  # both read as stated: the type is asked
    stated = {s.kind for s in statements if s.kind and s.refuted is None}
    untyped = [s for s in statements if s.counts and s.kind is None]
    own = [s for s in statements if s.counts and s.kind == kind]
    if own:
        return Reading(DOCUMENTED, [s.sentence for s in own], stated_type=kind)
    if untyped and stated == {kind}:  # "Diabetes: continue pump" with "type 1 diabetes" in the history
        typed = [s for s in statements if s.kind == kind and s.refuted is None]
        return Reading(DOCUMENTED, [s.sentence for s in untyped + typed], stated_type=kind)
    if untyped and not stated:
        if kind == TYPE_2:
            return Reading(DOCUMENTED, [s.sentence for s in untyped], by_default=True)
        return Reading(CONTRADICTED, [s.sentence for s in untyped], by_default=True)
    others = [s for s in statements if s.counts and s.kind not in (None, kind)]
    if others or (untyped and stated and kind not in stated):
        typed = others or [s for s in statements if s.kind and s.refuted is None]
        return Reading(CONTRADICTED, [s.sentence for s in typed], stated_type=typed[0].kind if typed else None)
    for state in (NEGATED, UNCERTAIN, PREDIABETES):
        refuted = [s for s in statements if s.refuted == state and s.kind in (None, kind)]
        if refuted:
            return Reading(state, [s.sentence for s in refuted])
    return Reading(ABSENT)


def _reading(ctx: CheckContext, index: AxisIndex, code: str, other: str) -> Reading:
    release = index.release
    kind = diabetes_kind(release, code)
    if kind is not None and kind != diabetes_kind(release, other):
        return _diabetes_reading(ctx, kind)
    return _generic_reading(ctx, index, code, other)


# -- combination codes (Guideline I.B.9) ----------------------------------------------------------------

_CONNECTORS = ("with", "due")  # "A with B" (I.A.15), "A due to B"
_GENERIC_AXIS = frozenset({"site", "side", "region", "part", "organism", "cause"})


def _core_words(seq: tuple[str, ...]) -> frozenset[str]:
    """The condition words of a description, without "unspecified" and the axis word it leaves open
    ("Radiculopathy, site unspecified" -> {radiculopathy})."""
    out = set()
    for i, w in enumerate(seq):
        if w == "unspecified":
            continue
        near_open = (i + 1 < len(seq) and seq[i + 1] == "unspecified") or (i > 0 and seq[i - 1] == "unspecified")
        if w in _GENERIC_AXIS and near_open:
            continue
        out.add(w)
    return frozenset(out)


_NEGATORS = ("without", "not", "non")


def _split(description: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """The words a description affirms and the words it denies: "Gastro-esophageal reflux disease with
    esophagitis, without bleeding" affirms reflux disease and esophagitis, denies bleeding; "Hypothermia,
    not associated with low environmental temperature" affirms only hypothermia."""
    seq = description_words(description)
    for i, w in enumerate(seq):
        if w in _NEGATORS:
            return seq[:i], frozenset(x for x in seq[i + 1:] if x not in _NEGATORS)
    return seq, frozenset()


def _combination_wordings(release: IcdRelease, code: str) -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
    """(affirmed, denied) word sets of the code's description and inclusion terms that join two conditions."""
    variants = [release.description(code) or ""]
    for owner in (code, release.parent(code)):
        if owner:
            variants.extend(release.notes(owner, "inclusionTerm"))
    out = []
    for text in variants:
        seq, denied = _split(text)
        joins = [i for i, w in enumerate(seq) if w in _CONNECTORS and (i + 1 >= len(seq) or seq[i + 1] != "or")]
        if joins:
            out.append((frozenset(seq) - set(_CONNECTORS), denied))
    return tuple(out)


def _joined_words(text: str) -> frozenset[str] | None:
    """The affirmed words of a wording that joins two conditions ("A with B", "A due to B"), else None."""
    seq, _ = _split(text)
    if not any(w in _CONNECTORS and (i + 1 >= len(seq) or seq[i + 1] != "or") for i, w in enumerate(seq)):
        return None
    return frozenset(seq) - set(_CONNECTORS)


def _covers(release: IcdRelease, broad: str, narrow: str) -> bool:
    description = release.description(narrow) or ""
    if set(description_words(description)) & set(_CONNECTORS):
        return False  # the narrower code is a combination of its own
    seq, denied = _split(description)
    core = _core_words(seq)
    if not core or core & RESIDUAL:
        return False  # "Other ..." holds what is classified elsewhere: not a component by wording
    wordings = _cached(release, ("combination-wordings", broad), lambda: _combination_wordings(release, broad))
    # What the narrower code denies ("without bleeding") the combination must deny too.
    if any(core < affirmed and denied <= its_denied for affirmed, its_denied in wordings):
        return True
    if denied:
        return False  # "X without Y" is the other branch of an axis, not a component
    # The narrower code's inclusion terms name its condition as the combination words it ("Lumbago NOS"
    # under M54.5; M51.2 includes "Lumbago due to displacement of intervertebral disc"), but an "NOS"
    # term also sits on codes that are the other branch of an axis, so the Excludes1 note of the pair
    # must itself say the combination ("lumbago due to intervertebral disc displacement (M51.2-)").
    notes = [n for _, n in excluding_notes(release, narrow, broad) + excluding_notes(release, broad, narrow)]
    joined = [w for w in (_joined_words(_SEGMENT.sub(" ", n)) for n in notes) if w]
    if not joined:
        return False
    terms = list(release.notes(narrow, "inclusionTerm"))
    parent = release.parent(narrow)
    if parent:
        terms.extend(release.notes(parent, "inclusionTerm"))
    for term in terms:
        term_seq, term_denied = _split(term)
        if term_denied or set(term_seq) & set(_CONNECTORS):
            continue
        term_core = _core_words(term_seq)
        if not term_core or term_core & RESIDUAL:
            continue
        if any(term_core < affirmed for affirmed, _ in wordings) and any(term_core <= w for w in joined):
            return True
    return False


def combination_covers(release: IcdRelease, broad: str, narrow: str) -> bool:
    """True when ``broad`` is a combination code whose wording already says all of ``narrow``'s
    condition ("Intervertebral disc disorders with radiculopathy, lumbar region" says "Radiculopathy,
    lumbar region"), and not the other way round."""
    return _cached(release, ("covers", broad, narrow),
                   lambda: _covers(release, broad, narrow) and not _covers(release, narrow, broad))


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
_LINKED = re.compile(r"\b(?:due to|secondary to|caused by|because of|related to|attributed to|from|with)\b", re.I)


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
_ANGINA_WORDS = re.compile(r"\bangina\b|\banginal\b", re.I)
_OTHER_CAUSE = re.compile(r"\b(?:due to|secondary to|caused by|from|related to|attributed to)\b(?![^.;]*\b(?:coronary|cad|"
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
    from vma.checks.support.refine.decide import decide

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
    for sentence, words in ctx.note.tokenized:
        if sentence.section in HISTORY_SECTIONS:
            continue
        norms = [t.norm for t in words]
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


@register(CHECK_ID)
def check(ctx: CheckContext) -> list[Finding]:
    return list(_findings(ctx))
