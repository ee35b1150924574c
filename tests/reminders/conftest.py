"""A throw-away PostgreSQL database per test, from VMA_TEST_POSTGRES_URL."""

from __future__ import annotations

import os
import uuid

import pytest


@pytest.fixture
def postgres_url():
    """URL of a fresh database on the test server, dropped afterwards.

    Skipped when VMA_TEST_POSTGRES_URL is unset; a failure (not a skip) when
    VMA_REQUIRE_POSTGRES=1 and the server cannot be reached.
    """
    base = os.environ.get("VMA_TEST_POSTGRES_URL")
    required = os.environ.get("VMA_REQUIRE_POSTGRES") == "1"
    if not base:
        if required:
            pytest.fail("VMA_REQUIRE_POSTGRES=1 but VMA_TEST_POSTGRES_URL is not set")
        pytest.skip("VMA_TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    import psycopg

    plain = base.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"vma_reminders_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(plain, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if required:
            pytest.fail(f"PostgreSQL at VMA_TEST_POSTGRES_URL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at VMA_TEST_POSTGRES_URL is unreachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield plain.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
