"""Diabetes "with" its complications (Guideline I.A.15, I.C.4.a): the tabular's combination codes for a coded complication, and whether the note links the two."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vma.checks import CheckContext
from vma.checks.support.axes.evidence import condition_mentions
from vma.checks.support.axes.index import axis_index
from vma.checks.support.axes.words import OPEN, description_words, fold
from vma.checks.support.combinations.picture import _DIABETES, _UNRELATED, _starts
from vma.checks.support.notes.document import Sentence
from vma.checks.support.notes.patterns import lazy_pattern
from vma.checks.support.notes.words import HISTORY_SECTIONS, is_negated_at
from vma.reference.icd10cm import CodeRef, IcdRelease, note_code_refs, per_release

# -- diabetes "with" its complications (Guideline I.A.15), derived from the tabular ---------------

DIABETES_CATEGORIES = ("E08", "E09", "E10", "E11", "E13")
# A combination title whose "with" part names no condition ("with other specified complication",
# "with unspecified complications", "with other diabetic kidney complication") links nothing by itself:
# those need the provider's stated link, so they are never presumed here.
_GENERIC_WITH = lazy_pattern(r"\bcomplications?\b", re.I)
# A diabetes code named in a note: "E11.22" (not the start of a range "E08.311-"), or "E08-E13 with .42".
_DM_CODE = lazy_pattern(r"(?<![-\w])(E0[89]|E1[0-3])\.([0-9A-Z]{1,4})(?![0-9A-Z])(?!\s*-)")
_DM_WITH = lazy_pattern(r"\bE0[89]\s*-\s*E1[0-3]\s+with\s+\.([0-9A-Z]{1,4})(?![0-9A-Z])(?!\s*-)")
_UNBOUNDED = 1 << 30
_GENERIC_HEADS = frozenset({"disease", "diseases", "complication", "complications", "disorder", "disorders",
                            "condition", "conditions", "part"})


@dataclass(frozen=True)
class DiabetesRule:
    """A diabetes combination code and the codes its "use additional code" note asks for."""

    code: str
    refs: tuple[CodeRef, ...]
    note: str


class DiabetesTable:
    """Per release: the "use additional code" notes of the E08-E13 combination codes, by category.

    Each category's read from its subtree (a few hundred codes) when a chart first asks for it, once per release
    and process: a chart asks for the one category its diabetes code is in.
    """

    def __init__(self, release: IcdRelease):
        self.release = release
        self._rules: dict[str, tuple[DiabetesRule, ...]] = {}
        self._widths: dict[CodeRef, int] = {}

    def rules(self, category: str) -> tuple[DiabetesRule, ...]:
        """The combination codes of a diabetes category (E08-E13) whose "use additional code" notes name a code."""
        found = self._rules.get(category)
        if found is None:
            found = self._rules[category] = self._read(category) if category in DIABETES_CATEGORIES else ()
        return found

    def _read(self, category: str) -> tuple[DiabetesRule, ...]:
        release = self.release
        found = []
        for code in (category, *release.descendants(category)):
            if not combination_names_condition(release, code):
                continue
            for note in release.notes(code, "useAdditionalCode"):
                refs = tuple(note_code_refs(note))
                if refs:
                    found.append(DiabetesRule(code, refs, note))
        return tuple(found)

    def width(self, ref: CodeRef) -> int:
        """How many tabular codes a note reference covers: the narrower, the more specific the link."""
        if ref not in self._widths:
            self._widths[ref] = _ref_width(self.release, ref)
        return self._widths[ref]


_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _ref_width(release: IcdRelease, ref: CodeRef) -> int:
    lo, hi = ref.first, ref.last
    if lo == hi:
        return 1 + sum(1 for _ in release.descendants(lo)) if lo in release else _UNBOUNDED
    if lo[0] != hi[0]:
        return _UNBOUNDED
    count = 0
    # The categories between the two, in _ALNUM's order, which is the strings' own: only those whose second
    # character lies between theirs can be.
    seconds = (_ALNUM[_ALNUM.index(lo[1]):_ALNUM.index(hi[1]) + 1]
               if len(lo) > 1 and len(hi) > 1 and lo[1] in _ALNUM and hi[1] in _ALNUM else _ALNUM)
    for a in seconds:
        for b in _ALNUM:
            category = lo[0] + a + b
            if lo[:3] <= category <= hi[:3] and category in release:
                count += sum(1 for c in (category, *release.descendants(category)) if ref.covers(c))
    return count or _UNBOUNDED


@per_release
def diabetes_table(release: IcdRelease) -> DiabetesTable:
    return DiabetesTable(release)


def diabetes_category(code: str) -> str | None:
    return code[:3] if code[:3] in DIABETES_CATEGORIES else None


def combination_names_condition(release: IcdRelease, code: str) -> bool:
    """A billable diabetes code whose title names the condition it is "with" (E11.621 "with foot ulcer")."""
    desc = release.description(code) or ""
    if not release.is_billable(code) or " with " not in desc:
        return False
    return not _GENERIC_WITH.search(desc.split(" with ", 1)[1])


def with_head(release: IcdRelease, code: str) -> str | None:
    """The noun the combination title is "with" ("ulcer" for "with foot ulcer"), unless it is generic."""

    desc = (release.description(code) or "").split(" with ", 1)[-1].split(" without ", 1)[0]
    words = [w for w in description_words(desc) if w not in ("diabetic", "diabetes", "mellitus")]
    return words[-1] if words and words[-1] not in _GENERIC_HEADS else None


@per_release
def _title_links(release: IcdRelease) -> dict[tuple[str, str], tuple[str, str] | None]:
    return {}


def _named_by_title(release: IcdRelease, code: str, category: str) -> tuple[str, str] | None:
    links = _title_links(release)
    if (code, category) not in links:
        links[code, category] = _scan_named_by_title(release, code, category)
    return links[code, category]


def _title_words(text: str) -> frozenset[str]:
    """The words that tell one condition title from another, folded and without the diabetes words."""
    return frozenset(fold(w) for w in description_words(text)
                     if w not in (OPEN, "diabetic", "diabetes", "mellitus", "nos"))


@per_release
def _combinations_by_condition(release: IcdRelease) -> dict[str, dict[frozenset[str], tuple[str, ...]]]:
    return {}


def _combinations_named(release: IcdRelease, category: str) -> dict[frozenset[str], tuple[str, ...]]:
    """The combination codes of ``category`` by the words of the condition their title is "with", in
    tabular order: the same for every chart code, so worked out once per release and category."""
    by_category = _combinations_by_condition(release)
    if category not in by_category:
        found: dict[frozenset[str], list[str]] = {}
        for target in release.descendants(category):
            if combination_names_condition(release, target):
                part = (release.description(target) or "").split(" with ", 1)[1].split(" without ", 1)[0]
                found.setdefault(_title_words(part), []).append(target)
        by_category[category] = {words: tuple(targets) for words, targets in found.items()}
    return by_category[category]


def _scan_named_by_title(release: IcdRelease, code: str, category: str) -> tuple[str, str] | None:
    """The one combination code of ``category`` whose "with" condition is, word for word, the chart
    code's own title or one of its inclusion terms ("with diabetic peripheral angiopathy" and I73.9's
    "Peripheral angiopathy NOS"): the Index's "Diabetes, with" entry the coder follows, and the link
    Guideline I.A.15 presumes. Nothing when the words match several, or only in part."""

    for kind in ("excludes1", "codeFirst", "codeAlso"):
        for _, note in release.inherited_notes(code, kind):
            if any(m.group(1) != category for m in _DM_CODE.finditer(note)):
                return None  # the tabular lists the diabetes codes it means, and this category is not one
    names = {_title_words(t): t for t in (release.description(code) or "", *release.notes(code, "inclusionTerm"))}
    names.pop(frozenset(), None)
    combinations = _combinations_named(release, category)
    found = [(target, term) for words, term in names.items() for target in combinations.get(words, ())]
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class DiabetesLink:
    """The combination code a chart code calls for with the chart's diabetes."""

    combination: str  # E11.621
    other: str  # the chart code it links: L97.519
    included: bool  # the other code's condition is inside the combination code (an Excludes1 says so)
    notes: tuple[str, ...]  # the tabular notes that say it, for the message


def _named_combinations(note: str, category: str) -> list[str]:
    out = [f"{m.group(1)}.{m.group(2)}" for m in _DM_CODE.finditer(note) if m.group(1) == category]
    out += [f"{category}.{m.group(1)}" for m in _DM_WITH.finditer(note)]
    return out


@per_release
def _links(release: IcdRelease) -> dict[tuple[str, str], DiabetesLink | None]:
    return {}


def diabetes_link(release: IcdRelease, code: str, category: str) -> DiabetesLink | None:
    """The one combination code of ``category`` that ``code`` calls for, per the tabular, or None
    (worked out once per release for each code and category)."""
    links = _links(release)
    if (code, category) not in links:
        links[code, category] = _diabetes_link(release, code, category)
    return links[code, category]


def _diabetes_link(release: IcdRelease, code: str, category: str) -> DiabetesLink | None:
    """The one combination code of ``category`` that ``code`` calls for, per the tabular, or None.

    Three kinds of note say it: a "use additional code" note on the combination code naming
    ``code`` (E11.621: L97.4-, L97.5-); a "code first" / "code also" note on ``code`` naming
    the combination code (N18: E11.22; K31.84: E11.43); an Excludes1 note on ``code`` sending
    its condition "in diabetes" to the combination code (G63: E08-E13 with .42). When several
    combination codes apply, the one whose reference is narrowest wins (L97.519: E11.621's
    L97.5- over E11.622's L97.1-L97.9); a tie between different codes is left to the coder.
    """
    if diabetes_category(code):
        return None
    table = diabetes_table(release)
    width: dict[str, int] = {}
    included: set[str] = set()
    notes: dict[str, list[str]] = {}
    for rule in table.rules(category):
        hits = [r for r in rule.refs if r.covers(code)]
        if hits:
            w = min(table.width(r) for r in hits)
            width[rule.code] = min(width.get(rule.code, _UNBOUNDED), w)
            notes.setdefault(rule.code, []).append(f'{rule.code} "use additional {rule.note}"')
    for kind, label in (("codeFirst", "code first"), ("codeAlso", "code also"), ("excludes1", "Excludes1")):
        for where, note in release.inherited_notes(code, kind):
            for target in _named_combinations(note, category):
                if kind != "excludes1" and target == f"{category}.9":
                    return None  # the tabular asks for diabetes "without complications" beside it (N76.82)
                if not combination_names_condition(release, target):
                    continue
                width.setdefault(target, _UNBOUNDED)
                if kind == "excludes1":
                    included.add(target)
                notes.setdefault(target, []).append(f'Excludes1 at {where} "{note}"' if kind == "excludes1"
                                                    else f'"{label}" note at {where}')
    if not width:
        named = _named_by_title(release, code, category)
        if named is None:
            return None
        target, term = named
        return DiabetesLink(target, code, True, (f'{target} "{release.description(target)}" names "{term}" '
                                                 f'({code}); Index: Diabetes, with',))
    best = min(width.values())
    chosen = [c for c, w in width.items() if w == best]
    if len(chosen) != 1:
        return None
    target = chosen[0]
    return DiabetesLink(target, code, target in included, tuple(dict.fromkeys(notes[target])))


# What the note may say against the presumed link: the condition is due to something else.
_CAUSE = lazy_pattern(r"\b(?:due to|secondary to|caused by|because of|attributed to|result(?:ing)? (?:of|from)|"
                      r"related to|induced by)\b", re.I)
_CAUSE_END = lazy_pattern(r"[.;,:()]|\bbut\b|\bwith\b", re.I)
# Words naming another etiology right before the condition ("venous stasis ulcer", "alcoholic
# polyneuropathy"): the tabular's own alternatives to the diabetic code (L97's "code first" venous,
# varicose, atherosclerotic; L89 pressure; G62.0-G62.2 drug-induced, alcoholic, toxic). "Hypertensive"
# is not one: the classification presumes hypertension and diabetes both linked to CKD (I.C.9.a.2).
_OTHER_ETIOLOGY = frozenset({
    "venous", "stasis", "varicose", "arterial", "ischemic", "ischaemic", "atherosclerotic", "pressure",
    "decubitus", "traumatic", "alcoholic", "lupus", "polycystic", "idiopathic", "toxic", "hereditary",
    "congenital", "postphlebitic", "postthrombotic", "chemotherapy", "drug",
})
_DIABETES_WORDS = frozenset({"diabetes", "diabetic", "diabetics"})
# Description words that say nothing about where or what the condition is.
_VAGUE_WORDS = frozenset({"non", "pressure", "chronic", "acute", "unspecified", "severity", "other", "part",
                          "specified", "elsewhere", "classified", "diseases", "disease", "right", "left",
                          "bilateral", "with", "without", "limited", "breakdown", "stage"})


@dataclass
class LinkReading:
    linked: list[Sentence] = field(default_factory=list)  # the note ties the condition to diabetes
    elsewhere: list[Sentence] = field(default_factory=list)  # the note gives it another cause
    mentions: list[Sentence] = field(default_factory=list)  # sentences naming the condition


def read_link(ctx: CheckContext, link: DiabetesLink) -> LinkReading:
    """What the note says about the cause of the linked condition."""

    release = ctx.icd
    note = ctx.note
    reading = LinkReading()
    anchors: dict[int, set[int]] = {}  # sentence index -> token indexes where the condition is named
    head = with_head(release, link.combination)
    mention_starts = {id(m.sentence): m.first for m in condition_mentions(note, axis_index(release), link.other,
                                                                            ctx.outpatient) if not m.negated}
    # The head noun alone ("ulcer") also names other conditions ("peptic ulcer"): it anchors a
    # sentence only beside a word of the coded condition's own description ("foot", "calf").
    own_words = set(description_words(release.description(link.other) or "")) - _VAGUE_WORDS - {head}
    # The note's normalised words (shared with its word index) rule most sentences out before any is tokenised.
    for k, (sentence, norms) in enumerate(zip(note.sentences, note.word_norms)):
        if sentence.section in HISTORY_SECTIONS:
            continue
        spots = set()
        if id(sentence) in mention_starts:
            spots.add(mention_starts[id(sentence)])
        if head and not own_words.isdisjoint(norms):
            words = note.tokenized[k][1]
            spots.update(i for i, w in enumerate(words) if w.norm.startswith(head) and len(w.norm) <= len(head) + 5
                         and not is_negated_at(sentence.text, w.start))
        if spots:
            anchors[k] = spots
    for k, spots in anchors.items():
        sentence, words = note.tokenized[k]
        reading.mentions.append(sentence)
        text = sentence.text
        unrelated = _UNRELATED.search(text)
        if unrelated and _DIABETES.search(text, unrelated.start()):
            reading.elsewhere.append(sentence)  # "not due to diabetes", "unrelated to his diabetes"
            continue
        verdict = None
        for i in sorted(spots):
            before = {w.norm for w in words[max(0, i - 3):i]}
            if before & _DIABETES_WORDS:
                verdict = "linked"
                break
            cause = _CAUSE.search(text, words[i].start)
            if cause and cause.start() - words[i].end < 80:
                stop = _CAUSE_END.search(text, cause.end())
                clause = text[cause.end(): stop.start() if stop else len(text)]
                if not re.search(r"\bnot\s*$", text[:cause.start()], re.I):
                    verdict = "linked" if _DIABETES.search(clause) else "elsewhere"
                    break
            if before & _OTHER_ETIOLOGY and not re.search(r"\bnon-?\s*pressure\b", text, re.I):
                verdict = "elsewhere"
                break
        if verdict == "linked":
            reading.linked.append(sentence)
        elif verdict == "elsewhere":
            reading.elsewhere.append(sentence)
    return reading


def _other_causes_coded(release: IcdRelease, code: str, codes: list[str]) -> list[str]:
    """Other codes on the chart that the condition's own "code first" note names as possible causes.

    Hypertension (I10-I16) is not "another cause": the classification presumes both links for
    chronic kidney disease (I.C.9.a.2 and I.A.15). Gangrene is a complication, not a cause.
    """
    refs = [r for _, n in release.inherited_notes(code, "codeFirst") for r in note_code_refs(n)]
    return [other for other in codes
            if other != code and not diabetes_category(other)
            and not _starts(other, "I10", "I11", "I12", "I13", "I15", "I16", "I1A", "I96")
            and any(r.covers(other) for r in refs)]


def attributed_elsewhere(ctx: CheckContext, link: DiabetesLink, reading: LinkReading, codes: list[str]) -> bool:
    """The chart codes another cause of the condition (a code its "code first" note names) that
    either includes the condition itself (I87.311 "... with ulcer", I70.234 "... with ulceration")
    or that the note names in the same sentence as the condition ("hypothyroidism with
    polyneuropathy"). A cause merely present elsewhere on the chart (E78.5 under "metabolic
    diseases (E70-E88)") does not undo the "with" presumption."""

    release = ctx.icd
    others = _other_causes_coded(release, link.other, codes)
    if not others:
        return False
    head = with_head(release, link.combination)
    mentioned = {id(s) for s in reading.mentions}
    for other in others:
        if head and any(w.startswith(head) for w in description_words(release.description(other) or "")):
            return True
        if any(id(m.sentence) in mentioned and m.counts
               for m in condition_mentions(ctx.note, axis_index(release), other, ctx.outpatient)):
            return True
    return False
