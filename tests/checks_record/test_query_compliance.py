"""Every query the record checks produce passes the query lint (non-leading, escape answers, a question)."""

from __future__ import annotations

import pytest

from tests.checking import check_findings
from vma.conversations.lint import lint_query
from vma.findings import UNDETERMINED

TODAY_CASES = [
    ("unsigned", {"signature": None}),
    ("unsigned", {"completion_status": "DO"}),
    ("missing-element", {"encounter": {"date_of_service": None}}),
    ("missing-element", {"encounter": {"place_of_service": None, "setting": "telehealth"}}),
    ("missing-element", {"encounter": {"place_of_service": None, "setting": None}}),
    ("missing-element", {"note": {"text": "HPI\n\nCough for three days.\n\nEXAM\n\nLungs clear."}}),
    ("invalid-date", {"encounter": {"date_of_service": "2026-11-30"}}),
    ("invalid-date", {"encounter": {"date_of_service": "soon"}}),
    ("non-billable-code", {"diagnoses": [{"code": "M25.56"}], "note": {"text": "ASSESSMENT\n\nKnee pain."}}),
    ("non-billable-code", {"diagnoses": [{"code": "E11"}], "note": {"text": "ASSESSMENT\n\nType 2 diabetes."}}),
]


@pytest.mark.parametrize("check_id,overrides", TODAY_CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(TODAY_CASES)])
def test_record_check_queries_pass_the_lint(ref, check_id, overrides):
    from datetime import date

    found = [f for f in check_findings(ref, check_id, today=date(2026, 11, 20), **overrides) if f.action == "query"]
    assert found, "the case must produce a query"
    for f in found:
        assert lint_query(f.question, f.options, f.check) == []


def test_poa_query_passes_the_lint_with_its_spec_labels(ref):
    found = check_findings(ref, "poa", encounter={"setting": "inpatient", "place_of_service": "21"},
                           diagnoses=[{"code": "E87.6", "poa": None}],
                           note={"text": "ASSESSMENT\n\nHypokalemia after vomiting before admission."})
    f, = found
    assert f.options[-1] == f"{UNDETERMINED} (POA W)"
    assert lint_query(f.question, f.options, "poa") == []
