"""What the tabular says: each code's axes and the siblings that settle them, per release (AxisIndex), and the tables derived from the whole release when its index is compiled."""

from __future__ import annotations

import math
import pickle
import zlib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import NamedTuple

from vma.checks.support.axes.words import (
    _OPEN_ACUITY,
    ACUITY,
    ACUITY_TERMS,
    ACUTE,
    ACUTE_ON_CHRONIC,
    BILATERAL,
    CHRONIC,
    LATERALITY,
    LEFT,
    OPEN,
    RESIDUAL,
    RIGHT,
    SIDE_TERMS,
    SPECIFICITY,
    SUBACUTE,
    acuity_of,
    description_words,
    fold,
)
from vma.reference.icd10cm import IcdRelease, per_release

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
DERIVED_FORMAT = "10"


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
    # Here, not at the top: redirect and the sex and age edits read the AxisIndex this module defines.
    from vma.checks.support.demographics.decide import scan_any_age_counterparts
    from vma.checks.support.redirect import scan_category_titles, scan_qualified_families

    return {"format": DERIVED_FORMAT, "word_df": df, "word_n": n, "acuity_keys": index.scan_acuity_keys(),
            "category_titles": scan_category_titles(index), "qualified_families": scan_qualified_families(release),
            # Pickled by category and read on the first sight of one of its codes (AxisIndex.category_tables).
            "category_tables": scan_category_tables(index),
            # The code of each newborn condition at any age, from the Excludes1 notes (Guideline I.C.16.a.4). Few
            # charts need it: kept pickled, read on first use.
            "any_age_counterparts": pickle.dumps(scan_any_age_counterparts(release), protocol=pickle.HIGHEST_PROTOCOL)}


def scan_category_tables(index: AxisIndex) -> dict[str, bytes]:
    """What a check reads of every code of a category on its first sight of one of them, by category, each
    pickled apart for the compiled index: the category's base codes, each one's folded title words (what a
    code's axes compare with its siblings', :meth:`AxisIndex.axes`), and the refinements' words
    (:func:`vma.checks.support.refine.candidates.category_refinement_tables`). Reading them from the tabular
    cost a check more than the rest of a new code's first sight. The folded words are a base code's words
    joined by spaces in sorted order (no word holds a space). Each category's tables are compressed (zlib at
    its fastest level): every start reads the whole compiled index, and the tables with the folded words
    would have been 1.8 MB more to copy at every start (4.0 MB in all); compressed they are 1.3 MB, 0.9 MB less
    than before those words, and a category's are decompressed once, on its first sight."""
    # Here, not at the top: the refinements read the AxisIndex this module defines.
    from vma.checks.support.refine.candidates import category_refinement_tables, refiner

    rel, scanner = index.release, refiner(index)
    out = {}
    for category in rel.codes():
        if rel.parent(category) is None:
            bases = index.scan_base_descendants(category)
            tables = {"bases": bases, "folded": tuple(" ".join(sorted(index.scan_folded_words(b))) for b in bases),
                      "refine": category_refinement_tables(scanner, category)}
            out[category] = zlib.compress(pickle.dumps(tables, protocol=pickle.HIGHEST_PROTOCOL), 1)
    return out


class AxisIndex:
    """Per-release cache of code axes. Get one with :func:`axis_index`."""

    def __init__(self, release: IcdRelease):
        self.release = release
        self._folded: dict[str, frozenset[str]] = {}

    @cached_property
    def _compiled_tables(self) -> dict[str, bytes]:
        derived = self.release.derived
        return derived.get("category_tables", {}) if derived.get("format") == DERIVED_FORMAT else {}

    @lru_cache(maxsize=None)
    def category_tables(self, category: str) -> dict | None:
        """The compiled tables of a category (:func:`scan_category_tables`), decompressed and unpickled once;
        None for a release built in memory."""
        blob = self._compiled_tables.get(category)
        if blob is None:
            return None
        return pickle.loads(zlib.decompress(blob))

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
    def base_descendants(self, code: str) -> tuple[str, ...]:
        """The base codes (:meth:`is_base`) under ``code``, in tabular order. A code that needs a 7th
        character is not descended into: beneath it are only its 7th-character codes, none a base code,
        and an injury category holds thousands of them. Read from the category's compiled tables: a code's
        descendants are the codes its own code begins (the tabular's codes extend their parent's), and the
        category lists its base codes in tabular order."""
        tables = self.category_tables(code[:3])
        if tables is None:
            return self.scan_base_descendants(code)
        bases = tables["bases"]
        return bases if code == code[:3] else tuple(b for b in bases if b.startswith(code) and b != code)

    def scan_base_descendants(self, code: str) -> tuple[str, ...]:
        """:meth:`base_descendants` read from the tabular."""
        out: list[str] = []
        rel = self.release

        def walk(node: str) -> None:
            # is_base, for a child of ``node``: billable, and not a 7th-character code (whose parent needs one)
            open_node = not self.needs_seventh(node)
            for child in rel.children(node):
                if self.needs_seventh(child):
                    out.append(child)
                    continue
                if open_node and rel.is_billable(child):
                    out.append(child)
                walk(child)

        walk(code)
        return tuple(out)

    @lru_cache(maxsize=None)
    def words(self, code: str) -> tuple[str, ...]:
        return description_words(self.release.description(code) or "")

    def folded_words(self, code: str) -> frozenset[str]:
        """The code's title words (:meth:`words`) folded (:func:`fold`): each code's sibling tests compare
        these sets, read once per code rather than once per sibling that reads it; a base code's from its
        category's compiled tables once :meth:`_read_folded_words` read them."""
        found = self._folded.get(code)
        if found is None:
            found = self._folded[code] = self.scan_folded_words(code)
        return found

    def scan_folded_words(self, code: str) -> frozenset[str]:
        """:meth:`folded_words` read from the tabular."""
        return frozenset(map(fold, self.words(code)))

    @lru_cache(maxsize=None)
    def _read_folded_words(self, category: str) -> None:
        """The folded words of the category's base codes, from its compiled tables, for :meth:`folded_words`."""
        tables = self.category_tables(category)
        if tables is not None:
            self._folded.update(zip(tables["bases"], map(frozenset, map(str.split, tables["folded"]))))

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
            for d in self.base_descendants(anchor):
                if d not in seen:
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
        self._read_folded_words(code[:3])  # the code's and its pool's, all of the category
        seq = self.words(code)
        x = self.folded_words(code)
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
        folded_words, description = self.folded_words, self.release.description
        for y in self._pool(code):
            yw = folded_words(y)
            added = yw - x
            if not added:
                continue
            removed = x - yw
            # laterality: only a side word added; a bilateral code may also drop the site word
            if added <= SIDE_TERMS and len(added) == 1 and has_site:
                extra = removed - {OPEN} - SIDE_TERMS
                if not extra or (BILATERAL in added and extra <= {fold(w) for w in own_site}):
                    value = next(iter(added))
                    if value != own_side and value not in side:
                        side[value] = AxisSibling(y, description(y) or "", value, tuple(added))
                        site = site or self._site_after(self.words(y), frozenset({value}))
                continue
            if added & ACUITY_TERMS and added <= ACUITY_TERMS | {"with"} and removed <= ACUITY_TERMS | {OPEN, "with"}:
                value = acuity_of(yw)
                if value and value != acuity_of(x) and value not in acuity:
                    acuity[value] = AxisSibling(y, description(y) or "", value, tuple(sorted(added)))
                continue
            if OPEN in x and not removed - {OPEN} and not added & (SIDE_TERMS | ACUITY_TERMS | RESIDUAL | {OPEN}):
                yseq = self.words(y)
                specific.append(AxisSibling(y, description(y) or "", " ".join(w for w in yseq if w in added),
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

    @lru_cache(maxsize=None)
    def condition_term_sets(self, code: str) -> tuple[ConditionTermSet, ...]:
        """:meth:`condition_terms` with what reading them needs worked out once per code: each set's total
        weight, and its words heaviest first with the weight that may be missing from the note before the
        set can no longer name the condition in any sentence (see :class:`ConditionTermSet`)."""
        out = []
        for terms in self.condition_terms(code):
            total = sum(w for _, w in terms)
            if not total:
                continue
            if all(w > 0 for _, w in terms):
                # The margin keeps the gate off where the sums' rounding could decide: only a set clearly
                # under half its weight is passed over.
                heaviest = tuple(sorted(terms, key=lambda tw: -tw[1]))
                slack = total * (0.5 + 1e-9)
            else:
                heaviest, slack = (), 0.0
            out.append(ConditionTermSet(terms, total, heaviest, slack))
        return tuple(out)


class ConditionTermSet(NamedTuple):
    """One way the tabular names a condition (:meth:`AxisIndex.condition_terms`), ready to be read.

    A sentence names the condition when it holds half the set's weight (``total``). No sentence holds more of
    it than the note does: once the words the note lacks weigh more than ``slack`` (half, and a margin), no
    sentence can name the condition through the set. ``heaviest``: the words heaviest first, the order to look
    them up in; empty when the weights are not all positive, where no such bound holds."""

    terms: tuple[tuple[str, float], ...]
    total: float
    heaviest: tuple[tuple[str, float], ...]
    slack: float


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
