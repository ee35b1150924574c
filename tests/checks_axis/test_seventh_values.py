"""7th characters that are not an episode of care (AMD and glaucoma stage, eye, fetus,
coma scale time, tophus): the definition's own wording read against the note's words for
the condition and the clinical findings that state the value; corrected when one value is
documented, to the "unspecified" value when the note says nothing about it, queried (with a
question about that value, never about an injury) when the note hints without settling.

Notes are short synthetic visit notes in the style of public de-identified notes."""

from __future__ import annotations

import pytest

from tests.conftest import base_chart
from vma.checks.support.axes.evidence import condition_mentions
from vma.checks.support.axes.index import axis_index
from vma.chart import Chart
from vma.checks import run_checks
from vma.checks.support.seventh_values import _axis_of, _value_slots, read_value
from vma.checks.support.notes.document import NoteDoc


def test_value_words_come_from_the_definition_with_parenthesised_alternatives():
    gout = {"0": "without tophus (tophi)", "1": "with tophus (tophi)"}
    assert _value_slots(gout, "1") == ([("tophus", "tophi")], False)
    assert _value_slots(gout, "0") == ([("tophus", "tophi")], True)
    assert _value_slots({"1": "mild stage"}, "1") == ([("mild",)], False)
    assert _value_slots({"3": "with inactive scar"}, "3") == ([("inactive",), ("scar",)], False)
    assert _value_slots({"1": "in the field [EMT or ambulance]"}, "1") == ([("field",)], False)


@pytest.mark.parametrize("code, axis", [
    ("H40.111", "stage"), ("H35.321", "stage"), ("E11.329", "eye"), ("O32.1", "fetus"), ("R40.212", "time"),
    ("M1A.071", ""),
])
def test_what_the_character_tells_is_read_from_the_definition(ref, code, axis):
    definition = ref.icd_for(None).seventh_character_definition(code)
    unspecified = next((c for c, d in definition.items() if "unspecified" in d), None)
    assert _axis_of(definition, unspecified) == axis


def reading(ref, code: str, text: str):
    rel = ref.icd_for(None)
    index = axis_index(rel)
    doc = NoteDoc(text)
    return read_value(doc, rel.seventh_character_definition(code), rel.description(code),
                      condition_mentions(doc, index, code, True))


def test_findings_written_under_the_other_eye_s_label_do_not_stage_this_eye(ref):
    text = ("PHYSICAL EXAM\n\nRight eye: Drusen in the macula. No fluid.\n"
            "Left eye: Subretinal hemorrhage. Intraretinal fluid on OCT.\n\n"
            "ASSESSMENT AND PLAN\n\nExudative age-related macular degeneration, right eye. Observe.")
    right = reading(ref, "H35.321", text)
    assert right.documented == {} and right.settled() == "0"
    left = reading(ref, "H35.322", text.replace("right eye. Observe", "left eye. Observe"))
    assert left.settled() == "1" and "Subretinal hemorrhage" in left.words("1")


def test_negated_activity_is_not_active_neovascularization(ref):
    text = ("ASSESSMENT AND PLAN\n\nExudative age-related macular degeneration, left eye, with inactive choroidal "
            "neovascularization. No subretinal fluid, no hemorrhage and no leakage on angiography.")
    r = reading(ref, "H35.322", text)
    assert set(r.documented) == {"2"}


def test_a_stage_word_of_another_condition_does_not_stage_the_glaucoma(ref):
    text = ("ASSESSMENT AND PLAN\n\nPrimary open-angle glaucoma of the right eye and severe dry eye syndrome. "
            "Mild cataract, right eye.")
    r = reading(ref, "H40.111", text)
    assert r.documented == {} and r.settled() == "0"


@pytest.mark.parametrize("phrase, char", [
    ("Primary open-angle glaucoma, right eye, early stage.", "1"),
    ("Severe primary open-angle glaucoma of the right eye.", "3"),
    ("Primary open-angle glaucoma of the right eye: advanced.", "3"),
    ("Primary open-angle glaucoma of the right eye, indeterminate stage.", "4"),
])
def test_glaucoma_stage_words_with_the_condition(ref, phrase, char):
    assert reading(ref, "H40.111", f"ASSESSMENT AND PLAN\n\n{phrase}").settled() == char


def test_twins_without_the_fetus_named_hint_without_settling(ref):
    text = ("HISTORY OF PRESENT ILLNESS\n\nTwin gestation at 35 weeks.\n\n"
            "ASSESSMENT AND PLAN\n\nBreech presentation on ultrasound. Discussed delivery planning.")
    r = reading(ref, "O32.1", text)
    assert r.documented == {} and r.hints and r.settled() is None


def test_coma_scale_without_a_time_is_the_unspecified_time(ref):
    r = reading(ref, "R40.212", "PHYSICAL EXAM\n\nGCS 9: eyes open to pain, confused speech, localizes pain.")
    assert r.documented == {} and r.settled() == "0"


# -- the check on charts ----------------------------------------------------------------------------

def seventh(text: str, *codes: str, ref):
    chart = Chart.model_validate(base_chart(note={"text": text}, diagnoses=[{"code": c, "poa": None} for c in codes]))
    return run_checks(chart, ref, only={"seventh-character"}).findings


def test_a_stage_query_asks_for_the_stage_not_for_an_injury(ref):
    text = ("ASSESSMENT AND PLAN\n\nExudative age-related macular degeneration of the right eye, staging deferred "
            "until the OCT is repeated.")
    [f] = seventh(text, "H35.321", ref=ref)
    assert f.action == "query"
    assert "stage of the exudative age-related macular degeneration" in f.question
    assert "injury" not in f.question.lower() and "encounter" not in f.question.lower()
    assert [c.codes for c in f.choices if c.kind == "code"] == [["H35.3210"], ["H35.3211"], ["H35.3212"], ["H35.3213"]]


def test_a_definition_without_an_unspecified_value_is_queried_when_the_note_is_silent(ref):
    text = "ASSESSMENT AND PLAN\n\nCentral retinal vein occlusion, right eye. Return in 1 month."
    [f] = seventh(text, "H34.811", ref=ref)
    assert f.action == "query" and "central retinal vein occlusion" in f.question.lower()
    assert "injury" not in f.question.lower()


def test_a_coded_value_the_note_contradicts_is_corrected_to_the_documented_one(ref):
    text = "ASSESSMENT AND PLAN\n\nPrimary open-angle glaucoma, both eyes, moderate stage. Continue latanoprost."
    [f] = seventh(text, "H40.1131", ref=ref)
    assert (f.action, f.suggested_codes) == ("correct", ["H40.1132"])
    assert "H40.1132" in f.message and "moderate stage" in f.evidence
    assert seventh(text, "H40.1132", ref=ref) == []


def test_a_coded_value_the_note_also_documents_is_left_alone(ref):
    text = ("PHYSICAL EXAM\n\nLeft eye: Disciform scar with a small area of subretinal fluid at its edge.\n\n"
            "ASSESSMENT AND PLAN\n\nExudative age-related macular degeneration, left eye, with scar. Observe.")
    assert seventh(text, "H35.3223", ref=ref) == []


def test_silent_note_gets_the_unspecified_value_with_the_condition_as_evidence(ref):
    text = "ASSESSMENT AND PLAN\n\nPrimary open-angle glaucoma of the left eye. Start latanoprost."
    [f] = seventh(text, "H40.112", ref=ref)
    assert (f.action, f.suggested_codes) == ("correct", ["H40.1120"])
    assert "does not document the stage" in f.message and "Primary open-angle glaucoma" in f.evidence


def test_the_fetus_named_with_the_condition_not_its_twin(ref):
    text = ("HISTORY OF PRESENT ILLNESS\n\nDichorionic diamniotic twin gestation at 33 weeks.\n\n"
            "RESULTS\n\nUltrasound: twin A vertex; twin B in breech presentation.")
    r = reading(ref, "O32.1", text)
    assert set(r.documented) == {"2"}


def test_the_eye_written_with_this_instance_of_the_condition(ref):
    text = ("ASSESSMENT AND PLAN\n\nType 2 diabetes with mild nonproliferative diabetic retinopathy without macular "
            "edema OD, proliferative diabetic retinopathy OS.")
    assert reading(ref, "E11.329", text).settled() == "1"
    both = "ASSESSMENT AND PLAN\n\nType 2 diabetes with mild nonproliferative diabetic retinopathy without macular " \
           "edema, both eyes."
    assert reading(ref, "E11.329", both).settled() == "3"
