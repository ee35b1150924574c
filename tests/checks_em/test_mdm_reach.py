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
