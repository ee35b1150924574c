"""Refinement: the most specific code the note documents for a coded condition, in one step.

A senior coder reading "primary osteoarthritis of the left knee" next to M17.9
(Osteoarthritis of knee, unspecified) goes straight to M17.12 (Unilateral primary
osteoarthritis, left knee); next to "acute on chronic systolic heart failure" and I50.9
she goes to I50.23. She does not fix one axis and leave the next for another round.
This module finds that code from the tabular alone:

1. **Candidates.** Every code of the category that says at least what the proposed
   code says, and more: its words (parenthesised nonessential modifiers dropped,
   plurals folded) hold the proposed code's words, except "unspecified", and a side
   or acuity the proposed code states (so a wrong side can be replaced). For a
   non-billable header, every billable code beneath it.
2. **What each candidate adds**, sorted into the axes of Guideline I.B: a side
   ("right", "left", "bilateral", only where the category pairs right and left
   codes of the same wording), an acuity ("acute", "chronic", both = acute on
   chronic), and other terms (type, stage, cause, complication: "systolic",
   "primary", "stage 3", "with exacerbation", "without aura").
3. **What the note documents for this condition**: the side given for its body
   site (vma.axes.side_evidence), the acuity stated with it, "exacerbation" and
   "decompensated" read as acute (AHA Coding Clinic 3Q 2008;
   acute on chronic when the note documents the condition as chronic), and each
   term stated in a sentence naming the condition, not negated and (outpatient)
   not uncertain, or one of the candidate's inclusion terms stated there.
4. **Decision.** The candidate every one of whose added values the note documents
   and that no other documented candidate outdoes is the correction, whatever
   axes it settles at once. When the note documents part of what more specific
   codes need (an acuity, a severity word, a type) but none in full, only the
   physician can finish it: a query listing the candidates that fit what is
   documented. A short table of clinical indicators
   (``vma/reference/data/cdi_indicators.json``) adds the classic CDI queries for
   conditions coded unspecified while the record shows their indicators
   (heart failure with an ejection fraction or a diuretic change, asthma on a
   daily controller, CKD with an eGFR).

"Other ..." codes and codes that add "unspecified" are never chosen from wording.

Sources: ICD-10-CM Official Guidelines for Coding and Reporting FY2026, I.A.7
(nonessential modifiers), I.B.2 (code to the highest specificity
documented), I.A.19 (the provider's statement), I.B.8 (acute and chronic), I.B.13 (laterality; right and left codes
when no bilateral code exists), IV.H (uncertain diagnoses, outpatient); the
ICD-10-CM Alphabetic Index default for osteoarthritis of a joint (primary,
M15-M19 "Osteoarthritis ... knee M17.1-"); AHIMA/ACDIS Guidelines for
Achieving a Compliant Query Practice (2022 update).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources

from vma.redirect import documented_family, documented_redirect
from vma.axes import ACUITY, ACUITY_TERMS, ACUTE, ACUTE_ON_CHRONIC, BILATERAL, CHRONIC, LATERALITY, LEFT, OPEN, \
    RESIDUAL, RIGHT, SIDE_TERMS, SPECIFICITY, AxisEvidence, AxisIndex, CodeAxis, Mention, acuity_evidence, acuity_of, \
    condition_mentions, fold, key_words, note_words, same_word, scoped_words, side_evidence, sides_at_site, \
    sibling_phrase
from vma.notes import HISTORY_SECTIONS, NoteDoc, Sentence, Token, is_negated_at, is_past_or_planned, is_uncertain_at, \
    lazy_pattern
from vma.reference.icd10cm import per_release

BOTH = frozenset({RIGHT, LEFT})
# Connectives a more specific code adds without meaning anything by themselves ("without" marks the
# term after it as absent: "without aura").
# "Angina" is "angina pectoris" (Index: Angina (attack) (cardiac) (chest) (heart) ... I20.9).
_FILLER = frozenset({"with", "without", "unilateral", "on", "due", "pectoris"})
# A code that states the absence of complications is contradicted by a documented complication
# ("asthma, uncomplicated" -> "with exacerbation"; "diabetes without complications" -> "with
# diabetic polyneuropathy", the "with" convention of Guideline I.A.15).
_NO_COMPLICATION = frozenset({"uncomplicated", "~complication"})
# The type the Alphabetic Index gives a condition of a named site when the note states no other:
# osteoarthritis is primary ("Osteoarthritis ... knee M17.1-, hip M16.1-, shoulder M19.01-") and gout
# idiopathic ("Gout, idiopathic ... ankle M10.07-"); the post-traumatic, secondary, drug-induced or
# dysplastic forms need the note to say so. Generalized osteoarthritis (M15) has no such default.
_INDEX_DEFAULT_TYPE = {"M16": "primary", "M17": "primary", "M18": "primary", "M19": "primary", "M10": "idiopathic"}
# The condition itself, stated as such: "knee pain" or "likely osteoarthritis" is no osteoarthritis.
_DEFAULT_CONDITION = {
    "primary": re.compile(r"\b(?:osteoarthriti\w*|osteoarthros\w*|oa|djd|degenerative (?:joint disease|arthritis))\b",
                          re.I),
    "idiopathic": re.compile(r"\b(?:gout\w*|podagra)\b", re.I)}
# A cause stated anywhere about the condition takes the default away ("This is post-traumatic, from his
# 2010 tibial plateau fracture"); "pain due to osteoarthritis" names the condition, not its cause.
_NOT_DEFAULT = {
    "primary": re.compile(
        r"\b(?:secondary|post-?traumatic|traumatic|dysplas\w*|(?:from|after|due to|resulting from|caused by) "
        r"(?!(?:his |her |the |their )?(?:osteoarthriti|oa\b|djd|degenerative|arthritis))(?:an? |his |her |the |"
        r"prior |previous |old |remote )?(?:[\w-]+ ){0,3}?(?:injur\w*|fractures?|trauma|meniscectomy|acl|surgery|"
        r"dysplasia|infection|rheumatoid|gout))\b", re.I),
    "idiopathic": re.compile(r"\b(?:secondary|lead|saturnine|drug[- ]induced|diuretic\w*|due to|caused by|renal|"
                             r"kidney)\b", re.I)}
# Sites a tabular title pairs, of which the note need name one ("Idiopathic gout, ankle and foot").
_PAIRED_SITES = (("ankle", "foot"), ("hand", "finger"), ("hand", "fingers"))
_EXACERBATION = re.compile(r"\b(?:exacerbat\w*|decompensat\w*)\b", re.I)
# Where "exacerbation" and "decompensated" are read as the acute phase: heart failure, the
# condition the guidance speaks of (AHA Coding Clinic 3Q 2008: "decompensated" indicates a flare-up,
# the acute phase, of a chronic condition). Elsewhere only "acute"/"chronic" themselves count.
_EXACERBATION_IS_ACUTE = ("I50",)
MAX_OPTIONS = 12


def folded(words) -> frozenset[str]:
    return frozenset(fold(w) for w in words)


@dataclass(frozen=True)
class Refinement:
    """A code more specific than the proposed one, and what it adds."""

    code: str
    side: frozenset[str] | None  # {"right"}, {"left"}, both for bilateral; None when it states no side
    acuity: str | None
    terms: tuple[str, ...]  # other added words, in the code's own order
    phrase: tuple[str, ...]  # the words to find in the note for the terms ("stage", "3")
    negated: frozenset[str]  # terms the code states after "without" ("without aura")
    residual: bool  # "Other ..." / "... specified": a choice for the provider, never a correction
    variants: tuple[tuple[str, ...], ...]  # inclusion terms of its own branch ("heart failure with reduced ...")
    site: tuple[str, ...] = ()
    replaces: frozenset[str] = frozenset()  # what the proposed code states that this code contradicts
    site_terms: frozenset[str] = frozenset()  # terms that name the body site a side attaches to ("eye")
    # A specific sibling of a residual "unspecified" code whose title words it does not repeat ("Calculus of
    # kidney" beside "Urinary calculus, unspecified"): a correction when documented in full, never a question.
    loose: bool = False

    def core(self) -> frozenset:
        """What it says beyond the proposed code, without the site word a side attaches to: a
        bilateral code drops it ("..., bilateral") where the one-sided codes keep it ("..., right eye")."""
        return self.info() - self.site_terms

    def info(self) -> frozenset:
        out = {("~" if t in self.negated else "") + fold(t) for t in self.terms}
        if self.side:
            out |= {("side", s) for s in self.side}
        if self.acuity:
            out.add(("acuity", self.acuity))
        return frozenset(out)


def _side_of(words: frozenset[str]) -> frozenset[str] | None:
    if BILATERAL in words:
        return BOTH
    sides = words & {RIGHT, LEFT}
    return frozenset(sides) if len(sides) == 1 else None


class Refiner:
    """Per-release cache of each code's refinements. Get one with :func:`refiner`."""

    def __init__(self, index: AxisIndex):
        self.index = index
        self.release = index.release

    def category(self, code: str) -> str:
        ancestors = self.release.ancestors(code)
        return ancestors[-1] if ancestors else code

    def is_header(self, code: str) -> bool:
        rel = self.release
        return code in rel and not rel.is_billable(code) and bool(rel.children(code)) \
            and not self.index.needs_seventh(code)

    @lru_cache(maxsize=None)
    def refinements(self, code: str) -> tuple[Refinement, ...]:
        index, rel = self.index, self.release
        if code not in rel:
            return ()
        header = self.is_header(code)
        if header:
            pool = [d for d in rel.descendants(code) if index.is_base(d)]
        else:
            pool = [d for d in rel.descendants(self.category(code)) if d != code and index.is_base(d)]
            acuity_axis = index.axis(code, ACUITY)
            if acuity_axis is not None:  # acute and chronic forms kept in other categories (J40 -> J20.9, J42)
                pool += [s.code for s in acuity_axis.siblings if s.code not in pool]
        xk = key_words(rel.description(code) or "")
        x_side, x_acuity = _side_of(xk), acuity_of(xk)
        own_site = folded(index._site_after(index.words(code), frozenset({OPEN}) | SIDE_TERMS))
        # The word an "unspecified" opens ("unspecified site", "unspecified part") gives way to the
        # site or part a more specific code names.
        words = index.words(code)
        open_slot = {fold(words[i + 1]) for i, w in enumerate(words[:-1]) if w == OPEN}
        keyed = {y: key_words(rel.description(y) or "") for y in pool}
        # ... but only a placeholder ("site", "part"), never a body site the category gives sides
        # ("unspecified shoulder" next to "right shoulder").
        sided_words = {fold(w) for y in pool for ws in (index.words(y),)
                       for i, w in enumerate(ws[1:], 1) if ws[i - 1] in SIDE_TERMS}
        open_slot = open_slot - sided_words
        # A side is an axis only where the tabular pairs a right and a left code of the same wording;
        # elsewhere ("Right heart failure") the word names a type.
        paired: dict[frozenset[str], set[str]] = {}
        for y, yk in [*keyed.items(), (code, xk)]:
            if yk & {RIGHT, LEFT}:
                paired.setdefault(frozenset(yk - SIDE_TERMS), set()).update(yk & {RIGHT, LEFT})
        sided = {k for k, v in paired.items() if v == {RIGHT, LEFT}}
        own_branch = set(rel.ancestors(code)) | {code}
        # A header that lists its children's alternatives ("Other thoracic, thoracolumbar and lumbosacral
        # intervertebral disc displacement") states none of them: each child still needs its own.
        alternatives = {w for w in xk if any(w in yk for yk in keyed.values())
                        and not all(w in yk for yk in keyed.values())} \
            if header and self.lists_alternatives(code) else set()
        out: list[Refinement] = []
        for y, yk in keyed.items():
            added = (yk - xk - _FILLER) | (yk & alternatives)
            if OPEN in added and not added - {OPEN}:
                continue  # only vaguer than the proposed code
            added -= {OPEN}
            # what a code's parents say, it says too ("at C5-C6 level" sits under "mid-cervical region"),
            # and the acuity of its category's title ("Streptococcal pharyngitis" is an acute pharyngitis, J02)
            category_words = key_words(rel.description(self.category(y)) or "") & ACUITY_TERMS
            removed = xk - yk - self.inherited_words(y) - category_words
            y_has_side = bool(yk & SIDE_TERMS) and (frozenset(yk - SIDE_TERMS) in sided or BILATERAL in yk)
            if not header:
                allowed = {OPEN, "unilateral"} | (xk & ACUITY_TERMS)
                if x_side is not None:
                    allowed |= xk & SIDE_TERMS
                if BILATERAL in yk:
                    allowed |= own_site
                if added - SIDE_TERMS - ACUITY_TERMS:
                    allowed |= open_slot
                if added:
                    # a stated absence the other code contradicts: "uncomplicated", "without aura"
                    allowed |= _NO_COMPLICATION | {w for w in removed if w.startswith("~") and w[1:] in yk}
                loose = False
                if removed - allowed:
                    # The unspecified member of a subdivision stands for the others' condition: its
                    # specific siblings are that condition's forms (N20.9 Urinary calculus, unspecified:
                    # N20.0 Calculus of kidney), whatever words its own title uses.
                    if not (OPEN in words and rel.parent(y) == rel.parent(code) and not (yk & RESIDUAL)
                            and rel.is_billable(y)):
                        continue
                    loose = True
            y_side = _side_of(yk) if y_has_side else None
            if x_side is not None and y_side is None and not header:
                continue
            y_acuity = acuity_of(yk) or (acuity_of(category_words) if x_acuity is not None else None)
            if x_acuity is not None and y_acuity is None and not header:
                continue
            axis_words = (SIDE_TERMS if y_has_side else frozenset()) | ACUITY_TERMS
            term_keys = {w for w in added if w not in axis_words}
            plain = {w.lstrip("~") for w in term_keys}
            seq = index.words(y)
            terms = tuple(dict.fromkeys(w for w in seq if fold(w) in plain and w not in (OPEN, "with", "without")))
            negated = frozenset(t for t in terms if "~" + fold(t) in term_keys)
            changes = bool(terms) or (y_side is not None and y_side != x_side) or \
                (y_acuity is not None and y_acuity != x_acuity)
            if not changes:
                continue
            variants = []
            for node in (y, *rel.ancestors(y)):
                if node in own_branch:
                    break
                for term in rel.notes(node, "inclusionTerm"):
                    words = tuple(w for w in scoped_words(term) if w.lstrip("~") not in _FILLER and w != OPEN)
                    if words:
                        variants.append(words)
            site = index._site_after(seq, frozenset(SIDE_TERMS)) if y_side else ()
            out.append(Refinement(
                code=y, side=y_side, acuity=y_acuity, terms=terms,
                phrase=sibling_phrase(seq, frozenset(terms)) if terms else (),
                negated=negated, residual=bool((yk - xk) & RESIDUAL), variants=tuple(variants), site=site,
                replaces=frozenset(removed - {OPEN, "unilateral"} - (own_site if BILATERAL in yk else set())),
                site_terms=frozenset(fold(t) for t in terms) & sided_words, loose=not header and loose))
        return tuple(out)


    @lru_cache(maxsize=None)
    def inherited_words(self, code: str) -> frozenset[str]:
        """Words of the code's subcategory titles, which its own title may leave unsaid."""
        words: set[str] = set()
        for parent in self.release.ancestors(code)[:-1]:  # the category's title is everyone's
            if not self.lists_alternatives(parent):
                words |= key_words(self.release.description(parent) or "")
        return frozenset(words)

    @lru_cache(maxsize=None)
    def lists_alternatives(self, code: str) -> bool:
        """The title names its children's alternatives ("Pain in limb, hand, foot, fingers and toes",
        "Other thoracic, thoracolumbar and lumbosacral ..."): a child states one of them, never all."""
        rel = self.release
        title = key_words(rel.description(code) or "")
        kids = [key_words(rel.description(c) or "") & title for c in rel.children(code)]
        return len({k for k in kids if k and k != title}) >= 2

    @lru_cache(maxsize=None)
    def own_inclusion_words(self, code: str) -> frozenset[str]:
        """Words of the inclusion terms of the code and its parent: what the code itself takes in."""
        words: set[str] = set()
        for owner in (code, self.release.parent(code)):
            for term in self.release.notes(owner, "inclusionTerm") if owner else ():
                words.update(w.lstrip("~") for w in scoped_words(term))
        return frozenset(words)

    @lru_cache(maxsize=None)
    def cue_words(self, code: str) -> tuple[str, ...]:
        """Words at least one of which a note must use for any refinement to be documented or
        hinted: the candidates' terms and inclusion terms, the sites their sides attach to, and the
        acuity words when a candidate changes the acuity."""
        words: set[str] = set()
        x_acuity = acuity_of(key_words(self.release.description(code) or ""))
        for r in self.refinements(code):
            words.update(t for t in r.terms if not any(c.isdigit() for c in t) and len(t) > 2)
            words.update(w.lstrip("~") for v in r.variants for w in v)
            words.update(r.site[-1:])
            if r.acuity not in (None, x_acuity):
                words.update(("acute", "chronic", "subacute", "exacerbation", "exacerbated", "decompensated",
                              "decompensation", "flare"))
        lat = self.index.axis(code, LATERALITY)
        if lat is not None:
            words.update(lat.site[-1:])
        return tuple(sorted(words))


@per_release
def refiner(index: AxisIndex) -> Refiner:
    """The one Refiner of a release's AxisIndex."""
    return Refiner(index)


# -- clinical indicators (CDI queries) ---------------------------------------------------------------------

@dataclass(frozen=True)
class IndicatorRule:
    family: str
    categories: tuple[str, ...]
    asks: str  # what the query asks for: "type and acuity", "severity", "stage"
    patterns: tuple[re.Pattern[str], ...]
    source: str
    not_in: re.Pattern[str] | None = None  # a sentence matching this cites no indicator ("Flonase nasal spray")


@lru_cache(maxsize=1)
def indicator_rules() -> tuple[IndicatorRule, ...]:
    data = json.loads(resources.files("vma.reference").joinpath("data", "cdi_indicators.json").read_text())
    # Compiled when a rule's family is first read: a chart reads one family, if any.
    return tuple(IndicatorRule(r["family"], tuple(r["categories"]), r["asks"],
                               tuple(lazy_pattern(p, re.I) for p in r["indicators"]), r["source"],
                               lazy_pattern(r["not_in"], re.I) if r.get("not_in") else None)
                 for r in data["rules"])


# -- what the note documents ------------------------------------------------------------------------------

@dataclass
class Documentation:
    """What the note documents for one proposed code, against its refinements."""

    code: str
    mentions: list[Mention]
    side: frozenset[str] | None = None
    side_evidence: AxisEvidence | None = None
    sides: dict[str, frozenset[str] | None] = field(default_factory=dict)  # site word -> side the note settles
    site: str | None = None  # the site word the side of the code itself is read at

    def side_of(self, r: Refinement) -> frozenset[str] | None:
        """The side the note settles for the body site the candidate names."""
        if r.site and r.site[-1] in self.sides:
            return self.sides[r.site[-1]]
        return self.side
    side_conflict: bool = False
    acuity: frozenset[str] = frozenset()  # documented acuity values (two when "exacerbation" leaves it open)
    acuity_sentences: list[Sentence] = field(default_factory=list)
    acuity_said: list[str] = field(default_factory=list)  # the note's own word when it is not "acute" ("exacerbation")
    full: dict[str, list[Sentence]] = field(default_factory=dict)  # candidate -> sentences stating all its terms
    terms: dict[str, list[Sentence]] = field(default_factory=dict)  # folded term -> sentences stating it
    hinted: set[str] = field(default_factory=set)  # candidates whose words stand with the condition, even uncertain
    defaulted: str | None = None  # the type the Index supplies ("primary"), not the note
    examined_sides: frozenset[str] = frozenset()  # sides the exam and results find something at the site
    by_inclusion: set[str] = field(default_factory=set)  # candidates the note names by an inclusion term

    @property
    def counting(self) -> list[Mention]:
        return [m for m in self.mentions if m.counts]


class _Words:
    """Where each word stands in one sentence, for the many look-ups of one note's candidates:
    a word's positions by its folded form, so that most look-ups are a dict hit; the fuzzy
    inflection match of :func:`vma.axes.same_word` is tried only for long words."""

    __slots__ = ("tokens", "at", "long")

    def __init__(self, tokens: tuple[Token, ...]):
        self.tokens = tokens
        self.at: dict[str, list[int]] = {}
        for i, t in enumerate(tokens):
            self.at.setdefault(fold(t.norm), []).append(i)
        self.long = [n for n in self.at if len(n) >= 8]

    def positions(self, term: str) -> list[int]:
        hits = self.at.get(fold(term))
        if hits is not None:
            return hits
        if len(term) >= 8:
            for n in self.long:
                if same_word(n, term):
                    return self.at[n]
        return []


def _words(m: Mention, cache: dict) -> _Words:
    key = id(m.sentence)
    found = cache.get(key)
    if found is None:
        found = cache[key] = _Words(m.words)
    return found


def _stated(m: Mention, term: str, negated: bool, outpatient: bool, cache: dict) -> bool:
    """The term stands in the mention's sentence; negated when the code says "without" it."""
    key = (id(m.sentence), term, negated)
    if key in cache:
        return cache[key]
    text = m.sentence.text
    result = False
    w = _words(m, cache)
    for i in w.positions(term):
        start = w.tokens[i].start
        if is_negated_at(text, start) != negated:
            continue
        if not negated and is_past_or_planned(text, start):
            continue
        if outpatient and is_uncertain_at(text, start):
            continue
        result = True
        break
    cache[key] = result
    return result


def _phrase_stated(m: Mention, ref: Refinement, outpatient: bool, cache: dict) -> bool:
    w = _words(m, cache)
    for k, term in enumerate(ref.phrase):
        hits = w.positions(term)
        if not hits:
            return False
        if k and any(c.isdigit() for c in term):  # "stage 3": the number next to its word
            before = ref.phrase[k - 1]
            if not any(i and same_word(w.tokens[i - 1].norm, before) for i in hits):
                return False
    for term in ref.terms:
        if any(c.isdigit() for c in term) or len(term) <= 2:
            continue  # a bare number or letter is checked with its word above
        if not _stated(m, term, term in ref.negated, outpatient, cache):
            return False
    return True


def _beside_condition(m: Mention, term: str, condition_words: frozenset[str], cache: dict, reach: int = 4) -> bool:
    """The term qualifies the condition itself: within a few words of the condition's name in the
    same clause ("moderate intermittent asthma", "exacerbation of her heart failure"), not elsewhere
    in a long sentence that also names it ("glaucoma is a chronic disease that needs ...")."""
    w = _words(m, cache)
    named = [i for word in condition_words for i in w.positions(word)]
    text = m.sentence.text
    for i in w.positions(term):
        for j in named:
            if i != j and abs(i - j) <= reach:
                lo, hi = sorted((w.tokens[i], w.tokens[j]), key=lambda t: t.start)
                if not re.search(r"[.;:]", text[lo.end:hi.start]):
                    return True
    return False


def _variant_stated(m: Mention, variant: tuple[str, ...], outpatient: bool, cache: dict) -> bool:
    """Every word of an inclusion term stands in the sentence, those it states absent ("without
    aura", marked "~") negated there and the others not."""
    return all(_stated(m, w.lstrip("~"), w.startswith("~"), outpatient, cache) for w in variant)


def _index_default(note: NoteDoc, code: str, counting: list[Mention]) -> str | None:
    """The term the Index supplies for this condition when the note states the condition plainly, at a
    named site, and no cause that would make it another type."""
    word = _INDEX_DEFAULT_TYPE.get(code[:3])
    if word is None or not counting:
        return None
    condition = _DEFAULT_CONDITION[word]
    if not any(not is_negated_at(m.sentence.text, hit.start()) and not is_uncertain_at(m.sentence.text, hit.start())
               for m in counting for hit in condition.finditer(m.sentence.text)):
        return None
    # The cause may stand in the mention, the sentence after it, or elsewhere in the assessment.
    looked = {id(m.sentence) for m in counting}
    around = [m.sentence for m in counting]
    for i, sentence in enumerate(note.sentences):
        if id(sentence) in looked and i + 1 < len(note.sentences) \
                and note.sentences[i + 1].section == sentence.section:
            around.append(note.sentences[i + 1])
        elif sentence.section in ("assessment", "plan") and condition.search(sentence.text):
            around.append(sentence)
    if any(_NOT_DEFAULT[word].search(s.text) for s in around):
        return None
    return word


def _without_default(r: Refinement, word: str) -> list[Refinement]:
    """The candidate with the Index's default term taken as said: its other terms, each paired site
    needing one of its words ("ankle and foot": the ankle, or the foot)."""
    terms = tuple(t for t in r.terms if t != word)
    phrase = tuple(t for t in r.phrase if t != word)
    out = [replace(r, terms=terms, phrase=phrase, variants=())]
    for pair in _PAIRED_SITES:
        if set(pair) <= set(phrase):
            for drop in pair:
                out.append(replace(r, terms=tuple(t for t in terms if t != drop),
                                   phrase=tuple(t for t in phrase if t != drop), variants=()))
    return out


def documentation(note: NoteDoc, index: AxisIndex, code: str, outpatient: bool) -> Documentation:
    key = ("refine.documentation", id(index), code, outpatient)
    if key in note.memo:
        return note.memo[key]
    ref = refiner(index)
    refs = ref.refinements(code)
    mentions = list(condition_mentions(note, index, code, outpatient))
    if ref.is_header(code):  # a header's condition is named by any of its codes
        seen = {id(m.sentence) for m in mentions}
        for r in refs[:40]:
            for m in condition_mentions(note, index, r.code, outpatient):
                if id(m.sentence) not in seen:
                    seen.add(id(m.sentence))
                    mentions.append(m)
        mentions.sort(key=lambda m: m.sentence.start)
    doc = Documentation(code, mentions)
    counting = doc.counting
    desc = index.release.description(code) or ""
    if any(r.side for r in refs):
        lat = index.axis(code, LATERALITY)
        heads = list(dict.fromkeys(r.site[-1] for r in refs if r.side and r.site))
        main = lat.site[-1] if lat is not None and lat.site else (heads[0] if heads else None)
        in_note = note_words(note)
        for head in dict.fromkeys([main, *heads]):
            if head is None or (head != main and not in_note.where(head)):
                continue  # a site the note never names has no side to read
            ev = side_evidence(note, index, CodeAxis(LATERALITY, code, desc, None, (), (head,)), outpatient)
            doc.sides[head] = ev.decided()
            if head == main:
                doc.site = head
                doc.side_evidence = ev
                doc.side = doc.sides[head]
                doc.side_conflict = doc.side is None and _sides_in_dispute(note, ev, (head,))
                if doc.side is not None:
                    doc.examined_sides = _examined_sides(ev, (head,), note)
    x_acuity = acuity_of(key_words(desc))
    if any(r.acuity not in (None, x_acuity) for r in refs):
        axis = CodeAxis(ACUITY, code, desc, None, ())
        ev = acuity_evidence(note, index, axis, outpatient)
        decided = ev.decided()
        stated = ev.assessment | ev.linked
        if decided is None and len(stated) > 1 and stated <= {ACUTE, CHRONIC, ACUTE_ON_CHRONIC}:
            # "chronic heart failure" in the history and "acute on chronic" (or "acute") in the
            # assessment agree: the same condition described as acute and chronic is acute on
            # chronic where the tabular has that code (Guideline I.B.8).
            decided = frozenset({ACUTE_ON_CHRONIC})
        flares = [m for m in counting if _flare_at(m, index, code)] if code.startswith(_EXACERBATION_IS_ACUTE) else []
        if decided and not (flares and set(decided) == {"chronic"}):
            doc.acuity = frozenset(decided)
            doc.acuity_sentences = list(ev.cited)
        elif flares:
            # An exacerbation of heart failure the note calls chronic at this visit is acute on
            # chronic; otherwise whether it is new (acute) or a chronic one's flare-up is the
            # physician's to say: both stay open, for a query.
            chronic = CHRONIC in ev.linked or any(
                _beside_condition(m, CHRONIC, _condition_words(index, code), {}) for m in counting)
            doc.acuity = frozenset({ACUTE_ON_CHRONIC} if chronic else {ACUTE, ACUTE_ON_CHRONIC})
            doc.acuity_sentences = [m.sentence for m in flares]
            doc.acuity_said = sorted({h.group(0).lower() for m in flares for h in _EXACERBATION.finditer(m.sentence.text)})
    default = _index_default(note, code, counting)
    cache: dict = {}
    present = [m for m in mentions if not m.in_history]
    in_note = note_words(note)

    def may_stand(word: str) -> bool:  # a word the note never uses cannot be stated
        return bool(in_note.where(word))

    looked: set[str] = set()
    condition_words = _condition_words(index, code)
    for r in (r for r in refs if r.terms):
        for t in r.terms:
            ft = ("~" if t in r.negated else "") + fold(t)
            if ft in looked or any(c.isdigit() for c in t) or len(t) <= 2:
                continue
            looked.add(ft)
            hits = [m.sentence for m in counting if _stated(m, t, t in r.negated, outpatient, cache)
                    and _beside_condition(m, t, condition_words, cache)] if may_stand(t) else []
            if ft == default and not hits:
                hits = [m.sentence for m in counting if _DEFAULT_CONDITION[default].search(m.sentence.text)][:1]
                doc.defaulted = default
            if hits:
                doc.terms[ft] = hits
        sentences: list[Sentence] = []
        if all(may_stand(w) for w in r.phrase):
            sentences = [m.sentence for m in counting if _phrase_stated(m, r, outpatient, cache)]
            if any(all(_words(m, cache).positions(w) for w in r.phrase)
                   and not any(is_negated_at(m.sentence.text, m.words[i].start)
                               for w in r.phrase for i in _words(m, cache).positions(w))
                   for m in present):
                doc.hinted.add(r.code)  # stated, even if uncertain; a ruled-out detail ("familial ruled out") is no hint
        if not sentences:
            sentences = [m.sentence for v in r.variants if all(may_stand(w.lstrip("~")) for w in v)
                         for m in counting if _variant_stated(m, v, outpatient, cache)]
            if sentences:
                doc.by_inclusion.add(r.code)
        # The Index's default type is for a condition of a named site: only with a side or another term.
        if not sentences and default and set(r.terms) == {default} and r.side is not None:
            sentences = [m.sentence for m in counting[:1]]
        open_site = index._site_after(index.words(r.code), frozenset({OPEN})) if r.side is None else ()
        if not sentences and default and set(r.terms) == {default} and open_site \
                and doc.side is None and not doc.side_conflict and in_note.where(open_site[-1]):
            # The condition at a site the note names, with no side anywhere: the Index's entry
            # (Osteoarthritis, knee M17.1-) leads to the unilateral code whose side only the provider
            # can give; the side question follows (side-of-target).
            sentences = [m.sentence for m in counting[:1]]
        if not sentences and default and default in r.terms and len(r.terms) > 1:
            for rest in _without_default(r, default):
                if rest.phrase and all(may_stand(w) for w in rest.phrase):
                    sentences = [m.sentence for m in counting if _phrase_stated(m, rest, outpatient, cache)]
                if sentences:
                    break
        if not sentences and set(r.terms) == {"uncomplicated"} and not may_stand("complicated") \
                and not may_stand("complication"):
            # The plain condition, stated for this visit with nothing of a complication anywhere, is
            # the uncomplicated code the Index gives it (Dependence, drug, nicotine, cigarettes F17.210).
            sentences = [m.sentence for m in counting][:1]
        if not sentences and r.negated and not any(may_stand(t) for t in r.negated):
            # A complication the note never mentions is coded "without" it: the Index's entry for the
            # plain condition leads there ("Diabetes, type 2, with, retinopathy E11.319", without macular
            # edema), the "with" sibling needing the complication documented (I.A.15).
            rest = replace(r, terms=tuple(t for t in r.terms if t not in r.negated),
                           phrase=tuple(t for t in r.phrase if t not in r.negated), variants=())
            if rest.terms and rest.phrase and all(may_stand(w) for w in rest.phrase):
                # only as a diagnosis of this visit: the assessment, not a story of the past
                sentences = [m.sentence for m in counting if m.in_assessment and _phrase_stated(m, rest, outpatient, cache)]
        if sentences:
            doc.full[r.code] = sentences
            # numbers documented with their word ("stage 3") count as one term
            if any(any(c.isdigit() for c in t) for t in r.phrase):
                doc.terms[" ".join(r.phrase)] = sentences
    note.memo[key] = doc
    return doc


# A side examined and found normal (the other knee, for comparison) says nothing about the condition.
_NORMAL_FINDING = re.compile(r"\b(?:normal|unremarkable|nontender|non-tender|benign|intact|full (?:range|rom)|"
                             r"no (?:tenderness|pain|swelling|effusion|deformity|edema|erythema|abnormalit\w*))\b", re.I)


def _sides_in_dispute(note: NoteDoc, ev: AxisEvidence, site: tuple[str, ...]) -> bool:
    """The note gives both sides for the condition's site, leaving out sides only examined as normal."""
    words_of = {id(sentence): words for sentence, words in note.tokenized}
    sides: set[str] = set()
    for sentence in ev.cited:
        if _NORMAL_FINDING.search(sentence.text):
            continue
        sides |= sides_at_site(sentence.text, words_of.get(id(sentence)) or [], site)
    return len(sides) > 1


_EXAMINED = frozenset({"exam", "results"})


def _other_code_at(index: AxisIndex, base: str, chart_codes: tuple[str, ...], sides: frozenset[str]) -> bool:
    """Another code of the chart states one of ``sides``: the findings there may be that condition's."""
    for c in chart_codes:
        other = index.split_seventh(c)[0]
        if other == base or other not in index.release:
            continue
        if _side_of(key_words(index.release.description(other) or "")) and \
                (_side_of(key_words(index.release.description(other) or "")) or frozenset()) & sides:
            return True
    return False


def _examined_sides(ev: AxisEvidence, site: tuple[str, ...], note: NoteDoc) -> frozenset[str]:
    """The sides the examination and results give the condition's site where they report a finding."""
    words_of = {id(sentence): words for sentence, words in note.tokenized}
    found: set[str] = set()
    for sentence in ev.cited:
        text = sentence.text
        if sentence.section not in _EXAMINED or not any(
                not is_negated_at(text, m.start()) for m in _ABNORMAL_FINDING.finditer(text)):
            continue  # a site examined without an abnormal finding is not where the condition is
        found |= sides_at_site(text, words_of.get(id(sentence)) or [], site)
    return frozenset(found)


_ABNORMAL_FINDING = re.compile(
    r"\b(?:tender(?:ness)?|swelling|swollen|effusion|pain(?:ful)?|ecchymos[ie]s|bruis\w*|erythema(?:tous)?|deformity|"
    r"crepitus|laxity|instability|fracture|tear|edema|warmth|redness|limited|decreased|reduced|positive)\b", re.I)


def _flare_at(m: Mention, index: AxisIndex, code: str) -> bool:
    """An exacerbation of this condition at this encounter: the word beside the condition's name
    ("CHF exacerbation", "exacerbation of her heart failure"), not negated, not an earlier one or one
    to prevent ("hospitalized last month for an exacerbation", "warning signs of an exacerbation")."""
    text = m.sentence.text
    near = _condition_words(index, code)
    for hit in _EXACERBATION.finditer(text):
        if is_negated_at(text, hit.start()) or is_past_or_planned(text, hit.start()):
            continue
        if _beside_condition(m, hit.group(0).lower(), near, {}):
            return True
    return False


def _condition_words(index: AxisIndex, code: str) -> frozenset[str]:
    return frozenset(w for terms in index.condition_terms(code) for w, _ in terms)


# -- the decision -------------------------------------------------------------------------------------------

@dataclass
class Decision:
    """What a code needs: a correction to ``targets`` or a query among ``options``, and which check says so."""

    check: str
    action: str  # "correct" or "query"
    code: str  # the proposed code, as on the chart
    base: str
    seventh: str | None
    targets: list[str] = field(default_factory=list)  # base codes (7th character added by the caller)
    options: list[Refinement] = field(default_factory=list)
    reason: str = ""  # "documented", "partial", "indicators", "side-silent", "side-conflict", "acuity-silent"
    documented: list[str] = field(default_factory=list)  # what the note documents, in words
    sentences: list[Sentence] = field(default_factory=list)
    rule: IndicatorRule | None = None


def _side_ok(r: Refinement, side: frozenset[str] | None, x_side: frozenset[str] | None) -> bool:
    if r.side is None:
        return True
    return r.side == (side if side is not None else x_side)


def _acuity_ok(r: Refinement, acuity: frozenset[str], x_acuity: str | None) -> bool:
    if r.acuity is None:
        return True
    if acuity:
        return r.acuity in acuity and len(acuity) == 1
    return r.acuity == x_acuity


def decide(note: NoteDoc, index: AxisIndex, code: str, outpatient: bool, chart_codes: tuple[str, ...] = ()
           ) -> Decision | None:
    """The one finding a proposed code needs on the side, acuity and specificity axes, if any."""
    key = ("refine.decide", id(index), code, outpatient, chart_codes)
    if key in note.memo:
        return note.memo[key]
    note.memo[key] = result = _decide(note, index, code, outpatient, chart_codes)
    return result


def _decide(note: NoteDoc, index: AxisIndex, code: str, outpatient: bool, chart_codes: tuple[str, ...],
            redirecting: bool = True) -> Decision | None:
    ref = refiner(index)
    base, seventh = index.split_seventh(code)
    if base not in index.release or (index.release.is_billable(base) is False and not ref.is_header(base)
                                     and not index.needs_seventh(base)):
        return None
    if redirecting and not ref.is_header(base) and seventh is None:
        family = documented_family(note, index, base, outpatient)
        if family is not None and not any(c in chart_codes for c in family.codes):
            if len(family.codes) == 1:
                return Decision(SPECIFICITY, "correct", code, base, None, targets=list(family.codes),
                                reason="documented", documented=[family.said], sentences=[family.sentence])
            stubs = [Refinement(code=c, side=None, acuity=None, terms=(), phrase=(), negated=frozenset(),
                                residual=False, variants=()) for c in family.codes]
            return Decision(SPECIFICITY, "query", code, base, None, options=stubs, reason="partial",
                            documented=[family.said], sentences=[family.sentence])
    if redirecting and not ref.is_header(base):
        moved = _redirected(note, index, code, base, seventh, outpatient, chart_codes)
        if moved is not None:
            return moved
    refs = ref.refinements(base)
    if not refs:
        return None
    lat = index.axis(base, LATERALITY)
    acu = index.axis(base, ACUITY)
    asks = (lat is not None and lat.value is None) or (acu is not None and acu.value is None) or (
        OPEN in index.words(base) and any(base.startswith(r.categories) for r in indicator_rules()))
    if not asks:
        words = note_words(note)
        if not any(words.where(w) for w in ref.cue_words(base)):
            return None  # the note uses no word any more specific code needs: nothing to settle or ask
    doc = documentation(note, index, base, outpatient)
    xk = key_words(index.release.description(base) or "")
    x_side, x_acuity = _side_of(xk), acuity_of(xk)
    if x_side is not None and not (lat is not None or any(r.side for r in refs)):
        x_side = None  # a side word that is not an axis here

    if doc.side is not None and doc.examined_sides and not (doc.examined_sides & doc.side) \
            and not _other_code_at(index, base, chart_codes, doc.examined_sides):
        # The assessment gives one side and the examination and results find something only on the other
        # ("right wrist sprain"; "examination of the left wrist shows tenderness"), and no other code of the
        # chart is that side's: the note disagrees with itself, and only the provider can settle it.
        doc = replace(doc, side=None, side_conflict=True, sides={k: None for k in doc.sides})

    def fully(r: Refinement) -> bool:
        # An "Other ..." code is a choice for the provider, unless the note names one of its inclusion
        # terms ("stable angina" is I20.89, Other forms of angina pectoris: Guideline I.A.11).
        return ((not r.residual or r.code in doc.by_inclusion) and _side_ok(r, doc.side_of(r), x_side) and _acuity_ok(r, doc.acuity, x_acuity)
                and (not r.terms or r.code in doc.full))

    full = [r for r in refs if fully(r)]
    changed = [r for r in full if r.terms or (r.side is not None and r.side != x_side)
               or (r.acuity is not None and r.acuity != x_acuity)]
    # An "unspecified" member gives way to a documented code beside or below it ("mid-cervical region,
    # unspecified level" to "at C5-C6 level"): unspecified codes only when the record says no more (I.A.9.b).
    rel = index.release
    stated = [r for r in changed if OPEN not in index.words(r.code)]
    changed = [r for r in changed if OPEN not in index.words(r.code)
               or not any(rel.parent(r.code) in rel.ancestors(o.code) for o in stated)]
    # "Other ..." codes are for documented detail no specific code has (Guideline I.A.9.a): a specific
    # code the note documents comes first ("secondary to hip dysplasia" is M16.31, not M16.7).
    if any(not r.residual for r in changed):
        changed = [r for r in changed if not r.residual]
    best = [r for r in changed if not any(r.core() < o.core() for o in changed)]
    targets: list[Refinement] = []
    if len({r.info() for r in best}) == 1:
        targets = best[:1]
    # Both sides documented where the tabular has no bilateral code: right and left codes (I.B.13).
    if doc.side == BOTH and x_side != BOTH and not any(r.side == BOTH for r in refs):
        pair = _right_and_left(refs, base, x_side, doc, x_acuity)
        if pair is not None:
            targets = pair
    if targets:
        codes = [r.code for r in targets]
        if all(c in chart_codes or c == base for c in codes):
            if base not in codes and (OPEN in index.words(base) or _contradicted(index, base, codes)):
                # The chart carries the code the note documents beside this vaguer one of the same
                # condition ("COPD, unspecified" beside "COPD with exacerbation"): it says nothing more
                # and is removed (I.B.2; I.A.9.b: unspecified only when nothing more is documented).
                return Decision(SPECIFICITY, "correct", code, base, seventh, targets=[], reason="superseded",
                                documented=list(codes), sentences=list(dict.fromkeys(
                                    s for c in codes for s in doc.full.get(c, [])))[:2]
                                or [m.sentence for m in doc.counting][:1])
            targets = []  # the chart already carries what the note documents
    if len(targets) == 1 and targets[0].side is None:
        open_side = index.axis(targets[0].code, LATERALITY)
        if open_side is not None and open_side.value is None:
            # The note settles the site or type but not the side of the code it leads to: one
            # question with that code's sides, rather than a correction and a query next round.
            sided = {s.code for s in open_side.siblings}
            options = [r for r in refs if r.code in sided and not r.residual]
            if options:
                # the note's own words, never the Index's default nor a paired site it does not name
                said = [w for w in targets[0].phrase if fold(w) in doc.terms and w != doc.defaulted]
                return Decision(SPECIFICITY, "query", code, base, seventh, options=options, reason="side-of-target",
                                documented=[" ".join(said or ([w for w in index.words(base) if w != OPEN]
                                                               if doc.defaulted else targets[0].phrase))],
                                sentences=doc.full.get(targets[0].code, []))
    target_acuity = index.axis(targets[0].code, ACUITY) if len(targets) == 1 else None
    if len(targets) == 1 and targets[0].acuity is None and targets[0].code not in chart_codes and (
            len(doc.acuity) > 1 or (not doc.acuity and target_acuity is not None and target_acuity.value is None
                                    and _acuity_is_queried(targets[0].code))):
        # The note settles the type but leaves the acuity open, between two values ("CHF exacerbation, HFrEF":
        # acute, or acute on chronic) or unsaid where CDI programs ask it: one question among the codes of
        # that type, not a correction to its unspecified acuity and a question next round.
        kin = [r for r in refs if r.acuity is not None and (r.acuity in doc.acuity or not doc.acuity)
               and set(r.terms) == set(targets[0].terms)
               and not r.residual and _side_ok(r, doc.side_of(r), x_side)]
        if kin:
            said = [" ".join(targets[0].phrase)] if targets[0].phrase else []
            return Decision(SPECIFICITY, "query", code, base, seventh, options=kin, reason="acuity-of-target",
                            documented=said + (doc.acuity_said or []),
                            sentences=list(dict.fromkeys(doc.full.get(targets[0].code, []) + doc.acuity_sentences)))
    if targets and seventh is None and all(index.needs_seventh(t.code) for t in targets):
        # The code it leads to needs a 7th character: settle it too when the note does (stage,
        # eye, episode), so the suggestion is complete in one step.
        from vma.episode import settled_seventh

        seventh = settled_seventh(note, index.release, targets[0].code,
                                  condition_mentions(note, index, targets[0].code, outpatient))
    if targets:
        found = _correction(index, code, base, seventh, targets, doc, x_side, x_acuity, lat, acu, ref.is_header(base))
        return _settled_further(note, index, outpatient, chart_codes, found)
    # Nothing settles it: who asks what. Not about a condition the note rules out or denies at
    # every mention (that is for the coder, or excludes1, to settle, never a physician's side question).
    denied = bool(doc.mentions) and not doc.counting and all(m.negated for m in doc.mentions)
    if denied:
        return None
    if doc.side_conflict and doc.side_evidence is not None and doc.side_evidence.linked_to_condition and \
            (x_side is not None or (lat is not None and lat.value is None)):
        return Decision(LATERALITY, "query", code, base, seventh, reason="side-conflict",
                        sentences=list(doc.side_evidence.cited))
    if lat is not None and lat.value is None and doc.side is None:
        return Decision(LATERALITY, "query", code, base, seventh, reason="side-silent",
                        sentences=[m.sentence for m in doc.counting][:1])
    if acu is not None and acu.value is None and not doc.acuity and _acuity_is_queried(base):
        return Decision(ACUITY, "query", code, base, seventh, reason="acuity-silent")
    partial = _partial(refs, doc, x_side, x_acuity, ref.own_inclusion_words(base))
    if partial is not None:
        options, said, sentences = partial
        # the acuity alone left open on a code whose other axes are settled is the acuity check's
        only_acuity = all(r.acuity is not None and not r.terms for r in options) and acu is not None
        return Decision(ACUITY if only_acuity else SPECIFICITY, "query", code, base, seventh, options=options,
                        reason="partial", documented=said, sentences=sentences)
    return _indicator_query(note, index, code, base, seventh, refs, doc, x_side)


def _contradicted(index: AxisIndex, base: str, codes: list[str]) -> bool:
    """The code states an absence the chart's other code contradicts ("without esophagitis" beside
    "with esophagitis")."""
    own = key_words(index.release.description(base) or "")
    absent = {w[1:] for w in own if w.startswith("~")} | ({"complication"} if "uncomplicated" in own else set())
    return any(absent & key_words(index.release.description(c) or "") for c in codes)


def _redirected(note: NoteDoc, index: AxisIndex, code: str, base: str, seventh: str | None, outpatient: bool,
                chart_codes: tuple[str, ...]) -> Decision | None:
    """A correction to the category the tabular gives the form of the condition the note documents
    (vma.redirect), refined there to every axis the note settles."""
    found = documented_redirect(note, index, base, outpatient)
    if found is None:
        return None
    rel = index.release
    target = found.target
    if any(c.startswith(target) for c in chart_codes):
        return None  # both forms are coded: a pair for the excludes1 check to settle
    final: str | None = None
    if index.needs_seventh(target):
        from vma.episode import settled_seventh

        char = settled_seventh(note, rel, target, condition_mentions(note, index, target, outpatient))
        final = rel.with_seventh(target, char) if char else None
    elif rel.is_billable(target):
        final = target
    else:
        unspecified = [c for c in rel.children(target) if OPEN in index.words(c) and index.is_base(c)]
        start = unspecified[0] if len(unspecified) == 1 else target
        further = _decide(note, index, start, outpatient, chart_codes, redirecting=False)
        if further is not None and further.action == "correct" and len(further.targets) == 1:
            final = further.targets[0]
            if further.seventh and index.needs_seventh(final):
                final = rel.with_seventh(final, further.seventh)
        elif start != target and rel.is_billable(start):
            final = start
    if final is None or final in chart_codes or final == code:
        return None
    return Decision(SPECIFICITY, "correct", code, base, None, targets=[final],
                    reason="redirected-title" if found.by_title else "redirected-excludes1",
                    documented=[found.said], sentences=[found.sentence])


def _settled_further(note: NoteDoc, index: AxisIndex, outpatient: bool, chart_codes: tuple[str, ...],
                     found: Decision, depth: int = 0) -> Decision:
    """A correction to an "unspecified ..." code that the note settles further ("unspecified cervical
    region" -> "mid-cervical region, unspecified level" -> "at C5-C6 level"): the suggestion goes the
    whole way, so that re-checking the corrected chart finds nothing more (I.B.2: the highest
    number of characters available)."""
    if depth >= 3 or len(found.targets) != 1 or OPEN not in index.words(found.targets[0]):
        return found
    further = _decide(note, index, found.targets[0], outpatient, chart_codes)
    if further is None or further.action != "correct" or len(further.targets) != 1:
        return found
    return _settled_further(note, index, outpatient, chart_codes, replace(
        found, targets=further.targets, documented=list(dict.fromkeys(found.documented + further.documented)),
        sentences=list(dict.fromkeys(found.sentences + further.sentences))), depth + 1)


def _acuity_is_queried(code: str) -> bool:
    """Acuity left unsaid is queried where clinical documentation programs query it: the conditions of
    the indicator table (heart failure). Elsewhere ("Cholecystitis, unspecified", "Bronchitis, not
    specified as acute or chronic") the unspecified code is the documented diagnosis (Guideline I.A.9.b:
    unspecified codes when the record says no more)."""
    return any(code.startswith(rule.categories) for rule in indicator_rules())


def _right_and_left(refs, base, x_side, doc, x_acuity) -> list[Refinement] | None:
    def ok(r: Refinement) -> bool:
        return not r.residual and _acuity_ok(r, doc.acuity, x_acuity) and (not r.terms or r.code in doc.full)

    right = [r for r in refs if r.side == frozenset({RIGHT}) and ok(r)]
    left = [r for r in refs if r.side == frozenset({LEFT}) and ok(r)]
    if x_side == frozenset({RIGHT}):
        right = [Refinement(base, x_side, None, (), (), frozenset(), False, ())] if not right else right
    if x_side == frozenset({LEFT}):
        left = [Refinement(base, x_side, None, (), (), frozenset(), False, ())] if not left else left
    for r in sorted(right, key=lambda r: -len(r.info())):
        rest = r.info() - {("side", RIGHT)}
        match = [o for o in left if o.info() - {("side", LEFT)} == rest]
        if match:
            return [r, match[0]]
    return None


def _correction(index, code, base, seventh, targets, doc, x_side, x_acuity, lat, acu, header) -> Decision:
    first = targets[0]
    side_changed = len(targets) > 1 or (first.side is not None and first.side != x_side)
    acuity_changed = first.acuity is not None and first.acuity != x_acuity
    # The check that reports it: the axis the proposed code itself leaves open, when that is all
    # that changes; a header's other details belong to non-billable-code (reported as specificity here).
    if side_changed and lat is not None:
        check = LATERALITY
    elif acuity_changed and acu is not None and not first.terms:
        check = ACUITY
    elif header or first.terms:
        check = SPECIFICITY
    else:
        check = LATERALITY if side_changed else ACUITY
    said: list[str] = []
    sentences: list[Sentence] = []
    if first.terms:
        words: list[str] = []
        for w in (first.phrase or first.terms):
            if w == doc.defaulted:
                continue
            if w in first.negated and not (words and words[-1] in first.negated):
                words.append("without")  # one "without" for the run it negates ("without macular edema")
            words.append(w)
        unsaid = [w for w in first.negated if "~" + fold(w) not in doc.terms]
        if unsaid and len(unsaid) == len(first.negated):
            # the "without" is the default for a complication the note never mentions, not the note's word
            words = [w for w in words if w not in first.negated and w != "without"]
            words.append(f"(no {' '.join(w for w in (first.phrase or first.terms) if w in first.negated)} documented)")
        if words:
            said.append(" ".join(words))
        if doc.defaulted in first.terms:
            said.append(f"no type other than {doc.defaulted}, the type the Alphabetic Index gives it by default")
        sentences += doc.full.get(first.code, [])
    if acuity_changed:
        said.append(first.acuity)
        sentences += doc.acuity_sentences
    if side_changed:
        sides = BOTH if len(targets) > 1 else first.side
        site = " ".join(first.site or (lat.site if lat else ()) or ((doc.site,) if doc.site else ("side",)))
        if said and set(said[0].split()) <= set(site.split()):
            said.pop(0)  # "lower limb" and "the left lower limb" say the site once
        said.append(f"the {'right and left' if sides == BOTH else next(iter(sides))} {site}")
        if doc.side_evidence is not None:
            sentences += doc.side_evidence.cited
    if seventh and index.split_seventh(code)[1] is None and index.needs_seventh(first.code):
        said.append((index.release.seventh_character_definition(first.code) or {}).get(seventh, seventh))
    return Decision(check, "correct", code, base, seventh, targets=[t.code for t in targets], reason="documented",
                    documented=said, sentences=list(dict.fromkeys(sentences)))


_NAMES_NO_KIND = frozenset({"disease", "diseases", "disorder", "disorders", "condition", "conditions", "syndrome"})


def _partial(refs: tuple[Refinement, ...], doc: Documentation, x_side, x_acuity, covered=frozenset()) -> tuple[
        list[Refinement], list[str], list[Sentence]] | None:
    """Candidates that fit the values the note documents, when it documents some but never all a
    candidate needs: an acuity, a severity, a type ("moderate intermittent asthma"). ``covered``: the
    words the proposed code's own inclusion terms already take in ("Acute otitis media NOS" at H66.9:
    acute otitis media is that code, Guideline I.A.11)."""
    # A word that names no kind of its own ("disease" in "anemia of chronic kidney disease") hints at no
    # more specific code: a question built on it would quote nothing the provider wrote about the type.
    qualifiers: set = {q for q in set(doc.terms) - {"primary", doc.defaulted} - _NAMES_NO_KIND
                       if q.lstrip("~") not in covered}
    if x_acuity not in doc.acuity:  # a coded acuity the note allows ("exacerbation" on acute) stands
        qualifiers |= {("acuity", a) for a in doc.acuity if not set(a.split(" on ")) <= covered}
    if not qualifiers:
        return None
    options = []
    for r in refs:
        if r.residual or r.loose or not _side_ok(r, doc.side_of(r), x_side):
            continue
        if doc.acuity and r.acuity is not None and r.acuity not in doc.acuity:
            continue
        info = r.info() | ({" ".join(r.phrase)} if r.phrase else set())
        if info & qualifiers:
            options.append(r)
    options = _consistent(options, doc)
    if all(isinstance(q, tuple) for q in qualifiers):
        # only the acuity is documented: the codes that differ by acuity alone, where they exist
        options = [r for r in options if not r.terms] or options
    if len(options) < 2 and not any(isinstance(q, tuple) for q in qualifiers):
        # One code that happens to share a word ("nondisplaced" for a radial styloid fracture) is no
        # choice to offer: a question with one real answer leads the provider to it.
        return None
    if not options:
        return None
    said = [q.lstrip("~") for q in sorted(q for q in qualifiers if not isinstance(q, tuple))]
    if any(isinstance(q, tuple) for q in qualifiers):
        said += doc.acuity_said or sorted(q[1] for q in qualifiers if isinstance(q, tuple))
    sentences = list(dict.fromkeys(s for k, q in doc.terms.items() if k in qualifiers for s in q))
    if any(isinstance(q, tuple) for q in qualifiers):
        sentences += doc.acuity_sentences
    return _fewest(options), said, list(dict.fromkeys(sentences))


def _consistent(options: list[Refinement], doc: Documentation) -> list[Refinement]:
    """Leave out codes that contradict what the proposed code states ("uncomplicated", "without status
    migrainosus") unless the note documents what they add instead ("exacerbation")."""
    plain = [r for r in options if not r.replaces]
    common = set().union(*(r.info() for r in plain)) if plain else set()
    return [r for r in options if not r.replaces or (r.info() - common) and (r.info() - common) <= set(doc.terms)]


def _fewest(options: list[Refinement]) -> list[Refinement]:
    """At most MAX_OPTIONS choices: codes with a term no other choice shares ("end stage",
    "high output") go first, then codes whose side word names a type ("right heart failure")."""
    if len(options) <= MAX_OPTIONS:
        return options
    counts: dict[str, int] = {}
    for r in options:
        for t in r.terms:
            counts[t] = counts.get(t, 0) + 1
    kept = [r for r in options if all(counts[t] > 1 for t in r.terms)]
    if len(kept) > MAX_OPTIONS:
        kept = [r for r in kept if not (set(r.terms) & SIDE_TERMS)] or kept
    return kept[:MAX_OPTIONS]


def _indicator_query(note: NoteDoc, index: AxisIndex, code: str, base: str, seventh: str | None,
                     refs: tuple[Refinement, ...], doc: Documentation, x_side) -> Decision | None:
    if OPEN not in index.words(base):
        return None  # indicators ask about what the code leaves unspecified, never about what it states
    rule = next((r for r in indicator_rules() if base.startswith(r.categories)), None)
    if rule is None or not any(m.in_assessment for m in doc.counting):
        return None
    hits: list[Sentence] = []
    for sentence in note.sentences:
        if sentence.section in HISTORY_SECTIONS or (rule.not_in is not None and rule.not_in.search(sentence.text)):
            continue
        for rx in rule.patterns:
            m = rx.search(sentence.text)
            if m and not is_negated_at(sentence.text, m.start()) and not is_past_or_planned(sentence.text, m.start()):
                hits.append(sentence)
                break
    if not hits:
        return None
    options = [r for r in refs if not r.residual and not r.loose and _side_ok(r, doc.side_of(r), x_side)]
    if doc.acuity:
        options = [r for r in options if r.acuity is None or r.acuity in doc.acuity]
    options = _consistent(options, doc)
    if not options:
        return None
    assessment = [m.sentence for m in doc.counting if m.in_assessment][:1]
    return Decision(SPECIFICITY, "query", code, base, seventh, options=_fewest(options), reason="indicators",
                    sentences=list(dict.fromkeys(assessment + hits[:2])), rule=rule)


def chart_codes(codes) -> tuple[str, ...]:
    return tuple(sorted({c for c in codes if c}))
