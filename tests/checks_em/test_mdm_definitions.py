"""The MDM reader and the new/established reading against the AMA CPT E/M definitions, wording by wording.

Each class of wording the AMA table counts is read as it counts it, and the traps next to each class (a
deferred treatment, a report rather than an image, a vaccine, a visit with another provider) stay out.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import base_chart
from vma.chart import Chart
from vma.checks import CheckContext, run_checks
from vma.checks.support.new_or_established import prior_visit
from vma.checks.support.mdm.data_and_risk import risk_of_management, unique_tests
from vma.checks.support.mdm.problems import problem_items
from vma.checks.support.mdm.reader import estimate_mdm
from vma.checks.support.mdm.wording import ACUTE, CHRONIC, EXACERBATION, HIGH, LOW, MODERATE, STRAIGHTFORWARD, SYSTEMIC
from vma.checks.support.notes.document import NoteDoc


def mdm_of(text: str, coded=()):
    return estimate_mdm(NoteDoc.from_chart_note(text, None), list(coded))


def one_problem(item: str, hpi: str = "") -> tuple[str, int]:
    history = f"HISTORY OF PRESENT ILLNESS\n\n{hpi}\n\n" if hpi else ""
    estimate = mdm_of(f"{history}ASSESSMENT AND PLAN\n\n{item}")
    (problem,) = estimate.problems
    return problem.kind, estimate.problems_level


# -- problems addressed ---------------------------------------------------------------

@pytest.mark.parametrize("item, kind", [
    # A chronic illness not at its treatment goal is not stable (AMA definition of "stable"): treatment started...
    ("1. Hypothyroidism, newly diagnosed.\n- Medical Treatment: Start levothyroxine 50 mcg daily.", EXACERBATION),
    ("1. Neovascular macular degeneration, right eye.\n- Medical Treatment: We will proceed with monthly "
     "intravitreal aflibercept injections.", EXACERBATION),
    # ...or a medication raised for it.
    ("1. Hypertension.\n- Medical Treatment: Increase losartan to 100 mg daily.", EXACERBATION),
    ("1. Type 2 diabetes.\n- Medical Treatment: We will increase her dose of glipizide.", EXACERBATION),
    ("1. Hypertension.\n- Medical Reasoning: Her blood pressure is elevated today.", EXACERBATION),
    ("1. Gout flare, left knee.\n- Medical Treatment: Colchicine 0.6 mg twice daily.", EXACERBATION),
    # Traps: kept stable.
    ("1. Depression.\n- Medical Treatment: We will defer initiating medication at this time.", CHRONIC),
    ("1. Hypertension.\n- Medical Reasoning: Controlled.\n- Patient Education and Counseling: Report any elevated "
     "readings to me.\n- Medical Treatment: Continue lisinopril 10 mg.", CHRONIC),
    ("1. Gout.\n- Medical Reasoning: Her flares are well controlled on allopurinol.", CHRONIC),
    # An acute uncomplicated injury stays acute when treatment starts for it.
    ("1. Right ankle sprain.\n- Medical Treatment: Start meloxicam 15 mg daily.", ACUTE),
])
def test_problem_kind_follows_the_ama_definitions(item, kind):
    assert one_problem(item)[0] == kind


def test_new_diagnosis_with_treatment_started_reaches_moderate_problems():
    kind, level = one_problem("1. Hypothyroidism, newly diagnosed.\n- Medical Treatment: Start levothyroxine 50 mcg.")
    assert (kind, level) == (EXACERBATION, MODERATE)


@pytest.mark.parametrize("item, hpi, kind", [
    ("Urinary tract infection.\n\u2022 Medical Treatment: Nitrofurantoin 100 mg twice daily.",
     "She has had fevers and chills with the urinary symptoms.", SYSTEMIC),
    ("Urinary tract infection.\n\u2022 Medical Reasoning: Fever to 101 and body aches.\n\u2022 Medical Treatment: "
     "Nitrofurantoin.", "", SYSTEMIC),
    ("Urinary tract infection.\n\u2022 Medical Treatment: Nitrofurantoin 100 mg twice daily.",
     "She denies fever or chills with the urinary symptoms.", ACUTE),
])
def test_acute_illness_with_systemic_symptoms(item, hpi, kind):
    assert one_problem(item, hpi)[0] == kind


def test_narrative_plan_paragraphs_go_to_the_problems_they_name():
    note = NoteDoc.from_chart_note(
        "ASSESSMENT\n\n1. Right wrist sprain.\n2. Hypertension.\n\nPLAN\n\nFor his wrist, a splint and ice.\n\n"
        "Regarding his hypertension, his readings are worsening; increase amlodipine to 10 mg daily.", None)
    wrist, pressure = problem_items(note)
    assert wrist.body == ["For his wrist, a splint and ice."]
    assert pressure.body == ["Regarding his hypertension, his readings are worsening; increase amlodipine to 10 mg daily."]
    estimate = estimate_mdm(note)
    assert [p.kind for p in estimate.problems] == [ACUTE, EXACERBATION]


def test_plan_under_a_heading_belongs_to_that_problem_only():
    note = NoteDoc.from_chart_note(
        "ASSESSMENT\n\n\u2022 Cough\n\u2022 Seborrheic dermatitis\n\nPLAN\n\nCough\nFluids and rest.\n\n"
        "Seborrheic dermatitis\nThe scaling is worsening. Ketoconazole shampoo twice weekly.", None)
    cough, scalp = estimate_mdm(note).problems
    assert cough.label == "Cough" and "worsening" not in cough.text
    assert scalp.kind == EXACERBATION


def test_a_title_does_not_end_a_problem_label():
    note = NoteDoc.from_chart_note("ASSESSMENT\n\nMr. Cook is a 60-year-old male with hand numbness.\n"
                                   "Bilateral carpal tunnel syndrome.\n\nPLAN\n\nWrist splints at night.", None)
    assert [p.label for p in problem_items(note)] == ["Bilateral carpal tunnel syndrome"]


# -- data reviewed and analysed -------------------------------------------------------

@pytest.mark.parametrize("text, tests", [
    ("Optical coherence tomography shows subretinal fluid. Fluorescein angiography shows leakage.",
     ["OCT", "angiography"]),
    ("Barium swallow reviewed today shows a distal stricture.", ["barium study"]),
    ("Labs reviewed: CBC and CMP are normal.", ["CBC", "metabolic panel"]),
    ("Labs were reviewed and are normal.", ["labs"]),
    ("Ankle-brachial index ordered. Holter monitor for 48 hours.", ["ankle-brachial index", "heart monitor"]),
])
def test_each_unique_test_counts_once(text, tests):
    assert unique_tests(NoteDoc.from_chart_note(f"RESULTS\n\n{text}", None)) == tests


def test_a_test_named_in_the_plan_is_ordered():
    assert unique_tests(NoteDoc.from_chart_note("PLAN\n\nUric acid level in 4 weeks.", None)) == ["uric acid"]
    assert unique_tests(NoteDoc.from_chart_note("HISTORY\n\nShe had an MRI of the knee years ago.", None)) == []


@pytest.mark.parametrize("sentence, interpretation", [
    ("I reviewed the x-ray images myself: no fracture.", True),
    ("I have looked at the CT images and see no abscess.", True),
    ("ECG interpreted by me: sinus rhythm, no ST changes.", True),
    ("I reviewed the MRI report, which shows a meniscal tear.", False),
    ("The x-ray was read as normal by the radiologist.", False),
])
def test_independent_interpretation_is_the_physicians_own_reading(sentence, interpretation):
    assert mdm_of(f"ASSESSMENT AND PLAN\n\nCough.\n\nRESULTS\n\n{sentence}").independent_interpretation is interpretation


@pytest.mark.parametrize("results, read", [
    ("3 views of the left ankle were obtained in the office today. No fracture.", True),
    ("An ECG performed today shows sinus rhythm at 72.", True),
    ("A CBC drawn today is normal.", False),  # a lab value is not read from an image or tracing
    ("The MRI report from the outside facility, done today, shows a meniscal tear.", False),
    ("X-rays taken at urgent care last week show no fracture.", False),
])
def test_the_notes_own_reading_of_a_study_done_at_the_visit(results, read):
    text = f"ASSESSMENT AND PLAN\n\nAnkle pain.\n\nRESULTS\n\n{results}"
    assert mdm_of(text).independent_interpretation is False  # the claim may report the study itself
    estimate = estimate_mdm(NoteDoc.from_chart_note(text, None), tests_reported=False)
    assert estimate.independent_interpretation is read


def test_records_named_in_the_time_statement_are_not_external_notes():
    base = "ASSESSMENT AND PLAN\n\nHypertension, stable. Continue lisinopril 10 mg.\n\n"
    assert mdm_of(base + "I spent 25 minutes with the patient today, including reviewing his records.").external_notes == 0
    assert mdm_of(base + "PLAN\n\nRecords from his cardiologist were reviewed.").external_notes == 1


@pytest.mark.parametrize("sentence, discussion", [
    ("I called Dr. Haddad, her pulmonologist, to review the plan.", True),
    ("Case discussed with cardiology, who recommend a stress echo.", True),
    ("I will contact his nephrologist about the rising creatinine.", True),
    ("I discussed the findings with the patient and her husband.", False),
])
def test_discussion_with_an_external_physician(sentence, discussion):
    assert mdm_of(f"ASSESSMENT AND PLAN\n\nCough.\n\nPLAN\n\n{sentence}").external_discussion is discussion


# -- risk of patient management -------------------------------------------------------

@pytest.mark.parametrize("wording, level", [
    ("Ketorolac 60 mg IM given in the office.", MODERATE),
    ("We will proceed with monthly intravitreal injections.", MODERATE),
    ("Continue Keppra at the current dose.", MODERATE),
    ("Initiate Jardiance 10 mg daily.", MODERATE),
    ("Tdap vaccine given today.", STRAIGHTFORWARD),
    ("I recommended Head and Shoulders shampoo twice weekly.", LOW),
    ("Continue Physical Therapy twice weekly.", LOW),
    ("No injections are needed today.", STRAIGHTFORWARD),
])
def test_prescription_drug_management_includes_drugs_given_in_the_office(wording, level):
    assert risk_of_management(NoteDoc.from_chart_note(f"PLAN\n\n{wording}", None))[0] == level


def test_high_data_still_needs_a_second_element_for_high_mdm():
    estimate = mdm_of("ASSESSMENT AND PLAN\n\nHypertension, stable. Continue lisinopril 10 mg.\n\nPLAN\n\n"
                      "CBC, BMP and lipid panel ordered. I personally reviewed the ECG tracing. I called Dr. Ames, "
                      "his cardiologist.")
    assert estimate.data_level == HIGH and estimate.level == MODERATE


# -- new or established -----------------------------------------------------------------

def visit_chart(hpi: str, code: str = "99204", status: str | None = "new", **encounter) -> Chart:
    note = (f"CHIEF COMPLAINT\n\nKnee pain.\n\nHISTORY OF PRESENT ILLNESS\n\n{hpi}\n\nASSESSMENT AND PLAN\n\n"
            "1. Primary osteoarthritis, right knee.\n- Medical Reasoning: Pain is worsening despite home exercise.\n"
            "- Medical Treatment: Start meloxicam 15 mg daily. X-ray of the right knee ordered.")
    return Chart.model_validate(base_chart(
        note={"text": note}, encounter={"patient_status": status, **encounter},
        diagnoses=[{"code": "M17.11", "poa": None}],
        procedures=[{"code": code, "modifiers": [], "units": 1, "diagnosis_pointers": [1]}]))


ESTABLISHED = [
    "Since I last saw her, the knee has been more painful.",
    "Her naproxen was stopped at her last visit because of reflux.",
    "He returns for follow-up of his right knee.",
    "I saw him 3 months ago for the same knee.",
    "We increased her physical therapy to twice weekly at the last visit.",
    "When she was last seen, we discussed an injection.",
    "I have been following her for knee arthritis.",
    "His last visit with Dr. Lopez was in March.",  # the chart's own provider
    "He was seen by my partner, Dr. Chen, in January.",  # same group
    "It has been about 6 months since I last saw the patient.",
    "She is here for a 3-month follow-up of her knee.",
    "Since her initial visit in March the knee has improved. She is new to the medication.",
    "I saw her 2 months ago and ordered an MRI to establish the diagnosis.",
]
STAYS_NEW = [
    "Her last visit with her cardiologist was in May.",
    "She saw her PCP last week, who started naproxen.",
    "He was seen in the ER 2 days ago.",
    "At her last visit to urgent care she was given a brace.",
    "Her last visit with Dr. Nguyen was in March.",
    "His last visit with a podiatrist was 2 years ago.",
    "I last saw him 5 years ago.",
    "I last saw her in 2019.",
    "She presents as a new patient. She was last seen by Dr. Smith.",
    "I saw her today with her daughter.",
    "He is here for follow-up after his emergency department visit.",
    "She was referred by her PCP. She is here for follow-up of knee pain.",
    "She has not been seen here before.",
    "She comes to establish care. Her last visit with her prior doctor was in June.",
    "Since I last saw her she has moved; she is here to establish with a new primary care doctor.",
    "This is her initial visit with me; she saw Dr. Lopez's partner at another practice last year.",
    "He is new to our practice. I saw him briefly in the hospital 2 years ago.",
    "This is her first visit; her last visit with another orthopedist was in May.",
    "He saw his orthopedist about 3 months ago.",
    "She hopes to return to work next week.",
    "At her last visit with physical therapy she could climb stairs.",
    "She saw Dr. Nguyen in May. At the last visit he raised her naproxen dose.",
    "I saw the patient with the resident and agree with the findings and plan.",  # attestation of today's visit
    "I examined her right knee with her husband present.",
    "I explained to my patient that the pain may take weeks to settle.",
]


@pytest.mark.parametrize("hpi", ESTABLISHED)
def test_an_earlier_visit_with_this_practice_makes_the_patient_established(hpi, ref):
    chart = visit_chart(hpi)
    assert prior_visit(CheckContext(chart, ref), NoteDoc.from_chart_note(chart.note.text, None)) is not None
    (finding,) = run_checks(chart, ref, only={"em-level"}).findings
    assert (finding.action, finding.code, finding.suggested_codes) == ("correct", "99204", ["99214"])


@pytest.mark.parametrize("hpi", STAYS_NEW)
def test_visits_elsewhere_or_long_ago_leave_the_patient_new(hpi, ref):
    chart = visit_chart(hpi)
    assert prior_visit(CheckContext(chart, ref), NoteDoc.from_chart_note(chart.note.text, None)) is None
    assert run_checks(chart, ref, only={"em-level"}).findings == []


def test_established_finding_quotes_the_note_and_names_the_code_kept(ref):
    chart = visit_chart("The patient has continued meloxicam, which was increased at her last visit.")
    (finding,) = run_checks(chart, ref, only={"em-level"}).findings
    assert finding.evidence == 'HPI: "The patient has continued meloxicam, which was increased at her last visit."'
    assert "established-patient code of the same level is 99214" in finding.message
    assert "within 3 years" in finding.message


def test_level_is_judged_on_the_established_scale(ref):
    # 25 minutes meet 99213 on the established scale (20) though not 99203 on the new one (30); with MDM short of
    # moderate (a stable problem, one test) the established code of the supported level is 99213.
    note = ("HISTORY OF PRESENT ILLNESS\n\nShe returns for follow-up of her knee.\n\nASSESSMENT AND PLAN\n\n"
            "Primary osteoarthritis, right knee, stable.\n\u2022 Medical Treatment: Home exercises.\n\n"
            "I spent 25 minutes with the patient today.")
    chart = Chart.model_validate(base_chart(
        note={"text": note}, encounter={"patient_status": "new"}, diagnoses=[{"code": "M17.11", "poa": None}],
        procedures=[{"code": "99204", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}]))
    (finding,) = run_checks(chart, ref, only={"em-level"}).findings
    assert finding.suggested_codes == ["99213"]
    assert "25 minutes" in finding.message


def test_recorded_established_status_cites_the_notes_earlier_visit_too(ref):
    chart = visit_chart("Since I last saw her, the knee has been more painful.", status="established")
    (finding,) = run_checks(chart, ref, only={"em-level"}).findings
    assert finding.suggested_codes == ["99214"]
    assert finding.evidence == ('encounter.patient_status: established; HPI: "Since I last saw her, the knee has '
                                'been more painful."')


def test_em_table_sources_name_the_new_patient_definition():
    from vma.checks.em_level import TABLE_PATH

    sources = " ".join(json.loads(TABLE_PATH.read_text())["source"])
    assert "within the past three years" in sources and "not at the treatment goal is not stable" in sources
