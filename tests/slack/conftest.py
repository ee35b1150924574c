import pytest

from vma.config import Settings
from vma.integrations.slack.standin import SlackStandIn


@pytest.fixture
def slack():
    with SlackStandIn(users={"mlopez@example.org": "U_LOPEZ"}) as standin:
        yield standin


@pytest.fixture
def slack_settings(slack):
    return Settings(slack_bot_token="xoxb-test", slack_api_url=slack.api_url, slack_signing_secret="s3cret")
