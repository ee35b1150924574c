"""condition_mentions makes each Mention with its fields set in one step: the same Mention as its dataclass
constructor makes, on every labelled chart."""

from __future__ import annotations

import pytest

from tests.speed.output_record import chart_files
from vma.checks import CheckContext
from vma.checks.support.axes.evidence import Mention, condition_mentions
from vma.checks.support.axes.index import axis_index
from vma.checks.support.notes.words import is_negated_at, is_uncertain_at
from vma.intake import parse_chart
from vma.reference import default_reference

FILES = {label: path for label, path in chart_files().items() if path.suffix == ".json"}


@pytest.mark.skipif(not FILES, reason="no labelled chart here")
def test_mentions_are_the_dataclass_s_own():
    seen = 0
    for label, path in FILES.items():
        chart, _ = parse_chart(path.read_bytes())
        ctx = CheckContext(chart, default_reference())
        index = axis_index(ctx.icd)
        for dx in chart.diagnoses:
            if not dx.code or dx.code not in index.release:
                continue
            for outpatient in (True, False):
                for m in condition_mentions(ctx.note, index, dx.code, outpatient):
                    sentence, words = ctx.note.tokenized[m.index]
                    start = words[m.first].start
                    built = Mention(sentence, tuple(words), m.first, is_negated_at(sentence.text, start),
                                    outpatient and is_uncertain_at(sentence.text, start), m.index)
                    assert vars(m) == vars(built) and m == built and hash(m) == hash(built), label
                    assert (m.counts, m.in_assessment, m.in_history) == (built.counts, built.in_assessment,
                                                                         built.in_history)
                    seen += 1
    assert seen > 100
