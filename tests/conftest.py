from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC_EXAMPLES = ROOT.parent / "shared" / "spec" / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ.setdefault("VMA_STRICT_CHECKS", "1")

BACKENDS = ("sqlite", "postgresql")


def test_backend() -> str:
    """The database the store-backed tests run on: ``VMA_TEST_BACKEND`` (sqlite, the default, or postgresql)."""
    backend = (os.environ.get("VMA_TEST_BACKEND") or "sqlite").strip().lower()
    if backend in ("postgres", "pg"):
        backend = "postgresql"
    if backend not in BACKENDS:
        raise pytest.UsageError(f"VMA_TEST_BACKEND={backend!r}: expected one of {', '.join(BACKENDS)}")
    return backend


test_backend.__test__ = False  # a helper, not a test pytest should collect


@pytest.fixture(autouse=True)
def _root_logging_put_back():
    """The root logger's handlers and level as they were before each test. ``vma serve`` run in-process
    (``configure``) binds a handler to the sys.stderr of that moment, which pytest closes when the test ends; a
    thread that logs later (a Slack listener finishing an answer) would then write to a closed file."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _postgres_admin():
    """An autocommit connection to the server of VMA_TEST_POSTGRES_URL, and that URL in plain form.

    Skips with the reason when the server cannot be used; fails instead when
    VMA_REQUIRE_POSTGRES=1 (CI), so an unreachable server never passes silently.
    """
    base = os.environ.get("VMA_TEST_POSTGRES_URL")
    required = os.environ.get("VMA_REQUIRE_POSTGRES") == "1"
    if not base:
        reason = "VMA_TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        if required:
            pytest.fail(f"VMA_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    try:
        import psycopg
    except ImportError as exc:
        if required:
            pytest.fail(f"VMA_REQUIRE_POSTGRES=1 but psycopg is not installed: {exc}")
        pytest.skip(f"psycopg is not installed: {exc}")
    plain = base.replace("postgresql+psycopg://", "postgresql://", 1).replace("postgres://", "postgresql://", 1)
    try:
        admin = psycopg.connect(plain, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL at VMA_TEST_POSTGRES_URL is unreachable: {str(exc).strip()}"
        if required:
            pytest.fail(reason)
        pytest.skip(reason)
    return admin, plain


@pytest.fixture
def postgres_url():
    """A fresh throw-away database on the VMA_TEST_POSTGRES_URL server, dropped after the test."""
    admin, plain = _postgres_admin()
    name = f"vma_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield plain.rsplit("/", 1)[0] + f"/{name}"
        finally:
            # FORCE: an engine the test left open must not keep the database alive
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(request, tmp_path):
    """The database URL for a store-backed test: SQLite in tmp_path, or PostgreSQL when
    VMA_TEST_BACKEND=postgresql (one throw-away database per test)."""
    if test_backend() == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'vma.db'}"


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
