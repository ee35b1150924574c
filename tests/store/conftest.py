"""Store tests take ``database_url`` from tests/conftest.py: SQLite by default, PostgreSQL
with VMA_TEST_BACKEND=postgresql (a throw-away database per test on VMA_TEST_POSTGRES_URL)."""
