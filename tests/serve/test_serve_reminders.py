"""A real ``vma serve`` process reminds and escalates an unanswered query on time; ``vma digest --print`` reports it.

The server runs as a subprocess with short settings (VMA_REMINDER_AFTER=3s,
VMA_ESCALATE_AFTER=8s, VMA_BUSINESS_HOURS=always) against the Slack stand-in in
this test process, over a temporary SQLite file. Times are measured from the
query's ``sent_at`` as stored by the server (the reminder clock's own start).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from vma.integrations.slack.standin import SlackStandIn

ROOT = Path(__file__).resolve().parents[2]
VMA = Path(sys.executable).with_name("vma")
DEMO = ROOT / "vma" / "demo"
LOPEZ, CHIEF = "U0LOPEZ01", "U0CHIEF01"
CODERS, MANAGERS = "C0CODERS1", "C0MANAGE1"
REMIND_AFTER, ESCALATE_AFTER = 3.0, 8.0
# A tick runs every second (a quarter of the 3 s delay, floored at 1 s); a reminder may wait for the
# next tick, plus the time of the Slack call and of this test's polling.
LATE_BY_AT_MOST = 2.5


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(slack: SlackStandIn, database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VMA_", "SLACK_"))}
    env.update({
        "SLACK_API_URL": slack.api_url, "SLACK_BOT_TOKEN": "xoxb-serve-test",
        "SLACK_SIGNING_SECRET": "serve-test-secret",
        "VMA_DATABASE_URL": f"sqlite:///{database}",
        "VMA_PROVIDER_DIRECTORY": str(DEMO / "directory.csv"),
        "VMA_CODER_CHANNEL": CODERS, "VMA_MANAGER_CHANNEL": MANAGERS,
        "VMA_REMINDER_AFTER": "3s", "VMA_ESCALATE_AFTER": "8s", "VMA_BUSINESS_HOURS": "always",
        "VMA_TIMEZONE": "America/New_York", "VMA_STRICT_CHECKS": "1",
    })
    return env


class Watcher:
    """Polls the stand-in and notes the wall-clock time each message was first seen."""

    def __init__(self, slack: SlackStandIn):
        self.slack = slack
        self.seen: dict[tuple[str, str], float] = {}

    def poll(self) -> None:
        now = time.time()
        with self.slack._lock:
            messages = list(self.slack.messages)
        for message in messages:
            self.seen.setdefault((message.channel, message.ts), now)

    def times_in(self, channel: str) -> list[float]:
        return sorted(t for (c, _), t in self.seen.items() if c == channel)

    def wait(self, predicate, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if predicate():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; Slack calls so far: {[c.method for c in self.slack.calls]}")
            time.sleep(0.05)


def _open_queries(database: Path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT id, chart_id, sent_at FROM query WHERE status = 'open' ORDER BY id").fetchall()


def _as_epoch(stored: str) -> float:
    moment = datetime.fromisoformat(stored)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@pytest.fixture
def slack():
    with SlackStandIn(users={"mlopez@example.org": LOPEZ}) as standin:
        yield standin


def test_running_serve_reminds_and_escalates_on_time_and_the_digest_reports_it(slack, tmp_path):
    database = tmp_path / "vma.db"
    env = _environment(slack, database)
    port = _free_port()
    log = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen([str(VMA), "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=tmp_path,
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    watcher = Watcher(slack)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            assert server.poll() is None, f"vma serve exited: {(tmp_path / 'serve.log').read_text()}"
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "vma serve did not answer /healthz"
            time.sleep(0.1)

        chart = (DEMO / "ENC-D2002.json").read_bytes()  # knee pain without a side: a laterality query
        response = httpx.post(base + "/charts", content=chart, headers={"Content-Type": "application/json"})
        assert response.status_code == 202, response.text

        lopez_dm = slack.dm_channel(LOPEZ)
        chief_dm = slack.dm_channel(CHIEF)
        watcher.wait(lambda: len(watcher.times_in(lopez_dm)) >= 1, timeout=15)
        watcher.wait(lambda: all(row[2] for row in _open_queries(database)), timeout=5)  # recorded after the call
        (query_id, chart_id, sent_at), = _open_queries(database)
        assert chart_id == "ENC-D2002"
        sent = _as_epoch(sent_at)

        watcher.wait(lambda: len(watcher.times_in(lopez_dm)) >= 2 and watcher.times_in(chief_dm)
                     and watcher.times_in(MANAGERS), timeout=ESCALATE_AFTER + 6)
        dm_seen, reminder_seen = watcher.times_in(lopez_dm)[:2]
        assert dm_seen - sent < 1.5  # the query DM went out when sent_at says
        reminder_late = reminder_seen - sent - REMIND_AFTER
        assert 0 <= reminder_late <= LATE_BY_AT_MOST, f"reminder {reminder_late:+.2f} s off its due time"
        for channel in (chief_dm, MANAGERS):
            escalation_late = watcher.times_in(channel)[0] - sent - ESCALATE_AFTER
            assert 0 <= escalation_late <= LATE_BY_AT_MOST, f"escalation to {channel} {escalation_late:+.2f} s off"

        reminder = slack.messages_in(lopez_dm)[1]
        assert "ENC-D2002" in str(reminder.blocks) + (reminder.text or "")
        escalation = slack.messages_in(MANAGERS)[0]
        assert "ENC-D2002" in str(escalation.blocks) and "Lopez" in str(escalation.blocks) + (escalation.text or "")
        assert [m.channel for m in slack.messages if m.channel == chief_dm] == [chief_dm]
        assert slack.violations == []

        time.sleep(1.5)  # a few more ticks: nothing more is sent (one reminder, one escalation)
        watcher.poll()
        assert len(watcher.times_in(lopez_dm)) == 2 and len(watcher.times_in(MANAGERS)) == 1
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)  # uvicorn's graceful shutdown: lifespan stops the scheduler
        try:
            code = server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
        log.seek(0)
        output = log.read()
        log.close()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells how it ended.
    assert code in (0, -signal.SIGTERM), output
    # The lifespan stops the scheduler before uvicorn reports the shutdown complete. APScheduler's own
    # INFO lines ("Scheduler has been shut down" among them) are silenced in vma serve's log.
    assert "Application shutdown complete" in output and "apscheduler" not in output
    assert "Traceback" not in output, output

    printed = subprocess.run([str(VMA), "digest", "--print"], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    text = printed.stdout
    assert "Open queries: 1" in text
    labels = ("under 24 h", "24-48 h", "48-72 h", "72 h or more")
    buckets = {line.strip().rsplit(" ", 1)[0].strip(): line.rsplit(" ", 1)[1]
               for line in text.splitlines() if line.strip().startswith(labels)}
    assert buckets == {"under 24 h": "1", "24-48 h": "0", "48-72 h": "0", "72 h or more": "0"}
    assert "Maria Lopez, MD (NPI 1234567893): open 1 (1 / 0 / 0 / 0)" in text
    oldest = text.split("Oldest open queries:")[1]
    assert "ENC-D2002" in oldest and f"query {query_id}" in oldest
