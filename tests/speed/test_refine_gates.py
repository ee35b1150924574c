"""A candidate documentation() skips because none of the words it needs stands with the condition would have
documented nothing: reading every candidate in full gives the same Documentation on every labelled chart."""

from __future__ import annotations

import pytest

from tests.speed.output_record import chart_files, documentation_by_code
from vma.checks import CheckContext
from vma.checks.support.refine import documented
from vma.intake import parse_chart
from vma.reference import default_reference

FILES = {label: path for label, path in chart_files().items() if path.suffix == ".json"}


_read = documentation_by_code


def _ungated(ref, code):
    return tuple(reading._replace(gate=None) for reading in _gated(ref, code))


_gated = documented._reading_plan


@pytest.mark.skipif(not FILES, reason="no labelled chart here")
def test_skipping_candidates_whose_words_are_absent_changes_no_documentation(monkeypatch):
    gated = {label: _read(path) for label, path in FILES.items()}
    monkeypatch.setattr(documented, "_reading_plan", _ungated)
    for label, path in FILES.items():
        assert _read(path) == gated[label], label


def _full_positions(tokens, term: str) -> list[int]:
    # every word's positions listed up front, as a sentence's words were read before
    from vma.checks.support.axes.words import fold, same_word

    at: dict[str, list[int]] = {}
    for i, t in enumerate(tokens):
        at.setdefault(fold(t.norm), []).append(i)
    hits = at.get(fold(term))
    if hits is not None:
        return hits
    if len(term) >= 8:
        for n in at:
            if len(n) >= 8 and same_word(n, term):
                return at[n]
    return []


@pytest.mark.skipif(not FILES, reason="no labelled chart here")
def test_a_sentences_word_positions_found_when_looked_up_are_those_listed_up_front():
    from vma.checks.support.notes.words import tokens

    looked = 0
    for path in list(FILES.values())[:60]:
        chart, _ = parse_chart(path.read_bytes())
        for sentence in CheckContext(chart, default_reference()).note.sentences:
            words = tuple(tokens(sentence.text))
            read = documented._Words(words)
            terms = [t.norm for t in words] + [t.norm + "s" for t in words] + [t.norm[:-1] for t in words if t.norm]
            terms += ["hypertensions", "osteoarthritic", "unspecified", "x"]
            for term in terms * 2:  # found, then kept
                assert read.positions(term) == _full_positions(words, term), (sentence.text, term)
                looked += 1
    assert looked > 1000


_INDICATOR_SENTENCES = [
    "EF 35%.", "LVEF of 55 percent on echo.", "Reduced ejection fraction noted.", "eGFR 42 today.", "GFR: 58",
    "PHQ-9 score 14.", "PHQ9 was 7.", "Uses Flovent twice daily.", "Budesonide inhaler 2 puffs.", "Albuterol as needed.",
    "Flonase nasal spray.", "Denies chest pain.", "\u212aelvin scale EF 40%", "Symbicort 160/4.5 two puffs BID.",
]


def _indicator_notes():
    from vma.checks.support.notes.document import NoteDoc

    notes = [NoteDoc(t) for t in _INDICATOR_SENTENCES]
    notes.append(NoteDoc("ASSESSMENT AND PLAN\n\n" + " ".join(_INDICATOR_SENTENCES)))
    for path in FILES.values():
        chart, _ = parse_chart(path.read_bytes())
        notes.append(CheckContext(chart, default_reference()).note)
    return notes


def test_indicator_candidates_hold_every_sentence_an_indicator_matches_in_note_order():
    from vma.checks.support.refine import decide

    found = 0
    for note in _indicator_notes():
        order = {id(s): i for i, s in enumerate(note.sentences)}
        for rule in documented.indicator_rules():
            kept = decide._indicator_candidates(note, rule)
            places = [order[id(s)] for s in kept]
            assert places == sorted(set(places)), (rule.family, note.text[:80])
            matching = [s for s in note.sentences if any(rx.search(s.text) for rx in rule.patterns)]
            found += len(matching)
            assert {id(s) for s in matching} <= {id(s) for s in kept}, (rule.family, note.text[:80])
    assert found > 20
