"""documented_redirect looks a form's words up in the note's word index only when each stands in the note as _stated
reads it (folded: itself, with "s", or "y" made "ies"): the same redirect as looking every form's words up first,
on notes written to state each form in near spellings, plurals and numbers, and on every labelled chart."""

from __future__ import annotations

import random

import pytest

from tests.speed.output_record import chart_files
from vma.checks import CheckContext
from vma.checks.support import redirect
from vma.checks.support.axes.evidence import condition_mentions, note_words
from vma.checks.support.axes.index import axis_index
from vma.checks.support.axes.words import fold
from vma.checks.support.notes.document import NoteDoc
from vma.intake import parse_chart
from vma.reference import default_reference

FILES = {label: path for label, path in chart_files().items() if path.suffix == ".json"}
# categories whose codes the tabular sends elsewhere in another form (Excludes1 notes, category titles)
_CATEGORIES = ("F32", "F33", "M54", "D64", "D50", "R06", "J40", "J20", "J44", "E78", "N20", "I50", "I10", "M17",
               "E11", "E10", "R10", "K21", "N39", "L03", "M25", "J45", "G43", "F41", "F10", "I25", "N18", "E03")


def _full(note, index, code, outpatient):
    """documented_redirect as it was: every form whose words the word index finds is tried on the mentions."""
    named = redirect.redirects(index).named(code)
    if not named:
        return redirect.documented_sibling(note, index, code, outpatient)
    where = note_words(note).where
    rd = redirect.redirects(index)
    options = tuple(r for r, needed in named if all(map(where, needed)) and rd.leads(code, r))
    if not options:
        return redirect.documented_sibling(note, index, code, outpatient)
    found = {}
    for m in condition_mentions(note, index, code, outpatient):
        if not m.counts:
            continue
        for r in options:
            said = redirect._stated(m, r, outpatient)
            if said is not None and r.target not in found:
                text = (index.release.description(r.target) or r.target) if r.contiguous else r.text
                found[r.target] = redirect.Redirected(r.target, said, m.sentence, text, r.contiguous)
    if not found:
        return redirect.documented_sibling(note, index, code, outpatient)
    if len(found) != 1:
        return None
    moved = next(iter(found.values()))
    form = next(r.words for r in options if r.target == moved.target)
    if redirect._own_form_stated(note, index, code, moved, form, outpatient):
        return None
    return moved


def _seen(got):
    return None if got is None else (got.target, got.said, got.sentence.text, got.text, got.by_title)


def _index():
    path = next(iter(FILES.values()), None)
    if path is None:
        return None
    chart, _ = parse_chart(path.read_bytes())
    return axis_index(CheckContext(chart, default_reference()).icd)


def _spelt(word: str, rng: random.Random) -> str:
    """The word as a note may write it: as it is, a plural, a "y" made "ies", a letter dropped or doubled (a near
    spelling the word index finds and _stated does not), a number beside it."""
    choice = rng.randrange(8)
    if choice == 1:
        return word + "s"
    if choice == 2 and word.endswith("y"):
        return word[:-1] + "ies"
    if choice == 3 and len(word) >= 8:
        at = rng.randrange(1, len(word) - 1)
        return word[:at] + word[at + 1:]
    if choice == 4 and len(word) >= 8:
        at = rng.randrange(1, len(word) - 1)
        return word[:at] + word[at] + word[at:]
    if choice == 5:
        return word + "2"
    if choice == 6:
        return word.upper()
    return word


def _cases(index):
    rel = index.release
    rng = random.Random(11)
    rd = redirect.redirects(index)
    codes = [c for cat in _CATEGORIES if cat in rel for c in index.base_descendants(cat)]
    cases = []
    for code in codes:
        forms = rd.forms(code)
        if not forms and not rd.sibling_titles(code):
            continue
        own = rel.description(code) or code
        for r in forms:
            for _ in range(4):
                words = [_spelt(w, rng) for w in r.words]
                if rng.random() < 0.3:
                    rng.shuffle(words)
                said = " ".join(words)
                lead = rng.choice(("", "no ", "history of ", "possible ", "recurrent "))
                cases.append((code, f"ASSESSMENT\n\n{own}: {lead}{said}.\nPLAN\n\n{own}, {said}.\n"))
                cases.append((code, f"HPI\n\nSeen for {own}. {said} today.\nASSESSMENT\n\n{own}.\n"))
        for sibling, needed in rd.sibling_titles(code)[:3]:
            said = " ".join(_spelt(w, rng) for w in needed)
            cases.append((code, f"CHIEF COMPLAINT\n\n{said}\nASSESSMENT\n\n{said}.\n"))
    return cases


def test_the_word_set_test_finds_the_same_redirect_on_written_notes():
    index = _index()
    if index is None:
        pytest.skip("no labelled chart here")
    cases = _cases(index)
    assert len(cases) > 500
    found = pruned = 0
    for code, text in cases:
        for outpatient in (True, False):
            new = _seen(redirect.documented_redirect(NoteDoc(text), index, code, outpatient))
            assert new == _seen(_full(NoteDoc(text), index, code, outpatient)), (code, text, outpatient)
            found += new is not None
        note = NoteDoc(text)
        at = note_words(note)
        for r, needed in redirect.redirects(index).named(code):
            if all(map(at.where, needed)) and any(map(at._words.isdisjoint, redirect._spellings(needed))):
                pruned += 1  # the index finds the words (near spellings), _stated never would
    assert found > 50 and pruned > 20


def test_every_word_fold_makes_a_form_word_is_one_of_its_spellings():
    """_stated compares fold(norm) with the form's word: each norm that folds onto it is among its spellings."""
    index = _index()
    if index is None:
        pytest.skip("no labelled chart here")
    rng = random.Random(7)
    rd = redirect.redirects(index)
    words = sorted({w for c in _CATEGORIES if c in index.release for code in index.base_descendants(c)
                    for _, needed in rd.named(code) for w in needed})
    assert len(words) > 50
    endings = ("", "s", "es", "ies", "ss", "us", "is", "ys", "y", "ied")
    checked = 0
    for word in words:
        for norm in {word + e for e in endings} | {word[:-1] + e for e in endings} | {word[:-3] + e for e in endings}:
            for candidate in (norm, norm + rng.choice("0123456789")):
                if fold(candidate) == word:
                    assert candidate in redirect._spellings((word,))[0], (candidate, word)
                    checked += 1
    assert checked > len(words)


@pytest.mark.skipif(not FILES, reason="no labelled chart here")
def test_the_word_set_test_finds_the_same_redirect_on_the_labelled_charts():
    ref = default_reference()
    checked = 0
    for path in FILES.values():
        chart, _ = parse_chart(path.read_bytes())
        ctx = CheckContext(chart, ref)
        index = axis_index(ctx.icd)
        for dx in chart.diagnoses:
            if dx.code and dx.code in index.release:
                base, _ = index.split_seventh(dx.code)
                for outpatient in (True, False):
                    fresh = NoteDoc(ctx.note.text, ctx.note._given_sections)
                    assert _seen(redirect.documented_redirect(fresh, index, base, outpatient)) == \
                        _seen(_full(NoteDoc(ctx.note.text, ctx.note._given_sections), index, base, outpatient)), \
                        (path.name, dx.code)
                    checked += 1
    assert checked > 100


def test_a_form_is_stated_only_in_a_sentence_holding_each_of_its_words():
    """documented_redirect tries a form on a mention only when the mention's folded words hold each word _stated
    needs there (all the words of a title, the naming ones of an Excludes1 form): _stated finds nothing elsewhere."""
    index = _index()
    if index is None:
        pytest.skip("no labelled chart here")
    rd = redirect.redirects(index)
    tried = stated = 0
    for code, text in _cases(index):
        note = NoteDoc(text)
        for outpatient in (True, False):
            for m in condition_mentions(note, index, code, outpatient):
                norms = [fold(t.norm) for t in m.words]
                for r, _ in rd.named(code):
                    said = redirect._stated(m, r, outpatient)
                    tried += 1
                    if said is not None:
                        stated += 1
                        assert set(norms) >= (set(r.words) if r.contiguous else redirect._named_words(r.words))
                    assert redirect._stated(m, r, outpatient, norms) == said
    assert stated > 50 and tried > 10 * stated
