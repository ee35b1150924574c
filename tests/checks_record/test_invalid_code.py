"""invalid-code (diagnoses) on fixture charts, including a second release chosen by date of service."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from tests.checking import check_findings, engine, record_chart
from vma.checks import CheckContext
from vma.checks.invalid_code import check as invalid_code
from vma.checks.invalid_code import nearest_listed
from vma.reference.icd10cm_load import IcdCatalog


def dx(*codes):
    return [{"code": c, "poa": None} for c in codes]


def run(ref, *codes, **overrides):
    return check_findings(ref, "invalid-code", diagnoses=dx(*codes), **overrides)


@pytest.mark.parametrize("code", ["I10", "M25.561", "S93.402A", "E11.9", "Z79.84", "m25561", "j189"])
def test_listed_codes_are_valid(ref, code):
    assert run(ref, code) == []


@pytest.mark.parametrize("code", ["S93.401", "S93.402", "T21.11A", "S93.402B", "S93.402Z"])
def test_seventh_character_problems_are_left_to_seventh_character(ref, code):
    assert run(ref, code) == []


@pytest.mark.parametrize("code", ["M25.5", "M25", "S93.40", "E11"])
def test_headers_are_left_to_non_billable_code(ref, code):
    assert run(ref, code) == []


def test_typo_code_is_invalid_with_the_nearest_listed_code(ref):
    f, = run(ref, "M25.5699")
    assert f.check == "invalid-code" and f.action == "correct" and f.severity == "error"
    assert f.code == "M25.5699" and f.target == "diagnosis:0"
    assert "not in ICD-10-CM" in f.message and "2026-11-16" in f.message
    assert "M25.569 (Pain in unspecified knee)" in f.message
    # M25.5699 only adds a character to the billable M25.569 (Guideline I.B.1: no more characters
    # than the tabular gives): the record decides the fix.
    assert f.suggested_codes == ["M25.569"]


def test_header_with_seventh_character_shape_is_invalid(ref):
    # S93.4 is a subcategory: S93.4XXA is not a code, and no 7th-character base sits under it.
    f, = run(ref, "S93.4XXA")
    assert "S93.4 (Sprain of ankle)" in f.message


def test_wrong_base_under_a_seventh_character_category_is_invalid(ref):
    f, = run(ref, "S93.493A")
    assert f.code == "S93.493A"


def test_cpt_in_the_diagnosis_list(ref):
    f, = run(ref, "99213")
    assert "CPT procedure code" in f.message and f.suggested_codes == []


def test_icd9_code(ref):
    f, = run(ref, "250.00")
    assert "ICD-9-CM" in f.message


def test_garbage_code(ref):
    f, = run(ref, "XYZ")
    assert "not shaped like an ICD-10-CM code" in f.message


def test_only_invalid_codes_are_reported_in_their_position(ref):
    found = run(ref, "I10", "Z99.99", "E11.9", "Q99.99")
    assert [(f.code, f.target) for f in found] == [("Z99.99", "diagnosis:1"), ("Q99.99", "diagnosis:3")]


def test_nearest_listed_code(ref):
    icd = ref.icd_for(date(2026, 11, 16))
    assert nearest_listed(icd, "M25.5699") == "M25.569"
    assert nearest_listed(icd, "I10.9") == "I10"
    assert nearest_listed(icd, "U99.9") is None


class TwoReleases:
    """The bundled release, and a later one that adds a code, each chosen by date of service."""

    def __init__(self, ref):
        base = ref.icd_for(date(2026, 11, 16))
        entries = dict(base._entries)
        entries["M25.5A"] = ("Pain in knee, test-only code", "M25.5", True, 13, "M20-M25")
        later = dataclasses.replace(base, name="ICD-10-CM test-FY2027", effective=date(2026, 10, 1), _entries=entries)
        early = dataclasses.replace(base, effective=date(2026, 4, 1))
        self.icd_catalog = IcdCatalog([early, later])
        self.cpt, self.hcpcs = ref.cpt, ref.hcpcs  # the service lines are judged by the same check

    def icd_for(self, dos):
        return self.icd_catalog.for_date(dos)


def test_code_from_a_later_release_is_invalid_before_it_takes_effect(ref):
    two = TwoReleases(ref)
    before = CheckContext(record_chart(diagnoses=dx("M25.5A"), encounter={"date_of_service": "2026-09-15"}), two)
    f, = invalid_code(before)
    assert "test-FY2027 (effective 2026-10-01, which takes effect later) lists it" in f.message
    after = CheckContext(record_chart(diagnoses=dx("M25.5A")), two)
    assert invalid_code(after) == []


def test_invalid_code_holds_the_chart_for_correction(ref):
    report = engine(ref, diagnoses=dx("M25.5699"), procedures=[])
    assert "invalid-code" in [f.check for f in report.findings]
    assert report.status in ("needs_correction", "needs_query")
