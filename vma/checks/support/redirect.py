"""Redirection: the note documents a form of the coded condition that the tabular codes elsewhere.

Refinement (:mod:`vma.checks.support.refine`) looks for a more specific code beneath the coded code's own
category. Some forms of a condition live in another category, and a coder who reads them goes
there at once:

- "major depressive disorder, recurrent, moderate" beside F32.9 (Major depressive disorder, single
  episode, unspecified): F32's Excludes1 note sends "recurrent depressive disorder" to F33.-, and the
  code is F33.1, never F32.1;
- "low back pain with sciatica" beside M54.50: M54.5 excludes "lumbago with sciatica (M54.4-)";
- "iron deficiency anemia" beside D64.9 (Anemia, unspecified): "Iron deficiency anemia" is the
  title of D50, whose unspecified code is D50.9.

Two sources, both the tabular's own, never a hand list:

1. **Excludes1 notes** of the code and its ancestors that name a form of the coded condition: the
   note's words share a word with the code's title or its inclusion terms ("Lumbago NOS" at M54.50)
   and add to it. When a sentence naming the condition states every word of that form close
   together, not negated, not past and (outpatient) not uncertain, the code is wrong: an Excludes1
   note means the excluded form is "NOT CODED HERE" (Guideline I.A.12.a).
2. **Category titles**, for an unspecified code only: a title that ends in the condition's name and
   adds words before it ("Iron deficiency anemia" for "Anemia"), stated as one phrase in such a
   sentence. A coder looks the documented term up and lands on that category (Guidelines I.B.2,
   I.A.9.b: an unspecified code only when the record says no more). Titles of residual categories
   ("Other ...", "not elsewhere classified") and categories that ask for the coded code beside them
   ("use additional code", as I12 does for N18) are not redirections.

The category reached is then refined as usual, so that the suggestion settles every documented axis
at once (F33 with "moderate" is F33.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from vma.checks.support.axes.evidence import Mention, condition_mentions, note_words
from vma.checks.support.axes.index import DERIVED_FORMAT, AxisIndex
from vma.checks.support.axes.words import ACUITY_TERMS, OPEN, RESIDUAL, description_words, fold
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.notes.words import ASSESSMENT_SECTIONS, is_negated_at, is_past_or_planned, is_uncertain_at
from vma.compiled_patterns import compile_pattern
from vma.reference.icd10cm import note_code_refs, per_release

# Words that name no condition of their own: sharing one of them does not make two terms the same
# condition ("bipolar disorder" is not a form of "major depressive disorder").
_GENERIC = frozenset({"disorder", "disease", "syndrome", "condition", "episode", "type", "with", "without", "of",
                      "and", "or", "in", "to", "due", "the", "a", "by", "as", "such", "for", "site", "not",
                      "nos", OPEN}) | RESIDUAL
# How far apart the words of one documented form may stand, beyond their own number.
_SLACK = 4


@dataclass(frozen=True)
class Redirect:
    words: tuple[str, ...]  # the form's words, folded
    target: str  # the code, subcategory or category the tabular sends the form to
    contiguous: bool  # a title: its words stand together, in order
    text: str  # the tabular's own wording, for the message; a title's is its target's description, read then


class Redirects:
    """Per-release cache of each code's redirections. Get one with :func:`redirects`."""

    def __init__(self, index: AxisIndex):
        self.index = index
        self.release = index.release

    def of(self, code: str) -> tuple[Redirect, ...]:
        """The code's redirections: each form the tabular sends elsewhere (:meth:`forms`) that leads there."""
        return tuple(r for r in self.forms(code) if self.leads(code, r))

    @lru_cache(maxsize=None)
    def forms(self, code: str) -> tuple[Redirect, ...]:
        """The forms of the code's condition that its Excludes1 notes and the category titles name, read from
        their words alone: whether each leads to its target (:meth:`leads`) is asked once a note uses them."""
        rel = self.release
        if code not in rel:
            return ()
        own: frozenset[str] | None = None  # read when a note's words are first compared with them
        lineage = {code, *rel.ancestors(code)}
        out: list[Redirect] = []
        for node in (code, *rel.ancestors(code)):
            for note in rel.notes(node, "excludes1"):
                refs = note_code_refs(note)
                if len(refs) != 1 or refs[0].first != refs[0].last:
                    continue
                target = refs[0].first.rstrip(".-").rstrip("-")
                if target in lineage:
                    continue
                words = tuple(dict.fromkeys(fold(w) for w in description_words(note) if w != OPEN))
                named = {w for w in words if w not in _GENERIC}
                if own is None:
                    own = self._own_words(code)
                # acute and chronic forms kept in other categories are the acuity axis's (J40 -> J20.9)
                if not (named & own) or not (named - own - ACUITY_TERMS):
                    continue
                out.append(Redirect(words, target, False, note.split("(")[0].strip()))
        if OPEN in self.index.words(code):
            out.extend(self._titles(code, lineage))
        return tuple(out)

    @lru_cache(maxsize=None)
    def leads(self, code: str, r: Redirect) -> bool:
        """The form leads to its target: a code of the release, outside the code's own category for a title,
        whose notes do not ask for the code beside it. Asked only of a form a note uses: asking the release
        about a target reads the target's whole category."""
        rel = self.release
        if r.contiguous:
            if rel.ancestors(r.target)[-1:] == rel.ancestors(code)[-1:]:
                return False  # the code's own category is refinement's
        elif r.target not in rel:
            return False
        return not self._asks_for(r.target, code)

    @lru_cache(maxsize=None)
    def named(self, code: str) -> tuple[tuple[Redirect, tuple[str, ...]], ...]:
        """Each form of the code (:meth:`forms`) with the words of it that name something (not :data:`_GENERIC`):
        a note must use every one of them somewhere for the form to be documented."""
        return tuple((r, tuple(w for w in r.words if w not in _GENERIC)) for r in self.forms(code))

    @lru_cache(maxsize=None)
    def sibling_titles(self, code: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """For an unspecified billable code, its subdivision's other codes that name a condition of their
        own: (code, the title's words a note must state); residual and seventh-character codes left out."""
        rel, index = self.release, self.index
        parent = rel.parent(code)
        if parent is None or OPEN not in index.words(code) or not rel.is_billable(code):
            return ()
        out = []
        for sibling in rel.children(parent):
            if sibling == code or not index.is_base(sibling) or index.needs_seventh(sibling):
                continue
            title = [fold(w) for w in index.words(sibling) if w != OPEN]
            needed = tuple(w for w in dict.fromkeys(title) if w not in _GENERIC)
            if needed and not set(title) & RESIDUAL and len(needed) <= 5:
                out.append((sibling, needed))
        return tuple(out)

    def _own_words(self, code: str) -> frozenset[str]:
        """The condition's words: its title, its parent's, and their inclusion terms."""
        rel = self.release
        words: set[str] = set()
        for owner in (code, rel.parent(code)):
            if not owner:
                continue
            words.update(map(fold, description_words(rel.description(owner) or "")))
            for term in rel.notes(owner, "inclusionTerm"):
                words.update(map(fold, description_words(term)))
        return frozenset(words - _GENERIC)

    def _titles(self, code: str, lineage: set[str]) -> list[Redirect]:
        name = [fold(w) for w in self.index.words(code) if w != OPEN]
        condition = frozenset(name) - _GENERIC
        if not name or not condition:
            return []
        out = []
        for target, words in self._titles_ending(name[-1]):
            if target in lineage or not condition <= set(words):
                continue
            out.append(Redirect(words, target, True, ""))  # the title's text read when a note documents it
        return out

    def _titles_ending(self, head: str) -> list[tuple[str, tuple[str, ...]]]:
        return self._title_table.get(head, [])

    @cached_property
    def _title_table(self) -> dict[str, list[tuple[str, tuple[str, ...]]]]:

        derived = self.release.derived
        if derived.get("format") == DERIVED_FORMAT and "category_titles" in derived:
            return derived["category_titles"]
        return scan_category_titles(self.index)

    def _asks_for(self, target: str, code: str) -> bool:
        """The target's notes ask for the coded code beside it ("use additional code", "code also"):
        a combination's companion, not a replacement (I12 with N18)."""
        rel = self.release
        for node in (target, *rel.ancestors(target)):
            for kind in ("useAdditionalCode", "codeAlso", "codeFirst"):
                for note in rel.notes(node, kind):
                    if any(ref.covers(code) for ref in note_code_refs(note)):
                        return True
        return False


@lru_cache(maxsize=None)  # by a form's words: the tabular's, never a note's
def _spellings(needed: tuple[str, ...]) -> tuple[frozenset[str], ...]:
    """For each of a form's words, every word of a note that :func:`fold` makes it: itself, with "s", and a "y"
    made "ies". A sentence states the form (:func:`_stated`) only where each of its words stands as one of these."""
    return tuple(frozenset((w, w + "s", *((w[:-1] + "ies",) if w.endswith("y") else ()))) for w in needed)


def scan_category_titles(index: AxisIndex) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Category titles of two to five words by their last word, the condition's name ("Iron
    deficiency anemia" under "anemia"); residual titles left out. A scan of every code:
    :func:`vma.checks.support.axes.index.derive` runs it when the index is compiled."""
    table: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for c in index.release.codes():
        if len(c) != 3:
            continue
        words = index.words(c)
        if not 2 <= len(words) <= 5 or OPEN in words or RESIDUAL & set(words) or \
                {"with", "without", "and", "or", "in", "of", "due", "to"} & set(words):
            continue
        folded = tuple(fold(w) for w in words)
        table.setdefault(folded[-1], []).append((c, folded))
    return table


@per_release
def redirects(index: AxisIndex) -> Redirects:
    return Redirects(index)


@dataclass(frozen=True)
class Redirected:
    target: str  # where the tabular sends the documented form (category, subcategory or code)
    said: str  # the note's words for it
    sentence: object
    text: str
    by_title: bool


def documented_sibling(note: NoteDoc, index: AxisIndex, code: str, outpatient: bool) -> Redirected | None:
    """For an unspecified code whose own words the note never uses ("Dyspnea, unspecified" where the
    note says "shortness of breath"), the one sibling of its subdivision whose whole title the
    assessment states for this encounter (R06.02 Shortness of breath): the condition the coder
    meant, at the specificity documented (I.B.2). Residual siblings ("Other ...") are never chosen."""
    rel = index.release
    titles = redirects(index).sibling_titles(code)
    if not titles:
        return None
    where = note_words(note).where
    if not any(all(map(where, needed)) for _, needed in titles):
        return None  # no sibling's title stands in the note at all
    if condition_mentions(note, index, code, outpatient):
        return None  # the note names the coded condition itself: refinement's to judge
    tokenized = note.tokenized
    found: list[tuple[frozenset[str], str, object, str]] = []
    for sibling, needed in titles:
        places = list(map(where, needed))
        common = set(places[0]).intersection(*places[1:]) if places else set()
        for si in sorted(common):
            sentence, toks = tokenized[si]
            if sentence.section not in ASSESSMENT_SECTIONS and sentence.section != "chief_complaint":
                continue
            first = min(p[si] for p in places)
            last = max(p[si] for p in places)
            start = toks[first].start
            text = sentence.text
            if last - first > len(needed) + _SLACK or is_past_or_planned(text, start) \
                    or (outpatient and is_uncertain_at(text, start)) \
                    or any(is_negated_at(text, toks[p[si]].start) for p in places):
                continue
            found.append((frozenset(needed), sibling, sentence, text[start:toks[last].end]))
            break
    # the most specific of nested titles ("mixed hyperlipidemia" over "hyperlipidemia"), else none
    best = [f for f in found if not any(f[0] < g[0] for g in found)]
    if len(best) != 1:
        return None
    words_, sibling, sentence, said = best[0]
    return Redirected(sibling, said, sentence, rel.description(sibling) or sibling, True)


def documented_redirect(note: NoteDoc, index: AxisIndex, code: str, outpatient: bool) -> Redirected | None:
    """The one form of the coded condition, coded elsewhere, that the note documents for this
    encounter; None when there is none, or more than one target."""
    named = redirects(index).named(code)
    if not named:
        return documented_sibling(note, index, code, outpatient)
    at = note_words(note)
    where, words = at.where, at.words
    redirections = redirects(index)
    # The forms a sentence may state: each word of the form somewhere in the note as _stated reads it (a set
    # test), then every word somewhere as the word index finds it (also its near spellings), then whether the
    # form leads to its target at all. Those whose words the note lacks as _stated reads them are never stated:
    # their words are not looked up in the index.
    stateable = tuple(r for r, needed in named if not any(map(words.isdisjoint, _spellings(needed)))
                      and all(map(where, needed)) and redirections.leads(code, r))
    if not stateable:
        return documented_sibling(note, index, code, outpatient)
    found: dict[str, Redirected] = {}
    for m in condition_mentions(note, index, code, outpatient):
        if not m.counts:
            continue
        # the sentence's words folded once for every form, and a form missing one of its words is not tried there
        norms = [fold(t.norm) for t in m.words]
        held = set(norms)
        for r in stateable:
            if not held.issuperset(r.words if r.contiguous else _named_words(r.words)):
                continue
            said = _stated(m, r, outpatient, norms)
            if said is not None and r.target not in found:
                text = (index.release.description(r.target) or r.target) if r.contiguous else r.text
                found[r.target] = Redirected(r.target, said, m.sentence, text, r.contiguous)
    if not found:
        return documented_sibling(note, index, code, outpatient)
    if len(found) != 1:
        return None
    moved = next(iter(found.values()))
    # the first form of the target the note uses, stated or not, as the word index finds them
    form = next(r.words for r, needed in named if r.target == moved.target and all(map(where, needed))
                and redirections.leads(code, r))
    if _own_form_stated(note, index, code, moved, form, outpatient):
        return None  # the note also states the coded form ("single episode"): the provider must settle it
    return moved


def _own_form_stated(note: NoteDoc, index: AxisIndex, code: str, moved: "Redirected", form: tuple[str, ...],
                     outpatient: bool) -> bool:
    """Another sentence of the assessment states what sets the coded form apart from the other
    ("single episode" there, "recurrent" here): the two readings conflict. Within the sentence that
    states the form, the coded condition's own words are its name ("low back pain with sciatica")."""
    rel = index.release
    own = {fold(w) for c in (code, *rel.ancestors(code)) for w in index.words(c)}
    theirs = {fold(w) for w in index.words(moved.target)} | set(form)
    distinct = {w for w in own - theirs - _GENERIC if not w.isdigit()}
    if not distinct:
        return False
    for m in condition_mentions(note, index, code, outpatient):
        if not m.counts or not m.in_assessment or m.sentence is moved.sentence:
            continue
        for i, t in enumerate(m.words):
            if fold(t.norm) in distinct and not is_negated_at(m.sentence.text, t.start):
                return True
    return False


@lru_cache(maxsize=None)  # by a form's words: the tabular's, never a note's
def _named_words(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(w for w in words if w not in _GENERIC)


def _stated(m: Mention, r: Redirect, outpatient: bool, norms: list[str] | None = None) -> str | None:
    """The sentence's words for the form, when every word of it stands there for this encounter (``norms``: the
    words of the mention folded, when the caller has them)."""
    tokens = m.words
    if norms is None:
        norms = [fold(t.norm) for t in tokens]
    text = m.sentence.text

    def fine(i: int) -> bool:
        start = tokens[i].start
        return not (is_negated_at(text, start) or is_past_or_planned(text, start)
                    or (outpatient and is_uncertain_at(text, start)))

    if r.contiguous:
        n = len(r.words)
        for i in range(len(norms) - n + 1):
            if tuple(norms[i:i + n]) == r.words and fine(i):
                return text[tokens[i].start:tokens[i + n - 1].end]
        return None
    needed = [w for w in r.words if w not in _GENERIC]
    before = {w: r.words[k - 1] for k, w in enumerate(r.words) if k and any(c.isdigit() for c in w)}
    spots = []
    for w in needed:
        # a number only with its word ("type 1", never the "1" of "1.5 mg")
        hits = [i for i, n in enumerate(norms) if n == w and fine(i)
                and (w not in before or (i and norms[i - 1] == before[w]))]
        if not hits:
            return None
        spots.append(hits)
    # the closest set of positions, one per word: the words must describe one thing
    best = None
    for first in spots[0]:
        chosen = [first] + [min(h, key=lambda i: abs(i - first)) for h in spots[1:]]
        span = max(chosen) - min(chosen)
        if best is None or span < best[0]:
            best = (span, min(chosen), max(chosen))
    if best is None or best[0] > len(needed) + _SLACK:
        return None
    return text[tokens[best[1]].start:tokens[best[2]].end]


# -- qualified inclusion terms ----------------------------------------------------------------------------
#
# The tabular names some conditions by a base term and a qualifier, each qualifier under its own code:
# "Alcohol use disorder, mild" is an inclusion term of F10.10, "..., moderate" and "..., severe" of F10.20
# (DSM-5 severities, FY2023 tabular). A note that states the base term decides between those codes by
# its qualifier, or leaves it for the provider.

_QUALIFIED = compile_pattern(r"^(?P<base>.*?),\s*(?P<qualifier>mild|moderate|severe)$", re.I)


@dataclass(frozen=True)
class Family:
    base: tuple[str, ...]  # the base term's words, folded ("alcohol", "use", "disorder")
    members: tuple[tuple[str, str], ...]  # (qualifier, code)


class Families:
    def __init__(self, release):
        self.release = release

    @cached_property
    def by_category(self) -> dict[str, tuple[Family, ...]]:

        derived = self.release.derived
        raw = derived["qualified_families"] if derived.get("format") == DERIVED_FORMAT and \
            "qualified_families" in derived else scan_qualified_families(self.release)
        return {category: tuple(Family(base, members) for base, members in found)
                for category, found in raw.items()}


def scan_qualified_families(release) -> dict[str, list[tuple[tuple[str, ...], tuple[tuple[str, str], ...]]]]:
    """Inclusion terms "<base>, <mild|moderate|severe>" by category: a scan of every code, run by
    :func:`vma.checks.support.axes.index.derive` when the index is compiled."""
    found: dict[tuple[str, tuple[str, ...]], list[tuple[str, str]]] = {}
    for code in release.codes():
        for term in release.notes(code, "inclusionTerm"):
            m = _QUALIFIED.match(term)
            if m:
                base = tuple(fold(w) for w in description_words(m.group("base")))
                found.setdefault((code[:3], base), []).append((m.group("qualifier").lower(), code))
    out: dict[str, list[tuple[tuple[str, ...], tuple[tuple[str, str], ...]]]] = {}
    for (category, base), members in found.items():
        out.setdefault(category, []).append((base, tuple(members)))
    return out


@per_release
def families(index: AxisIndex) -> Families:
    return Families(index.release)


@dataclass(frozen=True)
class FamilyReading:
    codes: tuple[str, ...]  # one code: the note settles it; several: the provider chooses
    said: str
    sentence: object


def documented_family(note: NoteDoc, index: AxisIndex, code: str, outpatient: bool) -> FamilyReading | None:
    """The qualified family of the code's category whose base term the note states for this encounter
    ("alcohol use disorder"), with the codes its stated qualifier leads to, or all of them when none is
    stated; None when the coded code already is the one the note settles."""
    options = families(index).by_category.get(code[:3], ())
    if not options:
        return None
    at = note_words(note)
    tokenized = note.tokenized
    for family in options:
        needed = [w for w in family.base if w not in _GENERIC or w == "use"]
        places = [at.where(w) for w in needed]
        common = set(places[0]).intersection(*places[1:]) if places and all(places) else set()
        for si in sorted(common):
            sentence, toks = tokenized[si]
            if sentence.section not in ASSESSMENT_SECTIONS and sentence.section != "hpi":
                continue
            norms = [fold(t.norm) for t in toks]
            n = len(family.base)
            starts = [i for i in range(len(norms) - n + 1) if tuple(norms[i:i + n]) == family.base]
            for i in starts:
                text = sentence.text
                start = toks[i].start
                if is_negated_at(text, start) or is_past_or_planned(text, start) or \
                        (outpatient and is_uncertain_at(text, start)):
                    continue
                # the qualifier on the term itself: "mild alcohol use disorder", "alcohol use disorder, severe"
                near = {norms[j] for j in (i - 1, i + n) if 0 <= j < len(norms)}
                stated = {q for q, _ in family.members if q in near}
                codes = tuple(dict.fromkeys(c for q, c in family.members if not stated or q in stated))
                if code in codes:
                    return None  # the coded code is a member the note allows
                return FamilyReading(codes, text[start:toks[i + n - 1].end], sentence)
    return None
