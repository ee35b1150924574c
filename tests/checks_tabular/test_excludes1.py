"""The "excludes1" check on fixture charts: pairs the tabular forbids, found through
the notes on the code and its ancestors, decided from the record where the tabular and
the guidelines decide them (symptom with its diagnosis, combination code with its
component, the stated diabetes type, one condition refuted), asked about once where only
the provider can say, and silence on clean charts and Excludes2 pairs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.checking import assessment, coded_chart, fixture_files, fixture_report, load_fixture, note_findings
from vma.checks import run_checks
from vma.checks.support.exclusions.pairs import excluded_pairs, excluding_notes
from vma.checks.support.exclusions.readings import combination_covers, diabetes_kind
from vma.conversations import lint

CHECK = "excludes1"


def test_type1_and_type2_diabetes_both_documented_is_one_query(ref):
    out = note_findings(ref, CHECK, assessment("Type 1 diabetes mellitus, on insulin pump.",
                                               "Type 2 diabetes mellitus per outside records."), ["E10.9", "E11.9"])
    assert len(out) == 1, "E10 excludes E11 and E11 excludes E10: one finding for the pair"
    f = out[0]
    assert f["check"] == "excludes1" and f["action"] == "query" and f["code"] == "E11.9"
    assert f["options"] == [
        "Type 1 diabetes mellitus without complications (E10.9)",
        "Type 2 diabetes mellitus without complications (E11.9)",
        "Other specified diabetes mellitus without complications (E13.9)",
        "Other",
        "Clinically undetermined",
    ]
    assert "E11.-" in f["message"] or "E10.-" in f["message"]
    assert f["suggested_codes"] == []
    assert "Type 1 diabetes" in f["evidence"] and "Type 2 diabetes" in f["evidence"]


def test_a_pair_the_one_step_correction_removes_is_not_asked(ref):
    # J30 excludes "allergic rhinitis with asthma (J45.909)"; the note documents moderate persistent asthma, so
    # J45.909 becomes J45.40, which J30.2 may stand beside: no question about a pair the record dissolves
    out = note_findings(ref, CHECK, assessment("Moderate persistent asthma, uncomplicated. Continue Symbicort.",
                                               "Seasonal allergic rhinitis. Cetirizine in spring and fall."),
                        ["J45.909", "J30.2"])
    assert out == []


def test_the_same_pair_with_asthma_unspecified_is_still_asked(ref):
    out = note_findings(ref, CHECK, assessment("Asthma. Albuterol as needed.",
                                               "Seasonal allergic rhinitis. Cetirizine in spring and fall."),
                        ["J45.909", "J30.2"])
    assert [f["check"] for f in out] == ["excludes1"]


def test_tobacco_use_beside_the_nicotine_dependence_the_note_documents_goes(ref):
    out = note_findings(ref, CHECK, assessment("COPD, new diagnosis. Start albuterol.",
                                               "She continues to smoke, a couple of cigarettes daily; cessation counseled."),
                        ["J44.9", "F17.210", "Z72.0"])
    assert [(f["check"], f["action"], f["code"], f["suggested_codes"]) for f in out] == [
        ("excludes1", "correct", "Z72.0", ["F17.210"])]


def test_query_is_non_leading(ref):
    f = note_findings(ref, CHECK, assessment("Type 1 diabetes mellitus.", "Type 2 diabetes mellitus."),
                      ["E10.9", "E11.9"])[0]
    low = f["question"].lower()
    for word in ("payment", "reimburse", "drg", "should"):
        assert word not in low
    assert f["question"].endswith("?")


def test_query_choices_carry_the_codes_that_replace_the_pair(ref):
    report = run_checks(coded_chart(assessment("Type 1 diabetes mellitus.", "Type 2 diabetes mellitus."),
                                    ["I10", "E10.9", "E11.9"]), ref, only={CHECK})
    f = report.findings[0]
    assert f.target == "diagnosis:1,2"
    assert [c.codes for c in f.choices[:3]] == [["E10.9"], ["E11.9"], ["E13.9"]]
    assert [c.kind for c in f.choices[3:]] == ["other", "undetermined"]


def test_block_level_note_applies_to_every_code_of_the_block(ref):
    # "primary pulmonary hypertension (I27.0)" is written on the block I10-I1A, not on I10.
    assert ("I10-I1A", "primary pulmonary hypertension (I27.0)") in excluding_notes(ref.icd_for(None), "I10", "I27.0")
    out = note_findings(ref, CHECK, assessment("Essential hypertension, controlled.",
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
    out = note_findings(ref, CHECK, assessment("Essential hypertension, controlled on lisinopril.",
                                               "Primary pulmonary hypertension, unrelated to her systemic hypertension, "
                                               "managed by pulmonology."),
                        ["I10", "I27.0"])
    assert [(f["action"], f["code"]) for f in out] == [("info", "I27.0")]
    assert "I.A.12.a" in out[0]["message"]


def test_stated_type_wins_over_the_other_type(ref):
    # Was "info" while the check never corrected: the note states type 2, which contradicts type 1
    # (Guideline I.C.4.a), so the record itself decides the pair.
    out = note_findings(ref, CHECK, assessment("Type 2 diabetes mellitus, A1c 7.1, continue metformin."),
                        ["E11.9", "E10.9"])
    assert [(f["action"], f["code"], f["suggested_codes"]) for f in out] == [("correct", "E10.9", ["E11.9"])]
    assert "Keep E11.9 and remove E10.9" in out[0]["message"]
    assert "I.C.4.a" in out[0]["message"]
    assert out[0]["question"] is None and out[0]["options"] == []


def test_negated_mention_does_not_document_the_condition(ref):
    out = note_findings(ref, CHECK, assessment("Type 2 diabetes mellitus, stable.",
                                               "No type 1 diabetes mellitus; antibodies negative."),
                        ["E11.9", "E10.9"])
    assert [(f["action"], f["code"], f["suggested_codes"]) for f in out] == [("correct", "E10.9", ["E11.9"])]


@pytest.mark.parametrize("codes", [
    ["I10"],
    ["I10", "E11.9"],
    ["E11.9", "Z79.84"],
    ["E11.22", "N18.31", "Z79.4"],
    ["M19.029", "M10.9", "L40.9"],
    ["J45.909", "J44.9"],
])
def test_codes_allowed_together_stay_clear(ref, codes):
    assert note_findings(ref, CHECK, assessment("Chronic conditions reviewed."), codes) == []


def test_the_same_code_twice_is_not_an_excludes1_pair(ref):
    assert note_findings(ref, CHECK, assessment("Type 2 diabetes."), ["E11.9", "E11.9"]) == []


def test_unknown_codes_are_left_to_invalid_code(ref):
    assert note_findings(ref, CHECK, assessment("Type 2 diabetes."), ["E11.9", "E10.999", "XYZ"]) == []


def test_three_codes_give_each_excluded_pair_once(ref):
    note = assessment("Type 1 diabetes mellitus.", "Type 2 diabetes mellitus.", "Type 2 diabetes in remission.")
    out = note_findings(ref, CHECK, note, ["E10.9", "E11.9", "E11.A"])
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
    from vma.checks.support.exclusions.pairs import note_predicates

    assert any(test(code) for test in note_predicates(note)) is named


def test_qualified_reference_on_the_tabular_does_not_flag_other_complications(ref):
    # N08 excludes "diabetes (E08-E13 with .21)": diabetic nephropathy, not diabetic CKD E11.22.
    release = ref.icd_for(None)
    assert excluding_notes(release, "N08", "E11.21")
    assert not excluding_notes(release, "N08", "E11.22")


# -- decided, not deferred: the fixture charts in tests/fixtures/excludes1/ ----------------------------------
# tests/test_check_fixtures.py compares their findings; here, what every excludes1 finding on them keeps.

FIXTURE_FILES = fixture_files(CHECK)


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_fixture_findings_quote_the_note_and_say_what_to_keep(path: Path, ref):
    data = load_fixture(path)
    report = json.loads(fixture_report(data, ref).model_dump_json())
    codes = [dx if isinstance(dx, str) else dx["code"] for dx in data["diagnoses"]]
    got = report["findings"]
    assert len(got) == len(data["expected"]), data["description"]
    for f in got:
        assert f["check"] == CHECK
        for quoted in re.findall(r'"([^"]+)"', f["evidence"]):
            words = quoted.removesuffix(" ...").rstrip(" .")
            assert words in " ".join(data["note"].split()), f"evidence not from the note: {quoted}"
        if f["action"] == "correct":
            kept, dropped = f["suggested_codes"][0], f["code"]
            if kept in codes:
                assert f"Keep {kept} and remove {dropped}." in f["message"]
            else:  # a combination code the guidelines presume replaces the pair (I.C.9.b)
                assert f"Code {kept} in place of " in f["message"] and "I.C.9.b" in f["message"]
            assert dropped in codes
            assert report["status"] == "needs_correction"
        if f["action"] == "query":
            assert lint.lint_query(f["question"], f["options"], f["check"]) == []


def test_every_rule_has_fixtures_including_silent_ones():
    kinds: dict[str, int] = {}
    for path in FIXTURE_FILES:
        kinds[path.stem.split("-")[0]] = kinds.get(path.stem.split("-")[0], 0) + 1
        data = load_fixture(path)
        assert data["description"] and data["note"] and len(data["diagnoses"]) >= 2
    for kind in ("sym", "comb", "type", "one", "both", "unrelated", "excludes2", "no"):
        assert kinds.get(kind), f"no fixture for {kind}"
    assert sum(1 for p in FIXTURE_FILES if not load_fixture(p)["expected"]) >= 3


def test_dev_style_correction_targets_both_positions_and_keeps_one(ref):
    report = run_checks(coded_chart(assessment("Newly diagnosed allergic asthma, start montelukast.",
                                               "Essential hypertension, controlled."),
                                    ["I10", "R06.2", "J45.909"]), ref, only={CHECK})
    [f] = report.findings
    assert (f.action, f.code, f.suggested_codes, f.target) == ("correct", "R06.2", ["J45.909"], "diagnosis:1,2")
    assert report.status == "needs_correction"


def test_definitive_diagnosis_the_reader_cannot_find_is_asked_not_dropped(ref):
    # The chart carries asthma, the note only a wheeze: never drop the diagnosis on a reading miss.
    out = note_findings(ref, CHECK, assessment("Wheezing on exam, albuterol as needed."), ["J45.909", "R06.2"])
    assert [(f["action"], f["code"]) for f in out] == [("query", "R06.2")]
    assert out[0]["question"].startswith("The diagnoses reported for this encounter are")


def test_symptom_is_dropped_even_when_the_note_negates_it(ref):
    # "No wheezing today" beside an asthma diagnosis: the diagnosis stands, the R code has nothing to add.
    out = note_findings(ref, CHECK, assessment("Moderate persistent asthma, no wheezing today, continue fluticasone."),
                        ["J45.40", "R06.2"])
    assert [(f["action"], f["code"], f["suggested_codes"]) for f in out] == [("correct", "R06.2", ["J45.40"])]


def test_type_stated_for_someone_else_is_not_the_patients_type(ref):
    out = note_findings(ref, CHECK, assessment("Diabetes mellitus, on insulin glargine.",
                                               "Family history: her sister has type 1 diabetes."), ["E10.9", "E11.9"])
    assert [(f["action"], f["code"], f["suggested_codes"]) for f in out] == [("correct", "E10.9", ["E11.9"])]
    assert "I.C.4.a.2" in out[0]["message"]


def test_diabetes_insipidus_is_not_diabetes_mellitus(ref):
    # "Diabetes insipidus" names no diabetes mellitus type: E11 is not documented by default, so the
    # glucose finding is not dropped on it.
    out = note_findings(ref, CHECK, assessment("Central diabetes insipidus on desmopressin.",
                                               "Elevated fasting glucose, recheck in 3 months."), ["E11.9", "R73.01"])
    assert [f["action"] for f in out] == ["query"]


def test_other_stated_diabetes_type_contradicts_type_2(ref):
    out = note_findings(ref, CHECK, assessment("Steroid-induced diabetes mellitus while on prednisone for her COPD."),
                        ["E09.9", "E11.9"])
    assert [(f["action"], f["code"], f["suggested_codes"]) for f in out] == [("correct", "E11.9", ["E09.9"])]


def test_symptom_beside_a_diabetes_of_another_stated_type_is_asked(ref):
    # The note says type 1 but the chart carries E11.9 with the glucose finding: the finding is not the
    # answer and neither is E11.9, so nothing is corrected on a guess.
    out = note_findings(ref, CHECK, assessment("Type 1 diabetes mellitus, glucose 260 in clinic today."),
                        ["E11.9", "R73.9"])
    assert [f["action"] for f in out] == ["query"]


@pytest.mark.parametrize("broad, narrow", [
    ("M51.16", "M54.16"),   # disc disorder with radiculopathy, lumbar / radiculopathy, lumbar
    ("M47.26", "M54.16"),   # spondylosis with radiculopathy / radiculopathy
    ("M54.41", "M54.31"),   # lumbago with sciatica / sciatica
    ("K21.00", "K20.90"),   # GERD with esophagitis, without bleeding / esophagitis without bleeding
    ("I25.110", "I20.0"),   # ASHD with unstable angina / unstable angina
    ("E11.649", "E16.2"),   # diabetes with hypoglycemia / hypoglycemia
    ("R50.9", "R68.83"),    # inclusion term "Fever with chills" / chills (without fever)
    # The narrower code's inclusion term ("Lumbago NOS") as the pair's Excludes1 note words it:
    # "lumbago due to intervertebral disc displacement (M51.2-)".
    ("M51.26", "M54.50"),
    ("F05", "R41.0"),       # "delirium due to known physiological condition (F05)"; R41.0 includes delirium NOS
])
def test_combination_code_covers_its_component(ref, broad, narrow):
    release = ref.icd_for(None)
    assert combination_covers(release, broad, narrow)
    assert not combination_covers(release, narrow, broad)


@pytest.mark.parametrize("a, b", [
    ("K21.01", "K20.90"),    # with bleeding does not cover "without bleeding"
    ("R68.0", "T68.XXXA"),   # "Hypothermia, not associated with low environmental temperature" affirms no cause
    ("F52.6", "N94.10"),     # "not due to a substance": not a combination
    ("I27.0", "I10"),        # primary pulmonary hypertension is not hypertension "with" anything
    ("I10", "I27.0"),
    ("J45.909", "R06.2"),    # a symptom pair, not a combination by wording
    ("E11.9", "E10.9"),
    ("S72.46", "S72.45"),    # with / without intracondylar extension: two branches of one axis
    ("I25.10", "I20.9"),     # atherosclerotic heart disease "without angina pectoris"
    ("K35.80", "K65.0"),     # the note names K35.- as a whole; K35.80 itself says nothing of peritonitis
    ("M51.26", "M54.59"),    # "Other low back pain" is not the lumbago the combination holds
])
def test_codes_that_are_not_combinations_of_each_other(ref, a, b):
    assert not combination_covers(ref.icd_for(None), a, b)


@pytest.mark.parametrize("code, kind", [
    ("E10.9", "type 1"), ("E10.65", "type 1"), ("E11.9", "type 2"), ("E11.A", "type 2"),
    ("E08.9", "other type"), ("E09.9", "other type"), ("E13.9", "other type"),
    ("O24.419", None), ("R73.09", None), ("I10", None),
])
def test_diabetes_kind_comes_from_the_tabular_block_and_category(ref, code, kind):
    assert diabetes_kind(ref.icd_for(None), code) == kind


def test_excludes2_notes_are_never_read(ref):
    release = ref.icd_for(None)
    # J45 lists "asthma with chronic obstructive pulmonary disease (J44.89)" as Excludes2 only.
    assert any("J44.89" in n for _, n in release.inherited_notes("J45.909", "excludes2"))
    assert excluded_pairs(release, ["J45.909", "J44.89"]) == []
    note = assessment("Asthma with chronic obstructive pulmonary disease.", "Wheezing on exam.")
    assert note_findings(ref, CHECK, note, ["J45.909", "J44.89"]) == []


@pytest.mark.parametrize("line, kept, dropped", [
    # Insulin (non-)dependence names no type (Index: Diabetes, insulin dependent - code to type;
    # Guideline I.C.4.a.3), so the type 2 default applies.
    ("NIDDM, on metformin.", "E11.9", "E10.9"),
    ("IDDM, on insulin glargine.", "E11.9", "E10.9"),
    # "secondary to diabetes" says what the neuropathy is due to, not that the diabetes is secondary.
    ("Peripheral neuropathy secondary to diabetes, on gabapentin.", "E11.9", "E10.9"),
    ("Juvenile onset diabetes, on insulin pump.", "E10.9", "E11.9"),
    ("Diabetes mellitus type II, A1c 7.4.", "E11.9", "E10.9"),
])
def test_how_the_note_states_the_diabetes_type(ref, line, kept, dropped):
    out = note_findings(ref, CHECK, assessment(line), ["E10.9", "E11.9"])
    assert [(f["action"], f["code"], f["suggested_codes"]) for f in out] == [("correct", dropped, [kept])]
