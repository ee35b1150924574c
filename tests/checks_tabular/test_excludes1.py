"""The "excludes1" check on fixture charts: pairs the tabular forbids, found through
the notes on the code and its ancestors, asked about once, and silence on clean charts."""

from __future__ import annotations


import pytest

from tests.checks_tabular.helpers import assessment, chart, findings
from vma.checks import run_checks
from vma.checks.excludes1 import excluded_pairs, excluding_notes

CHECK = "excludes1"


def test_type1_and_type2_diabetes_both_documented_is_one_query(ref):
    out = findings(ref, CHECK, assessment("Type 1 diabetes mellitus, on insulin pump.",
                                          "Type 2 diabetes mellitus per outside records."), ["E10.9", "E11.9"])
    assert len(out) == 1, "E10 excludes E11 and E11 excludes E10: one finding for the pair"
    f = out[0]
    assert f["check"] == "excludes1" and f["action"] == "query" and f["code"] == "E11.9"
    assert f["options"] == [
        "Type 1 diabetes mellitus without complications (E10.9)",
        "Type 2 diabetes mellitus without complications (E11.9)",
        "Both, as unrelated conditions (E10.9 and E11.9)",
        "Other",
        "Clinically undetermined",
    ]
    assert "E11.-" in f["message"] or "E10.-" in f["message"]
    assert f["suggested_codes"] == []
    assert "Type 1 diabetes" in f["evidence"] and "Type 2 diabetes" in f["evidence"]


def test_query_is_non_leading(ref):
    f = findings(ref, CHECK, assessment("Type 1 diabetes mellitus.", "Type 2 diabetes mellitus."),
                 ["E10.9", "E11.9"])[0]
    low = f["question"].lower()
    for word in ("payment", "reimburse", "drg", "should"):
        assert word not in low
    assert f["question"].endswith("?")


def test_query_choices_carry_the_codes_that_replace_the_pair(ref):
    report = run_checks(chart(assessment("Type 1 diabetes mellitus.", "Type 2 diabetes mellitus."),
                              ["I10", "E10.9", "E11.9"]), ref, only={CHECK})
    f = report.findings[0]
    assert f.target == "diagnosis:1,2"
    assert [c.codes for c in f.choices[:3]] == [["E10.9"], ["E11.9"], ["E10.9", "E11.9"]]
    assert [c.kind for c in f.choices[3:]] == ["other", "undetermined"]


def test_block_level_note_applies_to_every_code_of_the_block(ref):
    # "primary pulmonary hypertension (I27.0)" is written on the block I10-I1A, not on I10.
    assert ("I10-I1A", "primary pulmonary hypertension (I27.0)") in excluding_notes(ref.icd_for(None), "I10", "I27.0")
    out = findings(ref, CHECK, assessment("Essential hypertension, controlled.",
                                          "Primary pulmonary hypertension, followed by pulmonology."),
                   ["I10", "I27.0"])
    assert [(f["check"], f["action"], f["code"]) for f in out] == [("excludes1", "query", "I27.0")]


def test_chapter_level_note_with_a_dash_reference(ref):
    # Chapter 15 excludes "supervision of normal pregnancy (Z34.-)".
    release = ref.icd_for(None)
    assert excluding_notes(release, "O10.019", "Z34.80")
    pairs = excluded_pairs(release, ["O10.019", "Z34.80"])
    assert [(i, j) for i, j, _ in pairs] == [(0, 1)]


def test_range_reference_covers_codes_inside_and_not_outside(ref):
    release = ref.icd_for(None)
    # E11.A excludes "type 2 diabetes mellitus, with complications (E11.0-E11.8)".
    assert excluding_notes(release, "E11.A", "E11.22")
    assert excluding_notes(release, "E11.A", "E11.9")  # named on its own in another note
    assert not excluding_notes(release, "E11.A", "E11.A")
    # I10 excludes hypertension complicating pregnancy (O10-O11, O13-O16): O12 is outside.
    assert excluding_notes(release, "I10", "O10.02")
    assert excluding_notes(release, "I10", "O16.1")
    assert not excluding_notes(release, "I10", "O12.00")


def test_unrelated_stated_by_the_provider_is_info(ref):
    out = findings(ref, CHECK, assessment("Essential hypertension, controlled on lisinopril.",
                                          "Primary pulmonary hypertension, unrelated to her systemic hypertension, "
                                          "managed by pulmonology."),
                   ["I10", "I27.0"])
    assert [(f["action"], f["code"]) for f in out] == [("info", "I27.0")]
    assert "I.A.12.a" in out[0]["message"]


def test_one_condition_not_documented_is_info_not_a_query(ref):
    out = findings(ref, CHECK, assessment("Type 2 diabetes mellitus, A1c 7.1, continue metformin."),
                   ["E11.9", "E10.9"])
    assert len(out) == 1
    assert out[0]["action"] == "info" and out[0]["severity"] == "warning"
    assert "E10.9" in out[0]["message"]


def test_negated_mention_does_not_document_the_condition(ref):
    out = findings(ref, CHECK, assessment("Type 2 diabetes mellitus, stable.",
                                          "No type 1 diabetes mellitus; antibodies negative."),
                   ["E11.9", "E10.9"])
    assert [f["action"] for f in out] == ["info"]


@pytest.mark.parametrize("codes", [
    ["I10"],
    ["I10", "E11.9"],
    ["E11.9", "Z79.84"],
    ["E11.22", "N18.31", "Z79.4"],
    ["M19.029", "M10.9", "L40.9"],
    ["J45.909", "J44.9"],
])
def test_codes_allowed_together_stay_clear(ref, codes):
    assert findings(ref, CHECK, assessment("Chronic conditions reviewed."), codes) == []


def test_the_same_code_twice_is_not_an_excludes1_pair(ref):
    assert findings(ref, CHECK, assessment("Type 2 diabetes."), ["E11.9", "E11.9"]) == []


def test_unknown_codes_are_left_to_invalid_code(ref):
    assert findings(ref, CHECK, assessment("Type 2 diabetes."), ["E11.9", "E10.999", "XYZ"]) == []


def test_three_codes_give_each_excluded_pair_once(ref):
    note = assessment("Type 1 diabetes mellitus.", "Type 2 diabetes mellitus.", "Type 2 diabetes in remission.")
    out = findings(ref, CHECK, note, ["E10.9", "E11.9", "E11.A"])
    pairs = sorted(f["code"] for f in out)
    # E10.9/E11.9, E10.9/E11.A (E10 excludes E11.-), E11.9/E11.A (E11.A excludes E11.9).
    assert len(out) == 3 and pairs == ["E11.9", "E11.A", "E11.A"]



@pytest.mark.parametrize("note, code, named", [
    ("diabetes (E08-E13 with .42)", "E11.42", True),
    ("diabetes (E08-E13 with .42)", "E11.9", False),
    ("diabetic (peripheral) angiopathy (E08-E13 with .51-.52)", "E11.52", True),
    ("diabetic (peripheral) angiopathy (E08-E13 with .51-.52)", "E11.59", False),
    ("skin disorders in diabetes (E08-E13 with .62-)", "E11.620", True),
    ("infectious mononucleosis complicated by meningitis (B27.- with fifth character 2)", "B27.02", True),
    ("infectious mononucleosis complicated by meningitis (B27.- with fifth character 2)", "B27.01", False),
    ("current concussion (brain) (S06.0X- with seventh character A)", "S06.0X0A", True),
    ("current concussion (brain) (S06.0X- with seventh character A)", "S06.0X0D", False),
    ("fluency disorder following cerebrovascular disease (I69. with final characters -23)", "I69.323", True),
    ("fluency disorder following cerebrovascular disease (I69. with final characters -23)", "I69.320", False),
    ("hallucinations in drug psychosis (F11-F19 with fifth to sixth characters 51)", "F12.151", True),
    ("amnestic syndrome due to psychoactive substance use (F10-F19 with 5th character .6)", "F10.26", True),
    ("amnestic syndrome due to psychoactive substance use (F10-F19 with 5th character .6)", "F10.20", False),
    # A qualifier that is not a code position is not guessed at.
    ("diabetic acidosis - see categories E08-E10, E11, E13 with ketoacidosis", "E11.10", False),
    ("open fracture of elbow and forearm (S52.- with open fracture 7th character)", "S52.501B", False),
])
def test_qualified_references_apply_their_qualifier(note, code, named):
    from vma.checks.excludes1 import note_predicates

    assert any(test(code) for test in note_predicates(note)) is named


def test_qualified_reference_on_the_tabular_does_not_flag_other_complications(ref):
    # N08 excludes "diabetes (E08-E13 with .21)": diabetic nephropathy, not diabetic CKD E11.22.
    release = ref.icd_for(None)
    assert excluding_notes(release, "N08", "E11.21")
    assert not excluding_notes(release, "N08", "E11.22")
