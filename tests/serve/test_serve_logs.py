"""``vma serve --log-format json`` logs a chart's whole loop, one line per event, IDs only.

A real ``vma serve`` process (short reminder and escalation times, business hours always) takes three
synthetic charts: a clean one, one with a query for Dr Lopez and one for a provider with no Slack
account. The query is reminded, escalated and answered; the coder channel refuses the first post
(a Slack error) and the chart is posted on the retry. Every line of the log must be a JSON object;
the events of the loop must be there with their IDs; no line may carry a patient's name, birth
date, MRN or words of a note; and APScheduler's INFO lines (two per job run) must not appear.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vma.integrations.slack.standin import SignedSlackSender, SlackStandIn, find_element, wait_until

ROOT = Path(__file__).resolve().parents[2]
VMA = Path(sys.executable).with_name("vma")
DEMO = ROOT / "vma" / "demo"
LOPEZ, CHIEF = "U0LOPEZ01", "U0CHIEF01"
CODERS, MANAGERS = "C0CODERS1", "C0MANAGE1"
SECRET = "serve-logs-secret"
CHARTS = ("ENC-D2001", "ENC-D2002", "ENC-D2005")  # clean; a query for Dr Lopez; a provider not in Slack


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _phi(chart: dict) -> list[str]:
    """What must never reach a log line: the patient's identifiers and any five-word run of the note."""
    patient = chart["patient"]
    words = re.findall(r"[A-Za-z0-9']+", chart["note"]["text"])
    runs = {" ".join(words[i:i + 5]) for i in range(len(words) - 4)}
    return [patient["name"], patient["birth_date"], patient["mrn"], *runs]


@pytest.fixture
def slack():
    with SlackStandIn(users={"mlopez@example.org": LOPEZ}) as standin:
        yield standin


def test_serve_logs_the_loop_as_json_with_ids_only(slack, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VMA_", "SLACK_"))}
    env.update({
        "SLACK_API_URL": slack.api_url, "SLACK_BOT_TOKEN": "xoxb-logs", "SLACK_SIGNING_SECRET": SECRET,
        "VMA_DATABASE_URL": f"sqlite:///{tmp_path / 'vma.db'}", "VMA_PROVIDER_DIRECTORY": str(DEMO / "directory.csv"),
        "VMA_CODER_CHANNEL": CODERS, "VMA_MANAGER_CHANNEL": MANAGERS, "VMA_BUSINESS_HOURS": "always",
        "VMA_REMINDER_AFTER": "2s", "VMA_ESCALATE_AFTER": "4s", "VMA_STRICT_CHECKS": "1",
    })
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([str(VMA), "serve", "--host", "127.0.0.1", "--port", str(port), "--log-format",
                                   "json"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: server.poll() is not None or _healthy(base), 30, 0.1, "vma serve did not start")
        assert server.poll() is None, log_path.read_text()

        for name in CHARTS:
            response = httpx.post(base + "/charts", content=(DEMO / f"{name}.json").read_bytes(),
                                  headers={"Content-Type": "application/json"})
            assert response.status_code == 202, response.text
        slack.wait_for(lambda: slack.messages_in(CODERS), timeout=30)  # the clean chart
        slack.wait_for(lambda: slack.messages_in(MANAGERS) and slack.messages_in(slack.dm_channel(CHIEF)), timeout=30)
        dm = slack.messages_in(slack.dm_channel(LOPEZ))[0]
        # The escalation posts to the chief and then to the managers' channel: wait for its committed line
        # before arming the one-off Slack error, or the escalation's second post could take that error.
        wait_until(lambda: '"event": "escalation_sent"' in log_path.read_text(), 60, 0.1,
                   "the escalation was not logged")

        slack.error_next("chat.postMessage", "not_in_channel")  # the coder channel's next post fails once
        button = find_element(dm.blocks, lambda e: e.get("type") == "button"
                              and e["text"]["text"].startswith("Pain in left knee"))
        sender = SignedSlackSender(base + "/slack/events", SECRET, slack)
        try:
            assert sender.click(LOPEZ, dm.channel, dm.ts, button).status_code == 200
        finally:
            sender.close()
        slack.wait_for(lambda: len(slack.messages_in(CODERS)) == 2, timeout=30)
        # Each line is written after its commit: wait for the lines of the whole loop, not a fixed time
        # (a loaded machine may take longer than any sleep).
        wanted = ("reminder_sent", "escalation_sent", "query_answered", "chart_held", "slack_error")

        def missing() -> list[str]:
            text = log_path.read_text()
            return [e for e in wanted if f'"event": "{e}"' not in text] + (
                [] if text.count('"event": "chart_cleared"') >= 2 else ["chart_cleared x2"])

        deadline = time.monotonic() + 60
        while missing() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not missing(), f"vma serve did not log {missing()}"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)

    lines = log_path.read_text().splitlines()
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON log line: {line!r}")
    events = [r for r in records if r.get("logger") == "vma.events"]
    by_event: dict[str, list[dict]] = {}
    for record in events:
        by_event.setdefault(record["event"], []).append(record)

    received = {r["chart_id"]: r for r in by_event["chart_received"]}
    assert set(received) == set(CHARTS) and {r["source"] for r in received.values()} == {"http:charts"}
    checked = {r["chart_id"]: r for r in by_event["chart_checked"]}
    assert checked["ENC-D2001"]["status"] == "clear" and checked["ENC-D2002"]["queries"] == 1
    assert checked["ENC-D2002"]["findings"] >= 1 and "laterality" in checked["ENC-D2002"]["checks"]
    dm_sent, = [r for r in by_event["query_dm_sent"] if r.get("chart_id") == "ENC-D2002"]
    assert dm_sent["to"] == LOPEZ and len(dm_sent["queries"]) == 1
    query_id = dm_sent["queries"][0]
    reminder, = by_event["reminder_sent"]
    assert reminder["queries"] == [query_id] and reminder["charts"] == ["ENC-D2002"]
    escalation, = by_event["escalation_sent"]
    assert escalation["queries"] == [query_id] and set(escalation["targets"]) == {CHIEF, MANAGERS}
    answered, = by_event["query_answered"]
    assert (answered["chart_id"], answered["query_id"], answered["by"]) == ("ENC-D2002", query_id, LOPEZ)
    held, = by_event["chart_held"]
    assert held["chart_id"] == "ENC-D2005" and held["reason"] in ("no_slack_user", "not_in_directory")
    assert [r["chart_id"] for r in by_event["chart_cleared"]] == ["ENC-D2001", "ENC-D2002"]
    assert any(r["method"] == "chat.postMessage" and r["error"] == "not_in_channel" for r in by_event["slack_error"])
    assert by_event["serve_starting"][0]["database"] == "sqlite"

    # IDs only: no patient name, birth date, MRN or run of note words anywhere in the log.
    text = "\n".join(lines).lower()
    for name in CHARTS:
        chart = json.loads((DEMO / f"{name}.json").read_text())
        leaked = [p for p in _phi(chart) if p.lower() in text]
        assert leaked == [], f"{name}: {leaked[:3]}"
    # APScheduler says nothing at INFO (it would print two lines per job run, every second here).
    assert not [r for r in records if r["logger"].startswith("apscheduler") and r["level"] == "INFO"]
    assert not [r for r in records if "Traceback" in json.dumps(r)]


def _healthy(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
