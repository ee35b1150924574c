"""invalid-code suggests the code the record supports: the billable code an invalid code only adds
characters to, the one code a keying slip leaves beneath the nearest listed code when the note bears
it out, or the one code beneath a header that the note documents; nothing where the record is silent,
ambiguous or the code belongs to another code set. Fixture notes are synthetic."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from tests.checking import check_findings, engine, record_chart
from vma.checks.support.axes.index import axis_index
from vma.checks import CheckContext
from vma.checks.invalid_code import check as invalid_code
from vma.checks.invalid_code import claimed_words, one_slip_codes
from vma.reference.icd10cm_load import IcdCatalog

FOLLOW_UP = """CHIEF COMPLAINT

Follow-up of chronic conditions.

HISTORY OF PRESENT ILLNESS

Mrs. Irene Kowalski is a 66-year-old woman seen for routine follow-up. She reports good adherence to her
medications and no new complaints.

PHYSICAL EXAMINATION

Cardiovascular: Regular rate and rhythm.
Respiratory: Clear to auscultation bilaterally.

ASSESSMENT AND PLAN

{assessment}

Return in 3 months.
"""


def run(ref, codes, assessment, **overrides):
    note = {"text": FOLLOW_UP.format(assessment=assessment)}
    return check_findings(ref, "invalid-code",
                          diagnoses=[{"code": c, "poa": None} for c in codes], note=note, **overrides)


# -- an invalid code that only adds characters to a billable code -----------------------------------------------

@pytest.mark.parametrize("code, expected, assessment", [
    ("J30.90", "J30.9", "1. Allergic rhinitis. Continue fluticasone nasal spray."),
    ("E78.50", "E78.5", "1. Hyperlipidemia. Continue atorvastatin."),
    ("I10.0", "I10", "1. Essential hypertension, controlled on lisinopril."),
    ("M17.9X", "M17.9", "1. Osteoarthritis of knee. Continue home exercise program."),
])
def test_extra_characters_on_a_billable_code_are_corrected_to_it(ref, code, expected, assessment):
    f, = run(ref, [code], assessment)
    assert f.action == "correct" and f.code == code and f.suggested_codes == [expected]
    assert f"nearest listed code above it is {expected}" in f.message
    assert f"report {expected}" in f.message and "only adds characters" in f.message


def test_extra_characters_suggest_the_code_even_when_the_note_is_terse(ref):
    f, = run(ref, ["E78.50"], "1. Labs reviewed.")
    assert f.suggested_codes == ["E78.5"]
    assert f.evidence == "diagnoses[0].code = 'E78.50'"


def test_evidence_cites_the_note_where_it_documents_the_suggested_code(ref):
    f, = run(ref, ["E78.50"], "1. Hyperlipidemia. Continue atorvastatin.")
    assert "Hyperlipidemia" in f.evidence and "Assessment" in f.evidence


class LaterRelease:
    """The bundled release, and an earlier one where M54.5 was still a billable code."""

    def __init__(self, ref):
        base = ref.icd_for(date(2026, 11, 16))
        base.children("M54")  # the category's chunk of the compiled index, loaded before it is copied
        entries = {k: v for k, v in base._entries.items() if not k.startswith("M54.5")}
        entries["M54.5"] = ("Low back pain", "M54", True, 13, "M50-M54")
        children = {k: v for k, v in base._children.items() if not k.startswith("M54.5")}
        children["M54"] = tuple(c for c in base.children("M54") if not c.startswith("M54.5")) + ("M54.5",)
        early = dataclasses.replace(base, name="ICD-10-CM test-FY2021", effective=date(2020, 10, 1),
                                    _entries=entries, _children=children)
        self.icd_catalog = IcdCatalog([early, base])
        self.cpt, self.hcpcs = ref.cpt, ref.hcpcs  # the service lines are judged by the same check

    def icd_for(self, dos):
        return self.icd_catalog.for_date(dos)


def test_code_of_a_later_release_is_corrected_to_the_code_in_force(ref):
    releases = LaterRelease(ref)
    early = releases.icd_for(date(2021, 6, 1))
    assert "M54.50" not in early and early.is_billable("M54.5")
    ctx = CheckContext(record_chart(diagnoses=[{"code": "M54.50", "poa": None}],
                                    encounter={"date_of_service": "2021-06-01"},
                                    note={"text": FOLLOW_UP.format(assessment="1. Low back pain. Physical therapy.")}),
                       releases)
    f, = invalid_code(ctx)
    assert f.suggested_codes == ["M54.5"]
    assert "lists it" in f.message


# -- a keying slip beneath the nearest listed code ------------------------------------------------------

@pytest.mark.parametrize("code, expected, assessment", [
    ("R73.30", "R73.03", "1. Prediabetes, A1c 6.1. Lifestyle counseling."),
    ("I50.02", "I50.20", "1. Systolic heart failure, euvolemic today. Continue carvedilol."),
    ("M19.302", "M19.032", "1. Primary osteoarthritis of the left wrist. Splint at night."),
])
def test_transposed_characters_with_the_note_bearing_the_code_out(ref, code, expected, assessment):
    f, = run(ref, [code], assessment)
    assert f.suggested_codes == [expected]
    assert f"{code} is {expected} with two adjacent characters swapped" in f.message


def test_slip_to_a_detail_the_note_does_not_document_is_not_followed(ref):
    # K21.10 is K21.01 ("with bleeding") transposed, but the note never mentions bleeding.
    f, = run(ref, ["K21.10"], "1. GERD with esophagitis. Continue pantoprazole.")
    assert f.suggested_codes == []
    assert "Select the code for the documented condition" in f.message


def test_slip_to_a_detail_the_note_negates_is_not_followed(ref):
    f, = run(ref, ["J45.12"], "1. Mild intermittent asthma, no exacerbation. Albuterol as needed.")
    assert f.suggested_codes == []


def test_slip_without_any_mention_of_the_condition_is_not_followed(ref):
    f, = run(ref, ["R73.30"], "1. Essential hypertension, controlled.")
    assert f.suggested_codes == []


def test_one_slip_codes_lists_swaps_and_additions_beneath_the_nearest_code(ref):
    index = axis_index(ref.icd_for(date(2026, 11, 16)))
    assert one_slip_codes(index, "R73.30", "R73") == {"R73.03": "two adjacent characters swapped"}
    assert one_slip_codes(index, "K21.10", "K21") == {"K21.01": "two adjacent characters swapped"}
    # E11.56 -> E11.65 swaps across the header E11.5: not beneath it, so not a fit.
    assert one_slip_codes(index, "E11.56", "E11.5") == {}


def test_what_an_unspecified_clause_leaves_open_is_no_claim():
    assert claimed_words("Malignant neoplasm of left testis, unspecified whether descended or undescended") == (
        "malignant", "neoplasm", "left", "testis")
    assert claimed_words("Unspecified systolic (congestive) heart failure") == ("systolic", "heart", "failure")
    assert claimed_words("Pain in unspecified limb") == ("pain",)


# -- beneath a header, the code the note documents ------------------------------------------------------------

@pytest.mark.parametrize("code, expected, assessment", [
    ("M17.13", "M17.12", "1. Primary osteoarthritis of left knee. Continue meloxicam."),
    ("N18.7", "N18.31", "1. CKD stage 3a, stable creatinine. Avoid NSAIDs."),
    ("J45.12", "J45.21", "1. Mild intermittent asthma with acute exacerbation. Prednisone burst."),
])
def test_header_with_the_note_naming_one_code_beneath_it(ref, code, expected, assessment):
    f, = run(ref, [code], assessment)
    assert f.suggested_codes == [expected]
    assert "The note documents" in f.message and "Assessment" in f.evidence


def test_header_with_the_note_leaving_the_detail_open_gets_no_suggestion(ref):
    f, = run(ref, ["I25.19"], "1. Coronary artery disease, stable. Continue aspirin and statin.")
    assert f.suggested_codes == []


def test_header_with_the_note_documenting_two_codes_gets_no_suggestion(ref):
    f, = run(ref, ["M17.13"], "1. Primary osteoarthritis of left knee and of right knee, worse on the left.")
    assert f.suggested_codes == []  # both sides are documented: not one of the unilateral codes


# -- other code sets and shapes stay as they were ------------------------------------------------------

@pytest.mark.parametrize("code", ["99213", "250.00", "401.9", "XYZ", "Z99.99", "S93.4XXA"])
def test_codes_of_other_code_sets_and_unknown_codes_get_no_suggestion(ref, code):
    f, = run(ref, [code], "1. Essential hypertension. 2. Type 2 diabetes mellitus without complications.")
    assert f.action == "correct" and f.suggested_codes == []


def test_valid_codes_stay_silent(ref):
    assert run(ref, ["K21.9", "E78.5", "R73.03"], "1. GERD. 2. Hyperlipidemia. 3. Prediabetes.") == []


def test_corrected_invalid_code_leaves_the_chart_for_correction_only(ref):
    note = {"text": FOLLOW_UP.format(assessment="1. Allergic rhinitis. Continue fluticasone nasal spray.")}
    report = engine(ref, diagnoses=[{"code": "J30.90", "poa": None}], note=note,
                    procedures=[{"code": "99213", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}])
    found = [f for f in report.findings if f.check == "invalid-code"]
    assert [f.suggested_codes for f in found] == [["J30.9"]]
    assert report.status == "needs_correction"
