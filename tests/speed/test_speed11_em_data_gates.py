"""The data element's independent interpretation and discussion are looked for only in the sentences holding the
literals every match of their patterns holds (a discussion: a verb of discussing with "with ", or of calling, and a
professional), not in every sentence their own gates let through: the data element read so is the one read before."""

from __future__ import annotations

import random
import re
import re._parser as sre_parse

from tests.speed.output_record import chart_notes
from tests.speed.pattern_samples import sample
from vma.checks.support.mdm import data_and_risk
from vma.checks.support.mdm.data_and_risk import (
    _CALLED,
    _DISCUSSED,
    _INTERPRETATION_LITERALS,
    _PROFESSIONAL,
    _WITH,
    _interpreted,
    _read_in_office,
    data_sentences_matching,
    unique_tests,
)
from vma.checks.support.mdm.reader import MdmReader
from vma.checks.support.mdm.wording import (
    _DISCUSSION,
    _EXTERNAL_NOTES,
    _HISTORIAN,
    _INTERPRETATION,
    _TIME_LINE,
    _first_unnegated,
)
from vma.checks.support.notes.document import NoteDoc


def full_data(note: NoteDoc, tests_reported: bool):
    """MdmReader.data as it was: each pattern tried on every data sentence its own gate lets through."""
    tests = unique_tests(note)
    external = sum(1 for s in data_sentences_matching(note, _EXTERNAL_NOTES)
                   if _first_unnegated(_EXTERNAL_NOTES, s.text) and not _TIME_LINE.search(s.text))
    historian = any(_first_unnegated(_HISTORIAN, s.text) for s in data_sentences_matching(note, _HISTORIAN))
    interpretation = any(_interpreted(s.text) for s in data_sentences_matching(note, _INTERPRETATION)) \
        or (not tests_reported and _read_in_office(note))
    discussion = any(_first_unnegated(_DISCUSSION, s.text) for s in data_sentences_matching(note, _DISCUSSION))
    return tests, external, historian, interpretation, discussion


def _holds(text: str, literals) -> bool:
    return any(literal in text for literal in literals.gate_literals)


def _matches(pattern, seed: int):
    """Matches of the pattern (run as it is, on lower-cased text) in texts built from its own parse."""
    flags = pattern.ci.flags & ~re.I
    parsed = sre_parse.parse(pattern.pattern, flags)
    rng = random.Random(seed)
    for _ in range(20000):
        text = f"{rng.choice(['', 'i ', 'we ', 'the '])}{sample(parsed, rng)}{rng.choice(['', ' today', '.'])}"
        yield from re.finditer(pattern.pattern, text.lower(), flags)


def test_every_interpretation_holds_one_of_the_literals():
    matched = 0
    for m in _matches(_INTERPRETATION, 121):
        matched += 1
        assert _holds(m.group(0), _INTERPRETATION_LITERALS), m.group(0)
    assert matched > 5000


def test_every_discussion_holds_a_verb_and_a_professional():
    matched = 0
    for m in _matches(_DISCUSSION, 122):
        matched += 1
        found = m.group(0)
        assert (_holds(found, _DISCUSSED) and _holds(found, _WITH) or _holds(found, _CALLED)) \
            and _holds(found, _PROFESSIONAL), found
    assert matched > 5000


_SENTENCES = [
    ("results", "I personally reviewed the x-ray images."), ("results", "X-ray of the knee read by me: no fracture."),
    ("results", "My interpretation of the EKG: sinus rhythm."), ("results", "I have also reviewed the MRI."),
    ("results", "I read the films myself."), ("results", "On my review of the CT, no mass."),
    ("results", "I looked at the ultrasound images with the patient."), ("results", "Independently interpreted ECG."),
    ("results", "The radiologist's report was reviewed."), ("results", "Labs already reviewed with her."),
    ("plan", "I discussed the case with Dr. Smith."), ("plan", "Spoke to cardiology about the echo."),
    ("plan", "Will call her PCP tomorrow."), ("plan", "Discussed with the patient at length."),
    ("plan", "Talked with her oncologist today."), ("plan", "Curbsided the infectious disease team."),
    ("plan", "We will discuss this with his surgeon."), ("plan", "Called the pharmacist about the dose."),
    ("plan", "Reviewed with the social worker."), ("plan", "He will speak with the case manager."),
    ("plan", "Did not discuss with Dr. Lee."), ("plan", "Contacted the patient's daughter."),
    ("assessment", "Hypertension, stable."), ("hpi", "Outside records were reviewed."),
    ("hpi", "History obtained from her mother."), ("plan", "Order a CBC and CMP."),
    ("plan", "X-rays taken today show no fracture."), ("hpi", "She spoke with Dr. Patel last week."),
]
_TITLES = {"results": "RESULTS", "plan": "PLAN", "assessment": "ASSESSMENT", "hpi": "HPI"}


def _note(rng: random.Random) -> NoteDoc:
    by_section: dict[str, list[str]] = {}
    for section, text in rng.sample(_SENTENCES, rng.randint(1, 6)):
        by_section.setdefault(section, []).append(text.upper() if rng.random() < 0.1 else text)
    return NoteDoc("\n".join(f"{_TITLES[section]}:\n{' '.join(texts)}" for section, texts in by_section.items()))


def test_data_on_notes_made_of_the_wordings():
    rng = random.Random(123)
    seen = {"interpretation": 0, "discussion": 0}
    for _ in range(3000):
        note = _note(rng)
        reported = rng.random() < 0.5
        expected = full_data(note, reported)
        seen["interpretation"] += expected[3]
        seen["discussion"] += expected[4]
        assert MdmReader(note, (), reported).data == expected, note.text
    assert min(seen.values()) > 300, seen


def test_data_on_the_notes_we_hold():
    for note in chart_notes():
        for reported in (True, False):
            assert MdmReader(note, (), reported).data == full_data(note, reported)


def test_the_sentences_are_the_data_sentences_in_order():
    for note in chart_notes():
        for found in (data_and_risk.interpretation_sentences(note), data_and_risk.discussion_sentences(note)):
            order = [id(s) for s in note.sentences]
            assert [id(s) for s in found] == sorted((id(s) for s in found), key=order.index)
