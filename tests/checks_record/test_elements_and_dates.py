"""missing-element and invalid-date on fixture charts."""

from __future__ import annotations

from datetime import date

import pytest

from tests.checking import check_findings, engine
from vma.findings import OTHER, UNDETERMINED

TODAY = date(2026, 11, 20)
NO_ASSESSMENT = "CHIEF COMPLAINT\n\nCough.\n\nHISTORY OF PRESENT ILLNESS\n\nThree days of dry cough.\n\nPHYSICAL EXAM\n\nLungs clear."

# -- missing-element ------------------------------------------------------------------------------


def test_complete_chart_has_no_missing_element(ref):
    assert check_findings(ref, "missing-element") == []


def test_missing_date_of_service_is_asked_offering_the_signing_date(ref):
    f, = check_findings(ref, "missing-element", encounter={"date_of_service": None})
    assert f.check == "missing-element" and f.action == "query" and f.severity == "error"
    assert "date of service" in f.message
    assert f.options == ["The encounter was on 2026-11-16, the day the note was signed", OTHER, UNDETERMINED]
    assert [c.value for c in f.choices][:1] == ["2026-11-16"]


def test_missing_date_of_service_on_an_unsigned_note_comes_from_scheduling(ref):
    f, = check_findings(ref, "missing-element", encounter={"date_of_service": None}, signature=None)
    assert f.action == "correct" and "scheduling" in f.message


def test_blank_npi_is_missing(ref):
    f, = check_findings(ref, "missing-element", provider={"npi": ""})
    assert "NPI" in f.message and f.action == "correct" and "provider directory" in f.message


@pytest.mark.parametrize("setting,pos", [("office", "11"), ("emergency", "23")])
def test_missing_place_of_service_is_corrected_from_the_setting(ref, setting, pos):
    f, = check_findings(ref, "missing-element", encounter={"place_of_service": None, "setting": setting})
    assert f.action == "correct" and f.suggested_codes == [pos]
    assert "place of service" in f.message


def test_missing_place_of_service_for_telehealth_is_asked(ref):
    f, = check_findings(ref, "missing-element", encounter={"place_of_service": None, "setting": "telehealth"})
    assert f.action == "query"
    assert f.options == ["Telehealth provided other than in the patient's home (POS 02)",
                         "Telehealth provided in the patient's home (POS 10)", OTHER, UNDETERMINED]


def test_missing_place_of_service_without_setting_is_asked(ref):
    f, = check_findings(ref, "missing-element", encounter={"place_of_service": None, "setting": None})
    assert f.action == "query" and "no setting" in f.message


def test_inpatient_chart_needs_no_place_of_service(ref):
    found = check_findings(ref, "missing-element",
                           encounter={"place_of_service": None, "setting": "inpatient", "admission_date": "2026-11-15"})
    assert found == []


def test_missing_birth_date_and_sex_are_two_findings(ref):
    found = check_findings(ref, "missing-element", patient={"birth_date": None, "sex": None})
    assert [f.target for f in found] == ["element:patient.birth_date", "element:patient.sex"]
    assert "birth date" in found[0].message and "sex" in found[1].message
    assert all(f.action == "correct" for f in found)


def test_missing_sex_mentions_what_the_note_says(ref):
    note = {"text": "HPI\n\nA 52-year-old male with hypertension.\n\nASSESSMENT\n\nEssential hypertension."}
    f, = check_findings(ref, "missing-element", patient={"sex": ""}, note=note)
    assert "describes the patient as male" in f.message


def test_no_diagnoses_with_an_assessment_is_a_coding_correction(ref):
    f, = check_findings(ref, "missing-element", diagnoses=[])
    assert f.action == "correct" and "diagnosis" in f.message


def test_no_assessment_is_asked(ref):
    f, = check_findings(ref, "missing-element", note={"text": NO_ASSESSMENT})
    assert f.action == "query" and "assessment" in f.message
    assert f.options == ["Assessment added to the note", OTHER, UNDETERMINED]


def test_no_assessment_and_no_diagnoses_is_one_query(ref):
    f, = check_findings(ref, "missing-element", note={"text": NO_ASSESSMENT}, diagnoses=[])
    assert f.action == "query" and "No diagnosis codes" in f.message


@pytest.mark.parametrize("text", [
    "HPI: cough for three days.\nImpression: acute bronchitis.",
    "S: cough\nO: lungs clear\nAssessment: viral URI\nPlan: fluids",
    "Cough for three days.\n\nIMPRESSION\n\nAcute bronchitis.",
    "Cough.\nA/P: acute bronchitis, supportive care.",
])
def test_assessment_in_other_forms_is_found(ref, text):
    assert check_findings(ref, "missing-element", note={"text": text}) == []


def test_assessment_given_as_a_section(ref):
    note = {"text": None, "sections": {"hpi": "Cough.", "assessment": "Acute bronchitis."}}
    assert check_findings(ref, "missing-element", note=note) == []


def test_a_plan_written_problem_by_problem_is_the_assessment(ref):
    # no ASSESSMENT heading: the PLAN names the coded condition and what is done for it
    text = "HPI\n\nBlood pressure check.\n\nPLAN\n\nEssential hypertension.\n- Continue lisinopril 10 mg daily."
    assert check_findings(ref, "missing-element", note={"text": text}) == []


def test_a_plan_that_names_no_condition_is_no_assessment(ref):
    text = "HPI\n\nBlood pressure check.\n\nPLAN\n\nFollow up in 3 months. Labs before the visit."
    f, = check_findings(ref, "missing-element", note={"text": text})
    assert f.action == "query" and "assessment" in f.message


def test_empty_assessment_heading_does_not_count(ref):
    f, = check_findings(ref, "missing-element", note={"text": "HPI\n\nCough.\n\nASSESSMENT\n\n"})
    assert "assessment" in f.message


def test_every_element_missing_gives_one_finding_each(ref):
    found = check_findings(ref, "missing-element", encounter={"date_of_service": None, "place_of_service": None},
                           provider={"npi": None}, patient={"birth_date": None, "sex": None},
                           note={"text": NO_ASSESSMENT}, diagnoses=[])
    assert [f.target for f in found] == ["element:date_of_service", "element:provider.npi",
                                         "element:place_of_service", "element:patient.birth_date",
                                         "element:patient.sex", "element:assessment"]


# -- invalid-date ----------------------------------------------------------------------------------


def test_consistent_dates_are_clear(ref):
    assert check_findings(ref, "invalid-date", today=TODAY) == []


@pytest.mark.parametrize("value", ["2026-02-30", "next Tuesday", "2026-13-01", "16.11.2026"])
def test_date_of_service_not_a_date(ref, value):
    f, = check_findings(ref, "invalid-date", today=TODAY, encounter={"date_of_service": value})
    assert f.check == "invalid-date" and f.action == "query" and "not a date" in f.message
    assert f.options == ["The encounter was on 2026-11-16, the day the note was signed", OTHER, UNDETERMINED]


def test_date_of_service_not_a_date_on_unsigned_note_comes_from_scheduling(ref):
    f, = check_findings(ref, "invalid-date", today=TODAY, encounter={"date_of_service": "n/a"}, signature=None)
    assert f.action == "correct" and "scheduling" in f.message


def test_us_form_date_is_corrected_to_iso(ref):
    f, = check_findings(ref, "invalid-date", today=TODAY, encounter={"date_of_service": "11/16/2026"})
    assert f.action == "correct" and "2026-11-16" in f.message


def test_future_date_of_service(ref):
    found = check_findings(ref, "invalid-date", today=TODAY, encounter={"date_of_service": "2026-12-01"},
                           signature={"signed_at": "2026-12-01T10:00:00-05:00"})
    assert len(found) == 1 and "in the future" in found[0].message


def test_date_of_service_today_is_not_future(ref):
    assert check_findings(ref, "invalid-date", today=date(2026, 11, 16)) == []


def test_date_of_service_after_the_signature(ref):
    f, = check_findings(ref, "invalid-date", today=TODAY, encounter={"date_of_service": "2026-11-18"})
    assert "after the note was signed" in f.message and f.action == "query"


def test_signed_late_evening_same_day_is_fine(ref):
    assert check_findings(ref, "invalid-date", today=TODAY,
                          signature={"signed_at": "2026-11-16T23:59:00-08:00"}) == []


def test_signed_days_later_is_fine(ref):
    assert check_findings(ref, "invalid-date", today=TODAY, signature={"signed_at": "2026-11-19T08:00:00Z"}) == []


def test_signing_time_not_a_date(ref):
    f, = check_findings(ref, "invalid-date", today=TODAY, signature={"signed_at": "yesterday"})
    assert "signing time" in f.message


def test_unsigned_chart_has_no_date_finding(ref):
    assert check_findings(ref, "invalid-date", today=TODAY, signature=None) == []


def test_admission_after_date_of_service(ref):
    f, = check_findings(ref, "invalid-date", today=TODAY,
                        encounter={"setting": "inpatient", "place_of_service": "21", "admission_date": "2026-11-17"})
    assert "admission date 2026-11-17 is after the date of service" in f.message


def test_admission_on_or_before_date_of_service_is_fine(ref):
    for admit in ("2026-11-16", "2026-11-10"):
        assert check_findings(ref, "invalid-date", today=TODAY, encounter={"admission_date": admit}) == []


def test_admission_date_not_a_date(ref):
    f, = check_findings(ref, "invalid-date", today=TODAY, encounter={"admission_date": "soon"})
    assert "admission date" in f.message


def test_birth_date_after_service_or_not_a_date(ref):
    f, = check_findings(ref, "invalid-date", today=TODAY, patient={"birth_date": "2027-01-01"})
    assert f.action == "correct" and "birth date" in f.message
    f, = check_findings(ref, "invalid-date", today=TODAY, patient={"birth_date": "unknown"})
    assert "not a date" in f.message


def test_missing_date_of_service_is_left_to_missing_element(ref):
    assert check_findings(ref, "invalid-date", today=TODAY, encounter={"date_of_service": None}) == []


def test_default_today_is_never_before_the_local_date():
    from datetime import datetime

    from vma.checks import CheckContext
    from tests.checking import record_chart

    ctx = CheckContext(record_chart(), ref=None)
    assert ctx.today >= datetime.now().date()


def test_future_chart_through_the_engine(ref):
    report = engine(ref, encounter={"date_of_service": "2999-01-01"}, signature={"signed_at": "2999-01-01T10:00:00Z"})
    assert [f.check for f in report.findings] == ["invalid-date"]


def test_clinical_staff_visit_needs_no_assessment(ref):
    note = {"text": "NURSE VISIT\n\nBlood pressure check per Dr. Lopez. 128/78. No change."}
    procs = [{"code": "99211", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}]
    assert check_findings(ref, "missing-element", note=note, procedures=procs) == []
    procs = [{"code": "99213", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}]
    f, = check_findings(ref, "missing-element", note=note, procedures=procs)
    assert "assessment" in f.message


def test_soap_a_line_is_an_assessment(ref):
    assert check_findings(ref, "missing-element", note={"text": "S: cough\nO: clear lungs\nA: viral bronchitis\nP: fluids"}) == []
