"""Axes of ICD-10-CM codes: what a code leaves open, which siblings settle it,
and what the note says about it.

The tabular lists the codes of one parent side by side, and their descriptions
differ on one axis at a time: "Pain in right shoulder" / "Pain in left
shoulder" / "Pain in unspecified shoulder" differ by side; "Acute cholecystitis"
/ "Chronic cholecystitis" / "Cholecystitis, unspecified" by acuity; "Chronic
kidney disease, stage 4" / "..., unspecified" by stage. This module compares
descriptions word by word (parenthesised nonessential modifiers dropped, as the
tabular convention says they do not change the code) instead of keeping hand
lists of codes, so it works for the whole release. Seventh-character codes are
compared on their base code (S93.402A -> S93.402) and keep their 7th character.

Three axes:

- ``laterality``: siblings add only "right", "left" or "bilateral".
- ``acuity``: siblings add only "acute", "chronic" (both: acute on chronic),
  also across categories of one chapter whose descriptions are otherwise the
  same ("Bronchitis, not specified as acute or chronic" J40 -> "Acute
  bronchitis, unspecified" J20.9 / "Unspecified chronic bronchitis" J42).
- ``specificity``: the code says "unspecified" and a sibling adds a term on
  another axis (type, stage, cause, complication), removing nothing else.

The second half reads the note: where the coded condition is mentioned (the
condition words of the description, weighted by how rare each word is in the
tabular, or an inclusion term), whether that mention is negated or uncertain,
and which side, acuity or distinguishing term stands near it.

Sources: ICD-10-CM Official Guidelines for Coding and Reporting FY2026,
I.A.7 (parentheses enclose nonessential modifiers), I.B.13 (laterality),
I.C.19.a and I.C.19.c.1 (7th characters, fractures not stated open or closed
are coded closed), IV.H (uncertain diagnoses in outpatient settings).
"""

from __future__ import annotations

import math
import pickle
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from vma.notes import ASSESSMENT_SECTIONS, HISTORY_SECTIONS, NoteDoc, Sentence, Token, is_negated_at, \
    is_past_or_planned, is_uncertain_at
from vma.reference.icd10cm import IcdRelease, per_release

LATERALITY, ACUITY, SPECIFICITY = "laterality", "acuity", "specificity"

RIGHT, LEFT, BILATERAL = "right", "left", "bilateral"
SIDE_TERMS = frozenset({RIGHT, LEFT, BILATERAL})
ACUTE, CHRONIC, SUBACUTE, ACUTE_ON_CHRONIC = "acute", "chronic", "subacute", "acute on chronic"
ACUITY_TERMS = frozenset({ACUTE, CHRONIC, SUBACUTE})
OPEN = "unspecified"
# Words that carry no axis: connectives, and "unilateral", which "right"/"left" already say.
STOPWORDS = frozenset({"of", "the", "in", "a", "an", "to", "for", "on", "at", "by", "or", "and", "as", "is",
                       "unilateral"})
# "Other ..." and "... specified" codes hold what is classified nowhere else: never a suggestion by wording.
RESIDUAL = frozenset({"other", "specified", "elsewhere", "classified"})

_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_OPEN_ACUITY = "not specified as acute or chronic"
_OPEN_PHRASES = re.compile(r"not specified as acute or chronic|not otherwise specified|\bnos\b")
_PUNCT = re.compile(r"[,.;:()]")
_DESCRIPTION_WORD = re.compile(r"[^\W_]+")


def description_words(description: str) -> tuple[str, ...]:
    """Content words of a tabular description, in order, without parenthesised modifiers."""
    text = _OPEN_PHRASES.sub(" unspecified ", _PAREN.sub(" ", description.lower())).replace("'s ", " ")
    # Plain words: the tabular spells terms out, so no abbreviation expansion is needed here.
    return tuple(w for w in _DESCRIPTION_WORD.findall(text) if w not in STOPWORDS)


@lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """A tabular word without its plural ending ("limbs" -> "limb"), so that "bilateral upper limbs"
    and "unspecified upper limb" compare equal on the site. Applied to both sides of a comparison."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ys")):
        return word[:-3] + "y" if word.endswith("ies") else word[:-1]
    return word


_PARTS = re.compile(r"[,;]")


def scoped_words(description: str) -> list[str]:
    """The description's content words in order, those a "without" governs marked "~"."""
    text = _OPEN_PHRASES.sub(" unspecified ", _PAREN.sub(" ", description.lower())).replace("'s ", " ")
    out: list[str] = []
    for part in _PARTS.split(text):
        absent = False
        for w in _DESCRIPTION_WORD.findall(part):
            if w == "without":
                absent = True
            elif w == "with":
                absent = False
            elif w not in STOPWORDS:
                out.append(("~" if absent else "") + w)
    return out


@lru_cache(maxsize=1 << 16)
def key_words(description: str) -> frozenset[str]:
    """The description's words for comparison: plurals folded, and words a "without" governs marked
    "~" up to the next comma or "with" ("Migraine without aura, not intractable, with status
    migrainosus" -> {migraine, ~aura, not, intractable, status, migrainosus}), so that "with" and
    "without" forms never compare equal."""
    return frozenset(("~" + fold(w[1:])) if w.startswith("~") else fold(w) for w in scoped_words(description))


@lru_cache(maxsize=1 << 16)
def same_word(note_word: str, term: str) -> bool:
    """A note word stands for a tabular word: equal, a plural, or (long words) a close inflection.

    The fuzzy bound is high on purpose: "hypertension"/"hypotension" must not match.
    """
    if note_word == term:
        return True
    if note_word[:1] != term[:1] or any(c.isdigit() for c in note_word + term):
        return False
    for longer, shorter in ((note_word, term), (term, note_word)):
        if longer in (shorter + "s", shorter + "es") or (shorter.endswith("y") and longer == shorter[:-1] + "ies"):
            return True
    if min(len(note_word), len(term)) < 8:
        return False
    from rapidfuzz import fuzz  # here, not at import: many charts never compare two long words

    return fuzz.ratio(note_word, term) >= 92


def acuity_of(words: set[str] | frozenset[str]) -> str | None:
    found = words & ACUITY_TERMS
    if {ACUTE, CHRONIC} <= found:
        return ACUTE_ON_CHRONIC
    if len(found) == 1:
        return next(iter(found))
    return None


# -- what the tabular says ---------------------------------------------------------------------

@dataclass(frozen=True)
class AxisSibling:
    """A code that settles the open axis: its value there and the words it adds."""

    code: str
    description: str
    value: str
    terms: tuple[str, ...]
    phrase: tuple[str, ...] = ()  # specificity: the words to find in the note, in the tabular's order


@dataclass(frozen=True)
class CodeAxis:
    axis: str
    code: str
    description: str
    value: str | None  # the code's own value on the axis; None when it leaves the axis open
    siblings: tuple[AxisSibling, ...]
    site: tuple[str, ...] = ()  # laterality: the body-site words the side attaches to

    def sibling_for(self, value: str) -> AxisSibling | None:
        return next((s for s in self.siblings if s.value == value), None)


# Bump when anything :func:`derive` computes changes meaning (description_words, is_base, the acuity
# key): a compiled index whose derived tables carry another format has them rebuilt.
DERIVED_FORMAT = "4"


def derive(release: IcdRelease) -> dict:
    """What the checks need that depends on the release alone, computed once when its index is
    compiled and kept in the compiled cache: never on a user's first request, where a scan of the
    whole tabular cost up to half a second."""
    index = axis_index(release)
    df: dict[str, int] = {}
    n = 0
    for code in release.codes():
        if index.split_seventh(code)[1] is None:
            n += 1
            for w in set(index.words(code)):
                df[w] = df.get(w, 0) + 1
    from vma.redirect import scan_category_titles, scan_qualified_families

    return {"format": DERIVED_FORMAT, "word_df": df, "word_n": n, "acuity_keys": index.scan_acuity_keys(),
            "category_titles": scan_category_titles(index), "qualified_families": scan_qualified_families(release),
            # Few charts need it: kept pickled, read on first use (IcdRelease.excludes1_refs).
            "excludes1_refs": pickle.dumps(release.scan_excludes1_refs(), protocol=pickle.HIGHEST_PROTOCOL)}


class AxisIndex:
    """Per-release cache of code axes. Get one with :func:`axis_index`."""

    def __init__(self, release: IcdRelease):
        self.release = release

    # -- code shapes -------------------------------------------------------------
    @lru_cache(maxsize=None)
    def needs_seventh(self, code: str) -> bool:
        """A tabular leaf that is billable only with a 7th character.

        (Its generated 7th-character codes are listed as its children, so the
        leaf test looks at what those children are.)
        """
        rel = self.release
        if code not in rel or rel.is_billable(code) or rel.seventh_character_definition(code) is None:
            return False
        padded = code.replace(".", "").ljust(6, "X")
        return all(len(k.replace(".", "")) == 7 and k.replace(".", "")[:6] == padded for k in rel.children(code))

    def split_seventh(self, code: str) -> tuple[str, str | None]:
        """(base code, 7th character) for a full 7th-character code; (code, None) otherwise."""
        parent = self.release.parent(code)
        if parent is not None and self.needs_seventh(parent):
            return parent, code[-1]
        return code, None

    def is_base(self, code: str) -> bool:
        """A code a provider can be asked about: billable, or billable once a 7th character is added."""
        if self.needs_seventh(code):
            return True
        return self.release.is_billable(code) and self.split_seventh(code)[1] is None

    @lru_cache(maxsize=None)
    def words(self, code: str) -> tuple[str, ...]:
        return description_words(self.release.description(code) or "")

    @cached_property
    def _document_frequency(self) -> tuple[dict[str, int], int]:
        derived = self.release.derived
        if derived.get("format") == DERIVED_FORMAT:
            return derived["word_df"], derived["word_n"]
        fresh = derive(self.release)  # a release built in memory, not through load_release
        return fresh["word_df"], fresh["word_n"]

    def idf(self, word: str) -> float:
        df, n = self._document_frequency
        return math.log((n + 1) / (df.get(word, 0) + 1)) + 1.0

    # -- candidates ----------------------------------------------------------------
    @lru_cache(maxsize=None)
    def _pool(self, code: str) -> tuple[str, ...]:
        """Base codes under the code's parent and grandparent (cousins carry axes that a
        non-billable sibling splits further, e.g. M17.10 and M17.0)."""
        out: list[str] = []
        seen = {code}
        for anchor in self.release.ancestors(code)[:2]:
            for d in self.release.descendants(anchor):
                if d not in seen and self.is_base(d):
                    seen.add(d)
                    out.append(d)
        return tuple(out)

    @cached_property
    def _acuity_keys(self) -> dict[tuple[int, frozenset[str]], tuple[str, ...]]:
        derived = self.release.derived
        if derived.get("format") == DERIVED_FORMAT:
            return derived["acuity_keys"]
        return self.scan_acuity_keys()

    def scan_acuity_keys(self) -> dict[tuple[int, frozenset[str]], tuple[str, ...]]:
        """(chapter, description without acuity words) -> base codes, for acuity across categories.
        A scan of the whole tabular: :func:`derive` runs it when the index is compiled."""
        keys: dict[tuple[int, frozenset[str]], list[str]] = {}
        for code in self.release.codes():
            if not self.is_base(code):
                continue
            words = set(self.words(code))
            if words & RESIDUAL:
                continue
            key = frozenset(words - ACUITY_TERMS - {OPEN, "with"})
            if key:
                keys.setdefault((self.release.chapter_of(code) or 0, key), []).append(code)
        return {k: tuple(v) for k, v in keys.items() if len(v) > 1}

    def _site_after(self, words: tuple[str, ...], markers: frozenset[str]) -> tuple[str, ...]:
        """The site words after "unspecified"/a side word: "unspecified female breast" -> (female, breast)."""
        for i, w in enumerate(words):
            if w in markers and i + 1 < len(words):
                tail = []
                for t in words[i + 1:]:
                    if t in ("with", "without", "due", "unspecified") or t in SIDE_TERMS:
                        break
                    tail.append(t)
                if tail:
                    return tuple(tail)
        return ()

    @lru_cache(maxsize=None)
    def axes(self, code: str) -> dict[str, CodeAxis]:
        """The axes of a base code that its siblings settle, by axis name."""
        if code not in self.release:
            return {}
        code = self.split_seventh(code)[0]
        seq = self.words(code)
        x = frozenset(fold(w) for w in seq)
        own_side = next(iter(x & SIDE_TERMS), None) if len(x & SIDE_TERMS) == 1 else None
        own_site = self._site_after(seq, frozenset({OPEN}) | SIDE_TERMS)
        # Only a code naming a body site ("unspecified elbow", "right ear") has a side to settle:
        # "Right heart failure" is a type of heart failure, not a side of "Heart failure, unspecified".
        has_site = bool(own_site) or own_side is not None
        says_open_acuity = _OPEN_ACUITY in (self.release.description(code) or "").lower()
        side: dict[str, AxisSibling] = {}
        acuity: dict[str, AxisSibling] = {}
        specific: list[AxisSibling] = []
        site: tuple[str, ...] = ()
        for y in self._pool(code):
            yseq = self.words(y)
            yw = frozenset(fold(w) for w in yseq)
            added, removed = yw - x, x - yw
            if not added:
                continue
            desc = self.release.description(y) or ""
            # laterality: only a side word added; a bilateral code may also drop the site word
            if added <= SIDE_TERMS and len(added) == 1 and has_site:
                extra = removed - {OPEN} - SIDE_TERMS
                if not extra or (BILATERAL in added and extra <= {fold(w) for w in own_site}):
                    value = next(iter(added))
                    if value != own_side and value not in side:
                        side[value] = AxisSibling(y, desc, value, tuple(added))
                        site = site or self._site_after(yseq, frozenset({value}))
                continue
            if added & ACUITY_TERMS and added <= ACUITY_TERMS | {"with"} and removed <= ACUITY_TERMS | {OPEN, "with"}:
                value = acuity_of(yw)
                if value and value != acuity_of(x) and value not in acuity:
                    acuity[value] = AxisSibling(y, desc, value, tuple(sorted(added)))
                continue
            if OPEN in x and not removed - {OPEN} and not added & (SIDE_TERMS | ACUITY_TERMS | RESIDUAL | {OPEN}):
                specific.append(AxisSibling(y, desc, " ".join(w for w in yseq if w in added),
                                            tuple(sorted(added)), sibling_phrase(yseq, added)))
        # Across categories only when the code itself states an acuity or says it has none
        # ("Gout, unspecified" M10.9 is not an unspecified-acuity form of "Chronic gout" M1A).
        if not acuity and (acuity_of(x) or says_open_acuity):
            key = (self.release.chapter_of(code) or 0, frozenset(x - ACUITY_TERMS - {OPEN, "with"}))
            for y in self._acuity_keys.get(key, ()) if not x & RESIDUAL else ():
                yw = frozenset(self.words(y))
                value = acuity_of(yw)
                if y != code and value and value != acuity_of(x) and value not in acuity:
                    acuity[value] = AxisSibling(y, self.release.description(y) or "", value,
                                                tuple(sorted(yw & ACUITY_TERMS)))
        desc = self.release.description(code) or ""
        out: dict[str, CodeAxis] = {}
        if side:
            out[LATERALITY] = CodeAxis(LATERALITY, code, desc, own_side, _ordered(side, (RIGHT, LEFT, BILATERAL)),
                                       site or own_site)
        if acuity:
            out[ACUITY] = CodeAxis(ACUITY, code, desc, acuity_of(x),
                                   _ordered(acuity, (ACUTE, CHRONIC, ACUTE_ON_CHRONIC, SUBACUTE)))
        if specific:
            out[SPECIFICITY] = CodeAxis(SPECIFICITY, code, desc, None, tuple(specific))
        return out

    def axis(self, code: str, name: str) -> CodeAxis | None:
        return self.axes(code).get(name)

    # -- condition words -----------------------------------------------------------
    @lru_cache(maxsize=None)
    def condition_terms(self, code: str) -> tuple[tuple[tuple[str, float], ...], ...]:
        """Ways the note may name the coded condition: (word, weight) sets from the
        description and the inclusion terms, without axis words, sites and open words."""
        code = self.split_seventh(code)[0]
        site = set()
        lat = self.axis(code, LATERALITY)
        if lat:
            site = set(lat.site)
        variants = [self.release.description(code) or ""]
        # the inclusion terms of every level above the code too: "Primary gout" at M10.0 names the
        # idiopathic gout of M10.071 (Guideline I.A.11)
        for owner in (code, *self.release.ancestors(code)):
            variants.extend(self.release.notes(owner, "inclusionTerm"))
        variants.extend(text for prefix, text in _DEFAULT_NAMES if code.startswith(prefix))
        out = []
        for text in variants:
            seq = description_words(text)
            open_axis = {seq[i + 1] for i, w in enumerate(seq[:-1]) if w == OPEN and i > 0}
            words = [w for w in dict.fromkeys(seq)
                     if w not in SIDE_TERMS | ACUITY_TERMS | RESIDUAL | {OPEN, "with", "without", "due"}
                     and w not in site and w not in open_axis]
            if words:
                out.append(tuple((w, self.idf(w)) for w in words))
        return tuple(dict.fromkeys(out))


# Names the tabular leaves to the Index or the guidelines: diabetes with no type stated is type 2
# (Guideline I.C.4.a.2, "If the type of diabetes mellitus is not documented ... the default is E11.-").
_DEFAULT_NAMES = (("E11", "Diabetes (mellitus)"),)


def sibling_phrase(seq: tuple[str, ...], added: frozenset[str]) -> tuple[str, ...]:
    """The sibling's words covering what it adds, widened by one word when that is a bare
    number or letter ("3" -> "stage 3")."""
    idx = [i for i, w in enumerate(seq) if w in added]
    if len(idx) == 1 and (any(c.isdigit() for c in seq[idx[0]]) or len(seq[idx[0]]) <= 2):
        i = idx[0]
        return seq[i - 1:i + 1] if i > 0 else seq[i:i + 2]
    return tuple(dict.fromkeys(seq[i] for i in idx))


def _ordered(found: dict[str, AxisSibling], order: tuple[str, ...]) -> tuple[AxisSibling, ...]:
    return tuple(found[v] for v in order if v in found)


@per_release
def axis_index(release: IcdRelease) -> AxisIndex:
    """The one AxisIndex of a release (kept for the life of the process, like the release)."""
    return AxisIndex(release)


# -- what the note says --------------------------------------------------------------------------

@dataclass(frozen=True)
class Mention:
    """A sentence naming the coded condition."""

    sentence: Sentence
    words: tuple[Token, ...]
    first: int  # index in ``words`` of the first condition word
    negated: bool
    uncertain: bool

    @property
    def in_assessment(self) -> bool:
        return self.sentence.section in ASSESSMENT_SECTIONS

    @property
    def in_history(self) -> bool:
        return self.sentence.section in HISTORY_SECTIONS

    @property
    def counts(self) -> bool:
        """A mention that documents the condition for this encounter."""
        return not (self.negated or self.uncertain or self.in_history)


class NoteWords:
    """Where each word of a note stands, so that finding a condition's words is a look-up, not a
    scan of every word of every sentence for every coded condition: for each word, the sentences
    it is in and its first position there. Built once per note (:func:`note_words`)."""

    def __init__(self, tokenized):
        first: dict[str, dict[int, int]] = {}
        get = first.get
        for si, (_, words) in enumerate(tokenized):
            for ti, t in enumerate(words):
                norm = t[0]
                at = get(norm)
                if at is None:
                    first[norm] = {si: ti}
                elif si not in at:
                    at[si] = ti
        self.first = first
        self._long: dict[str, list[str]] | None = None
        self._where: dict[str, dict[int, int]] = {}

    def _forms(self, term: str):
        """The note's words that may stand for ``term`` (:func:`same_word`): the term itself, its
        plural or singular forms, and for long words the near inflections, by first letter."""
        forms = [term, term + "s", term + "es"]
        if term.endswith("s"):
            forms += [term[:-1], term[:-2]]
        if term.endswith("y"):
            forms.append(term[:-1] + "ies")
        elif term.endswith("ies"):
            forms.append(term[:-3] + "y")
        found = [f for f in forms if f in self.first]
        if len(term) >= 8:
            if self._long is None:
                self._long = {}
                for word in self.first:
                    if len(word) >= 8:
                        self._long.setdefault(word[0], []).append(word)
            found += [w for w in self._long.get(term[0], ()) if w not in found]
        return found

    def where(self, term: str) -> dict[int, int]:
        """Sentence index -> first position of a word that stands for ``term`` (:func:`same_word`)."""
        found = self._where.get(term)
        if found is None:
            found = {}
            for word in self._forms(term):
                if same_word(word, term):
                    for si, ti in self.first[word].items():
                        if ti < found.get(si, ti + 1):
                            found[si] = ti
            self._where[term] = found
        return found


def note_words(note: NoteDoc) -> NoteWords:
    if "note_words" not in note.memo:
        note.memo["note_words"] = NoteWords(note.tokenized)
    return note.memo["note_words"]


def condition_mentions(note: NoteDoc, index: AxisIndex, code: str, outpatient: bool) -> list[Mention]:
    """Sentences that name the condition of ``code``, each marked negated / uncertain.

    A sentence names it when it holds at least half the weight of one way the tabular names the
    condition (words weighted by rarity). Uncertain wording ("likely", "rule out") only
    disqualifies a mention in the outpatient setting (Guideline IV.H); inpatient coders may code
    it (II.H).
    """
    key = ("condition_mentions", id(index), code, outpatient)
    if key in note.memo:
        return note.memo[key]
    words_at = note_words(note)
    best: dict[int, tuple[float, int]] = {}
    for terms in index.condition_terms(code):
        total = sum(w for _, w in terms)
        if not total:
            continue
        got: dict[int, float] = {}
        first: dict[int, int] = {}
        for term, weight in terms:
            for si, ti in words_at.where(term).items():
                got[si] = got.get(si, 0.0) + weight
                if ti < first.get(si, ti + 1):
                    first[si] = ti
        for si, weight in got.items():
            share = weight / total
            if share > best.get(si, (0.0, 0))[0]:
                best[si] = (share, first[si])
    out = []
    tokenized = note.tokenized
    for si in sorted(best):
        share, at = best[si]
        if share < 0.5:
            continue
        sentence, words = tokenized[si]
        pos = words[at].start
        out.append(Mention(sentence, tuple(words), at, is_negated_at(sentence.text, pos),
                           outpatient and is_uncertain_at(sentence.text, pos)))
    note.memo[key] = out
    return out


# -- sides ------------------------------------------------------------------------------------------

_SIDE_BEFORE = {"right": RIGHT, "rt": RIGHT, "left": LEFT, "lt": LEFT, "bilateral": BILATERAL, "both": BILATERAL}
_SIDE_ABBREV = {"r": RIGHT, "l": LEFT}  # "R knee": only right before the site
_EYE_SIDES = {"OD": RIGHT, "OS": LEFT, "OU": BILATERAL}
_SIDE_AFTER = {"bilaterally": BILATERAL, "bilateral": BILATERAL}


def _gap_has_break(sentence: str, a: Token, b: Token) -> bool:
    return bool(_PUNCT.search(sentence[a.end:b.start]))


def sides_at_site(sentence: str, words: tuple[Token, ...] | list[Token], site: tuple[str, ...]) -> set[str]:
    """Sides ("right"/"left") attached to the site words in one sentence.

    A side counts when it stands within four words before the site ("right
    medial elbow", "right and left elbows"), or "bilaterally" just after it;
    negated attachments ("denies left knee pain") do not count. Bilateral is
    returned as both sides.
    """
    if not site:
        return set()
    head = site[-1]
    eye = head == "eye"
    found: set[str] = set()
    for i, t in enumerate(words):
        if not same_word(t.norm, head):
            continue
        for j in range(i - 1, max(-1, i - 5), -1):
            w = words[j]
            if _gap_has_break(sentence, w, words[j + 1]):
                break
            side = _SIDE_BEFORE.get(w.norm) or (_SIDE_ABBREV.get(w.norm) if j == i - 1 and w.raw.isupper() else None)
            if side and not is_negated_at(sentence, w.start):
                found |= {RIGHT, LEFT} if side == BILATERAL else {side}
        for j in range(i + 1, min(len(words), i + 4)):
            w = words[j]
            if _gap_has_break(sentence, words[j - 1], w):
                break
            side = _SIDE_AFTER.get(w.norm) or (_EYE_SIDES.get(w.raw) if eye else None)
            if side and not is_negated_at(sentence, t.start):
                found |= {RIGHT, LEFT} if side == BILATERAL else {side}
    return found


_BARE_SIDE_CLAUSE = re.compile(r"^\s*(right|left|bilateral|bilaterally)(?:[\s-]+sided?)?\s*$", re.I)


def sides_at_condition(sentence: str, words: tuple[Token, ...], first: int) -> set[str]:
    """Sides written on the condition itself when no site word is there: "right-sided
    sciatica", "Acute otitis media, bilateral." (a clause that is only a side)."""
    found: set[str] = set()
    for j in range(first - 1, max(-1, first - 3), -1):
        if _gap_has_break(sentence, words[j], words[j + 1]):
            break
        side = {"right": RIGHT, "left": LEFT, "bilateral": BILATERAL}.get(words[j].norm)
        if side and not is_negated_at(sentence, words[j].start):
            found |= {RIGHT, LEFT} if side == BILATERAL else {side}
    for clause in re.split(r"[,;]", sentence[words[first].start:].rstrip(". "))[1:2]:
        m = _BARE_SIDE_CLAUSE.match(clause)
        if m:
            side = m.group(1).lower()
            found |= {RIGHT, LEFT} if side.startswith("bilateral") else {side}
    return found


@dataclass
class AxisEvidence:
    """What a note says on one axis for one coded condition.

    ``assessment``: values stated with the condition in the assessment/plan;
    ``linked``: values stated with the condition anywhere in this encounter's
    documentation; ``anywhere`` (laterality): sides given for the body site in
    any sentence of the encounter. ``cited`` are the sentences behind them.
    """

    assessment: set[str] = field(default_factory=set)
    linked: set[str] = field(default_factory=set)
    anywhere: set[str] = field(default_factory=set)
    cited: list[Sentence] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)

    @property
    def documented(self) -> bool:
        return any(m.counts for m in self.mentions)

    @property
    def in_assessment(self) -> bool:
        return any(m.counts and m.in_assessment for m in self.mentions)

    def decided(self) -> frozenset[str] | None:
        """The value the note settles, or None when it is silent or conflicting.

        The assessment speaks first; a different value stated with the same
        condition elsewhere is a conflict. For laterality, a site that the note
        only ever gives one side (or both) settles it even when the diagnosis
        line names no side.
        """
        if self.assessment:
            return frozenset(self.assessment) if self.linked == self.assessment else None
        if self.linked:
            return frozenset(self.linked) if not self.anywhere - self.linked else None
        if self.anywhere and len(self.anywhere) == 1:
            return frozenset(self.anywhere)
        return None

    @property
    def linked_to_condition(self) -> bool:
        return bool(self.assessment or self.linked)


def _cite(ev: AxisEvidence, sentence: Sentence) -> None:
    if sentence not in ev.cited:
        ev.cited.append(sentence)


# A past, settled condition of the site, told in the history of this one.
_LONG_PAST = re.compile(
    r"\b(?:\d+|a|one|two|three|four|five|six|seven|eight|nine|ten|several|many|a few|a couple of) years? ago\b"
    r"|\bin (?:19|20)\d\d\b|\bas a (?:child|teenager|kid)\b"
    r"|\b(?:old|prior|previous|remote) (?:\w+ )?(?:injur\w*|fracture|sprain|surgery|replacement|arthroscopy|repair)\b",
    re.I)


def side_evidence(note: NoteDoc, index: AxisIndex, axis: CodeAxis, outpatient: bool) -> AxisEvidence:
    ev = AxisEvidence(mentions=condition_mentions(note, index, axis.code, outpatient))
    mention_at = {id(m.sentence): m for m in ev.mentions}
    # Only sentences naming the site, or the condition, can give its side.
    at_site = set(note_words(note).where(axis.site[-1])) if axis.site else set()
    tokenized = note.tokenized
    wanted = sorted(at_site | {i for i, (sentence, _) in enumerate(tokenized) if id(sentence) in mention_at})
    for i in wanted:
        sentence, words = tokenized[i]
        if sentence.section in HISTORY_SECTIONS:
            continue
        if sentence.section not in ASSESSMENT_SECTIONS and _LONG_PAST.search(sentence.text):
            continue  # "he sprained his left ankle 2 years ago": another, past condition of the site
        sides = sides_at_site(sentence.text, words, axis.site) if i in at_site else set()
        mention = mention_at.get(id(sentence))
        if not sides and mention is not None and mention.counts:
            sides = sides_at_condition(sentence.text, mention.words, mention.first)
        if not sides:
            continue
        if mention is not None and mention.counts:
            ev.linked |= sides
            if mention.in_assessment:
                ev.assessment |= sides
        ev.anywhere |= sides
        _cite(ev, sentence)
    return ev


# -- acuity ---------------------------------------------------------------------------------------------

def acuity_near(sentence: str, words: tuple[Token, ...], first: int) -> str | None:
    """Acuity stated just before the condition words: "acute on chronic systolic heart
    failure", "acute exacerbation of chronic ...", "chronic cholecystitis"."""
    found: set[str] = set()
    for j in range(first - 1, max(-1, first - 6), -1):
        if _gap_has_break(sentence, words[j], words[j + 1]):
            break
        if words[j].norm in ACUITY_TERMS:
            found.add(words[j].norm)
    for j in range(first, min(len(words), first + 4)):  # "cholecystitis, acute on chronic" is rare; inline only
        if words[j].norm in ACUITY_TERMS and not _gap_has_break(sentence, words[first], words[j]):
            found.add(words[j].norm)
    return acuity_of(frozenset(found))


def acuity_evidence(note: NoteDoc, index: AxisIndex, axis: CodeAxis, outpatient: bool) -> AxisEvidence:
    ev = AxisEvidence(mentions=condition_mentions(note, index, axis.code, outpatient))
    for m in ev.mentions:
        if not m.counts or is_past_or_planned(m.sentence.text, m.words[m.first].start):
            continue
        value = acuity_near(m.sentence.text, m.words, m.first)
        if value:
            ev.linked.add(value)
            if m.in_assessment:
                ev.assessment.add(value)
            _cite(ev, m.sentence)
    return ev


# -- distinguishing terms (specificity) ---------------------------------------------------------------------

def phrase_in(words: tuple[Token, ...], phrase: tuple[str, ...]) -> bool:
    """All words of the phrase in the sentence; words holding a digit must stand next to
    the word before them in the phrase ("stage 3", not "3 weeks ... stage")."""
    positions = []
    for term in phrase:
        hits = [i for i, t in enumerate(words) if same_word(t.norm, term)]
        if not hits:
            return False
        positions.append(hits)
    for k, term in enumerate(phrase):
        if k and any(c.isdigit() for c in term):
            if not any(p - 1 in positions[k - 1] for p in positions[k]):
                return False
    return True


def documented_siblings(note: NoteDoc, index: AxisIndex, axis: CodeAxis, outpatient: bool
                        ) -> tuple[list[AxisSibling], list[Mention]]:
    """Siblings whose distinguishing words the note states with the condition (not negated,
    not uncertain), the most specific kept when one's words include another's."""
    mentions = [m for m in condition_mentions(note, index, axis.code, outpatient) if m.counts]
    hits: list[AxisSibling] = []
    cited: list[Mention] = []
    for sib in axis.siblings:
        for m in mentions:
            if not phrase_in(m.words, sib.phrase):
                continue
            at = [t.start for t in m.words if any(same_word(t.norm, w) for w in sib.phrase)]
            if not any(
                    is_negated_at(m.sentence.text, p) or outpatient and is_uncertain_at(m.sentence.text, p)
                    for p in at):
                hits.append(sib)
                if m not in cited:
                    cited.append(m)
                break
    best = [s for s in hits if not any(set(s.terms) < set(o.terms) for o in hits)]
    return best, cited


# -- wording shared by the axis checks ---------------------------------------------------------------------

def with_seventh(index: AxisIndex, base: str, seventh: str | None) -> str:
    """The sibling code to suggest: the proposed code's 7th character kept where the sibling allows it."""
    if seventh is None or not index.needs_seventh(base):
        return base
    allowed = index.release.seventh_character_definition(base) or {}
    return index.release.with_seventh(base, seventh) if seventh in allowed else base


def code_label(index: AxisIndex, code: str) -> str:
    """ "Pain in left knee (M25.562)": the label style of contract section 6."""
    return f"{index.release.description(code) or code} ({code})"


def cite_all(sentences: list[Sentence], limit: int = 3) -> str:
    """Evidence: the cited sentences, assessment first, as ``Section: "quote"`` joined by "; "."""
    from vma.notes import cite

    ordered = sorted(sentences, key=lambda s: (s.section not in ASSESSMENT_SECTIONS, s.start))
    chosen = sorted(ordered[:limit], key=lambda s: s.start)
    return "; ".join(cite(s) for s in chosen)


_UNCERTAIN_CLAUSE = re.compile(r"[^,;:.]*\b(?:likely|probable|possible|suspected|questionable|rule out|r/o|"
                               r"concern for|presumed)\b[^,;:.]*", re.I)


def uncertain_remark(sentences: list[Sentence]) -> str:
    """ " 'Likely rotator cuff tendinopathy' is an uncertain diagnosis ..." for an assessment
    that states another diagnosis as uncertain next to the coded one (Guideline IV.H)."""
    for s in sentences:
        if s.section not in ASSESSMENT_SECTIONS:
            continue
        m = _UNCERTAIN_CLAUSE.search(s.text)
        if m and m.group(0).strip():
            clause = m.group(0).strip()
            return (f" '{clause[0].upper()}{clause[1:]}' is an uncertain diagnosis and is not coded in the "
                    "outpatient setting.")
    return ""


def condition_name(description: str, without_acuity: bool = False) -> str:
    """The condition part of a description, for questions: "Primary osteoarthritis,
    unspecified elbow" -> "primary osteoarthritis"; "Pain in unspecified shoulder" -> "pain";
    "Unspecified systolic (congestive) heart failure" -> "systolic heart failure" (nonessential
    modifiers dropped, Guideline I.A.7). ``without_acuity`` also drops "acute"/"chronic", for a
    question about the acuity itself ("acute on chronic chronic ..." must never be written)."""
    text = re.sub(r"\s*\([^)]*\)", "", description)
    text = re.sub(r"^unspecified\s+|,?\s*not specified as acute or chronic", "", text, flags=re.I)
    text = re.sub(r",?\s*(?:(?:of|in)\s+)?unspecified\b[^,]*", "", text)
    text = re.sub(r",?\s*\b(?:right|left|bilateral)\b[^,]*", "", text)
    text = re.sub(r",\s*uncomplicated\b", "", text)
    text = re.sub(r"\s+(?:of|in|at|of the)\s*$", "", text)  # "Pain in [right shoulder]" -> "Pain"
    if without_acuity:
        text = re.sub(r"\b(?:acute on chronic|acute|chronic|subacute)\s+", "", text, flags=re.I)
    text = " ".join(text.split()).strip(" ,") or description
    return text[0].lower() + text[1:] if not text[:2].isupper() else text
