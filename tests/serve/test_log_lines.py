"""The log's lines in detail: audit events become one line per DM or reminder, keep IDs only, and read
the same in text and JSON; a rolled-back transaction logs nothing."""

from __future__ import annotations

import io
import json
import logging

import pytest

from vma.logging_setup import JsonFormatter, TextFormatter, audit_lines, configure, install_audit_bridge


def test_one_line_per_dm_however_many_questions_it_asks():
    detail = {"to": "U0CHEN001", "channel": "D0CHEN001", "ts": "1800000001.000001", "check": "laterality",
              "question": "Which knee was evaluated?", "options": ["Pain in right knee (M25.561)"]}
    lines = audit_lines([("ask", "vma", "ENC-9", 7, detail), ("ask", "vma", "ENC-9", 8, detail)])
    assert lines == [("query_dm_sent", logging.INFO,
                      {"queries": [7, 8], "to": "U0CHEN001", "channel": "D0CHEN001", "chart_id": "ENC-9"})]
    # The question and its options stay in the audit trail, out of the log.
    assert "knee" not in json.dumps(lines)


def test_a_held_chart_logs_the_kind_of_problem_not_the_providers_email():
    (name, level, fields), = audit_lines([("unroutable", "vma", "ENC-7", None, {
        "record_id": 3, "reason": "no Slack user for the provider's email (ppatel@example.org) and NPI 1770000010 "
                                  "is not in the directory"})])
    assert (name, level) == ("chart_held", logging.WARNING)
    assert fields == {"chart_id": "ENC-7", "record_id": 3, "reason": "no_slack_user"}


def test_a_drop_folder_files_name_is_not_logged():
    (name, _, fields), = audit_lines([("intake", "vma", "ENC-5", None, {
        "record_id": 9, "version": 1, "source": "inbox:ruiz_ana_1968-03-14.hl7", "format": "hl7"})])
    assert name == "chart_received" and fields["source"] == "inbox" and "ruiz" not in json.dumps(fields)


def test_failed_reminders_are_slack_errors_and_unknown_steps_keep_their_ids():
    lines = audit_lines([
        ("reminder_failed", "vma", None, None, {"query_ids": [4, 5], "error": "The request to the Slack API failed."
                                                "\nThe server responded with: {'ok': False, 'error': 'ratelimited'}"}),
        ("checkchart", "U0CODER01", "ENC-3", None, {"note": "whatever a future step records"}),
    ])
    assert lines[0] == ("slack_error", logging.WARNING, {"kind": "reminder", "queries": [4, 5], "error": "ratelimited"})
    assert lines[1] == ("audit_checkchart", logging.INFO,
                        {"chart_id": "ENC-3", "query_id": None, "record_id": None, "by": "U0CODER01"})


def test_text_and_json_lines():
    record = logging.LogRecord("vma.events", logging.INFO, __file__, 1, "chart_received chart_id=ENC-1", None, None)
    record.vma_event, record.vma_fields = "chart_received", {"chart_id": "ENC-1", "record_id": 4, "checks": ["a"]}
    text = TextFormatter().format(record)
    assert text.endswith("INFO vma.events: chart_received chart_id=ENC-1") and text[4] == "-" and "Z " in text
    entry = json.loads(JsonFormatter().format(record))
    assert entry["event"] == "chart_received" and entry["record_id"] == 4 and entry["checks"] == ["a"]
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        failed = logging.LogRecord("vma.web", logging.ERROR, __file__, 1, "processing failed", None, sys.exc_info())
    assert "RuntimeError: boom" in json.loads(JsonFormatter().format(failed))["exc"]


@pytest.fixture
def captured():
    """vma serve's logging (configure) into a buffer, and the process's logging put back afterwards."""
    root, vma = logging.getLogger(), logging.getLogger("vma")
    before = (list(root.handlers), root.level, vma.level)
    stream = io.StringIO()
    yield lambda: configure("json", "INFO", stream=stream) and stream
    root.handlers[:] = before[0]
    root.setLevel(before[1])
    vma.setLevel(before[2])


def test_audit_events_are_logged_when_their_transaction_commits_only(tmp_path, captured):
    from vma.store.db import Store
    from vma.store.models import AuditEvent

    store = Store(f"sqlite:///{tmp_path / 'vma.db'}")
    store.migrate()
    logging.getLogger("vma").setLevel(logging.WARNING)  # as a program embedding vma might have left it
    stream = captured()
    install_audit_bridge()
    with store.session() as session, session.begin():
        session.add(AuditEvent(actor="vma", action="intake", chart_id="ENC-OK",
                               detail={"record_id": 1, "version": 1, "source": "mllp", "format": "hl7"}))
    with pytest.raises(RuntimeError), store.session() as session, session.begin():
        session.add(AuditEvent(actor="vma", action="intake", chart_id="ENC-ROLLED-BACK", detail={}))
        session.flush()
        raise RuntimeError("the work failed")
    logging.getLogger("apscheduler.executors.default").info("Running job \"tick\"")
    store.dispose()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    events = [line for line in lines if line.get("event") == "chart_received"]
    assert [(e["chart_id"], e["source"]) for e in events] == [("ENC-OK", "mllp")], stream.getvalue()[-2000:]
    assert not [line for line in lines if line["logger"].startswith("apscheduler")]
