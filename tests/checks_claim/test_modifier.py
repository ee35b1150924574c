"""modifier: unknown modifiers, sides against the note and the diagnosis, 25, 59/X, telehealth, 26/TC, CQ/CO."""

from __future__ import annotations

import pytest

from tests.checking import claim_chart, claim_findings, line, of

LEFT_KNEE = ("PROCEDURE\n\nLeft knee injection: after consent, 40 mg triamcinolone injected into the left knee.\n\n"
             "ASSESSMENT AND PLAN\n\nPrimary osteoarthritis of left knee. Injection today.")
RIGHT_KNEE = LEFT_KNEE.replace("left", "right").replace("Left", "Right")
NO_SIDE = ("PROCEDURE\n\nKnee injection: after consent, 40 mg triamcinolone injected.\n\n"
           "ASSESSMENT AND PLAN\n\nPrimary osteoarthritis of knee. Injection today.")
VISIT_AND_INJECTION = RIGHT_KNEE + "\n2. Hypertension, home readings high, lisinopril increased to 20 mg."


def mod(data, ref):
    return of(claim_findings(data, ref, {"modifier"}), "modifier")


def test_clean_office_visit_and_clean_procedure_visit(ref):
    assert mod(claim_chart([line("99213")]), ref) == []
    data = claim_chart([line("99214", "25", pointers=[1, 2]), line("20610", "RT"), line("87880", "QW", pointers=[2]),
                        line("36415", pointers=[2])], note=VISIT_AND_INJECTION, diagnoses=["M17.11", "I10"])
    assert mod(data, ref) == []


def test_unknown_modifier_is_rejected(ref):
    (f,) = mod(claim_chart([line("99213", "ZZ")]), ref)
    assert f.check == "modifier" and f.action == "correct" and "ZZ" in f.message and f.suggested_codes == ["99213"]
    (g,) = mod(claim_chart([line("99213", "A")]), ref)
    assert "not a modifier" in g.message


def test_hcpcs_modifier_out_of_force_on_the_date(ref):
    # CP was terminated after 2017-12-31 in the CMS file.
    (f,) = mod(claim_chart([line("99213", "CP")]), ref)
    assert "retired after 2017-12-31" in f.message


def test_side_modifier_contradicting_note_and_diagnosis_is_corrected(ref):
    (f,) = mod(claim_chart([line("20610", "RT")], note=LEFT_KNEE, diagnoses=["M17.12"]), ref)
    assert f.action == "correct" and f.suggested_codes == ["20610-LT"] and "left" in f.evidence.lower()


def test_side_modifier_agreeing_with_the_diagnosis_but_not_the_note_is_asked(ref):
    (f,) = mod(claim_chart([line("20610", "RT")], note=LEFT_KNEE, diagnoses=["M17.11"]), ref)
    assert f.action == "query"
    assert f.options == ["Right side (20610-RT)", "Left side (20610-LT)", "Both sides (20610-50)", "Other",
                         "Clinically undetermined"]


def test_side_missing_is_added_from_the_note(ref):
    (f,) = mod(claim_chart([line("20610")], note=LEFT_KNEE, diagnoses=["M17.12"]), ref)
    assert f.action == "correct" and f.suggested_codes == ["20610-LT"]


def test_side_missing_is_added_from_the_diagnosis_when_the_note_is_silent(ref):
    (f,) = mod(claim_chart([line("20610")], note=NO_SIDE, diagnoses=["M17.12"]), ref)
    assert f.action == "correct" and f.suggested_codes == ["20610-LT"] and "the diagnosis" in f.message


def test_side_not_in_the_note_or_diagnosis_is_asked(ref):
    (f,) = mod(claim_chart([line("20610")], note=NO_SIDE, diagnoses=["M17.9"]), ref)
    assert f.action == "query" and f.question == "On which side was 20610 performed?"


def test_bilateral_note_gets_50_and_rt_lt_together_become_50(ref):
    note = NO_SIDE.replace("Knee injection", "Bilateral knee injection")
    (f,) = mod(claim_chart([line("20610")], note=note, diagnoses=["M17.0"]), ref)
    assert f.suggested_codes == ["20610-50"]
    (g,) = mod(claim_chart([line("20610", "RT", "LT")], note=note, diagnoses=["M17.0"]), ref)
    assert g.suggested_codes == ["20610-50"]
    (h,) = mod(claim_chart([line("20610", "50", "RT")], note=note, diagnoses=["M17.0"]), ref)
    assert h.suggested_codes == ["20610-50"]


def test_em_with_a_minor_procedure_needs_25(ref):
    # 11102 (skin biopsy) has no NCCI edit with the E/M in the sample, so the modifier check reports it.
    note = "PROCEDURE\n\nShave biopsy of a changing nevus on the back.\n\nASSESSMENT AND PLAN\n\nAtypical nevus; diabetes reviewed, metformin adjusted."
    (f,) = mod(claim_chart([line("99213"), line("11102")], note=note, diagnoses=["D48.5", "E11.9"]), ref)
    assert f.code == "99213" and f.suggested_codes == ["99213-25"] and "global" in f.message


def test_em_paired_by_an_ncci_edit_is_left_to_ncci_ptp(ref):
    data = claim_chart([line("99213"), line("20610", "RT")], note=VISIT_AND_INJECTION, diagnoses=["M17.11", "I10"])
    assert mod(data, ref) == []
    assert [f.code for f in of(claim_findings(data, ref, {"ncci-ptp"}), "ncci-ptp")] == ["99213"]


def test_25_on_a_non_em_line(ref):
    (f,) = mod(claim_chart([line("99213", "25"), line("20610", "RT", "25")], note=VISIT_AND_INJECTION,
                           diagnoses=["M17.11", "I10"]), ref)
    assert f.code == "20610" and f.suggested_codes == ["20610-RT"]


def test_25_on_a_lone_em_is_advice(ref):
    (f,) = mod(claim_chart([line("99213", "25")]), ref)
    assert f.action == "info"


def test_problem_visit_with_a_preventive_visit_needs_25(ref):
    (f,) = mod(claim_chart([line("99396"), line("99213")]), ref)
    assert f.code == "99213" and f.suggested_codes == ["99213-25"]
    assert mod(claim_chart([line("99396"), line("99213", "25")]), ref) == []


def test_59_on_an_em_line(ref):
    (f,) = mod(claim_chart([line("99213", "59"), line("11102")]), ref)
    assert f.code == "99213" and "never used on an E/M" in f.message and f.suggested_codes == ["99213-25"]


def test_59_with_an_x_modifier(ref):
    found = mod(claim_chart([line("97530"), line("97140", "59", "XU")]), ref)
    assert [f.suggested_codes for f in found] == [["97140-XU"]]


def test_59_without_any_edit_is_advice(ref):
    (f,) = mod(claim_chart([line("99213"), line("36415", "59")]), ref)
    assert f.action == "info" and f.code == "36415"


def test_59_bypassing_an_indicator_1_edit_is_clean(ref):
    assert mod(claim_chart([line("97530"), line("97140", "59")]), ref) == []


@pytest.mark.parametrize("text,expected", [
    ("Visit by secure video; patient at home.", "95"),
    ("Audio-only visit by telephone; patient at home, no video available.", "93"),
])
def test_telehealth_em_without_its_modifier(ref, text, expected):
    note = f"CHIEF COMPLAINT\n\nFollow-up.\n\nHISTORY OF PRESENT ILLNESS\n\n{text}\n\nASSESSMENT AND PLAN\n\nHypertension, stable."
    (f,) = mod(claim_chart([line("99213")], note=note, setting="telehealth", place_of_service="10"), ref)
    assert f.action == "correct" and f.suggested_codes == [f"99213-{expected}"]
    assert mod(claim_chart([line("99213", expected)], note=note, setting="telehealth", place_of_service="10"), ref) == []


def test_telehealth_modifier_contradicting_the_note(ref):
    note = "HISTORY OF PRESENT ILLNESS\n\nAudio-only visit by telephone; the patient at home.\n\nASSESSMENT AND PLAN\n\nHypertension."
    (f,) = mod(claim_chart([line("99213", "95")], note=note, setting="telehealth", place_of_service="10"), ref)
    assert f.suggested_codes == ["99213-93"]


def test_telehealth_mode_not_documented_is_asked(ref):
    (f,) = mod(claim_chart([line("99213")], setting="telehealth", place_of_service="02"), ref)
    assert f.action == "query" and f.options[:2] == ["Audio and video (99213-95)", "Audio only (99213-93)"]


def test_gt_is_replaced(ref):
    (f,) = mod(claim_chart([line("99213", "GT")], setting="telehealth", place_of_service="10"), ref)
    assert f.suggested_codes == ["99213-95"]


def test_telehealth_modifier_on_an_in_person_visit(ref):
    (f,) = mod(claim_chart([line("99213", "95")]), ref)
    assert f.suggested_codes == ["99213"] and "in-person" in f.message


def test_setting_and_pos_disagreeing_is_left_to_place_of_service(ref):
    assert mod(claim_chart([line("99213", "95")], setting="telehealth", place_of_service="11"), ref) == []


def test_professional_and_technical_components(ref):
    (f,) = mod(claim_chart([line("71046", "26", "TC")]), ref)
    assert f.suggested_codes == ["71046"]
    assert mod(claim_chart([line("71046", "26")]), ref) == []
    (g,) = mod(claim_chart([line("93000", "26")]), ref)
    assert "93010" in g.message and g.suggested_codes == ["93000"]


def test_therapy_assistant_modifiers(ref):
    assert mod(claim_chart([line("97110", "GP", "CQ")], diagnoses=["M54.50"]), ref) == []
    (f,) = mod(claim_chart([line("97110", "CQ")], diagnoses=["M54.50"]), ref)
    assert f.suggested_codes == ["97110-CQ-GP"]
    (g,) = mod(claim_chart([line("97110", "GO", "CQ")], diagnoses=["M54.50"]), ref)
    assert "mismatch" in g.message
    (h,) = mod(claim_chart([line("97161", "GP", "CQ")], diagnoses=["M54.50"]), ref)
    assert "evaluation" in h.message
    (k,) = mod(claim_chart([line("99213", "CQ")]), ref)
    assert "not a therapy code" in k.message
