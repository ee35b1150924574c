"""How the note stands on one code of an Excludes1 pair (documented, refuted, a workup, family history), the diabetes types (Guideline I.C.4.a), and combination codes that cover another (Guideline I.B.9)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from vma.checks import CheckContext
from vma.checks.support.axes.index import AxisIndex
from vma.checks.support.axes.words import RESIDUAL, description_words
from vma.checks.support.exclusions.pairs import (
    _KIN,
    _SEGMENT,
    _WORKUP,
    _clause,
    _holds,
    _naming_mentions,
    _not_established,
    excluding_notes,
)
from vma.checks.support.notes.document import Sentence
from vma.checks.support.notes.words import HISTORY_SECTIONS, is_negated_at, is_uncertain_at
from vma.reference.icd10cm import IcdRelease, per_release

# -- how the note stands on one code of the pair -------------------------------------------------------

DOCUMENTED, NEGATED, UNCERTAIN, CONTRADICTED, ABSENT = "documented", "negated", "uncertain", "contradicted", "absent"
PREDIABETES = "prediabetes"  # the note names the state before diabetes (R73.03), not diabetes mellitus


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
    note = ctx.note
    # the tokens' normalised words, in order: a sentence is tokenised only where a diabetes word stands
    for k, (sentence, norms) in enumerate(zip(note.sentences, note.word_norms)):
        for i, word in enumerate(norms):
            prediabetes = word.startswith("prediabet")
            if not prediabetes and (word not in _DIABETES_WORDS or (i > 0 and norms[i - 1] in _DIABETES_WORDS)):
                continue
            if set(norms[i + 1:i + 3]) & _NOT_DIABETES_MELLITUS:
                continue
            prediabetes = prediabetes or bool(set(norms[max(0, i - 2):i]) & _NOT_YET)
            pos = note.tokenized[k][1][i].start
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
