"""The prior-visit reader as it was, and as it is read now: other care is looked for with its pattern only in a
sentence holding one of the pattern's words, and whether the note calls the patient new is asked only once a
sentence documents an earlier visit. Both give what the full reading gives, on the notes we hold and on notes made
of the patterns' own wordings."""

from __future__ import annotations

import random
import re
import re._parser as sre_parse
from types import SimpleNamespace

import pytest

from tests.speed.output_record import chart_notes
from tests.speed.pattern_samples import sample
from vma.checks.support import new_or_established as ne
from vma.checks.support.new_or_established import (
    _DOCTOR_NAME,
    _EARLIER_VISIT,
    _FIRST_PERSON_PRIOR,
    _FIRST_PERSON_SAW,
    _FOLLOW_UP_VISIT,
    _LITERALS,
    _NEW_PATIENT_STATEMENT,
    _OTHER_CARE,
    _PAST_ANCHOR,
    _PRESENTING_SECTIONS,
    _PRIOR_STATEMENTS,
    _REFERRAL,
    _THIS_PRACTICE,
    _TODAY,
    PriorVisit,
    _names_other_doctor,
    _provider_names,
    _three_years_or_more,
    _whole_sentences,
    _with_previous,
)
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.notes.words import is_negated_at
from vma.checks.support.scan import JoinedTexts


def full_names_other_care(text: str, own_names: set[str]) -> bool:
    """_names_other_care as it was: the pattern run on every sentence."""
    if _names_other_doctor(text, own_names):
        return True
    rest = _THIS_PRACTICE.sub(" ", _DOCTOR_NAME.sub(" ", text))
    return _OTHER_CARE.search(rest) is not None


def full_prior_visit(ctx, note: NoteDoc) -> PriorVisit | None:
    """prior_visit as it was: a note that calls the patient new is turned away first, and every other sentence is
    read with the full other-care pattern."""
    sentences, _ = _whole_sentences(note)
    literals = JoinedTexts([s.text for s in sentences])
    tried = {_NEW_PATIENT_STATEMENT: literals.holding(_LITERALS[_NEW_PATIENT_STATEMENT])}
    in_note: dict = {}

    def found(rx, i):
        if i not in tried[rx]:
            return None
        m = rx.search(sentences[i].text)
        if m is not None and rx not in in_note:
            in_note[rx] = rx.gate is None or rx.gate.search(note.text.lower()) is not None
        return m if m is not None and in_note[rx] else None

    for i in sorted(tried[_NEW_PATIENT_STATEMENT]):
        m = found(_NEW_PATIENT_STATEMENT, i)
        if m and not is_negated_at(sentences[i].text, m.start()):
            return None
    tried.update((rx, literals.holding(_LITERALS[rx])) for rx in _PRIOR_STATEMENTS)
    tried_any = set().union(*(tried[rx] for rx in _PRIOR_STATEMENTS))
    if not tried_any:
        return None
    own = _provider_names(ctx)
    dos = ctx.chart.encounter.date_of_service or ""
    service_year = int(dos[:4]) if dos[:4].isdigit() else None
    strong = weak = None
    for i in sorted(tried_any):
        s = sentences[i]
        text = s.text
        m = found(_FIRST_PERSON_SAW, i)
        if m is not None and not (_PAST_ANCHOR.search(text) and not _TODAY.search(text[m.end():m.end() + 40])):
            m = None
        m = m or found(_FIRST_PERSON_PRIOR, i)
        if m and not is_negated_at(text, m.start()) and not _names_other_doctor(text, own) \
                and not _three_years_or_more(text, service_year):
            strong = s
            break
        m = found(_EARLIER_VISIT, i)
        if m and not is_negated_at(text, m.start()) and not full_names_other_care(_with_previous(sentences, i), own) \
                and not _three_years_or_more(text, service_year):
            strong = s
            break
        m = found(_FOLLOW_UP_VISIT, i) if s.section in _PRESENTING_SECTIONS else None
        if m and not is_negated_at(text, m.start()) and not full_names_other_care(_with_previous(sentences, i), own) \
                and not _three_years_or_more(text, service_year):
            weak = weak or s
    if strong is not None:
        return PriorVisit(strong, True)
    if weak is not None and not any(_REFERRAL.search(s.text) for s in sentences):
        return PriorVisit(weak, False)
    return None


def _ctx(provider: str | None = "Maria Lopez, MD", dos: str = "2024-05-02"):
    chart = SimpleNamespace(provider=SimpleNamespace(name=provider), signature=SimpleNamespace(signed_by=None),
                            encounter=SimpleNamespace(date_of_service=dos))
    return SimpleNamespace(chart=chart)


def _same(a: PriorVisit | None, b: PriorVisit | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.sentence.text, a.sentence.section, a.sentence.start, a.strong) == \
        (b.sentence.text, b.sentence.section, b.sentence.start, b.strong)


# -- other care ----------------------------------------------------------------------------------------------------

_OTHER_WORDS = ["cardiologist", "Podiatrist", "surgeon", "PCP", "primary care", "doctor", "physician", "provider",
                "nurse practitioner", "dentist", "therapist", "chiropractor", "specialist", "optometrist", "midwife",
                "sleep medicine clinic", "pediatrics department", "cardiology", "urology", "Orthopedics",
                "psychiatry", "ER", "ed", "Ed", "emergency room", "urgent care", "hospital", "walk-in",
                "another clinic", "outside facility", "her own clinic", "his office", "with physical therapy",
                "to PT", "at rehab", "to the lab", "our clinic", "this office", "my partner", "with me", "by us",
                "Dr. Nguyen", "Dr Lopez", "DR. Smith", "edited", "pt", "pts", "erred", "technology", "topics",
                "office", "clinical", "the", "last", "visit", "at", "to", "with", "his", "her", "\u017fpecialist",
                "\u212aidney", "\u0130", "er-", "ed.", "(ER)", "lab", "the laboratory", "she", "was", "seen"]


def _other_care_text(rng: random.Random) -> str:
    return " ".join(rng.choice(_OTHER_WORDS) for _ in range(rng.randint(0, 8))) + rng.choice(["", ".", " today."])


def test_every_other_care_match_holds_one_of_its_words():
    """Texts built from the pattern's own parse, branch by branch: wherever it matches, the words' search finds one."""
    flags = _OTHER_CARE.flags & ~re.I
    parsed = sre_parse.parse(_OTHER_CARE.pattern, flags)
    rng = random.Random(111)
    matched = 0
    for _ in range(20000):
        text = f"{rng.choice(['', 'with ', 'the ', 'at '])}{sample(parsed, rng)}{rng.choice(['', ' today', '.'])}"
        for variant in (text, text.upper(), text.title()):
            if _OTHER_CARE.search(variant):
                matched += 1
                assert ne._OTHER_CARE_WORDS.search(variant.lower()), variant
    assert matched > 10000


def test_other_care_is_read_as_the_full_pattern_reads_it():
    rng = random.Random(112)
    own = {"lopez", "maria"}
    found = 0
    for _ in range(20000):
        text = _other_care_text(rng)
        expected = full_names_other_care(text, own)
        found += expected
        assert ne._names_other_care(text, own) == expected, text
    assert 2000 < found < 18000


def test_other_care_on_the_notes_we_hold():
    own = {"lopez"}
    for note in chart_notes():
        sentences, _ = _whole_sentences(note)
        for i in range(len(sentences)):
            text = _with_previous(sentences, i)
            assert ne._names_other_care(text, own) == full_names_other_care(text, own), text


# -- the whole reading -----------------------------------------------------------------------------------------------

_SENTENCES = [
    ("hpi", "She returns for follow-up of her hypertension."),
    ("hpi", "I last saw her 3 months ago."),
    ("hpi", "I saw and examined her today."),
    ("hpi", "Her last visit with her cardiologist was in March."),
    ("hpi", "He was last seen in our clinic in 2019."),
    ("hpi", "The metformin was increased at her last visit."),
    ("hpi", "She is a new patient to our practice."),
    ("hpi", "She is not a new patient."),
    ("hpi", "She presents to establish care."),
    ("hpi", "He was referred by Dr. Nguyen."),
    ("chief_complaint", "Here for follow-up."),
    ("chief_complaint", "Follow-up of chronic problems."),
    ("hpi", "She has been seen by Dr. Lopez before."),
    ("hpi", "We have been following him for his diabetes."),
    ("hpi", "I started lisinopril in March."),
    ("hpi", "He saw Dr. Smith 2 years ago. At the last visit the dose was raised."),
    ("hpi", "This is her first visit here."),
    ("hpi", "She has never been seen here before."),
    ("hpi", "Since her last visit to the ER she has been well."),
    ("hpi", "She comes in for a second opinion."),
    ("plan", "Follow up in 3 months."),
    ("plan", "Return visit in 2 weeks."),
    ("assessment", "Hypertension, stable since the last visit."),
    ("exam", "Seen walking without difficulty."),
    ("social", "Her last visit with me was in May."),
    ("hpi", "Known to our practice for years."),
    ("hpi", "She was seen in the hospital last week by the hospitalist."),
    ("hpi", "Patient of mine since 2015."),
]
_TITLES = {"hpi": "HPI", "chief_complaint": "CHIEF COMPLAINT", "plan": "PLAN", "assessment": "ASSESSMENT",
           "exam": "PHYSICAL EXAM", "social": "SOCIAL HISTORY"}


def _note(rng: random.Random) -> NoteDoc:
    picked = rng.sample(_SENTENCES, rng.randint(1, 7))
    by_section: dict[str, list[str]] = {}
    for section, text in picked:
        by_section.setdefault(section, []).append(text)
    return NoteDoc("\n".join(f"{_TITLES[section]}:\n{' '.join(texts)}" for section, texts in by_section.items()))


def test_prior_visit_on_notes_made_of_the_wordings():
    rng = random.Random(113)
    outcomes = {"none": 0, "strong": 0, "weak": 0}
    for _ in range(4000):
        note = _note(rng)
        ctx = _ctx(rng.choice(["Maria Lopez, MD", None]), rng.choice(["2024-05-02", ""]))
        expected = full_prior_visit(ctx, note)
        outcomes["none" if expected is None else "strong" if expected.strong else "weak"] += 1
        assert _same(ne.prior_visit(ctx, note), expected), note.text
    assert min(outcomes.values()) > 50, outcomes


@pytest.mark.parametrize("provider", ["Maria Lopez, MD", None])
def test_prior_visit_on_the_notes_we_hold(provider):
    ctx = _ctx(provider)
    found = 0
    for note in chart_notes():
        expected = full_prior_visit(ctx, note)
        found += expected is not None
        assert _same(ne.prior_visit(ctx, note), expected)
    assert found
