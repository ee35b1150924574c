"""The decision: the one code every documented axis settles (a correction), or the physician's choice among those that fit (a query)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from vma.checks.support.axes.evidence import condition_mentions, note_words
from vma.checks.support.axes.index import AxisIndex
from vma.checks.support.axes.words import (
    ACUITY,
    LATERALITY,
    LEFT,
    OPEN,
    RIGHT,
    SIDE_TERMS,
    SPECIFICITY,
    acuity_of,
    fold,
    key_words,
)
from vma.checks.support.notes.document import NoteDoc, Sentence
from vma.checks.support.notes.words import HISTORY_SECTIONS, is_negated_at, is_past_or_planned
from vma.checks.support.redirect import documented_family, documented_redirect
from vma.checks.support.refine.candidates import BOTH, MAX_OPTIONS, Refinement, _side_of, refiner
from vma.checks.support.refine.documented import (
    Documentation,
    IndicatorRule,
    _other_code_at,
    documentation,
    indicator_rules,
)
from vma.checks.support.scan import gated
from vma.checks.support.seventh_values import settled_seventh

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
        if not any(map(note_words(note).where, ref.cue_words(base))):
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
        # (the terms first: most candidates state a term the note does not document)
        return ((not r.terms or r.code in doc.full) and (not r.residual or r.code in doc.by_inclusion)
                and _side_ok(r, doc.side_of(r), x_side) and _acuity_ok(r, doc.acuity, x_acuity))

    # (fully()'s first test, on the terms, made here before calling it: most candidates fail it; fully() makes
    # it again, reading only, so the candidates kept are the same)
    doc_full = doc.full
    full = [r for r in refs if (not r.terms or r.code in doc_full) and fully(r)]
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
    (vma.checks.support.redirect), refined there to every axis the note settles."""
    found = documented_redirect(note, index, base, outpatient)
    if found is None:
        return None
    rel = index.release
    target = found.target
    if any(c.startswith(target) for c in chart_codes):
        return None  # both forms are coded: a pair for the excludes1 check to settle
    final: str | None = None
    if index.needs_seventh(target):

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
    # Each _decide starts its own chain here at depth 0, so two codes that each lead to the other would
    # call each other forever: a target already being settled further up this chain is where it stops.
    settling = note.memo.setdefault("refine.settling", set())
    key = (id(index), found.targets[0], outpatient, chart_codes)
    if key in settling:
        return found
    settling.add(key)
    try:
        further = _decide(note, index, found.targets[0], outpatient, chart_codes)
    finally:
        settling.discard(key)
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
    documented = set(doc.terms)
    return [r for r in options if not r.replaces or (r.info() - common) and (r.info() - common) <= documented]


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


def _indicator_candidates(note: NoteDoc, rule: IndicatorRule) -> list[Sentence]:
    """The note's sentences, in order, where some indicator of the rule may match: a sentence every pattern's
    gate turns away holds no indicator, whatever else it says."""
    lists = [gated(note, rx) for rx in rule.patterns]
    if len(lists) == 1:
        return lists[0]
    kept = {id(s) for found in lists for s in found}
    return [s for s in note.sentences if id(s) in kept]


def _indicator_query(note: NoteDoc, index: AxisIndex, code: str, base: str, seventh: str | None,
                     refs: tuple[Refinement, ...], doc: Documentation, x_side) -> Decision | None:
    if OPEN not in index.words(base):
        return None  # indicators ask about what the code leaves unspecified, never about what it states
    rule = next((r for r in indicator_rules() if base.startswith(r.categories)), None)
    if rule is None or not any(m.in_assessment for m in doc.counting):
        return None
    hits: list[Sentence] = []
    for sentence in _indicator_candidates(note, rule):
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
