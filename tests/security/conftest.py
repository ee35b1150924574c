"""The real app over HTTP with the Slack stand-in, and a directory with every role in it.

Built on the e2e ``Stack``: signed requests into the served app, every Web API
call recorded, the database from the shared ``database_url`` fixture (SQLite, or
PostgreSQL with VMA_TEST_BACKEND=postgresql).
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import CHEN, CHIEF, CODER, CODERS, LOPEZ, MANAGERS, STRANGER, Stack, demo_chart  # noqa: F401
from vma.integrations.slack.standin import SlackStandIn

SCRIBE, ADMIN = "U0SCRIBE1", "U0ADMIN01"
BOT_TOKEN = "xoxb-SECRET-bot-token-4f9a"
SIGNING_SECRET = "SECRET-signing-8c1d77e2"

DIRECTORY_CSV = (
    "npi,name,email,slack_user_id,supervisor_slack_user_id,role,delegate_slack_user_ids\n"
    f'1234567893,"Maria Lopez, MD",mlopez@example.org,{LOPEZ},{CHIEF},provider,{SCRIBE}\n'
    f'1558598797,"Sam Chen, DO",schen@example.org,{CHEN},{CHIEF},provider,\n'
    f",Sid Scribe,sscribe@example.org,{SCRIBE},,delegate,\n"
    f",Cora Coder,ccoder@example.org,{CODER},,coder,\n"
    f",Pat Chief,pchief@example.org,{CHIEF},,manager,\n"
    f",Ada Admin,aadmin@example.org,{ADMIN},,admin,\n"
)

#: the roles /checkchart and App Home are tried with; the stranger is in no directory
EVERYONE = {"provider": LOPEZ, "other_provider": CHEN, "delegate": SCRIBE, "coder": CODER, "manager": CHIEF,
            "admin": ADMIN, "stranger": STRANGER}


class SecureStack(Stack):
    """The e2e stack with secrets worth hunting for in logs and the all-roles directory."""

    def __init__(self, tmp_path, slack, database_url, **settings):
        super().__init__(tmp_path, slack, database_url)
        directory = tmp_path / "directory.csv"
        directory.write_text(DIRECTORY_CSV)
        self.settings = self.settings.model_copy(update={
            "slack_bot_token": BOT_TOKEN, "slack_signing_secret": SIGNING_SECRET,
            "vma_provider_directory": str(directory), **settings})

    def start(self, **app_options):
        super().start(**app_options)
        self.sender.signing_secret = SIGNING_SECRET
        return self

    @property
    def service(self):
        return self.served.server.config.app.state.service

    def queries(self, chart_id: str):
        from sqlalchemy import select

        from vma.store.models import Query

        with self.service.store.session() as session:
            return session.execute(select(Query).where(Query.chart_id == chart_id).order_by(Query.id)).scalars().all()

    def audit(self, action: str | None = None):
        from sqlalchemy import select

        from vma.store.models import AuditEvent

        with self.service.store.session() as session:
            rows = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
        return [r for r in rows if action is None or r.action == action]


@pytest.fixture
def slack_standin():
    with SlackStandIn(users={"mlopez@example.org": LOPEZ, "schen@example.org": CHEN}, token=BOT_TOKEN) as standin:
        yield standin


@pytest.fixture
def secure(tmp_path, slack_standin, database_url):
    s = SecureStack(tmp_path, slack_standin, database_url).start()
    yield s
    s.stop()
    assert slack_standin.violations == [], slack_standin.violations
