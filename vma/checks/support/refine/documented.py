"""What the note documents for a coded condition (side, acuity, terms, index defaults), and the CDI clinical indicators."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter

from vma.checks.support.axes.evidence import (
    AxisEvidence,
    Mention,
    acuity_evidence,
    condition_mentions,
    note_words,
    sentence_index,
    side_evidence,
    sides_at,
)
from vma.checks.support.axes.index import AxisIndex, CodeAxis
from vma.checks.support.axes.words import (
    ACUITY,
    ACUTE,
    ACUTE_ON_CHRONIC,
    CHRONIC,
    LATERALITY,
    OPEN,
    fold,
    key_words,
    same_word,
)
from vma.checks.support.notes.document import NoteDoc, Sentence
from vma.checks.support.notes.patterns import LowerCasePattern, lazy_pattern
from vma.checks.support.notes.words import Token, is_negated_at, is_past_or_planned, is_uncertain_at
from vma.checks.support.refine.candidates import (
    _DEFAULT_CONDITION,
    _EXACERBATION,
    _EXACERBATION_IS_ACUTE,
    _INDEX_DEFAULT_TYPE,
    _NOT_DEFAULT,
    Refinement,
    _side_of,
    refiner,
)
from vma.checks.support.refine.plan import _code_facts, _condition_words, _has_digit, _reading_plan
from vma.compiled_patterns import compile_pattern
from vma.reference import DATA

# -- clinical indicators (CDI queries) ---------------------------------------------------------------------

@dataclass(frozen=True)
class IndicatorRule:
    family: str
    categories: tuple[str, ...]
    asks: str  # what the query asks for: "type and acuity", "severity", "stage"
    patterns: tuple[LowerCasePattern, ...]
    source: str
    not_in: LowerCasePattern | None = None  # a sentence matching this cites no indicator ("Flonase nasal spray")


@lru_cache(maxsize=1)
def indicator_rules() -> tuple[IndicatorRule, ...]:
    data = json.loads((DATA / "cdi_indicators.json").read_text())
    # Compiled when a rule's family is first read: a chart reads one family, if any. Each is tried on every
    # sentence of the note, most of which hold none of its words: run behind its literal gate.
    return tuple(IndicatorRule(r["family"], tuple(r["categories"]), r["asks"],
                               tuple(LowerCasePattern(lazy_pattern(p, re.I)) for p in r["indicators"]), r["source"],
                               LowerCasePattern(lazy_pattern(r["not_in"], re.I)) if r.get("not_in") else None)
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
    inflection match of :func:`vma.checks.support.axes.words.same_word` is tried only for long words.
    The sentence's folded words are listed in C; a word's positions are found when it is first looked up
    (a few of a sentence's words are)."""

    __slots__ = ("tokens", "folded", "at", "_long")

    def __init__(self, tokens: tuple[Token, ...]):
        self.tokens = tokens
        self.folded = tuple(map(fold, map(_norm, tokens)))
        self.at: dict[str, list[int] | None] = dict.fromkeys(self.folded)  # the words, each position list when read
        self._long: list[str] | None = None

    def _at(self, key: str) -> list[int]:
        hits = self.at[key]
        if hits is None:
            hits = self.at[key] = [i for i, n in enumerate(self.folded) if n == key]
        return hits

    def positions(self, term: str) -> list[int]:
        key = fold(term)
        if key in self.at:
            return self._at(key)
        if len(term) >= 8:
            if self._long is None:
                self._long = [n for n in self.at if len(n) >= 8]
            for n in self._long:
                if same_word(n, term):
                    return self._at(n)
        return []


_norm = itemgetter(0)  # a Token's normalised form


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
        if k and _has_digit(term):  # "stage 3": the number next to its word
            before = ref.phrase[k - 1]
            if not any(i and same_word(w.tokens[i - 1].norm, before) for i in hits):
                return False
    for term in ref.terms:
        if len(term) <= 2 or _has_digit(term):
            continue  # a bare number or letter is checked with its word above
        if not _stated(m, term, term in ref.negated, outpatient, cache):
            return False
    return True


def _beside_condition(m: Mention, term: str, condition_words: frozenset[str], cache: dict, reach: int = 4) -> bool:
    """The term qualifies the condition itself: within a few words of the condition's name in the
    same clause ("moderate intermittent asthma", "exacerbation of her heart failure"), not elsewhere
    in a long sentence that also names it ("glaucoma is a chronic disease that needs ...")."""
    w = _words(m, cache)
    # The condition's words stand at the same places for every term read beside them: found once per sentence.
    key = (id(m.sentence), condition_words)
    named = cache.get(key)
    if named is None:
        named = cache[key] = [i for word in condition_words for i in w.positions(word)]
    text = m.sentence.text
    tokens = w.tokens
    for i in w.positions(term):
        for j in named:
            if i != j and abs(i - j) <= reach:
                lo, hi = (tokens[i], tokens[j]) if i < j else (tokens[j], tokens[i])  # in the sentence's order
                if not _CLAUSE_MARK.search(text, lo.end, hi.start):
                    return True
    return False


_CLAUSE_MARK = compile_pattern(r"[.;:]")


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


_OPEN_ONLY = frozenset({OPEN})


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
    facts = _code_facts(ref, code)
    if facts.heads:
        main = facts.main
        in_note = note_words(note)
        for head in facts.heads:
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
    if facts.acuity_asked:
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
                _beside_condition(m, CHRONIC, facts.condition_words, {}) for m in counting)
            doc.acuity = frozenset({ACUTE_ON_CHRONIC} if chronic else {ACUTE, ACUTE_ON_CHRONIC})
            doc.acuity_sentences = [m.sentence for m in flares]
            doc.acuity_said = sorted({h.group(0).lower() for m in flares for h in _EXACERBATION.finditer(m.sentence.text)})
    default = _index_default(note, code, counting)
    plan = _reading_plan(ref, code)
    if plan:  # a code with no candidate to read needs none of the note's words
        _read_candidates(note, index, doc, plan, default, mentions, counting, facts.condition_words, outpatient)
    note.memo[key] = doc
    return doc


def _read_candidates(note: NoteDoc, index: AxisIndex, doc: Documentation, plan, default: str | None,
                     mentions: list[Mention], counting: list[Mention], condition_words: frozenset[str],
                     outpatient: bool) -> None:
    """The terms, full documentation and inclusion terms the note gives each candidate of the reading plan."""
    # What a sentence's words are and whether a term stands there hold for every code the chart reads them for.
    cache: dict = note.memo.setdefault(("refine.sentence_reads", outpatient), {})
    present = [m for m in mentions if not m.in_history]
    in_note = note_words(note)

    def may_stand(word: str) -> bool:  # a word the note never uses cannot be stated
        return bool(in_note.where(word))

    where = in_note.where  # a word's places in the note: none (an empty dict, false) when it never stands there
    # Every reading below finds a word in a sentence naming the condition (_Words.positions there) besides
    # the note: a word none of those sentences holds is no term of this condition, and the note, larger,
    # is not searched for it.
    heard = [_words(m, cache) for m in present]
    said_keys = set().union(*(w.at for w in heard))
    said_long: dict[str, list[str]] = {}  # by first letter: same_word finds no other word near
    for n in [n for n in said_keys if len(n) >= 8]:  # (the few long words picked out first)
        said_long.setdefault(n[0], []).append(n)
    near: dict[str, bool] = {}

    def stated_near(term: str) -> bool:  # a long word, in another inflection
        found = near.get(term)
        if found is None:
            found = near[term] = any(same_word(n, term) for n in said_long.get(term[0], ()))
        return found

    def stated_here(term: str) -> bool:
        return fold(term) in said_keys or (len(term) >= 8 and stated_near(term))

    # A reading none of whose gate words stands with the condition documents nothing: only those some word said
    # opens are walked, in the plan's order (a plan without its gates by word, every reading).
    gates = getattr(plan, "gates", None)
    if gates is None:
        walked = plan
    else:
        live = set(gates.always)
        for key in gates.by_key.keys() & said_keys:
            live.update(gates.by_key[key])
        for letter in gates.by_letter.keys() & said_long.keys():
            for word, opened in gates.by_letter[letter]:
                if stated_near(word):
                    live.update(opened)
        walked = [plan[i] for i in sorted(live)]
    for r, reads, variants, without_default, without_negated, _, only_default, uncomplicated, negated, numbered \
            in walked:
        for t, ft, negated_term in reads:
            hits = [m.sentence for m in counting if _stated(m, t, negated_term, outpatient, cache)
                    and _beside_condition(m, t, condition_words, cache)] if stated_here(t) and where(t) else []
            if ft == default and not hits:
                hits = [m.sentence for m in counting if _DEFAULT_CONDITION[default].search(m.sentence.text)][:1]
                doc.defaulted = default
            if hits:
                doc.terms[ft] = hits
        sentences: list[Sentence] = []
        if all(map(stated_here, r.phrase)) and all(map(where, r.phrase)):
            sentences = [m.sentence for m in counting if _phrase_stated(m, r, outpatient, cache)]
            if any(all(_words(m, cache).positions(w) for w in r.phrase)
                   and not any(is_negated_at(m.sentence.text, m.words[i].start)
                               for w in r.phrase for i in _words(m, cache).positions(w))
                   for m in present):
                doc.hinted.add(r.code)  # stated, even if uncertain; a ruled-out detail ("familial ruled out") is no hint
        if not sentences and variants:
            sentences = [m.sentence for v, words in variants if all(map(stated_here, words)) and all(map(where, words))
                         for m in counting if _variant_stated(m, v, outpatient, cache)]
            if sentences:
                doc.by_inclusion.add(r.code)
        if not sentences and default:
            # The Index's default type is for a condition of a named site: only with a side or another term.
            if only_default and r.side is not None:
                sentences = [m.sentence for m in counting[:1]]
            open_site = index._site_after(index.words(r.code), _OPEN_ONLY) \
                if not sentences and r.side is None and only_default else ()
            if open_site and doc.side is None and not doc.side_conflict and in_note.where(open_site[-1]):
                # The condition at a site the note names, with no side anywhere: the Index's entry
                # (Osteoarthritis, knee M17.1-) leads to the unilateral code whose side only the provider
                # can give; the side question follows (side-of-target).
                sentences = [m.sentence for m in counting[:1]]
            if not sentences and without_default:  # the note's default is the code's, or none
                for rest in without_default:
                    if rest.phrase and all(may_stand(w) for w in rest.phrase):
                        sentences = [m.sentence for m in counting if _phrase_stated(m, rest, outpatient, cache)]
                    if sentences:
                        break
        if not sentences and uncomplicated and not may_stand("complicated") and not may_stand("complication"):
            # The plain condition, stated for this visit with nothing of a complication anywhere, is
            # the uncomplicated code the Index gives it (Dependence, drug, nicotine, cigarettes F17.210).
            sentences = [m.sentence for m in counting][:1]
        if not sentences and negated and without_negated.terms and without_negated.phrase \
                and all(map(stated_here, without_negated.phrase)) and not any(map(where, negated)):
            # A complication the note never mentions is coded "without" it: the Index's entry for the
            # plain condition leads there ("Diabetes, type 2, with, retinopathy E11.319", without macular
            # edema), the "with" sibling needing the complication documented (I.A.15).
            rest = without_negated
            if all(map(where, rest.phrase)):
                # only as a diagnosis of this visit: the assessment, not a story of the past
                sentences = [m.sentence for m in counting if m.in_assessment and _phrase_stated(m, rest, outpatient, cache)]
        if sentences:
            doc.full[r.code] = sentences
            # numbers documented with their word ("stage 3") count as one term
            if numbered is not None:
                doc.terms[numbered] = sentences


# A side examined and found normal (the other knee, for comparison) says nothing about the condition.
_NORMAL_FINDING = compile_pattern(r"\b(?:normal|unremarkable|nontender|non-tender|benign|intact|full (?:range|rom)|"
                             r"no (?:tenderness|pain|swelling|effusion|deformity|edema|erythema|abnormalit\w*))\b", re.I)


def _sides_in_dispute(note: NoteDoc, ev: AxisEvidence, site: tuple[str, ...]) -> bool:
    """The note gives both sides for the condition's site, leaving out sides only examined as normal."""
    sides: set[str] = set()
    for sentence in ev.cited:
        # (the sides first, read once per note: a sentence giving no side not yet given changes nothing, and the
        # finding need not be read there; two sides settle it)
        given = _sides_of(note, sentence, site)
        if given <= sides or _NORMAL_FINDING.search(sentence.text):
            continue
        sides |= given
        if len(sides) > 1:
            return True
    return False


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
    found: set[str] = set()
    for sentence in ev.cited:
        if sentence.section not in _EXAMINED:
            continue
        # (the sides first, read once per note: a sentence giving no side not yet found changes nothing, and its
        # findings need not be read)
        given = _sides_of(note, sentence, site)
        if given <= found:
            continue
        text = sentence.text
        if any(not is_negated_at(text, m.start()) for m in _ABNORMAL_FINDING.finditer(text)):
            found |= given  # else a site examined without an abnormal finding is not where the condition is
    return frozenset(found)


def _sides_of(note: NoteDoc, sentence: Sentence, site: tuple[str, ...]) -> frozenset[str]:
    """The sides given for the site in one of the note's sentences, as side_evidence read them there."""
    i = sentence_index(note, sentence)
    return frozenset() if i is None else sides_at(note, i, site[-1])


_ABNORMAL_FINDING = compile_pattern(
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


def chart_codes(codes) -> tuple[str, ...]:
    return tuple(sorted({c for c in codes if c}))
