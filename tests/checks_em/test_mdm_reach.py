"""The MDM reader's short cuts agree with the full reading on every labelled chart: whether MDM reaches a level,
asked first, is what the full estimate's level says, and an item read as graver than acute is never classified as
a minor or acute uncomplicated problem."""

from __future__ import annotations

import pytest

from tests.speed.output_record import chart_files
from vma.checks.support.mdm.problems import classify, graver_than_acute, problem_items
from vma.checks.support.mdm.reader import MdmReader
from vma.checks.support.mdm.wording import ACUTE, HIGH, LOW, MINOR, MODERATE, STRAIGHTFORWARD
from vma.checks.support.notes.document import NoteDoc
from vma.intake import ChartInputError, parse_chart


def _notes() -> list[tuple[str, NoteDoc, list[str]]]:
    found = []
    for label, path in chart_files().items():
        try:
            chart, _ = parse_chart(path.read_bytes())
        except ChartInputError:
            continue
        coded = list(dict.fromkeys(f"coded {dx.code}" for dx in chart.diagnoses if dx.code and dx.code[0] != "Z"))
        found.append((label, NoteDoc.from_chart_note(chart.note.text, chart.note.sections), coded))
    return found


NOTES = _notes()


def test_the_charts_are_there():
    assert len(NOTES) > 100


@pytest.mark.parametrize("rank", [STRAIGHTFORWARD, LOW, MODERATE, HIGH])
def test_reaches_agrees_with_the_estimate(rank):
    for label, note, coded in NOTES:
        for tests_reported in (False, True):
            level = MdmReader(note, coded, tests_reported).estimate().level
            assert MdmReader(note, coded, tests_reported).reaches(rank) == (level >= rank), (label, rank)


def test_an_item_graver_than_acute_is_classified_so():
    for label, note, _ in NOTES:
        for item in problem_items(note):
            if graver_than_acute(item, note):
                assert classify(item, note).kind not in (MINOR, ACUTE), (label, item.label)


def _estimate_fields(estimate) -> tuple:
    return (estimate.problems_level, [(p.label, p.kind, p.reason, p.body) for p in estimate.problems], estimate.tests,
            estimate.external_notes, estimate.independent_historian, estimate.independent_interpretation,
            estimate.external_discussion, estimate.data_level, estimate.risk_level, estimate.risk_reasons)


@pytest.mark.parametrize("asked", [(MODERATE,), (LOW, MODERATE), (HIGH, MODERATE), (MODERATE, HIGH, LOW)])
def test_the_estimate_after_questions_is_the_estimate(asked):
    """Whatever a question about a level read, out of order or not, the full reading after it is the one read
    from scratch."""
    for label, note, coded in NOTES:
        reader = MdmReader(note, coded, False)
        for rank in asked:
            reader.reaches(rank)
        assert _estimate_fields(reader.estimate()) == _estimate_fields(MdmReader(note, coded, False).estimate()), \
            (label, asked)


def test_risk_reaches_agrees_with_the_full_reading_of_plans():
    """Plans with the prescription wording anywhere among other sentences, and text whose lower case is longer."""
    import random

    from vma.checks.support.mdm.data_and_risk import RiskScan

    pieces = ["Continue lisinopril 10 mg daily.", "Ice and rest.", "Medication list reviewed.", "No new medications.",
              "Start physical therapy.", "Admit to the hospital.", "Declines prescription.", "Tylenol 500 mg prn.",
              "Discussed options.", "\u0130buprofen 200 mg.", "Follow up in 2 weeks.", "Refer to surgery for biopsy.",
              "I have prescribed Keflex.", "Flu shot given IM today.", "mg", "Unable to afford the co-pay."]
    rng = random.Random(7)
    for _ in range(400):
        plan = " ".join(rng.choice(pieces) for _ in range(rng.randint(0, 7)))
        note = NoteDoc.from_chart_note(f"PLAN\n\n{plan}", None)
        full = RiskScan(note).result()
        for rank in (LOW, MODERATE, HIGH):
            scan = RiskScan(note)
            assert scan.reaches(rank) == (full[0] >= rank), (plan, rank)
            assert scan.result() == full, plan


def _plain_risk(note: NoteDoc) -> tuple[int, list[str]]:
    """The risk read from every management sentence for every kind, in order, without any gate."""
    from vma.checks.support.mdm.data_and_risk import _KINDS, _management_text

    found = []
    texts = _management_text(note)
    for kind, (_, finds, every) in enumerate(_KINDS):
        for i, text in enumerate(texts):
            reason = finds(text)
            if reason:
                found.append((i, kind, reason))
                if not every:
                    break
    found.sort()
    level = max((_KINDS[kind][0] for _, kind, _ in found), default=STRAIGHTFORWARD)
    return level, list(dict.fromkeys(reason for _, _, reason in found))


def test_the_risk_read_where_its_patterns_may_match_is_the_plain_reading():
    import random

    from vma.checks.support.mdm.data_and_risk import RiskScan

    for label, note, _ in NOTES:
        assert RiskScan(note).result() == _plain_risk(note), label
    lines = [ln for _, note, _ in NOTES[:80] for ln in note.section_text("plan").splitlines() if ln.strip()]
    odd = ["Admit to the hospital.", "Considering knee arthroscopy; will schedule.", "Discussed excision of the lesion.",
           "Unable to afford insulin; cost is a barrier.", "Tylenol as needed.", "\u0130buprofen.", "Ice, brace.",
           "Sent to the ER.", "Recommend cholecystectomy.", "No surgery.", "Biopsy planned."]
    rng = random.Random(2)
    for _ in range(300):
        plan = " ".join(rng.choice(lines + odd) for _ in range(rng.randint(0, 8)))
        note = NoteDoc.from_chart_note(f"PLAN\n\n{plan}", None)
        assert RiskScan(note).result() == _plain_risk(note), plan


def _plain_unique_tests(note: NoteDoc) -> list[str]:
    """The unique tests with every test tried on every sentence and title, in order."""
    from vma.checks.support.mdm.data_and_risk import _data_sentences, _unnegated_search
    from vma.checks.support.mdm.wording import _ORDERED, _REVIEWED, _TESTS, LAB_TESTS

    sentences = [s for s in _data_sentences(note) if s.section in ("results", "assessment", "plan", "instructions")
                 or _ORDERED.search(s.text) or _REVIEWED.search(s.text)]
    found: list[str] = []
    for s in sentences:
        here = [name for name, rx in _TESTS if _unnegated_search(rx, s.text)]
        if "labs" in here and any(t in LAB_TESTS for t in here):
            here.remove("labs")
        found += [name for name in here if name not in found]
    for section in note.sections:
        if section.name in ("results", "exam", "assessment", "plan") and section.text.strip():
            found += [name for name, rx in _TESTS if name not in found and _unnegated_search(rx, section.title)]
    return found


def test_unique_tests_are_those_every_test_tried_everywhere_finds():
    import random

    from vma.checks.support.mdm.data_and_risk import unique_tests

    for label, note, _ in NOTES:
        assert unique_tests(note) == _plain_unique_tests(note), label
    pieces = ["EKG shows sinus rhythm.", "ECG: normal.", "Pro-BNP pending.", "BNP 400.", "Troponin negative.",
              "BMP ordered.", "CMP and CBC reviewed.", "Complaint of pain.", "Flu test negative.", "COVID-19 swab.",
              "Mono spot negative.", "We will order labs.", "Labs: CBC.", "Electrocardiogram reviewed.", "No EKG.",
              "\u0130nfluenza test.", "Potassium 3.9.", "Compliant with meds."]
    rng = random.Random(5)
    for _ in range(300):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(0, 7)))
        title = rng.choice(["RESULTS", "EKG", "LABS", "PLAN", "ASSESSMENT"])
        note = NoteDoc.from_chart_note(f"HPI\n\n{rng.choice(pieces)}\n\n{title}\n\n{text}\n\nPLAN\n\n{text}", None)
        assert unique_tests(note) == _plain_unique_tests(note), text
