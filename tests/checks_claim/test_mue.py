"""mue: units at, under and over the MUE value, line edits (MAI 1) and date-of-service edits (MAI 2/3)."""

from __future__ import annotations

import pytest

from tests.checking import claim_chart, claim_findings, line, of
from vma.config import Settings
from vma.reference import ReferenceData

KNEES = "PROCEDURE\n\nInjection of both knees with triamcinolone.\n\nASSESSMENT AND PLAN\n\nBilateral knee osteoarthritis."


def mue(data, ref):
    return of(claim_findings(data, ref, {"mue"}), "mue")


@pytest.mark.parametrize("units", [1, 2])
def test_units_under_and_at_a_line_edit_are_clean(ref, units):
    assert mue(claim_chart([line("20610", "RT", units=units)], note=KNEES, diagnoses=["M17.0"]), ref) == []


def test_units_over_a_line_edit_deny_the_line(ref):
    (f,) = mue(claim_chart([line("20610", "RT", units=3)], note=KNEES, diagnoses=["M17.0"]), ref)
    assert f.check == "mue" and f.action == "correct" and f.code == "20610" and f.target == "procedure:0"
    assert "MAI 1" in f.message and "denies the whole line" in f.message and "separate lines" in f.message


def test_line_edit_counts_each_line_on_its_own(ref):
    data = claim_chart([line("20610", "RT", units=2), line("20610", "LT", units=2)], note=KNEES, diagnoses=["M17.0"])
    assert mue(data, ref) == []


def test_date_of_service_edit_adds_the_lines_up(ref):
    # 36415 venipuncture: MUE 2, MAI 3 in the sample.
    at = claim_chart([line("36415"), line("36415")])
    over = claim_chart([line("36415"), line("36415", "91"), line("36415", "91")])
    assert mue(at, ref) == []
    (f,) = mue(over, ref)
    assert "3 units of 36415" in f.message and "MAI 3" in f.message and "appeal" in f.message
    assert "line 1" in f.message and "line 3" in f.message


def test_policy_edit_says_an_appeal_will_not_succeed(ref):
    # 99211: MUE 1, MAI 2.
    assert mue(claim_chart([line("99211")]), ref) == []
    (f,) = mue(claim_chart([line("99211", units=2)]), ref)
    assert "MAI 2" in f.message and "appeal will not succeed" in f.message


def test_code_without_an_mue_is_not_judged(ref):
    assert mue(claim_chart([line("99499", units=9)]), ref) == []


def test_real_release_rows_are_read_with_their_indicator(ref):
    edit = ref.mue.get("0009U")
    assert (edit.units, edit.indicator, edit.rationale) == (2, 3, "Nature of Analyte")
    (f,) = mue(claim_chart([line("0009U", units=3)]), ref)
    assert f.code == "0009U"


def test_given_file_replaces_the_sample(tmp_path):
    given = tmp_path / "MCR_MUE_PractitionerServices_Eff_01-01-2027.csv"
    given.write_text('"copyright notice",,,\n"HCPCS/\nCPT Code",Practitioner Services MUE Values,'
                     'MUE Adjudication Indicator,MUE Rationale\n36415,1,2 Date of Service Edit: Policy,Code Descriptor\n')
    loaded = ReferenceData(Settings(vma_mue_file=str(given)))
    assert len(loaded.mue) == 1 and loaded.mue.effective.isoformat() == "2027-01-01"
    assert mue(claim_chart([line("20610", "RT", units=5)]), loaded) == []
    assert [f.code for f in mue(claim_chart([line("36415", units=2)]), loaded)] == ["36415"]


def test_a_bad_row_names_the_record(tmp_path):
    from vma.reference.mue import MueFileError, load_mue

    bad = tmp_path / "mue.csv"
    bad.write_text("36415,two,2 Date of Service Edit: Policy,x\n")
    with pytest.raises(MueFileError, match="record 1 .36415."):
        load_mue(str(bad))
