"""A check that raises, end to end, outside strict mode (as in production).

Over HTTP into the real app with the Slack stand-in: the chart is ``incomplete``, nothing reaches the
coders' channel and no DM goes out; the manager channel names the check and the chart (IDs only); a
restart with the fix checks it again and the chart goes to the coders. And ``vma check`` prints the
failure and exits 3 (2 still wins when a file is unreadable).
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import CHEN, CODERS, LOPEZ, MANAGERS, Stack, demo_chart
from tests.shared import NOTE_QUOTE, break_check
from vma.integrations.slack.standin import SlackStandIn


@pytest.fixture
def stack(tmp_path, database_url):
    with SlackStandIn(users={"mlopez@example.org": LOPEZ, "schen@example.org": CHEN}) as slack:
        s = Stack(tmp_path, slack, database_url)
        yield s
        s.stop()


def _status(stack, chart_id):
    from sqlalchemy import select

    from vma.store.models import ChartRecord

    with stack.served.server.config.app.state.service.store.session() as session:
        return session.execute(select(ChartRecord.status).where(ChartRecord.chart_id == chart_id)).scalar_one()


def test_a_check_that_raises_holds_the_chart_and_the_managers_hear_which(stack, monkeypatch):
    break_check(monkeypatch, "em-level")
    stack.start()
    # ENC-D2001 is clean: without the broken check it would go straight to the coders
    assert stack.post_chart(demo_chart("ENC-D2001")).status_code == 202
    notice = stack.slack.wait_for(lambda: stack.slack.messages_in(MANAGERS))[-1]
    shown = json.dumps(notice.blocks) + (notice.text or "")
    assert "ENC-D2001" in shown and "em-level" in shown
    assert not any(word in shown for word in NOTE_QUOTE.split(": ")), shown  # IDs only
    chart = json.loads(demo_chart("ENC-D2001"))
    assert chart["patient"]["name"] not in shown and chart["patient"]["mrn"] not in shown
    # the status commits in its own transaction, beside the Slack post: wait for it, never race it
    assert stack.slack.wait_for(lambda: _status(stack, "ENC-D2001") == "incomplete")
    assert stack.slack.messages_in(CODERS) == []
    assert [c for c in stack.slack.calls_to("conversations.open")] == []  # no DM either
    assert stack.slack.violations == []

    # the fix ships: the restarted server checks it again and the chart goes its normal way
    monkeypatch.undo()
    monkeypatch.setenv("VMA_STRICT_CHECKS", "1")
    stack.restart()
    stack.coder_post("ENC-D2001")
    assert stack.slack.wait_for(lambda: _status(stack, "ENC-D2001") == "posted")
    assert len(stack.slack.messages_in(MANAGERS)) == 1


def test_vma_check_prints_the_failure_and_exits_3(tmp_path, monkeypatch, capsys):
    from vma.cli import main

    path = tmp_path / "ENC-D2002.json"
    path.write_bytes(demo_chart("ENC-D2002"))
    break_check(monkeypatch, "laterality")

    assert main(["check", str(path)]) == 3
    out, err = capsys.readouterr()
    assert "INCOMPLETE" in out and "CHECK FAILED: laterality" in out
    assert "check-failed: laterality" in err and "ENC-D2002" in err

    assert main(["check", "--json", str(path)]) == 3
    out, _ = capsys.readouterr()
    report = json.loads(out.strip().splitlines()[-1])
    assert report["status"] == "incomplete"
    failed = [f for f in report["findings"] if f["check"] == "check-failed"]
    assert len(failed) == 1 and failed[0]["failed_check"] == "laterality" and failed[0]["action"] == "info"
    assert "Traceback" not in out and not any(word in out for word in NOTE_QUOTE.split(": "))

    # contract section 2: an unreadable file (2) outranks a failed check (3), whatever the order
    assert main(["check", str(path), str(tmp_path / "missing.json")]) == 2
    assert main(["check", str(tmp_path / "missing.json"), str(path)]) == 2
    capsys.readouterr()


def test_the_check_failed_message_renders_clean(monkeypatch):
    """The manager notice's template: valid Block Kit, IDs only, and the wording passes the query lint."""
    from vma.conversations.lint import lint_text
    from vma.integrations.slack.render import render_blocks

    blocks = render_blocks("check_failed.json.j2", chart_id="ENC-1", version=3, checks=["laterality", "acuity"])
    text = json.dumps(blocks)
    assert "ENC-1" in text and "version 3" in text and "`laterality`, `acuity`" in text
    for block in blocks:
        for piece in [block.get("text") or {}, *(block.get("elements") or [])]:
            assert lint_text(piece.get("text", "")) == []
