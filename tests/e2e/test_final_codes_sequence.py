"""The final code list in the coder post, through the real app and the local Slack stand-in:
corrections and answers applied (including ones naming two diagnoses, and ones that drop a
code), the diagnoses in the order the tabular's "code first" notes ask for, and each service
line's diagnosis pointers following their codes (a dropped code's pointer goes to the code that
replaced it; no duplicates; never more than four).

The charts are synthetic visit notes (invented people) in the canonical chart format."""

from __future__ import annotations

import json
import re

from vma.integrations.slack.standin import find_element

from tests.e2e.conftest import CODERS, LOPEZ


def _chart(chart_id: str, assessment: str, hpi: str, diagnoses: list[str], procedures: list[dict]) -> bytes:
    return json.dumps({
        "chart_id": chart_id, "document_id": f"DOC-{chart_id}", "version": 1,
        "patient": {"mrn": f"MRN-{chart_id[-4:]}", "name": "Avery Synthetic", "birth_date": "1957-06-12", "sex": "M"},
        "encounter": {"date_of_service": "2026-11-17", "place_of_service": "11", "setting": "office",
                      "patient_status": "established", "admission_date": None, "total_time_minutes": None},
        "provider": {"npi": "1234567893", "name": "Maria Lopez, MD", "email": "mlopez@example.org"},
        "signature": {"signed_by": "Maria Lopez, MD", "signed_at": "2026-11-17T16:40:00-05:00"},
        "note": {"text": (f"CHIEF COMPLAINT\n\nFollow-up.\n\nHISTORY OF PRESENT ILLNESS\n\n{hpi}\n\n"
                          f"PHYSICAL EXAM\n\nBP 134/80. Lungs clear. Trace ankle edema.\n\n"
                          f"ASSESSMENT AND PLAN\n\n{assessment}\n\nI spent 32 minutes with the patient today.")},
        "diagnoses": [{"code": c, "poa": None} for c in diagnoses],
        "procedures": procedures,
    }).encode()


def _final_codes(posted) -> list[tuple[str, str]]:
    """(code, pointers) in the order the coder post lists them under *Final codes*."""
    text = next(b["text"]["text"] for b in posted.blocks
                if b.get("type") == "section" and b["text"]["text"].startswith("*Final codes*"))
    return [(m.group(1), m.group(2) or "") for m in re.finditer(r"• `([^`]+)`[^\n]*?(?: · dx ([\d,]+))?\n", text + "\n")]


def _changes(posted) -> str:
    return "\n".join(b["text"]["text"] for b in posted.blocks
                     if b.get("type") == "section" and b["text"]["text"].startswith("*What changed"))


def test_hypertension_with_heart_failure_is_sequenced_first_and_pointers_follow(stack):
    body = _chart("ENC-FC-101",
                  "1. Chronic systolic heart failure, compensated. Continue carvedilol and sacubitril-valsartan.\n"
                  "2. Hypertension, at goal on current regimen.\n"
                  "3. Hyperlipidemia, continue atorvastatin 40 mg.",
                  "Mr. Synthetic has heart failure with reduced ejection fraction, EF 30%, and long-standing "
                  "hypertension. Sleeps on two pillows, unchanged. Weight stable.",
                  ["E78.5", "I50.22", "I10"],
                  [{"code": "99214", "modifiers": [], "units": 1, "diagnosis_pointers": [2, 3, 1]},
                   {"code": "93000", "modifiers": [], "units": 1, "diagnosis_pointers": [2]}])
    assert stack.post_chart(body).status_code == 202
    posted = stack.coder_post("ENC-FC-101")
    # I10 becomes I11.0 and goes right before I50.22 (I50: "code first ... (I11.0)"), E78.5 keeps its place.
    assert _final_codes(posted) == [("E78.5", ""), ("I11.0", ""), ("I50.22", ""), ("99214", "2,3,1"),
                                    ("93000", "3")]
    changes = _changes(posted)
    assert "`I10` → `I11.0`" in changes and "coder to confirm" in changes
    assert "`I50.22, I11.0` → `I11.0, I50.22` (sequence)" in changes
    assert stack.slack.calls_to("conversations.open") == []


def test_diabetic_ckd_and_hypertensive_ckd_go_before_the_stage(stack):
    body = _chart("ENC-FC-102",
                  "1. Chronic kidney disease stage 3b. Continue losartan, recheck BMP in 3 months.\n"
                  "2. Hypertension, above goal; increase amlodipine to 10 mg.\n"
                  "3. Type 2 diabetes mellitus, A1c 7.2, diet controlled.",
                  "Mr. Synthetic returns after labs: creatinine 1.9, eGFR 36, unchanged from spring.",
                  ["N18.32", "I10", "E11.9"],
                  [{"code": "99214", "modifiers": [], "units": 1, "diagnosis_pointers": [1, 2, 3]}])
    stack.post_chart(body)
    posted = stack.coder_post("ENC-FC-102")
    assert _final_codes(posted) == [("I12.9", ""), ("E11.22", ""), ("N18.32", ""), ("99214", "1,2,3")]


def test_a_correction_naming_two_diagnoses_drops_the_one_not_kept(stack):
    body = _chart("ENC-FC-103",
                  "1. Type 2 diabetes mellitus with peripheral polyneuropathy of both feet. Start gabapentin "
                  "300 mg at bedtime. Continue metformin 1000 mg twice daily.\n"
                  "2. Hypertension, controlled.",
                  "Mr. Synthetic reports burning and numbness in both feet for a year.",
                  ["E11.9", "G63", "Z79.84", "I10"],
                  [{"code": "99214", "modifiers": [], "units": 1, "diagnosis_pointers": [2, 1, 3, 4]}])
    stack.post_chart(body)
    posted = stack.coder_post("ENC-FC-103")
    # E11.9 + G63 -> E11.42 (G63's Excludes1: polyneuropathy in diabetes is E08-E13 with .42);
    # the pointers to both go to E11.42, once.
    assert _final_codes(posted) == [("E11.42", ""), ("Z79.84", ""), ("I10", ""), ("99214", "1,2,3")]
    assert "`E11.9, G63` → `E11.42`" in _changes(posted)


def test_excludes1_correction_drops_the_code_it_does_not_keep(stack):
    body = _chart("ENC-FC-104",
                  "1. Type 2 diabetes mellitus, A1c 8.1 today. Continue metformin 500 mg twice daily.\n"
                  "2. Hypertension, controlled on lisinopril.",
                  "Mr. Synthetic was diagnosed with type 2 diabetes last year; his A1c today is 8.1.",
                  ["E11.9", "R73.09", "I10"],
                  [{"code": "99214", "modifiers": [], "units": 1, "diagnosis_pointers": [2, 1, 3]}])
    stack.post_chart(body)
    posted = stack.coder_post("ENC-FC-104")
    # R73.09 is dropped (Excludes1 at R73.0: diabetes mellitus); its pointer goes to E11.9, which kept it;
    # Z79.84 (metformin) is added beside E11.9.
    assert _final_codes(posted) == [("E11.9", ""), ("Z79.84", ""), ("I10", ""), ("99214", "1,3")]
    assert "`E11.9, R73.09` → `E11.9`" in _changes(posted)


def test_excludes1_answer_applies_to_the_pair_and_moves_the_pointer(stack):
    body = _chart("ENC-FC-105",
                  "1. Hypertension, controlled.\n"
                  "2. Type 1 diabetes mellitus per the endocrinology letter.\n"
                  "3. Type 2 diabetes mellitus per the primary care problem list.",
                  "Mr. Synthetic's outside records disagree about his diabetes type.",
                  ["I10", "E10.9", "E11.9"],
                  [{"code": "99214", "modifiers": [], "units": 1, "diagnosis_pointers": [1, 2, 3]}])
    stack.post_chart(body)
    dm = stack.dm_of(LOPEZ)
    type2 = find_element(dm.blocks, lambda e: e.get("type") == "button"
                         and e["text"]["text"].startswith("Type 2 diabetes mellitus without complications"))
    assert type2 is not None
    assert stack.sender.click(LOPEZ, dm.channel, dm.ts, type2).status_code == 200
    posted = stack.coder_post("ENC-FC-105")
    assert _final_codes(posted) == [("I10", ""), ("E11.9", ""), ("99214", "1,2")]
    assert "`E10.9, E11.9` → `E11.9`" in _changes(posted)
    assert len([m for m in stack.slack.messages_in(CODERS) if "ENC-FC-105" in (m.text or "")]) == 1
