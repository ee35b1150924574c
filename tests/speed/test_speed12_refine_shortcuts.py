"""Refinement's shortcuts give what the computations they replace gave: the candidates of a code walked over the
pool of its category without a copy of it (the code itself passed over), a title's alternatives settled once two
children differ, the decision's terms test run before the rest, and a note's long words picked out before they are
grouped. The modules as they stood before these shortcuts are read from the repository's history and compared
with today's, on every code of many categories, on every labelled chart and on notes made up of candidates' words."""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.speed.output_record import chart_files
from vma.checks import CheckContext
from vma.checks.support.axes.index import axis_index
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.refine import candidates, decide, documented
from vma.intake import parse_chart
from vma.reference import default_reference

ROOT = Path(__file__).resolve().parents[2]
BEFORE = "7914517"  # the commit before the shortcuts
FILES = {label: path for label, path in chart_files().items() if path.suffix == ".json"}
CATEGORIES = ("E11", "E10", "G40", "G43", "I50", "J45", "J44", "J40", "J20", "J42", "N18", "I25", "F32", "F33",
              "K57", "M17", "M16", "M10", "M06", "M25", "M19", "L97", "H40", "H35", "K50", "S83", "S62", "S82", "M54",
              "I20", "K21", "E78", "D64", "G56", "M65", "H66", "N20", "M50", "M51", "T81", "O24")


def _old(module: str):
    """The module as it stood before the shortcuts, loaded beside today's (its own imports today's)."""
    path = "vma/" + module.replace(".", "/").removeprefix("vma/") + ".py"
    try:
        source = subprocess.run(["git", "show", f"{BEFORE}:{path}"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the repository's history is not here")
    name = f"_before_{module.replace('.', '_')}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up
    exec(compile(source, path, "exec"), mod.__dict__)
    return mod


def _index():
    path = next(iter(FILES.values()))
    return axis_index(CheckContext(parse_chart(path.read_bytes())[0], default_reference()).icd)


def _codes(index, categories=CATEGORIES):
    rel = index.release
    out = []
    for category in categories:
        if category in rel:
            out += [category, *rel.descendants(category)]
    return [c for c in out if index.split_seventh(c)[1] is None]


def _refinement(r):
    return (r.code, r.side, r.acuity, r.terms, r.phrase, r.negated, r.residual, r.variants, r.site, r.replaces,
            r.site_terms, r.loose, r.info())


def test_candidates_walked_over_the_pool_are_those_of_a_copy_without_the_code():
    index = _index()
    old = _old("vma.checks.support.refine.candidates")
    before, now = old.Refiner(index), candidates.Refiner(index)
    rng = random.Random(12)
    categories = list(CATEGORIES) + rng.sample([c for c in index.release.codes() if len(c) == 3], 40)
    codes = _codes(index, categories)
    assert len(codes) > 3000
    found = 0
    for code in codes:
        a = [_refinement(r) for r in before.refinements(code)]
        b = [_refinement(r) for r in now.refinements(code)]
        assert a == b, code
        assert before.lists_alternatives(code) == now.lists_alternatives(code), code
        assert before.cue_words(code) == now.cue_words(code), code
        found += bool(b)
    assert found > 1000
    # among them codes with acuity forms in other categories, headers, and titles listing alternatives
    assert any(now.is_header(c) and now.refinements(c) for c in codes)
    assert any(now.lists_alternatives(c) for c in codes)
    assert any(c.startswith("J40") and now.refinements(c) for c in codes)


def test_a_titles_alternatives_settled_once_two_children_differ_on_every_parent():
    index = _index()
    rel = index.release
    now = candidates.Refiner(index)
    key_words = candidates.key_words

    def full(code):
        title = key_words(rel.description(code) or "")
        kids = [key_words(rel.description(c) or "") & title for c in rel.children(code)]
        return len({k for k in kids if k and k != title}) >= 2

    parents = [c for c in rel.codes() if rel.children(c) and not index.needs_seventh(c)]
    assert len(parents) > 5000
    answers = [now.lists_alternatives(c) for c in parents]
    assert answers == [full(c) for c in parents]
    assert sum(answers) > 50


def _decision(d):
    if d is None:
        return None
    return (d.check, d.action, d.code, d.base, d.seventh, list(d.targets), [_refinement(r) for r in d.options],
            d.reason, list(d.documented), [s.start for s in d.sentences], d.rule.family if d.rule else None)


def _documentation(doc):
    return ([(k, [s.start for s in v]) for k, v in doc.terms.items()],
            [(k, [s.start for s in v]) for k, v in doc.full.items()],
            sorted(doc.hinted), sorted(doc.by_inclusion), doc.defaulted, doc.side, doc.acuity,
            [s.start for s in doc.acuity_sentences], doc.site, doc.side_conflict, sorted(doc.sides.items()),
            doc.examined_sides)


def _read_chart(path: Path, decide_module, documented_module):
    chart, _ = parse_chart(path.read_bytes())
    ctx = CheckContext(chart, default_reference())
    index = axis_index(ctx.icd)
    codes = documented.chart_codes(dx.code for dx in ctx.chart.diagnoses)
    out = {}
    for _position, dx, _entry in ctx.known_diagnoses():
        base = index.split_seventh(dx.code)[0]
        if base not in index.release:
            continue
        out[dx.code] = (_decision(decide_module.decide(ctx.note, index, dx.code, ctx.outpatient, codes)),
                        _documentation(documented_module.documentation(ctx.note, index, base, ctx.outpatient)))
    return out


@pytest.mark.skipif(not FILES, reason="no labelled chart here")
def test_decisions_and_documentation_are_those_of_before_on_every_labelled_chart():
    old_decide = _old("vma.checks.support.refine.decide")
    old_documented = _old("vma.checks.support.refine.documented")
    decided = 0
    for label, path in FILES.items():
        now = _read_chart(path, decide, documented)
        assert _read_chart(path, old_decide, old_documented) == now, label
        decided += sum(found[0] is not None for found in now.values())
    assert decided > 20


def _inflected(word: str, rng: random.Random) -> str:
    """The word, or another inflection of it: a long word's near spellings ("cataracte") are found by the long words
    of the sentences naming the condition."""
    return rng.choice([word, word + "s", word + "es", word + "e", word[:-1] if word.endswith("s") else word + "ed"])


def test_decisions_and_documentation_are_those_of_before_on_generated_notes():
    """Notes naming a code's condition with some of its candidates' words (long words among them, inflected,
    negated, in the history): the decision and what the note documents, before and now."""
    index = _index()
    rel = index.release
    old_decide = _old("vma.checks.support.refine.decide")
    old_documented = _old("vma.checks.support.refine.documented")
    ref = candidates.refiner(index)
    rng = random.Random(7)
    cases = []
    for code in rng.sample([c for c in _codes(index) if ref.refinements(c)], 200):
        refs = ref.refinements(code)
        pool = sorted({w.lstrip("~") for r in refs for w in (*r.terms, *r.phrase, *(w for v in r.variants for w in v),
                                                             *r.site)} | {"right", "left", "acute", "chronic"})
        title = rel.description(code) or code
        for _ in range(6):
            r = rng.choice(refs)
            said = list(r.phrase or r.terms) + rng.sample(pool, min(len(pool), rng.randint(0, 4)))
            said = [_inflected(w, rng) if rng.random() < (0.7 if len(w) >= 8 else 0.3) else w for w in said]
            rng.shuffle(said)
            cue = rng.choice(["", "", "no ", "possible ", "history of "])
            lines = [f"ASSESSMENT\n\n{title}, {cue}{' '.join(said)}."]
            if rng.random() < 0.5:
                lines.insert(0, f"HPI\n\nHere for {title.lower()} with {' '.join(rng.sample(pool, min(3, len(pool))))}.")
            cases.append((code, "\n\n".join(lines)))
    decided = 0
    for code, text in cases:
        for outpatient in (True, False):
            base = index.split_seventh(code)[0]
            a, b = NoteDoc(text), NoteDoc(text)
            before = (_decision(old_decide.decide(a, index, code, outpatient, (code,))),
                      _documentation(old_documented.documentation(a, index, base, outpatient)))
            now = (_decision(decide.decide(b, index, code, outpatient, (code,))),
                   _documentation(documented.documentation(b, index, base, outpatient)))
            assert before == now, (code, text)
            decided += now[0] is not None
    assert decided > 50


def test_documentation_is_that_of_before_for_long_terms_said_in_a_near_spelling():
    """Each long term of a code's candidates said beside its condition in a spelling of its own ("cataracte"): the
    long words of the sentences naming the condition find it, as before."""
    index = _index()
    rel = index.release
    old_documented = _old("vma.checks.support.refine.documented")
    ref = candidates.refiner(index)
    near = 0
    for code in _codes(index):
        terms = sorted({t for r in ref.refinements(code) for t in (*r.terms, *r.phrase) if len(t) >= 8})
        title = rel.description(code) or code
        for term in terms:
            for said in (term + "e", term[:-1], term + "es"):
                text = f"ASSESSMENT\n\n{title}, {said}."
                for outpatient in (True, False):
                    before = _documentation(old_documented.documentation(NoteDoc(text), index, code, outpatient))
                    now = _documentation(documented.documentation(NoteDoc(text), index, code, outpatient))
                    assert before == now, (code, text)
                    near += bool(now[0])
    assert near > 100
