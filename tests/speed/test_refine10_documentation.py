"""documentation() reads the note's words for a code's candidates only when it has some to read: reading them for
every code, those with no candidate too, gives the same Documentation on every labelled chart."""

from __future__ import annotations

import re
import sys
import types

import pytest

from tests.speed.output_record import chart_files, documentation_by_code
from vma.checks import CheckContext
from vma.checks.support.axes.index import axis_index
from vma.checks.support.refine import documented
from vma.checks.support.refine.plan import _reading_plan
from vma.intake import parse_chart
from vma.reference import default_reference

FILES = {label: path for label, path in chart_files().items() if path.suffix == ".json"}


_read = documentation_by_code


def _reading_every_code(monkeypatch):
    """The module as it would be without the test of whether a code has candidates to read."""
    source = open(documented.__file__).read()
    ungated, n = re.subn(r"(?m)^    if .*plan.*:  # a code with no candidate.*$", "    if True:", source)
    assert n == 1
    module = types.ModuleType(documented.__name__ + "_reading_every_code")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # where its dataclasses are looked up
    exec(compile(ungated, documented.__file__, "exec"), module.__dict__)
    return module


@pytest.mark.skipif(not FILES, reason="no labelled chart here")
def test_reading_the_words_for_a_code_with_no_candidate_changes_no_documentation(monkeypatch):
    read = {label: _read(path) for label, path in FILES.items()}
    empty = 0
    for path in list(FILES.values())[:40]:
        ctx = CheckContext(parse_chart(path.read_bytes())[0], default_reference())
        ref = documented.refiner(axis_index(ctx.icd))
        empty += sum(not _reading_plan(ref, code) for code in _read(path))
    assert empty  # codes with no candidate are among those read here
    monkeypatch.setattr(documented, "documentation", _reading_every_code(monkeypatch).documentation)
    for label, path in FILES.items():
        assert _read(path) == read[label], label


def _near_forms(word: str) -> list[str]:
    """Other inflections of a long word that same_word takes for it, none its plural or singular."""
    from vma.checks.support.axes.words import fold, same_word

    tries = [word[:-1], word + "d", word + "al", word[:-1] + "ic", word[:-2] + "ed", word + "ly", word[:-1] + "ing"]
    return [w for w in dict.fromkeys(tries) if len(w) >= 8 and fold(w) != fold(word) and same_word(w, word)]


def test_a_long_word_said_in_another_inflection_opens_the_gate_as_reading_every_candidate_does(monkeypatch):
    """Notes naming each condition with a candidate's long word in another inflection ("degenerated" for
    "degenerative"): the candidates skipped by the gate's first-letter test would have documented nothing."""
    from vma.checks.support.notes.document import NoteDoc
    from vma.checks.support.refine.plan import _reading_plan as plan_of

    if not FILES:
        pytest.skip("no labelled chart here")
    ctx = CheckContext(parse_chart(next(iter(FILES.values())).read_bytes())[0], default_reference())
    index = axis_index(ctx.icd)
    ref = documented.refiner(index)
    rel = index.release
    cases = []
    for category in ("M17", "M16", "M19", "M25", "M54", "M51", "M50", "I50", "J44", "J45", "E11", "N18", "G43",
                     "F32", "F33", "K57", "I25", "M47", "M48", "H40", "L40", "K50", "K51", "G56", "S83", "M75"):
        if category not in rel:
            continue
        for code in (category, *index.base_descendants(category)):
            for reading in plan_of(ref, code):
                if reading.gate is None:
                    continue
                for word in reading.gate[1]:
                    for near in _near_forms(word)[:2]:
                        said = " ".join(near if w == word else w for w in reading.r.phrase or (word,))
                        cases.append((code, f"ASSESSMENT\n\n{rel.description(code)}, {said}.\n"))
    assert len(cases) > 50

    def read():
        out = []
        for code, text in cases:
            doc = documented.documentation(NoteDoc(text), index, code, True)
            out.append((sorted(doc.terms), sorted(doc.full), sorted(doc.hinted), sorted(doc.by_inclusion)))
        return out

    gated = read()
    monkeypatch.setattr(documented, "_reading_plan",
                        lambda ref, code: tuple(r._replace(gate=None) for r in plan_of(ref, code)))
    assert read() == gated
