"""The store itself: migrations both ways, URL handling, WAL, the directory, audit export and retention."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text

from tests.shared import DIRECTORY_CSV, PROVIDER_NPI, Clock, RecordingNotifier, chart, make_settings, raw

TABLES = {"chart_record", "intake_rejection", "finding_record", "query", "nudge", "outbound_message", "audit_event"}


def head_revision(store) -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(store._alembic_config()).get_current_head()


def test_migrations_upgrade_downgrade_upgrade(database_url):
    from vma.store.db import Store

    store = Store(database_url)
    try:
        store.migrate()
        assert store.current_revision() == head_revision(store)
        assert TABLES <= set(inspect(store.engine).get_table_names())
        indexes = {i["name"] for i in inspect(store.engine).get_indexes("query")}
        assert {"ix_query_status_next_due_at", "ix_query_status_sent_at", "ix_query_status_answered_at",
                "ix_query_provider_npi", "ix_query_chart_id"} <= indexes
        store.migrate()  # a second run (another worker starting) is a no-op
        store.downgrade("base")
        assert store.current_revision() is None
        assert not TABLES & set(inspect(store.engine).get_table_names())
        store.migrate()
        assert TABLES <= set(inspect(store.engine).get_table_names())
    finally:
        store.dispose()


def test_chart_versions_by_change_time_fit_after_0002(database_url):
    """Change-time versions (YYYYMMDDHHMMSS) need 64 bits; 0002 widens the column and steps back cleanly."""
    from vma.store.db import Store
    from vma.store.models import ChartRecord

    store = Store(database_url)
    try:
        store.migrate("0001_initial")
        store.migrate()
        with store.session() as session, session.begin():
            session.add(ChartRecord(chart_id="ENC-V", version=20261130153000, doc_key="DOC-V#20261130153000"))
        with store.session() as session:
            assert session.query(ChartRecord).filter_by(chart_id="ENC-V").one().version == 20261130153000
        with store.session() as session, session.begin():
            session.query(ChartRecord).delete()
        store.downgrade("0001_initial")
        assert store.current_revision() == "0001_initial"
    finally:
        store.dispose()


def test_migration_matches_the_models(database_url):
    """Autogenerate finds nothing to do: the first migration and the models agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import vma.store.models  # noqa: F401
    from vma.store.db import Store

    store = Store(database_url)
    try:
        store.migrate()
        with store.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert diff == []
    finally:
        store.dispose()


def test_url_forms_and_sqlite_pragmas(tmp_path):
    from vma.store.db import Store, normalize_url

    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    store = Store(f"sqlite:///{tmp_path / 'nested' / 'vma.db'}")
    try:
        store.migrate()
        with store.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    finally:
        store.dispose()


def test_timestamps_are_utc_and_aware_on_both_backends(database_url):
    from zoneinfo import ZoneInfo

    from vma.store.db import Store
    from vma.store.models import ChartRecord, Query

    store = Store(database_url)
    try:
        store.migrate()
        new_york = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("America/New_York"))
        with store.session() as session, session.begin():
            record = ChartRecord(chart_id="ENC-T", version=1, chart_json={})
            session.add(record)
            session.flush()
            session.add(Query(chart_record_id=record.id, chart_id="ENC-T", check="laterality", question="?",
                              choices=[], sent_at=new_york))
        with store.session() as session:
            query = session.query(Query).one()
            assert query.sent_at == new_york and query.sent_at.tzinfo is not None
            # A comparison with a New York time is exact, not off by the zone's offset.
            earlier = datetime(2026, 11, 20, 8, 59, tzinfo=ZoneInfo("America/New_York"))
            assert session.query(Query).filter(Query.sent_at > earlier).count() == 1
            assert session.query(Query).filter(Query.sent_at > new_york).count() == 0
    finally:
        store.dispose()


# -- directory ------------------------------------------------------------------------------------------


def test_directory_csv_roles_and_permissions(tmp_path):
    from vma.directory import Directory

    path = tmp_path / "people.csv"
    path.write_text(DIRECTORY_CSV)
    directory = Directory.load(str(path))
    lopez = directory.by_npi(PROVIDER_NPI)
    assert (lopez.name, lopez.slack_user_id, lopez.supervisor_slack_user_id, lopez.delegates) == (
        "Maria Lopez MD", "U_LOPEZ", "U_CHIEF", ["U_SCRIBE"])
    assert directory.role_of("U_CODER") == "coder" and directory.role_of("U_NOBODY") is None
    assert directory.is_member("U_SCRIBE") and not directory.is_member("U_NOBODY")
    assert directory.may_answer("U_LOPEZ", PROVIDER_NPI) and directory.may_answer("U_SCRIBE", PROVIDER_NPI)
    assert not directory.may_answer("U_CODER", PROVIDER_NPI) and not directory.may_answer("U_OTHERDOC", PROVIDER_NPI)
    assert directory.may_view("U_CODER", PROVIDER_NPI) and directory.may_view("U_CHIEF", PROVIDER_NPI)
    assert not directory.may_view("U_OTHERDOC", PROVIDER_NPI) and not directory.may_view(None, PROVIDER_NPI)
    assert [p.npi for p in directory.providers_for("U_SCRIBE")] == [PROVIDER_NPI]
    assert directory.by_email("MLOPEZ@example.org").npi == PROVIDER_NPI
    assert len(Directory.load(None)) == 0


def test_directory_json_and_errors_name_the_field(tmp_path):
    from vma.directory import Directory

    path = tmp_path / "people.json"
    path.write_text(json.dumps([{"npi": "1234567893", "name": "A", "email": "a@example.org", "slack_user_id": "UA",
                                 "supervisor_slack_user_id": None, "role": "", "delegate_slack_user_ids": ["UD"]}]))
    directory = Directory.load(path)
    assert directory.by_user("UA").role == "provider" and directory.may_answer("UD", "1234567893")

    bad_role = tmp_path / "bad.csv"
    bad_role.write_text("npi,name,email,slack_user_id,supervisor_slack_user_id,role\n,X,x@e.org,UX,,boss\n")
    with pytest.raises(ValueError, match="line 2: field 'role'"):
        Directory.load(bad_role)
    no_header = tmp_path / "short.csv"
    no_header.write_text("npi,name\n1,X\n")
    with pytest.raises(ValueError, match="slack_user_id"):
        Directory.load(no_header)
    with pytest.raises(ValueError, match="no such file"):
        Directory.load(tmp_path / "missing.csv")
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    with pytest.raises(ValueError, match="invalid JSON"):
        Directory.load(broken)


# -- audit export and retention ---------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path, database_url, ref):
    from vma.conversations.service import ChartService
    from vma.directory import Directory
    from vma.store.db import Store

    settings = make_settings(tmp_path, database_url)
    store = Store(database_url)
    store.migrate()
    clock = Clock()
    service = ChartService(store, RecordingNotifier(), settings, Directory.load(settings.vma_provider_directory),
                           ref=ref, clock=clock)
    yield service, clock
    store.dispose()


def test_audit_export_csv_and_jsonl_since(served):
    from vma.store.audit import export_audit

    service, clock = served
    first = service.intake(raw(chart("ENC-AU-1")), "http")
    service.process(first.record_id)
    clock.advance(days=2)
    cutoff = clock.now
    from vma.store.models import Query
    with service.store.session() as session:
        query = session.query(Query).one()
    service.answer(query.id, "U_OTHERDOC", 0)
    service.answer(query.id, "U_LOPEZ", 0)

    out = io.StringIO()
    count = export_audit(service.store, None, "jsonl", out)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(events) and [e["action"] for e in events][:3] == ["intake", "checked", "ask"]
    assert {"answer_refused", "answer", "post"} <= {e["action"] for e in events}
    answer = next(e for e in events if e["action"] == "answer")
    assert answer["actor"] == "U_LOPEZ" and answer["query_id"] == query.id and answer["chart_id"] == "ENC-AU-1"

    out = io.StringIO()
    export_audit(service.store, cutoff.date().isoformat(), "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["action"] for r in rows] == ["answer_refused", "answer", "post"]
    assert json.loads(rows[1]["detail"])["codes"] == query.choices[0]["codes"]
    with pytest.raises(ValueError, match="--format"):
        export_audit(service.store, None, "xml", io.StringIO())
    with pytest.raises(ValueError, match="--since"):
        export_audit(service.store, "last tuesday", "csv", io.StringIO())


def test_purge_raw_notes_keeps_queries_and_open_charts(served):
    from vma.store.audit import PURGED_NOTE, purge_raw_notes
    from vma.store.models import ChartRecord, IntakeRejection, Query

    service, clock = served
    answered = service.intake(raw(chart("ENC-PG-1")), "http")
    service.process(answered.record_id)
    waiting = service.intake(raw(chart("ENC-PG-2")), "http")
    service.process(waiting.record_id)
    service.intake(b"{not json", "http")
    with service.store.session() as session:
        query = session.query(Query).filter(Query.chart_id == "ENC-PG-1").one()
    service.answer(query.id, "U_LOPEZ", 1)

    assert purge_raw_notes(service.store, 30, now=clock.now + timedelta(days=10)) == {"charts": 0, "rejections": 0}
    result = purge_raw_notes(service.store, 30, now=clock.now + timedelta(days=31))
    assert result == {"charts": 1, "rejections": 1}
    with service.store.session() as session:
        done = session.get(ChartRecord, answered.record_id)
        assert done.raw is None and done.raw_purged_at is not None
        assert done.chart_json["note"]["text"] == PURGED_NOTE and done.chart_json["diagnoses"]
        kept = session.get(ChartRecord, waiting.record_id)
        assert kept.raw and "gardening" in kept.chart_json["note"]["text"]
        q = session.get(Query, query.id)
        assert q.status == "answered" and q.question and q.answer_json["label"]
        assert session.query(IntakeRejection).one().raw is None
    # The purged chart can still be shown to the coders.
    assert service.checkchart("ENC-PG-1", "U_CODER").allowed
