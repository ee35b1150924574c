from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC_EXAMPLES = ROOT.parent / "shared" / "spec" / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ.setdefault("VMA_STRICT_CHECKS", "1")


@pytest.fixture(scope="session")
def ref():
    from vma.reference import default_reference

    return default_reference()


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def base_chart(**overrides) -> dict:
    """A clean, fully coded synthetic office visit to build fixture charts from."""
    chart = {
        "chart_id": "ENC-T-1",
        "document_id": "DOC-T-1",
        "version": 1,
        "patient": {"mrn": "MRN-T1", "name": "Test Patient", "birth_date": "1970-01-01", "sex": "F"},
        "encounter": {"date_of_service": "2026-11-16", "place_of_service": "11", "setting": "office",
                      "patient_status": "established", "admission_date": None, "total_time_minutes": None},
        "provider": {"npi": "1234567893", "name": "Maria Lopez, MD", "email": "mlopez@example.org"},
        "signature": {"signed_by": "Maria Lopez, MD", "signed_at": "2026-11-16T17:00:00-05:00"},
        "note": {"text": "CHIEF COMPLAINT\n\nFollow-up.\n\nASSESSMENT AND PLAN\n\nEssential hypertension, well controlled. Continue lisinopril 10 mg daily.\n\nI spent 25 minutes with the patient today."},
        "diagnoses": [{"code": "I10", "poa": None}],
        "procedures": [{"code": "99213", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}],
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(chart.get(key), dict):
            chart[key] = {**chart[key], **value}
        else:
            chart[key] = value
    return chart
