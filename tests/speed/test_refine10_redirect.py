"""Redirections read from the tabular's words first, the release asked about a target only once a note uses a
form's words (Redirects.forms, then Redirects.leads): the same redirections as checking every target up front,
and the same redirect found on every labelled chart."""

from __future__ import annotations

import pytest

from tests.speed.output_record import chart_files
from vma.checks import CheckContext
from vma.checks.support import redirect
from vma.checks.support.axes.index import axis_index
from vma.checks.support.axes.words import ACUITY_TERMS, OPEN, description_words, fold
from vma.intake import parse_chart
from vma.reference import default_reference
from vma.reference.icd10cm import note_code_refs

FILES = {label: path for label, path in chart_files().items() if path.suffix == ".json"}


def _eager(rd: redirect.Redirects, code: str) -> tuple[redirect.Redirect, ...]:
    """Redirects.of as it was: every target checked while the forms are read, a title's text read with it."""
    rel, index = rd.release, rd.index
    if code not in rel:
        return ()
    own = rd._own_words(code)
    lineage = {code, *rel.ancestors(code)}
    out = []
    for node in (code, *rel.ancestors(code)):
        for note in rel.notes(node, "excludes1"):
            refs = note_code_refs(note)
            if len(refs) != 1 or refs[0].first != refs[0].last:
                continue
            target = refs[0].first.rstrip(".-").rstrip("-")
            if target not in rel or target in lineage:
                continue
            words = tuple(dict.fromkeys(fold(w) for w in description_words(note) if w != OPEN))
            named = {w for w in words if w not in redirect._GENERIC}
            if not (named & own) or not (named - own - ACUITY_TERMS) or rd._asks_for(target, code):
                continue
            out.append(redirect.Redirect(words, target, False, note.split("(")[0].strip()))
    if OPEN in index.words(code):
        name = [fold(w) for w in index.words(code) if w != OPEN]
        condition = frozenset(name) - redirect._GENERIC
        if name and condition:
            for target, words in rd._titles_ending(name[-1]):
                if target in lineage or rel.ancestors(target)[-1:] == rel.ancestors(code)[-1:]:
                    continue
                if not condition <= set(words) or rd._asks_for(target, code):
                    continue
                out.append(redirect.Redirect(words, target, True, rel.description(target) or target))
    return tuple(out)


def _codes(rel) -> list[str]:
    # the categories of conditions the tabular codes elsewhere in another form, and those of the labelled charts
    categories = {"F32", "F33", "M54", "D64", "D50", "R06", "J40", "J20", "J44", "E78", "N20", "I50", "I10", "M17",
                  "M19", "G43", "E11", "R10", "K21", "N39", "L03", "M25", "S83", "H66", "J45"}
    for path in list(FILES.values())[:80]:
        chart, _ = parse_chart(path.read_bytes())
        categories.update(dx.code[:3] for dx in chart.diagnoses if dx.code)
    out = []
    for category in sorted(categories):
        if category in rel:
            out.extend(axis_index(rel).base_descendants(category))
    # and every category of the release, whose titles and notes hold most forms that lead nowhere
    return out + sorted({c[:3] for c in rel.codes()})


def _index():
    chart, _ = parse_chart(next(iter(FILES.values())).read_bytes()) if FILES else (None, None)
    return axis_index(CheckContext(chart, default_reference()).icd) if chart else None


def test_forms_that_lead_are_the_redirections_checked_up_front():
    index = _index()
    if index is None:
        pytest.skip("no labelled chart here")
    rd = redirect.redirects(index)
    codes = _codes(index.release)
    assert len(codes) > 500
    found = astray = 0
    for code in codes:
        lazy = tuple(r for r in rd.forms(code) if rd.leads(code, r))
        eager = _eager(rd, code)
        # a title's text is read when a note documents it (documented_redirect)
        assert [(r.words, r.target, r.contiguous, r.text if not r.contiguous else None) for r in lazy] == \
            [(r.words, r.target, r.contiguous, r.text if not r.contiguous else None) for r in eager], code
        assert rd.of(code) == lazy
        found += len(eager)
        astray += len(rd.forms(code)) - len(lazy)
    assert found > 20 and astray > 20  # forms that lead and forms that do not, both


def _eager_named(self, code):
    return tuple((r, tuple(w for w in r.words if w not in redirect._GENERIC)) for r in _eager(self, code))


def test_a_note_stating_a_form_that_leads_nowhere_is_redirected_nowhere(monkeypatch):
    """Notes written to state each form, those that lead nowhere too: the redirect found is the same."""
    from vma.checks.support.notes.document import NoteDoc

    index = _index()
    if index is None:
        pytest.skip("no labelled chart here")
    rd = redirect.redirects(index)
    rel = index.release
    cases = []
    for code in _codes(rel):
        for r in rd.forms(code):
            said = " ".join(r.words)
            for text in (f"ASSESSMENT\n\n{rel.description(code)}: {said}.\n", f"ASSESSMENT\n\n{said}.\n"):
                cases.append((code, text, not rd.leads(code, r)))
    assert sum(astray for *_, astray in cases) > 20

    def read():
        out = []
        for code, text, _ in cases:
            got = redirect.documented_redirect(NoteDoc(text), index, code, True)
            out.append(None if got is None else (got.target, got.said, got.text, got.by_title))
        return out

    lazy = read()
    assert any(v is not None for v in lazy)
    monkeypatch.setattr(redirect.Redirects, "named", _eager_named)
    monkeypatch.setattr(redirect.Redirects, "leads", lambda self, code, r: True)
    assert read() == lazy


@pytest.mark.skipif(not FILES, reason="no labelled chart here")
def test_documented_redirect_finds_what_checking_every_target_first_found(monkeypatch):
    def read():
        out = {}
        for label, path in FILES.items():
            chart, _ = parse_chart(path.read_bytes())
            ctx = CheckContext(chart, default_reference())
            index = axis_index(ctx.icd)
            for dx in chart.diagnoses:
                if dx.code and dx.code in index.release:
                    got = redirect.documented_redirect(ctx.note, index, dx.code, ctx.outpatient)
                    out[label, dx.code] = None if got is None else (got.target, got.said, got.sentence.start,
                                                                     got.text, got.by_title)
        return out

    lazy = read()
    assert any(v is not None for v in lazy.values())
    eager = {}

    monkeypatch.setattr(redirect.Redirects, "named", _eager_named)
    monkeypatch.setattr(redirect.Redirects, "leads", lambda self, code, r: True)
    eager = read()
    assert lazy == eager
