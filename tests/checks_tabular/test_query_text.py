"""Queries from the tabular checks pass the compliant-query lint (no leading phrases,
no money words, the escape answers present)."""

from __future__ import annotations

import pytest

from tests.checking import assessment, note_findings
from vma.conversations import lint

QUERY_CHARTS = [
    ("excludes1", assessment("Type 1 diabetes mellitus.", "Type 2 diabetes mellitus."), ["E10.9", "E11.9"], {}),
    ("excludes1", assessment("Essential hypertension.", "Primary pulmonary hypertension."), ["I10", "I27.0"], {}),
    ("sex-age", assessment("Well child visit."), ["Z00.129"], {"patient": {"birth_date": "1970-01-01", "sex": "M"}}),
    ("sex-age", assessment("Normal pregnancy."), ["Z34.82"], {"patient": {"birth_date": "1950-01-01", "sex": "F"}}),
]


@pytest.mark.parametrize("check_id, note, codes, overrides", QUERY_CHARTS)
def test_tabular_queries_are_lint_clean(ref, check_id, note, codes, overrides):
    queries = [f for f in note_findings(ref, check_id, note, codes, **overrides) if f["action"] == "query"]
    assert queries, "the fixture must give a query"
    for f in queries:
        assert lint.lint_query(f["question"], f["options"], f["check"]) == []
