"""Episode of care (7th characters A / D / S) read as classes of statements (Guideline
I.C.19.a): a first evaluation with work-up and treatment begun is active treatment, routine
care after completed treatment is D, a plan to follow up later is not a follow-up visit,
and a coded episode is overturned only on firm evidence, in both directions.

Notes are short synthetic visit notes in the style of public de-identified notes."""

from __future__ import annotations

import pytest

from tests.conftest import base_chart
from vma.chart import Chart
from vma.checks import run_checks
from vma.checks.support.episode import (
    ACTIVE, INITIAL, LONG_AGO, PRIOR, SEQUELA, SUBSEQUENT, TREATMENT, WORKUP, episode_evidence
)
from vma.checks.support.notes.document import NoteDoc


def note(hpi: str, plan: str, results: str = "", pmh: str = "") -> str:
    parts = ["CHIEF COMPLAINT\n\nInjury.", f"HISTORY OF PRESENT ILLNESS\n\n{hpi}"]
    if pmh:
        parts.append(f"PAST MEDICAL HISTORY\n\n{pmh}")
    parts.append("PHYSICAL EXAM\n\nMSK: Tenderness and mild swelling.")
    if results:
        parts.append(f"RESULTS\n\n{results}")
    parts.append(f"ASSESSMENT AND PLAN\n\n{plan}")
    return "\n\n".join(parts)


def evidence(text: str):
    return episode_evidence(NoteDoc(text))


FIRST_EVAL_HPI = ("Jordan Miles is a 35-year-old male who presents to the clinic today for the evaluation of right "
                  "shoulder pain. The pain began 2 weeks ago after he fell from a step stool.")
XRAYS = "X-rays of the right shoulder were obtained today and show no fracture or dislocation."
TREAT = "Right shoulder strain. I have prescribed naproxen 500 mg twice daily. We will refer him to physical therapy."


def test_first_evaluation_with_work_up_and_treatment_begun_is_active_treatment():
    ev = evidence(note(FIRST_EVAL_HPI, TREAT, XRAYS))
    assert ev.has(WORKUP) and ev.has(TREATMENT) and not ev.has(INITIAL)
    assert ev.active_first_evaluation()
    assert ev.episode() == INITIAL
    # strong enough to overturn a coded D, never a coded S (a sequela may be evaluated and treated too)
    assert ev.firm(INITIAL, SUBSEQUENT)
    assert not ev.firm(INITIAL, SEQUELA)


def test_work_up_without_treatment_begun_does_not_settle_the_episode():
    ev = evidence(note(FIRST_EVAL_HPI, "Right shoulder strain. Rest and ice.", XRAYS))
    assert ev.episode() is None


def test_splinted_at_urgent_care_then_evaluated_and_treated_here_is_still_active_treatment():
    # Guideline I.C.19.a: evaluation and continuing treatment by a different physician is active
    # treatment; urgent care that only put on a sling treated nothing definitively.
    ev = evidence(note(f"{FIRST_EVAL_HPI} He was seen at an urgent care center the next day, where he was placed "
                       "in a sling.", TREAT, XRAYS))
    assert ev.has(PRIOR)
    assert ev.active_first_evaluation() and ev.firm(INITIAL, SUBSEQUENT)


@pytest.mark.parametrize("hpi_extra, kind", [
    ("He underwent arthroscopic repair at an outside hospital last month.", PRIOR),
    ("He was treated with a closed reduction and casting in the emergency department.", PRIOR),
    ("He first hurt the shoulder in a fall 3 years ago and it has bothered him since.", LONG_AGO),
])
def test_earlier_care_or_an_old_onset_blocks_the_first_evaluation_reading(hpi_extra, kind):
    ev = evidence(note(f"{FIRST_EVAL_HPI} {hpi_extra}", TREAT, XRAYS))
    assert ev.has(kind)
    assert not ev.active_first_evaluation()
    assert not ev.firm(INITIAL, SUBSEQUENT)


def test_immobilisation_told_with_earlier_care_is_not_this_visit_s_treatment():
    ev = evidence(note("She was placed in a splint at urgent care 2 weeks ago after a fall.",
                       "Wrist sprain. Rest and ice."))
    assert ev.has(PRIOR) and not ev.has(ACTIVE)


@pytest.mark.parametrize("plan", [
    "Follow up for the ankle sprain in 2 weeks.",
    "She will return for a recheck of the fracture in 10 days.",
    "Suture removal in 10 days.",
    "Follow up as needed for the injury.",
])
def test_a_plan_to_follow_up_later_is_future_care_not_a_follow_up_visit(plan):
    ev = evidence(note("She cut her left hand on a knife yesterday.", f"Laceration repaired with sutures. {plan}"))
    assert not ev.has(SUBSEQUENT)
    assert ev.episode() == INITIAL


@pytest.mark.parametrize("hpi", [
    "He returns for follow-up of his left ankle sprain.",
    "She is here for a recheck of the wrist fracture; the cast was removed today.",
    "Post-op visit 2 weeks after ORIF of the right ankle fracture.",
    "He is status post ORIF of the right ankle fracture and is doing well.",
])
def test_routine_care_after_treatment_is_subsequent(hpi):
    ev = evidence(note(hpi, "Healing as expected. Home exercises."))
    assert ev.has(SUBSEQUENT)
    assert ev.episode() == SUBSEQUENT


@pytest.mark.parametrize("hpi", [
    "He is status post knee arthroscopy in 2015 and twisted his ankle yesterday.",  # an old, unrelated operation
    "Status post fall from standing this morning.",  # "s/p fall" names the injury, not its treatment
])
def test_status_post_an_old_operation_or_a_fall_is_not_follow_up_care(hpi):
    assert not evidence(note(hpi, "Ankle sprain. Air cast and crutches.")).has(SUBSEQUENT)


def test_a_kept_or_weaned_device_is_healing_phase_care_not_new_immobilisation():
    ev = evidence(note("He returns for follow-up of his ankle sprain.",
                       "Continue the walking boot for one more week, then wean off the crutches."))
    assert not ev.has(ACTIVE)
    assert ev.episode() == SUBSEQUENT


def test_follow_up_with_new_immobilisation_today_is_mixed():
    ev = evidence(note("He returns for follow-up of his wrist fracture.",
                       "Displacement on today's films. Closed reduction performed and a new cast applied."))
    assert ev.has(SUBSEQUENT) and ev.has(ACTIVE)
    assert ev.episode() is None


def test_negated_and_history_statements_are_not_cues():
    ev = evidence(note("He was in a car accident 4 days ago. He did not go to the emergency room.",
                       "Neck strain. Ice and rest.", pmh="Fractured wrist in 2010, treated with a cast."))
    assert not ev.has(ACTIVE) and not ev.has(PRIOR) and not ev.has(LONG_AGO)
    assert ev.episode() == INITIAL


def test_episode_evidence_is_read_once_per_note():
    doc = NoteDoc(note(FIRST_EVAL_HPI, TREAT, XRAYS))
    assert episode_evidence(doc) is episode_evidence(doc)


# -- the check on charts ----------------------------------------------------------------------------

def chart(text: str, *codes: str) -> Chart:
    return Chart.model_validate(base_chart(note={"text": text}, diagnoses=[{"code": c, "poa": None} for c in codes]))


def seventh(text: str, *codes: str, ref):
    return run_checks(chart(text, *codes), ref, only={"seventh-character"}).findings


def test_coded_d_on_a_first_evaluation_is_corrected_to_a_and_the_message_names_the_code_kept(ref):
    [f] = seventh(note(FIRST_EVAL_HPI, TREAT, XRAYS), "S43.401D", ref=ref)
    assert (f.action, f.suggested_codes) == ("correct", ["S43.401A"])
    assert "S43.401A" in f.message and "Guideline I.C.19.a" in f.message
    assert "2 weeks ago" in f.evidence and "X-rays of the right shoulder" in f.evidence


def test_a_new_patient_after_treatment_elsewhere_keeps_its_coded_d(ref):
    text = note("Omar Haddad is a 45-year-old male new to our practice. He fell 5 weeks ago and was placed in a "
                "short arm cast at an outside hospital for a right distal radius fracture. He presents for "
                "follow-up of the fracture.",
                "Right distal radius fracture, healing well. Cast removed today; wrist brace and home exercises.",
                "X-rays of the right wrist show interval healing with callus.")
    assert seventh(text, "S52.501D", ref=ref) == []


def test_coded_a_is_changed_only_on_a_clean_follow_up(ref):
    # a healing abrasion beside a new splint is not a follow-up of the injury: A stays
    text = note("She fell on her outstretched hand 2 weeks ago. The abrasion on her palm is healing.",
                "Right wrist sprain. Velcro wrist splint applied today.")
    assert seventh(text, "S63.501A", ref=ref) == []


def test_coded_s_is_not_overturned_by_a_first_evaluation_with_treatment(ref):
    text = note("Ruth Anders presents to the clinic today for the evaluation of neck pain after a car accident.",
                "Neck strain, late effect of the accident. I have prescribed meloxicam 7.5 mg daily.",
                "X-rays of the cervical spine were reviewed today.")
    assert seventh(text, "S16.1XXS", ref=ref) == []


def test_an_injury_query_names_the_episode_and_cites_the_statements(ref):
    text = note("He presents to the clinic today for the evaluation of neck pain that began after a motor vehicle "
                "accident 2 years ago.", "Neck strain. We will refer him to physical therapy.")
    [f] = seventh(text, "S16.1", ref=ref)
    assert f.action == "query"
    assert "encounter" in f.question and '"2 years ago"' in f.question
    assert f.options[-2:] == ["Other", "Clinically undetermined"]
    assert [c.codes for c in f.choices if c.kind == "code"] == [["S16.1XXA"], ["S16.1XXD"], ["S16.1XXS"]]


# -- statements about the visit's other problems --------------------------------------------------

def test_a_follow_up_of_other_problems_does_not_make_a_new_injury_subsequent(ref):
    text = ("CHIEF COMPLAINT\n\nFollow-up.\n\nHISTORY OF PRESENT ILLNESS\n\n"
            "Nora Quinn is a 66-year-old female who presents for a follow-up of her chronic problems. "
            "She is 8 months status post hip replacement surgery and is healing well. "
            "She also rolled her left ankle stepping off a curb 3 days ago.\n\n"
            "ASSESSMENT AND PLAN\n\nHypertension, controlled. Continue lisinopril.\n"
            "Left ankle sprain. Air cast applied today.")
    assert seventh(text, "S93.402A", ref=ref) == []
    [f] = seventh(text, "S93.402", ref=ref)
    assert f.suggested_codes == ["S93.402A"]


def test_an_injury_the_assessment_does_not_name_keeps_its_coded_episode(ref):
    text = ("CHIEF COMPLAINT\n\nCough.\n\nHISTORY OF PRESENT ILLNESS\n\nHe developed a cough yesterday. "
            "He was taken to the emergency room last night.\n\n"
            "ASSESSMENT AND PLAN\n\nAcute bronchitis. Supportive care.")
    assert seventh(text, "S82.101D", ref=ref) == []


def test_an_unrelated_date_in_the_history_does_not_block_the_first_evaluation(ref):
    text = note(f"{FIRST_EVAL_HPI} He quit smoking 5 years ago.", TREAT, XRAYS)
    ev = evidence(text).about("Unspecified sprain of right shoulder joint")
    assert not ev.has(LONG_AGO) and ev.named
    assert ev.episode() == INITIAL
