"""place-of-service: POS against the setting, telehealth location, and codes that belong elsewhere."""

from __future__ import annotations

import pytest

from tests.checking import claim_chart, claim_findings, line, of

VIDEO_HOME = ("CHIEF COMPLAINT\n\nFollow-up by video.\n\nHISTORY OF PRESENT ILLNESS\n\nThis visit was conducted by "
              "secure video; the patient is at home and consented.\n\nASSESSMENT AND PLAN\n\nHypertension, stable.")
VIDEO_SILENT = "CHIEF COMPLAINT\n\nFollow-up by video.\n\nASSESSMENT AND PLAN\n\nHypertension, stable. Continue lisinopril."


def pos(data, ref):
    return of(claim_findings(data, ref, {"place-of-service"}), "place-of-service")


@pytest.mark.parametrize("setting,code,proc", [
    ("office", "11", "99213"), ("telehealth", "10", "99213"), ("telehealth", "02", "99213"),
    ("inpatient", "21", "99232"), ("emergency", "23", "99283"), ("outpatient-hospital", "22", "99213"),
    ("outpatient-hospital", "19", "99213"), ("inpatient", "21", "27447"),
])
def test_fitting_place_setting_and_code_are_clean(ref, setting, code, proc):
    mods = ["95"] if setting == "telehealth" else []
    assert pos(claim_chart([line(proc, *mods)], setting=setting, place_of_service=code), ref) == []


def test_telehealth_from_home_billed_as_office_is_corrected_to_10(ref):
    (f,) = pos(claim_chart([line("99213", "95")], note=VIDEO_HOME, setting="telehealth", place_of_service="11"), ref)
    assert f.check == "place-of-service" and f.action == "correct" and f.suggested_codes == ["10"]
    assert "telehealth modifier 95" in f.message and "patient is at home" in f.evidence


def test_telehealth_from_elsewhere_is_02(ref):
    note = VIDEO_SILENT.replace("Follow-up by video.", "Follow-up by video; the patient is at work on a break.")
    (f,) = pos(claim_chart([line("99213", "95")], note=note, setting="telehealth", place_of_service="11"), ref)
    assert f.suggested_codes == ["02"]


def test_telehealth_location_not_in_the_note_is_asked(ref):
    (f,) = pos(claim_chart([line("99213", "95")], note=VIDEO_SILENT, setting="telehealth", place_of_service="11"), ref)
    assert f.action == "query" and f.question
    assert f.options[:2] == ["Patient at home: POS 10 (telehealth in patient's home)",
                             "Patient elsewhere: POS 02 (telehealth not in patient's home)"]
    assert f.options[2:] == ["Other", "Clinically undetermined"]


def test_office_visit_billed_with_a_telehealth_pos(ref):
    (f,) = pos(claim_chart([line("99213")], setting="office", place_of_service="10"), ref)
    assert f.action == "correct" and f.suggested_codes == ["11"] and "correct the encounter setting" in f.message


def test_outpatient_hospital_names_both_campus_codes(ref):
    (f,) = pos(claim_chart([line("99213")], setting="outpatient-hospital", place_of_service="11"), ref)
    assert f.suggested_codes == [] and "POS 22" in f.message and "POS 19" in f.message


def test_unknown_pos_code(ref):
    (f,) = pos(claim_chart([line("99213")], place_of_service="88"), ref)
    assert f.action == "correct" and "not a code in the CMS place-of-service code set" in f.message
    assert f.suggested_codes == ["11"]


def test_missing_pos_is_left_to_missing_element(ref):
    assert pos(claim_chart([line("99213")], place_of_service=None), ref) == []


def test_hospital_care_code_in_the_office(ref):
    (f,) = pos(claim_chart([line("99232")], setting="office", place_of_service="11"), ref)
    assert f.code == "99232" and f.target == "procedure:0" and "hospital inpatient or observation care" in f.message


def test_facility_only_procedure_in_the_office(ref):
    (f,) = pos(claim_chart([line("27447", "RT")], setting="office", place_of_service="11"), ref)
    assert f.code == "27447" and "facility-only procedure" in f.message


def test_emergency_visit_codes_need_the_emergency_department(ref):
    (f,) = pos(claim_chart([line("99284")], setting="outpatient-hospital", place_of_service="22"), ref)
    assert f.code == "99284" and "POS 23" in f.message


def test_office_visit_code_on_an_inpatient_claim(ref):
    (f,) = pos(claim_chart([line("99213")], setting="inpatient", place_of_service="21",
                           admission_date="2026-11-15"), ref)
    assert f.code == "99213" and "office or other outpatient visit" in f.message
