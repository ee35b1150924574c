"""Compliance: `vma audit export` from the command line, and the retention purge keeping the query record."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from vma.integrations.slack.standin import find_element

from tests.security.conftest import LOPEZ, STRANGER, demo_chart


def _answered_flow(stack):
    stack.post_chart(demo_chart("ENC-D2002"))
    dm = stack.dm_of(LOPEZ)
    left = find_element(dm.blocks, lambda e: e.get("type") == "button" and "left knee" in e["text"]["text"])
    stack.sender.click(STRANGER, dm.channel, dm.ts, left)
    stack.slack.wait_for(lambda: stack.slack.ephemeral_for(STRANGER))
    stack.sender.click(LOPEZ, dm.channel, dm.ts, left)
    stack.coder_post("ENC-D2002")
    stack.post_chart(demo_chart("ENC-D2003"))  # left open: Sam Chen does not answer
    stack.dm_of("U0CHEN001")


def _vma(database_url: str, *args: str, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "VMA_"))}
    env["VMA_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "vma.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_audit_export_from_the_command_line(secure, database_url, tmp_path):
    _answered_flow(secure)
    since = (datetime.now(UTC) - timedelta(hours=1)).date().isoformat()

    jsonl = _vma(database_url, "audit", "export", "--since", since, "--format", "jsonl", cwd=tmp_path)
    assert jsonl.returncode == 0, jsonl.stderr
    events = [json.loads(line) for line in jsonl.stdout.splitlines()]
    actions = [e["action"] for e in events]
    assert {"ask", "answer_refused", "answer", "post"} <= set(actions), actions
    refused = next(e for e in events if e["action"] == "answer_refused")
    answered = next(e for e in events if e["action"] == "answer")
    assert refused["actor"] == STRANGER and answered["actor"] == LOPEZ
    assert answered["chart_id"] == "ENC-D2002" and answered["detail"]["codes"] == ["M25.562"]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)

    as_csv = _vma(database_url, "audit", "export", "--since", since, "--format", "csv", cwd=tmp_path)
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["action"] for r in rows] == actions
    assert json.loads(next(r for r in rows if r["action"] == "answer")["detail"])["codes"] == ["M25.562"]

    later = _vma(database_url, "audit", "export", "--since", (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                 cwd=tmp_path)
    assert later.returncode == 0 and later.stdout == ""

    bad = _vma(database_url, "audit", "export", "--since", "last tuesday", cwd=tmp_path)
    assert bad.returncode == 2 and "--since" in bad.stderr and "Traceback" not in bad.stderr
    wrong_format = _vma(database_url, "audit", "export", "--format", "xml", cwd=tmp_path)
    assert wrong_format.returncode == 2 and "--format" in wrong_format.stderr


def test_audit_export_of_an_unreadable_database_says_so(tmp_path):
    missing = tmp_path / "no-such-dir" / "nothing-here" / "vma.db"
    done = _vma(f"sqlite:///{missing}", "audit", "export", cwd=tmp_path)
    assert done.returncode == 2 and "VMA_DATABASE_URL" in done.stderr and "Traceback" not in done.stderr


def test_retention_purge_drops_the_note_and_keeps_the_query_record(secure):
    from vma.store.audit import PURGED_NOTE, purge_raw_notes
    from vma.store.models import ChartRecord, Query

    _answered_flow(secure)
    store = secure.service.store
    before = {q.id: (q.question, q.evidence, q.choices, q.answer_json, q.answered_by, q.status)
              for q in secure.queries("ENC-D2002")}

    purged = purge_raw_notes(store, 30, now=datetime.now(UTC) + timedelta(days=31))
    assert purged["charts"] == 1  # the chart with Chen's open query keeps its note until he answers

    with store.session() as session:
        records = {r.chart_id: r for r in session.execute(select(ChartRecord)).scalars()}
    answered, waiting = records["ENC-D2002"], records["ENC-D2003"]
    assert answered.raw is None and answered.raw_purged_at is not None
    assert answered.chart_json["note"]["text"] == PURGED_NOTE
    assert "patellar" not in json.dumps(answered.chart_json)
    assert answered.chart_json["diagnoses"] and answered.status == "posted"  # the codes stay
    assert waiting.raw and "knee pain" in waiting.chart_json["note"]["text"].lower()

    after = {q.id: (q.question, q.evidence, q.choices, q.answer_json, q.answered_by, q.status)
             for q in secure.queries("ENC-D2002")}
    assert after == before and after  # who was asked what, and who answered what, when
    assert [e.actor for e in secure.audit("answer")] == [LOPEZ]
    assert secure.audit("purge_raw_notes")[-1].detail["charts"] == 1
    with store.session() as session:
        assert session.execute(select(Query).where(Query.status == "answered")).scalars().all()

    # /checkchart of a purged chart still answers from the stored findings and codes
    body = secure.sender.slash("U0CODER01", "/checkchart", "ENC-D2002").json()
    assert "M25.562" in json.dumps(body)
