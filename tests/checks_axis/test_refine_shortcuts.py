"""The shortcuts of the axis checks give what the full computation gives: each gate or pre-filter is
compared here with the work it skips, on tabular text and on random and adversarial strings."""

from __future__ import annotations

import random

import pytest

from vma.checks.support.axes import words as axis_words
from vma.checks.support.axes import wording

_PIECES = ["(", ")", "[", "]", "not ", "nos", "NOS", "Not", "not specified as acute or chronic",
           "not otherwise specified", " ", ",", "'s ", "s", "a", "pain", "knee", "(x)", "[y]", "no", "t ",
           "ſ", "\u212a", "é", "likely", "LIKELY", "li\u212aely", "r/o", "R/O", "rule out", "Rule  out",
           "concern for", "possible", "poſſible", "presumed", ".", ";", ":", "probable", "questionable",
           "suspected", "-", "\n", "İ"]


def _random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 12))) for _ in range(n)]


def _full_plain_text(description: str) -> str:
    # every substitution, unconditionally
    return axis_words._OPEN_PHRASES.sub(
        " unspecified ", axis_words._PAREN.sub(" ", description.lower())).replace("'s ", " ")


def test_plain_text_matches_every_substitution_on_the_tabular(ref):
    rel = ref.icd_for(None)
    checked = 0
    for code in rel.codes():
        description = rel.description(code) or ""
        assert axis_words._plain_text(description) == _full_plain_text(description), code
        for term in rel.notes(code, "inclusionTerm"):
            assert axis_words._plain_text(term) == _full_plain_text(term), (code, term)
        checked += 1
    assert checked > 10_000


@pytest.mark.parametrize("seed", range(4))
def test_plain_text_matches_every_substitution_on_random_text(seed):
    fixed = ["Pain in (right) knee", "Bronchitis, not specified as acute or chronic", "Anemia NOS",
             "Acne [vulgaris]", "Not otherwise specified (x", "Crohn's disease", "nosebleed", "knots ", "x(nos)y"]
    for text in fixed + _random_texts(3000, seed):
        assert axis_words._plain_text(text) == _full_plain_text(text), text


@pytest.mark.parametrize("seed", range(4))
def test_uncertain_gate_never_hides_a_clause(seed):
    fixed = ["Likely rotator cuff tendinopathy", "r/o fracture", "no concern for DVT", "possibly", "improbable",
             "poſſible gout", "li\u212aely sprain", "Rule out, fracture", "Left knee pain.", ""]
    for text in fixed + _random_texts(3000, seed):
        if not wording._may_be_uncertain(text):
            assert wording._UNCERTAIN_CLAUSE.search(text) is None, text


def _full_scoped_words(description: str) -> list[str]:
    # the clause walk for every description, "without" or not
    out: list[str] = []
    for part in axis_words._PARTS.split(_full_plain_text(description)):
        absent = False
        for w in axis_words._DESCRIPTION_WORD.findall(part):
            if w == "without":
                absent = True
            elif w == "with":
                absent = False
            elif w not in axis_words.STOPWORDS:
                out.append(("~" if absent else "") + w)
    return out


def test_scoped_words_match_the_clause_walk_on_the_tabular(ref):
    rel = ref.icd_for(None)
    for code in rel.codes():
        for text in (rel.description(code) or "", *rel.notes(code, "inclusionTerm")):
            assert axis_words.scoped_words(text) == _full_scoped_words(text), (code, text)


@pytest.mark.parametrize("seed", range(4))
def test_scoped_words_match_the_clause_walk_on_random_text(seed):
    rng = random.Random(seed)
    pieces = _PIECES + ["with", "without", "With", "WITHOUT", "aura", "withouts", "notwithout", "_", "1", "of"]
    fixed = ["Migraine without aura, not intractable, with status migrainosus", "Asthma, uncomplicated",
             "Type 2 diabetes mellitus without complications", "with; without, with", "withoutaura"]
    texts = fixed + ["".join(rng.choice(pieces) + rng.choice(["", " "]) for _ in range(rng.randint(0, 12)))
                     for _ in range(3000)]
    for text in texts:
        assert axis_words.scoped_words(text) == _full_scoped_words(text), text
        assert axis_words.key_words.__wrapped__(text) == frozenset(
            ("~" + axis_words.fold(w[1:])) if w.startswith("~") else axis_words.fold(w) for w in _full_scoped_words(text))


def test_refinements_read_the_dropped_words_only_where_they_matter(ref, monkeypatch):
    # The full computation: every word the candidate drops goes through ``removed`` (none is passed over).
    from vma.checks.support.axes.index import axis_index
    from vma.checks.support.refine import candidates

    rel = ref.icd_for(None)
    index = axis_index(rel)
    codes = [c for c in rel.codes() if index.split_seventh(c)[1] is None]
    rng = random.Random(7)
    sample = rng.sample(codes, 600) + [c for c in codes if c.startswith(("M25.5", "M17", "G56", "I50", "J45", "E11.3",
                                                                           "H66", "M19.0", "G43.0", "N20"))]
    fast = [candidates.Refiner.refinements.__wrapped__(candidates.Refiner(index), c) for c in sample]
    monkeypatch.setattr(candidates, "_NEVER_REPLACED", frozenset())
    full = [candidates.Refiner.refinements.__wrapped__(candidates.Refiner(index), c) for c in sample]
    assert fast == full
    assert sum(map(len, fast)) > 500


def test_candidates_dropping_what_none_may_are_those_passed_over_later(ref, monkeypatch):
    # The full computation: no candidate is passed over before its own allowance is worked out.
    from vma.checks.support.axes.index import axis_index
    from vma.checks.support.refine import candidates

    rel = ref.icd_for(None)
    index = axis_index(rel)
    codes = [c for c in rel.codes() if index.split_seventh(c)[1] is None]
    sample = random.Random(17).sample(codes, 800) + [c for c in codes if c.startswith((
        "M25.5", "M17", "G56", "I50", "J45", "E11.3", "H66", "M19.0", "G43.0", "N20", "S62.6", "M79.6", "H35.3"))]
    fast = [candidates.Refiner.refinements.__wrapped__(candidates.Refiner(index), c) for c in sample]
    monkeypatch.setattr(candidates, "_may_drop", lambda xk, *rest: xk)
    full = [candidates.Refiner.refinements.__wrapped__(candidates.Refiner(index), c) for c in sample]
    assert fast == full
    assert sum(map(len, fast)) > 500 and sum(r.loose for rs in fast for r in rs) > 5


def _full_info(r) -> frozenset:
    out = {("~" if t in r.negated else "") + axis_words.fold(t) for t in r.terms}
    if r.side:
        out |= {("side", s) for s in r.side}
    if r.acuity:
        out.add(("acuity", r.acuity))
    return frozenset(out)


def test_a_candidates_kept_info_is_its_info(ref):
    from dataclasses import replace

    from vma.checks.support.axes.index import axis_index
    from vma.checks.support.refine.candidates import BOTH, refiner

    index = axis_index(ref.icd_for(None))
    seen = 0
    for code in ("M25.519", "M17.9", "G56.00", "I50.9", "J45.909", "E11.319", "H66.90", "G43.909", "M19.029"):
        for r in refiner(index).refinements(code):
            for _ in range(2):  # computed, then kept
                assert r.info() == _full_info(r)
                assert r.core() == _full_info(r) - r.site_terms
            other = replace(r, side=BOTH, terms=r.terms[1:], acuity="acute")  # a new candidate: its own info
            assert other.info() == _full_info(other)
            assert r == replace(r) and hash(r) == hash(replace(r))  # the kept info is no field
            seen += 1
    assert seen > 50


class _OpenIndex:
    """An index in which every code is an "unspecified" one: each correction may be settled further."""

    def words(self, code):
        return ("unspecified", "site")


def test_two_codes_leading_to_each_other_end(monkeypatch):
    # A leads to B and B to A: settling further stops where the chain comes back, with what it had, and a
    # chain without a cycle goes on as far as it did.
    from vma.checks.support.notes.document import NoteDoc
    from vma.checks.support.refine import decide as decide_mod

    leads = {"A": "B", "B": "A", "C": "D", "D": "E"}
    calls: list[str] = []

    def one_step(note, index, code, outpatient, chart_codes, redirecting=True):
        calls.append(code)
        if code not in leads:
            return None
        found = decide_mod.Decision("specificity", "correct", code, code, None, targets=[leads[code]],
                                    documented=[code])
        return decide_mod._settled_further(note, index, outpatient, chart_codes, found)

    monkeypatch.setattr(decide_mod, "_decide", one_step)
    note = NoteDoc("ASSESSMENT\n\nPain.")
    cyclic = one_step(note, _OpenIndex(), "A", True, ())
    assert cyclic.targets in (["A"], ["B"]) and len(calls) < 10
    assert note.memo["refine.settling"] == set()
    calls.clear()
    straight = one_step(note, _OpenIndex(), "C", True, ())
    assert straight.targets == ["E"] and calls[:3] == ["C", "D", "E"] and straight.documented == ["C", "D"]


def test_inherited_words_read_through_the_parent_are_every_ancestors(ref):
    from vma.checks.support.axes.index import axis_index
    from vma.checks.support.refine.candidates import Refiner

    rel = ref.icd_for(None)
    refiner = Refiner(axis_index(rel))
    codes = list(rel.codes())
    sample = random.Random(3).sample(codes, 4000) + [c for c in codes if c.startswith(("M25", "S72", "M54", "E11"))]
    for code in sample:
        full: set[str] = set()
        for parent in rel.ancestors(code)[:-1]:  # every ancestor below the category, each read here
            if not refiner.lists_alternatives(parent):
                full |= axis_words.key_words(rel.description(parent) or "")
        assert refiner.inherited_words(code) == full, code


def test_base_descendants_are_the_base_codes_under_a_code(ref):
    from vma.checks.support.axes.index import AxisIndex

    rel = ref.icd_for(None)
    index = AxisIndex(rel)  # its own caches

    def full(code: str) -> tuple[str, ...]:
        out: list[str] = []

        def walk(node: str) -> None:
            for child in rel.children(node):
                if index.needs_seventh(child):
                    out.append(child)
                    continue
                if index.is_base(child):
                    out.append(child)
                walk(child)

        walk(code)
        return tuple(out)

    codes = list(rel.codes())
    roots = [c for c in codes if len(c) == 3] + random.Random(5).sample(codes, 3000) + ["S72.001", "S72.0", "M25.5"]
    assert any(index.needs_seventh(c) for c in roots)
    for code in roots:
        assert AxisIndex.base_descendants.__wrapped__(index, code) == full(code), code


def _full_same_word(note_word: str, term: str) -> bool:
    # every test, in full
    from vma.checks.support.axes.similarity import indel_ratio

    if note_word == term:
        return True
    if note_word[:1] != term[:1] or any(map(str.isdigit, note_word + term)):
        return False
    for longer, shorter in ((note_word, term), (term, note_word)):
        if longer in (shorter + "s", shorter + "es") or (shorter.endswith("y") and longer == shorter[:-1] + "ies"):
            return True
    if min(len(note_word), len(term)) < 8:
        return False
    return indel_ratio(note_word, term) >= 92


@pytest.mark.parametrize("seed", range(3))
def test_same_word_matches_every_test(seed):
    rng = random.Random(seed)
    stems = ["knee", "injury", "hypertension", "hypotension", "bronchitis", "fracture", "study", "class", "ies", "y",
             "s", "es", "", "a", "tendinopathy", "osteoarthritis", "3", "shoulder", "abscess"]
    ends = ["", "s", "es", "ies", "y", "ly", "e", "ed", "ing", "x", "ss", "is"]
    words = {rng.choice(stems) + rng.choice(ends) for _ in range(400)}
    words |= {w[:-1] for w in list(words) if w} | {"".join(rng.choice("aeisy") for _ in range(rng.randint(0, 10)))
                                                     for _ in range(200)}
    pairs = [(a, b) for a in words for b in words if a[:1] == b[:1]]
    pairs += [(rng.choice(sorted(words)), rng.choice(sorted(words))) for _ in range(2000)]
    matched = 0
    for a, b in pairs:
        assert axis_words.same_word.__wrapped__(a, b) == _full_same_word(a, b), (a, b)
        matched += _full_same_word(a, b)
    assert matched > 100


def test_a_description_with_no_side_word_has_no_word_after_one(ref):
    # refinements() reads the words after a side word only in descriptions holding a side word
    from vma.checks.support.axes.index import axis_index

    index = axis_index(ref.icd_for(None))
    skipped = 0
    for code in random.Random(11).sample(list(index.release.codes()), 5000):
        ws = index.words(code)
        after = {w for i, w in enumerate(ws[1:], 1) if ws[i - 1] in axis_words.SIDE_TERMS}
        if axis_words.SIDE_TERMS.isdisjoint(ws):
            assert not after, code
            skipped += 1
    assert skipped > 1000


def _full_description_words(description: str) -> tuple[str, ...]:
    # the pattern's words of the plain text, whatever its characters
    return tuple(w for w in axis_words._DESCRIPTION_WORD.findall(_full_plain_text(description))
                 if w not in axis_words.STOPWORDS)


def test_description_words_split_as_the_pattern_finds_them(ref):
    rel = ref.icd_for(None)
    for code in rel.codes():
        for text in (rel.description(code) or "", *rel.notes(code, "inclusionTerm")):
            assert axis_words._text_words.__wrapped__(text) == tuple(
                axis_words._DESCRIPTION_WORD.findall(_full_plain_text(text))), (code, text)
            assert axis_words.description_words(text) == _full_description_words(text), (code, text)


@pytest.mark.parametrize("seed", range(4))
def test_description_words_split_as_the_pattern_finds_them_on_random_text(seed):
    rng = random.Random(seed)
    pieces = _PIECES + ["_", "1", "2b", "a_b", "\t", "/", "'", "’", "of", "the", "ÿ", "\x7f", "\x00", "~"]
    texts = ["".join(rng.choice(pieces) + rng.choice(["", " "]) for _ in range(rng.randint(0, 12)))
             for _ in range(3000)]
    for text in texts:
        assert axis_words._text_words.__wrapped__(text) == tuple(
            axis_words._DESCRIPTION_WORD.findall(_full_plain_text(text))), text
        assert axis_words.description_words(text) == _full_description_words(text), text


def test_the_pools_side_pairs_are_those_of_the_codes_read(ref):
    # A category's pairs of right and left codes are worked out once: with the code's own title and the
    # acuity forms of other categories added, they are those of every title refinements() reads for it.
    from vma.checks.support.axes.index import axis_index
    from vma.checks.support.axes.words import ACUITY
    from vma.checks.support.refine import candidates

    rel = ref.icd_for(None)
    index = axis_index(rel)
    refiner = candidates.Refiner(index)
    codes = [c for c in rel.codes() if index.split_seventh(c)[1] is None]
    sample = random.Random(13).sample(codes, 1500) + [c for c in codes if c.startswith(("M25.5", "H66", "J4", "M17"))]
    both = 0
    for code in sample:
        header = refiner.is_header(code)
        keyed, _, paired, pool_sided = refiner._pool_words(code if header else refiner.category(code))
        sided = pool_sided
        xk = axis_words.key_words(rel.description(code) or "")
        titles = [yk for y, yk in keyed.items() if y != code] + [xk]
        axis = None if header else index.axis(code, ACUITY)
        extra = [s.code for s in axis.siblings if s.code not in keyed and s.code != code] if axis else []
        titles += [axis_words.key_words(rel.description(y) or "") for y in extra]
        full: dict[frozenset, set] = {}
        for yk in titles:
            if yk & {"right", "left"}:
                full.setdefault(frozenset(yk - axis_words.SIDE_TERMS), set()).update(yk & {"right", "left"})
        if extra or code not in keyed:
            sided = candidates._both_sides(candidates._paired([*map(axis_words.key_words, (
                rel.description(y) or "" for y in extra)), xk], paired))
        assert sided == {k for k, v in full.items() if v == {"right", "left"}}, code
        both += bool(sided)
        refiner.refinements(code)
        # what the pool keeps is the pool's alone, whatever a code has added to it
        assert paired == candidates._paired(keyed.values()), code
    assert both > 100
    # a code's additions never reach the pool's own pairs
    pool = candidates._paired([frozenset({"pain", "right", "knee"}), frozenset({"pain", "hip"})])
    added = candidates._paired([frozenset({"pain", "left", "knee"})], pool)
    assert candidates._both_sides(added) == {frozenset({"pain", "knee"})}
    assert pool == {frozenset({"pain", "knee"}): {"right"}} and not candidates._both_sides(pool)


def test_candidates_made_in_one_step_are_the_dataclass_made_field_by_field(ref):
    import dataclasses

    from vma.checks.support.axes.index import axis_index
    from vma.checks.support.refine.candidates import Refinement, refiner

    index = axis_index(ref.icd_for(None))
    seen = 0
    for code in ("M25.519", "M17.9", "G56.00", "I50.9", "J45.909", "E11.9", "H66.90", "M10.9", "S62.632"):
        for r in refiner(index).refinements(code):
            full = Refinement(**{f.name: getattr(r, f.name) for f in dataclasses.fields(Refinement)})
            assert r == full and hash(r) == hash(full) and repr(r) == repr(full)
            assert vars(r).keys() - {"_info"} == vars(full).keys() - {"_info"}
            with pytest.raises(dataclasses.FrozenInstanceError):
                r.code = "X"
            seen += 1
    assert seen > 100
