"""Store tests run on real SQLite files and, when VMA_TEST_POSTGRES_URL is set, on real PostgreSQL.

The PostgreSQL logic is the one of tests/reminders/conftest.py: a throw-away
database per test; skipped with a reason when the URL is unset or the server is
unreachable, a failure instead when VMA_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import os
import uuid

import pytest


def _postgres_database():
    base = os.environ.get("VMA_TEST_POSTGRES_URL")
    required = os.environ.get("VMA_REQUIRE_POSTGRES") == "1"
    if not base:
        if required:
            pytest.fail("VMA_REQUIRE_POSTGRES=1 but VMA_TEST_POSTGRES_URL is not set")
        pytest.skip("VMA_TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    import psycopg

    plain = base.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        admin = psycopg.connect(plain, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if required:
            pytest.fail(f"PostgreSQL at VMA_TEST_POSTGRES_URL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at VMA_TEST_POSTGRES_URL is unreachable: {exc}")
    return admin, plain


@pytest.fixture
def postgres_url():
    admin, plain = _postgres_database()
    name = f"vma_store_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield plain.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'vma.db'}"
