"""The look at a note's words that spares the combination check its drug and smoking scans: wherever a pattern
matches a sentence, the note must hold one of the words the shortcut asks for."""

from __future__ import annotations

import json

import pytest

from tests.speed.output_record import chart_files
from vma.checks.support.combinations import picture
from vma.checks.support.combinations.picture import _may_state
from vma.checks.support.notes.document import NoteDoc

_SHORTCUTS = {
    "insulin": (picture._INSULIN, picture._INSULIN_WORDS, ()),
    "oral": (picture._ORAL_ANTIDIABETIC, picture._ORAL_ANTIDIABETIC_WORDS, ()),
    "injectable": (picture._INJECTABLE_NON_INSULIN, picture._INJECTABLE_NON_INSULIN_WORDS, ()),
    "smoking": (picture._SMOKING, picture._SMOKING_WORDS, picture._SMOKING_STARTS),
}

_MADE_UP = [
    "Oral hypoglycemic agents were reviewed.", "On oral antidiabetic drugs.", "ORAL DIABETES MEDICATIONS: none held.",
    "Oral semaglutide 7 mg daily.", "Semaglutide weekly.", "Semaglutide 0.5 mg subq.", "Semaglutide injection.",
    "Currently smoking.", "Current smoker.", "Smokes.", "Smoking 1 ppd.", "2ppd.", "1.5 packs per day.",
    "1 pack a day", "10 cigarettes a day.", "Cigarette daily.", "Vaping.", "She vapes.", "Chews tobacco.",
    "Tobacco use disorder.", "(insulin)", "insulin-dependent", "Lantus/Humalog", "NPH:", "smoking 2 packs per day",
    "Smoker\u2014current.", "\u2014insulin 10 units", "\u00e9metformin", "1Lantus", "PLAN: NPH 10 units.",
]


def _names_in_context() -> list[str]:
    out = []
    for names in (picture._INSULIN_NAMES, picture._ORAL_ANTIDIABETIC_NAMES, picture._INJECTABLE_NON_INSULIN_NAMES):
        for name in names:
            out += [f"Takes {name} daily.", f"{name.upper()} 10 units.", f"({name.title()})", f"on {name}-based care"]
    return out


def _chart_sentences() -> list[str]:
    return [s.text for path in chart_files().values() if (doc := _chart_note(path)) for s in doc.sentences]


@pytest.fixture(scope="module")
def notes() -> list[NoteDoc]:
    """Each made-up or chart sentence as a note of its own (what makes a word needed), and the chart notes whole."""
    texts = _MADE_UP + _names_in_context() + _chart_sentences()
    return [NoteDoc(t) for t in texts] + _chart_notes()


def _chart_notes() -> list[NoteDoc]:
    return [NoteDoc(doc.text, doc._given_sections) for doc in map(_chart_note, chart_files().values()) if doc]


def _chart_note(path) -> NoteDoc | None:
    chart = json.loads(path.read_text()) if path.suffix == ".json" else None
    note = chart.get("note") if isinstance(chart, dict) else None
    return NoteDoc.from_chart_note(note.get("text"), note.get("sections")) if isinstance(note, dict) else None


def _matched(pattern, notes: list[NoteDoc]) -> list[NoteDoc]:
    return [doc for doc in notes if any(pattern.search(s.text) for s in doc.sentences)]


@pytest.mark.parametrize("name", sorted(_SHORTCUTS))
def test_every_note_a_pattern_matches_holds_a_word_asked_for(name, notes):
    pattern, words, starts = _SHORTCUTS[name]
    matched = _matched(pattern, notes)
    assert matched
    for doc in matched:
        assert _may_state(doc, words, starts), doc.text


@pytest.mark.parametrize("name", sorted(_SHORTCUTS))
def test_each_word_is_needed_by_some_note(name, notes):
    """The notes reach every word: leaving any one out makes the shortcut miss a match."""
    pattern, words, starts = _SHORTCUTS[name]
    matched = _matched(pattern, notes)
    for left_out in sorted(words):
        fewer = words - {left_out}
        assert any(not _may_state(NoteDoc(doc.text, doc._given_sections), fewer, starts) for doc in matched), left_out
    for left_out in starts:
        fewer_starts = tuple(s for s in starts if s != left_out)
        assert any(not _may_state(NoteDoc(doc.text, doc._given_sections), words, fewer_starts) for doc in matched)


def test_a_note_without_the_words_is_turned_away():
    assert not _may_state(NoteDoc("Type 2 diabetes, diet controlled. Never smoker."), picture._INSULIN_WORDS)
    assert not _may_state(NoteDoc("Patient takes aspirin."), picture._SMOKING_WORDS, picture._SMOKING_STARTS)
    # re.I matches the Kelvin sign to "k": such a note is always read in full
    assert _may_state(NoteDoc("\u212a"), frozenset({"x"}))
