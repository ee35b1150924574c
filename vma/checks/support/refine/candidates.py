"""The candidates of a coded condition: every code of its category that says what it says and more, sorted by the axes each adds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from vma.checks.support.axes.index import AxisIndex, sibling_phrase
from vma.checks.support.axes.words import (
    ACUITY,
    ACUITY_TERMS,
    BILATERAL,
    LATERALITY,
    LEFT,
    OPEN,
    RESIDUAL,
    RIGHT,
    SIDE_TERMS,
    acuity_of,
    fold,
    key_words,
    scoped_words,
)
from vma.compiled_patterns import compile_pattern
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
    "primary": compile_pattern(r"\b(?:osteoarthriti\w*|osteoarthros\w*|oa|djd|degenerative (?:joint disease|arthritis))\b",
                          re.I),
    "idiopathic": compile_pattern(r"\b(?:gout\w*|podagra)\b", re.I)}
# A cause stated anywhere about the condition takes the default away ("This is post-traumatic, from his
# 2010 tibial plateau fracture"); "pain due to osteoarthritis" names the condition, not its cause.
_NOT_DEFAULT = {
    "primary": compile_pattern(
        r"\b(?:secondary|post-?traumatic|traumatic|dysplas\w*|(?:from|after|due to|resulting from|caused by) "
        r"(?!(?:his |her |the |their )?(?:osteoarthriti|oa\b|djd|degenerative|arthritis))(?:an? |his |her |the |"
        r"prior |previous |old |remote )?(?:[\w-]+ ){0,3}?(?:injur\w*|fractures?|trauma|meniscectomy|acl|surgery|"
        r"dysplasia|infection|rheumatoid|gout))\b", re.I),
    "idiopathic": compile_pattern(r"\b(?:secondary|lead|saturnine|drug[- ]induced|diuretic\w*|due to|caused by|renal|"
                             r"kidney)\b", re.I)}
# Sites a tabular title pairs, of which the note need name one ("Idiopathic gout, ankle and foot").
_PAIRED_SITES = (("ankle", "foot"), ("hand", "finger"), ("hand", "fingers"))
_EXACERBATION = compile_pattern(r"\b(?:exacerbat\w*|decompensat\w*)\b", re.I)
# Where "exacerbation" and "decompensated" are read as the acute phase: heart failure, the
# condition the guidance speaks of (AHA Coding Clinic 3Q 2008: "decompensated" indicates a flare-up,
# the acute phase, of a chronic condition). Elsewhere only "acute"/"chronic" themselves count.
_EXACERBATION_IS_ACUTE = ("I50",)
MAX_OPTIONS = 12
_OPEN_ONLY = frozenset({OPEN})
_NEVER_REPLACED = frozenset({OPEN, "unilateral"})


def folded(words) -> frozenset[str]:
    return frozenset(map(fold, words))


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
        # Kept on the instance (frozen: its fields never change): a decision compares each candidate with
        # every other, asking for it many times.
        found = self.__dict__.get("_info")
        if found is None:
            out = {("~" if t in self.negated else "") + fold(t) for t in self.terms}
            if self.side:
                out |= {("side", s) for s in self.side}
            if self.acuity:
                out.add(("acuity", self.acuity))
            found = frozenset(out)
            object.__setattr__(self, "_info", found)
        return found


_SIDES = frozenset({RIGHT, LEFT})
_new_object, _set_field = object.__new__, object.__setattr__


def _may_name_side(title: str) -> bool:
    text = title.lower()
    return RIGHT in text or LEFT in text or BILATERAL in text


def _sided_words(words: tuple[str, ...]) -> frozenset[str]:
    """The words of a title that stand right after a side word ("right shoulder": shoulder), folded."""
    if SIDE_TERMS.isdisjoint(words):
        return frozenset()
    return frozenset(fold(w) for i, w in enumerate(words[1:], 1) if words[i - 1] in SIDE_TERMS)


def _paired(titles, start: dict[frozenset[str], set[str]] | None = None) -> dict[frozenset[str], set[str]]:
    """The sides ("right", "left") the titles of each wording take, the side words left out of the wording;
    added to a copy of ``start``."""
    paired = {k: set(v) for k, v in start.items()} if start else {}
    for yk in titles:
        if not _SIDES.isdisjoint(yk):
            paired.setdefault(frozenset(yk - SIDE_TERMS), set()).update(yk & _SIDES)
    return paired


def _may_drop(xk: frozenset[str], allowed_here: frozenset[str], own_site: frozenset[str],
              open_slot: set[str]) -> frozenset[str]:
    """Every word of the proposed code's that refinements() allows some candidate to drop (a superset of
    what it allows each)."""
    return allowed_here | own_site | open_slot | _NO_COMPLICATION | {w for w in xk if w.startswith("~")}


def _both_sides(paired: dict[frozenset[str], set[str]]) -> set[frozenset[str]]:
    return {k for k, v in paired.items() if v == _SIDES}


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
        self._categories: dict[str, str] = {}
        self._implied_words: dict[str, frozenset[str]] = {}
        self._term_words_of: dict[str, tuple[tuple[str, str], ...]] = {}

    def category(self, code: str) -> str:
        found = self._categories.get(code)
        if found is None:
            ancestors = self.release.ancestors(code)
            found = self._categories[code] = ancestors[-1] if ancestors else code
        return found

    @lru_cache(maxsize=None)
    def is_header(self, code: str) -> bool:
        rel = self.release
        return code in rel and not rel.is_billable(code) and bool(rel.children(code)) \
            and not self.index.needs_seventh(code)

    @lru_cache(maxsize=None)
    def _pool_words(self, code: str) -> tuple[dict[str, frozenset[str]], tuple[tuple[str, frozenset[str]], ...],
                                               dict[frozenset[str], set[str]], set[frozenset[str]]]:
        """The base codes under ``code`` with their key words, those whose words name a site after a side
        word, with those site words folded, the sides the codes of each wording take, and the wordings
        taking both (see :meth:`refinements`): read once for every code of a category. A category's were
        worked out when the index was compiled (:func:`category_refinement_tables`), with what each of its codes
        implies (:meth:`_implied`), kept now for the candidates read next; a header's are read here."""
        tables = self.index.category_tables(code)
        if tables is None:
            return self.scan_pool_words(code)
        pool, implied = tables["refine"]
        self._implied_words.update(implied)
        return pool

    def scan_pool_words(self, code: str) -> tuple[dict[str, frozenset[str]], tuple[tuple[str, frozenset[str]], ...],
                                                  dict[frozenset[str], set[str]], set[frozenset[str]]]:
        """:meth:`_pool_words` read from the tabular."""
        index, rel = self.index, self.release
        keyed: dict[str, frozenset[str]] = {}
        sited = []
        for y in index.base_descendants(code):
            title = rel.description(y) or ""
            keyed[y] = key_words(title)
            # A title's words are words of its lower-cased text: one with no side word there is not split into them.
            if _may_name_side(title) and (found := _sided_words(index.words(y))):
                sited.append((y, found))
        paired = _paired(keyed.values())
        return keyed, tuple(sited), paired, _both_sides(paired)

    @lru_cache(maxsize=None)
    def _category_acuity(self, category: str) -> frozenset[str]:
        return key_words(self.release.description(category) or "") & ACUITY_TERMS

    @lru_cache(maxsize=None)
    def refinements(self, code: str) -> tuple[Refinement, ...]:
        index, rel = self.index, self.release
        if code not in rel:
            return ()
        header = self.is_header(code)
        # The pool's words are the category's (or the header's), read once for all its codes.
        pool_of = code if header else self.category(code)
        base_keyed, base_sited, paired, sided = self._pool_words(pool_of)
        xk = key_words(rel.description(code) or "")
        # The pool's codes and words, read here and never changed: the code itself is passed over in the walk
        # below rather than left out of a copy (the same codes, in the same order), unless codes of other
        # categories join them, when the copy is made as it always was.
        keyed = base_keyed
        itself = None if header else code
        if header:
            sited = base_sited
            extra = []
        else:
            sited = tuple(pair for pair in base_sited if pair[0] != code)
            acuity_axis = index.axis(code, ACUITY)
            # (not among the pool's codes other than the code itself: the copy's codes)
            extra = [s.code for s in acuity_axis.siblings if s.code == code or s.code not in base_keyed] \
                if acuity_axis is not None else []
            if extra:  # acute and chronic forms kept in other categories (J40 -> J20.9, J42)
                keyed = {y: yk for y, yk in base_keyed.items() if y != code}
                itself = None
                for y in extra:
                    keyed[y] = key_words(rel.description(y) or "")
                sited += tuple((y, found) for y in extra if _may_name_side(rel.description(y) or "")
                               and (found := _sided_words(index.words(y))))
        x_side, x_acuity = _side_of(xk), acuity_of(xk)
        own_site = folded(index._site_after(index.words(code), frozenset({OPEN}) | SIDE_TERMS))
        # The word an "unspecified" opens ("unspecified site", "unspecified part") gives way to the
        # site or part a more specific code names.
        words = index.words(code)
        open_slot = {fold(words[i + 1]) for i, w in enumerate(words[:-1]) if w == OPEN}
        # ... but only a placeholder ("site", "part"), never a body site the category gives sides
        # ("unspecified shoulder" next to "right shoulder").
        sided_words = set().union(*(found for _, found in sited))
        open_slot = open_slot - sided_words
        # A side is an axis only where the tabular pairs a right and a left code of the same wording;
        # elsewhere ("Right heart failure") the word names a type. The pool's pairs are its own: the code
        # itself, when outside it, and the other categories' forms add theirs.
        if extra or code not in base_keyed:
            sided = _both_sides(_paired([*(keyed[y] for y in extra), xk], paired))
        own_branch = set(rel.ancestors(code)) | {code}
        # A header that lists its children's alternatives ("Other thoracic, thoracolumbar and lumbosacral
        # intervertebral disc displacement") states none of them: each child still needs its own.
        alternatives = {w for w in xk if any(w in yk for yk in keyed.values())
                        and not all(w in yk for yk in keyed.values())} \
            if header and self.lists_alternatives(code) else set()
        out: list[Refinement] = []
        # what every candidate of a non-header may drop (more, by candidate, below)
        allowed_here = frozenset({OPEN, "unilateral"} | (xk & ACUITY_TERMS)
                                 | (xk & SIDE_TERMS if x_side is not None else set()))
        # ... and what any may: a candidate dropping another word is passed over before the rest is read,
        # unless it is a form of an unspecified code's condition (below)
        may_drop = _may_drop(xk, allowed_here, own_site, open_slot)
        # A code that states a side is refined only to sided codes (below): the others are passed over first.
        needs_side = x_side is not None and not header
        # The words a candidate must say, in its title or by what it implies, not to be passed over for dropping
        # one (below): tested first, in one step, against what the pool's codes say. Not for a header; and a
        # sibling of an unspecified code dropping a word is read on, as it may be a form of its condition.
        required = None if header else xk - _NEVER_REPLACED - may_drop
        said = self._said_words(pool_of) if required else None
        is_open, code_parent = OPEN in words, rel.parent(code)
        for y, yk in keyed.items():
            if y == itself:
                continue
            if said is not None:
                says = said.get(y)
                if says is None:  # a candidate of another category (an acuity sibling)
                    says = yk | self._implied(y)
                if not required <= says and not (is_open and rel.parent(y) == code_parent):
                    continue
            if needs_side and (SIDE_TERMS.isdisjoint(yk)
                               or not (BILATERAL in yk or frozenset(yk - SIDE_TERMS) in sided)):
                continue
            # what a code's parents say, it says too ("at C5-C6 level" sits under "mid-cervical region"),
            # and the acuity of its category's title ("Streptococcal pharyngitis" is an acute pharyngitis, J02)
            # Worked out only for a word the candidate drops: "unspecified" and "unilateral" are never read
            # from ``removed`` (allowed, and left out of ``replaces``), and most candidates drop no other.
            gone = xk - yk - _NEVER_REPLACED
            removed = gone - self._implied(y) if gone else gone
            if removed and not header and not removed <= may_drop \
                    and not (OPEN in words and self._open_form(code, y, yk)):
                continue
            added = yk - xk - _FILLER
            if alternatives:
                added |= yk & alternatives
            if added == _OPEN_ONLY:
                continue  # only vaguer than the proposed code
            added -= _OPEN_ONLY
            loose = False
            if removed and not header:
                # what a candidate may drop: what every candidate may, and what it says instead
                allowed = allowed_here
                if BILATERAL in yk:
                    allowed |= own_site
                if open_slot and added - SIDE_TERMS - ACUITY_TERMS:
                    allowed |= open_slot
                if added:
                    # a stated absence the other code contradicts: "uncomplicated", "without aura"
                    allowed |= _NO_COMPLICATION | {w for w in removed if w.startswith("~") and w[1:] in yk}
                if removed - allowed:
                    if not (OPEN in words and self._open_form(code, y, yk)):
                        continue
                    loose = True
            y_has_side = not SIDE_TERMS.isdisjoint(yk) and (frozenset(yk - SIDE_TERMS) in sided or BILATERAL in yk)
            y_side = _side_of(yk) if y_has_side else None
            if x_side is not None and y_side is None and not header:
                continue
            y_acuity = acuity_of(yk) or (acuity_of(self._category_acuity(self.category(y)))
                                         if x_acuity is not None else None)
            if x_acuity is not None and y_acuity is None and not header:
                continue
            axis_words = (SIDE_TERMS if y_has_side else frozenset()) | ACUITY_TERMS
            term_keys = added - axis_words
            plain = {w.lstrip("~") for w in term_keys}
            seq = index.words(y)
            terms = tuple(dict.fromkeys(w for w, key in self._term_words(y) if key in plain))
            negated = frozenset(t for t in terms if "~" + fold(t) in term_keys)
            changes = bool(terms) or (y_side is not None and y_side != x_side) or \
                (y_acuity is not None and y_acuity != x_acuity)
            if not changes:
                continue
            variants = []
            for node in (y, *rel.ancestors(y)):
                if node in own_branch:
                    break
                found, read = self._inclusion_variants(node)
                if read:
                    # The unspecified-member test above asks ``OPEN in words``; reading an inclusion term has
                    # always rebound ``words`` to that term's words, which never hold OPEN: kept as it was.
                    words = ()
                variants.extend(found)
            site = index._site_after(seq, frozenset(SIDE_TERMS)) if y_side else ()
            # Refinement(**fields), its fields set in one step: a frozen dataclass's __init__ sets each through
            # object.__setattr__.
            made = _new_object(Refinement)
            _set_field(made, "__dict__", dict(
                code=y, side=y_side, acuity=y_acuity, terms=terms,
                phrase=sibling_phrase(seq, frozenset(terms)) if terms else (),
                negated=negated, residual=bool((yk - xk) & RESIDUAL), variants=tuple(variants), site=site,
                replaces=frozenset(removed - {OPEN, "unilateral"} - (own_site if BILATERAL in yk else set())),
                site_terms=frozenset(map(fold, terms)) & sided_words, loose=not header and loose))
            out.append(made)
        return tuple(out)

    @lru_cache(maxsize=None)
    def _said_words(self, pool_of: str) -> dict[str, frozenset[str]]:
        """What each code of a pool (:meth:`_pool_words`) says: its key words and what it implies
        (:meth:`_implied`), read once for all the codes refined within it."""
        implied = self._implied
        return {y: yk | implied(y) for y, yk in self._pool_words(pool_of)[0].items()}

    @lru_cache(maxsize=None)
    def _inclusion_variants(self, node: str) -> tuple[tuple[tuple[str, ...], ...], bool]:
        """The words of each inclusion term of a node that says something (connectives and "unspecified"
        left out), "~" marking those it states absent, and whether it has any inclusion term: read once for
        every candidate beneath it."""
        out = []
        terms = self.release.notes(node, "inclusionTerm")
        for term in terms:
            words = tuple(w for w in scoped_words(term) if w.lstrip("~") not in _FILLER and w != OPEN)
            if words:
                out.append(words)
        return tuple(out), bool(terms)

    def _open_form(self, code: str, y: str, yk: frozenset[str]) -> bool:
        """The unspecified member of a subdivision stands for the others' condition: its specific siblings are
        that condition's forms (N20.9 Urinary calculus, unspecified: N20.0 Calculus of kidney), whatever words
        its own title uses."""
        rel = self.release
        return rel.parent(y) == rel.parent(code) and not (yk & RESIDUAL) and rel.is_billable(y)

    def _implied(self, code: str) -> frozenset[str]:
        """What a candidate says without its title saying it: its subcategory titles' words
        (:meth:`inherited_words`) and the acuity of its category's title."""
        found = self._implied_words.get(code)
        if found is None:
            # a candidate of another category (an acuity sibling): compiled with its own category's tables
            tables = self.index.category_tables(self.category(code))
            found = tables["refine"][1].get(code) if tables is not None else None
            if found is None:
                found = self.scan_implied(code)
            self._implied_words[code] = found
        return found

    def scan_implied(self, code: str) -> frozenset[str]:
        """:meth:`_implied` read from the tabular."""
        return self.inherited_words(code) | self._category_acuity(self.category(code))

    def _term_words(self, code: str) -> tuple[tuple[str, str], ...]:
        """The title's words that may be a candidate's terms, each with its folded form."""
        found = self._term_words_of.get(code)
        if found is None:
            found = self._term_words_of[code] = tuple((w, fold(w)) for w in self.index.words(code)
                                                      if w not in (OPEN, "with", "without"))
        return found

    def inherited_words(self, code: str) -> frozenset[str]:
        """Words of the code's subcategory titles, which its own title may leave unsaid."""
        parent = self.release.parent(code)
        return frozenset() if parent is None else self._inherited_below(parent)

    @lru_cache(maxsize=None)
    def _inherited_below(self, parent: str) -> frozenset[str]:
        """What each child of ``parent`` inherits: read once for all of them."""
        if self.release.parent(parent) is None:
            return frozenset()  # the category's title is everyone's
        # the parent's own words, and those it inherits
        own = frozenset() if self.lists_alternatives(parent) else key_words(self.release.description(parent) or "")
        return own | self.inherited_words(parent)

    @lru_cache(maxsize=None)
    def lists_alternatives(self, code: str) -> bool:
        """The title names its children's alternatives ("Pain in limb, hand, foot, fingers and toes",
        "Other thoracic, thoracolumbar and lumbosacral ..."): a child states one of them, never all."""
        rel = self.release
        title = key_words(rel.description(code) or "")
        if not title:
            return False  # no child shares a word with it
        # Two children sharing different parts of the title settle it: the rest are not read (their words are
        # the tabular's, and reading them changes nothing once two differ).
        seen: set[frozenset[str]] = set()
        for c in rel.children(code):
            k = key_words(rel.description(c) or "") & title
            if k and k != title:
                seen.add(k)
                if len(seen) >= 2:
                    return True
        return False

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
            words.update(t for t in r.terms if len(t) > 2 and not any(map(str.isdigit, t)))
            words.update(w.lstrip("~") for v in r.variants for w in v)
            words.update(r.site[-1:])
            if r.acuity not in (None, x_acuity):
                words.update(("acute", "chronic", "subacute", "exacerbation", "exacerbated", "decompensated",
                              "decompensation", "flare"))
        lat = self.index.axis(code, LATERALITY)
        if lat is not None:
            words.update(lat.site[-1:])
        # Short words first: a note is searched for a long word's near inflections too, the slower look-up.
        return tuple(sorted(words, key=lambda w: (len(w) >= 8, w)))


def category_refinement_tables(scanner: Refiner, category: str) -> tuple:
    """A category's :meth:`Refiner._pool_words` and what each of its codes implies (:meth:`Refiner._implied`), for
    the compiled index's tables of the category (:func:`vma.checks.support.axes.index.scan_category_tables`):
    they depend on the release alone."""
    pool = scanner.scan_pool_words(category)
    return pool, {y: scanner.scan_implied(y) for y in (category, *pool[0])}  # a category may be a code itself


@per_release
def refiner(index: AxisIndex) -> Refiner:
    """The one Refiner of a release's AxisIndex."""
    return Refiner(index)
