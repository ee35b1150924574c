"""documentation() walks only the readings of a code's plan that some word said with the condition opens (the
plan's gates by word), each gate standing for a phrase by its last word not of the condition's name: reading
every candidate in full gives the same Documentation, on every labelled chart and on notes made up of the
candidates' own words, in their inflections, with and without a negation."""

from __future__ import annotations

import random

import pytest

from tests.speed.output_record import chart_files, documentation_by_code
from vma.checks import CheckContext
from vma.checks.support.axes.index import axis_index
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.refine import documented
from vma.checks.support.refine.plan import _reading_plan
from vma.intake import parse_chart
from vma.reference import default_reference

FILES = {label: path for label, path in chart_files().items() if path.suffix == ".json"}

# Categories whose codes have many candidates, inclusion terms, phrases and "without" terms.
CATEGORIES = ("E11", "E10", "G40", "G43", "I50", "J45", "J44", "N18", "I25", "F32", "F33", "K57", "M17", "M16",
              "M10", "M06", "L97", "H40", "K50", "S83", "M54", "I20", "K21", "E78", "D64")


def _every_reading(ref, code):
    """The plan as a plain tuple of readings with no gate: every reading walked, the full computation."""
    return tuple(reading._replace(gate=None) for reading in _reading_plan(ref, code))


def _read(note: NoteDoc, index, code: str, outpatient: bool):
    doc = documented.documentation(note, index, code, outpatient)
    return ([(k, [s.start for s in v]) for k, v in doc.terms.items()],
            [(k, [s.start for s in v]) for k, v in doc.full.items()],
            sorted(doc.hinted), sorted(doc.by_inclusion), doc.defaulted, doc.side, doc.acuity,
            [s.start for s in doc.acuity_sentences], doc.site, doc.side_conflict)


def _index():
    path = next(iter(FILES.values()))
    return axis_index(CheckContext(parse_chart(path.read_bytes())[0], default_reference()).icd)


def _inflected(word: str, rng: random.Random) -> str:
    forms = [word, word + "s", word[:-1] if word.endswith("s") else word + "es", word + "d", word[:-1] + "ic"]
    return rng.choice(forms)


def _notes(index, rng: random.Random, per_code: int) -> list[tuple[str, str]]:
    """(code, note) pairs: each names the code's condition and some of its candidates' words (terms, phrase
    words, inclusion terms' words, absent terms), some inflected, some negated, some in the history."""
    rel = index.release
    ref = documented.refiner(index)
    cases = []
    for category in CATEGORIES:
        if category not in rel:
            continue
        codes = [c for c in (category, *index.base_descendants(category)) if _reading_plan(ref, c)]
        for code in rng.sample(codes, min(6, len(codes))):
            plan = _reading_plan(ref, code)
            pool = sorted({w.lstrip("~") for reading in plan
                           for w in (*reading.r.terms, *reading.r.phrase,
                                     *(w for v, _ in reading.variants for w in v))})
            title = rel.description(code) or code
            for _ in range(per_code):
                reading = rng.choice(plan)
                said = list(reading.r.phrase or reading.r.terms)
                if reading.variants and rng.random() < 0.4:
                    said = list(rng.choice(reading.variants)[1])
                said += rng.sample(pool, min(len(pool), rng.randint(0, 3)))
                said = [_inflected(w, rng) if rng.random() < 0.3 else w for w in said]
                rng.shuffle(said)
                cue = rng.choice(["", "", "no ", "denies ", "possible ", "history of "])
                lines = [f"ASSESSMENT\n\n{title}, {cue}{' '.join(said)}."]
                if rng.random() < 0.5:
                    lines.insert(0, f"HPI\n\nHere for {title.lower()} with {' '.join(rng.sample(pool, min(2, len(pool))))}.")
                if rng.random() < 0.3:
                    lines.append(f"PLAN\n\nContinue treatment of {rng.choice(pool)} {title.lower()}.")
                cases.append((code, "\n\n".join(lines) + "\n"))
    return cases


@pytest.mark.skipif(not FILES, reason="no labelled chart here")
def test_walking_only_the_readings_a_word_said_opens_changes_no_documentation_on_generated_notes(monkeypatch):
    index = _index()
    cases = _notes(index, random.Random(11), per_code=12)
    assert len(cases) > 500

    def read_all():
        return [_read(NoteDoc(text), index, code, outpatient) for code, text in cases for outpatient in (True, False)]

    gated = read_all()
    assert sum(bool(found[1]) for found in gated) > 50  # candidates documented in full are among them
    assert sum(bool(found[3]) for found in gated) > 5  # and candidates named by an inclusion term
    monkeypatch.setattr(documented, "_reading_plan", _every_reading)
    assert read_all() == gated


@pytest.mark.skipif(not FILES, reason="no labelled chart here")
def test_walking_only_the_readings_a_word_said_opens_changes_no_documentation_on_the_labelled_charts(monkeypatch):
    gated = {label: documentation_by_code(path) for label, path in FILES.items()}
    monkeypatch.setattr(documented, "_reading_plan", _every_reading)
    for label, path in FILES.items():
        assert documentation_by_code(path) == gated[label], label


def test_a_gate_opens_on_each_word_a_reading_needs_and_on_no_other():
    """The gates by word list a reading under exactly the words of its own gate."""
    if not FILES:
        pytest.skip("no labelled chart here")
    index = _index()
    ref = documented.refiner(index)
    checked = 0
    for category in CATEGORIES:
        if category not in index.release:
            continue
        for code in (category, *index.base_descendants(category)):
            plan = _reading_plan(ref, code)
            gates = plan.gates
            for i, reading in enumerate(plan):
                if reading.gate is None:
                    assert i in gates.always
                    continue
                keys, long_words, letters = reading.gate
                assert {k for k, found in gates.by_key.items() if i in found} == keys
                assert {w for ws in gates.by_letter.values() for w, found in ws if i in found} == set(long_words)
                assert letters == {w[0] for w in long_words}
                # every phrase's gate word is one of its own words, so a reading it closes needs a word not said
                assert {documented.fold(w) for w in reading.r.phrase} & keys
                checked += 1
    assert checked > 200
