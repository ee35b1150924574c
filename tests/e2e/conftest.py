from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from vma.config import Settings
from vma.integrations.slack.standin import SignedSlackSender, SlackStandIn

from tests.shared import ServedApp

DEMO = Path(__file__).resolve().parents[2] / "vma" / "demo"
SECRET = "e2e-signing-secret"
LOPEZ, CHEN, CODER, CHIEF, STRANGER = "U0LOPEZ01", "U0CHEN001", "U0CODER01", "U0CHIEF01", "U0STRANGE"
CODERS, MANAGERS = "C0CODERS1", "C0MANAGE1"


def demo_chart(chart_id: str, **changes) -> bytes:
    data = json.loads((DEMO / f"{chart_id}.json").read_text())
    data.update(changes)
    return json.dumps(data).encode()


class Stack:
    """Stand-in Slack + the real app over HTTP; ``restart()`` serves a new app over the same database."""

    def __init__(self, tmp_path: Path, slack: SlackStandIn, database_url: str | None = None):
        self.tmp_path = tmp_path
        self.slack = slack
        self.settings = Settings(
            slack_bot_token="xoxb-e2e", slack_signing_secret=SECRET, slack_api_url=slack.api_url,
            vma_database_url=database_url or f"sqlite:///{tmp_path / 'vma.db'}", vma_coder_channel=CODERS,
            vma_manager_channel=MANAGERS, vma_provider_directory=str(DEMO / "directory.csv"),
            vma_business_hours="always")
        self.served: ServedApp | None = None
        self.http = httpx.Client(timeout=30)
        self.sender: SignedSlackSender | None = None

    def start(self, **app_options) -> "Stack":
        from vma.web import create_app

        app_options.setdefault("start_scheduler", False)
        self.served = ServedApp(create_app(self.settings, **app_options)).start()
        self.sender = SignedSlackSender(self.served.url + "/slack/events", SECRET, self.slack)
        return self

    def stop(self) -> None:
        if self.served:
            self.served.stop()
            self.served = None
        if self.sender:
            self.sender.close()

    def restart(self, **app_options) -> "Stack":
        self.stop()
        return self.start(**app_options)

    @property
    def url(self) -> str:
        return self.served.url

    def post_chart(self, body: bytes, path: str = "/charts"):
        return self.http.post(self.url + path, content=body, headers={"Content-Type": "application/json"})

    def dm_of(self, user: str, timeout: float = 20):
        channel = self.slack.dm_channel(user)
        return self.slack.wait_for(lambda: self.slack.messages_in(channel), timeout=timeout)[-1]

    def coder_post(self, chart_id: str, timeout: float = 20):
        def find():
            return [m for m in self.slack.messages_in(CODERS) if chart_id in (m.text or "")]
        return self.slack.wait_for(find, timeout=timeout)[-1]


@pytest.fixture
def slack():
    with SlackStandIn(users={"mlopez@example.org": LOPEZ, "schen@example.org": CHEN}) as standin:
        yield standin


@pytest.fixture
def stack(tmp_path, slack, database_url):
    s = Stack(tmp_path, slack, database_url).start()
    yield s
    s.stop()
    assert slack.violations == [], slack.violations
