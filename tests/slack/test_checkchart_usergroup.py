"""VMA_CHECKCHART_USERGROUP: members of a Slack user group may use /checkchart besides the directory,
read through usergroups.users.list on the stand-in and cached for a while."""

from __future__ import annotations

from types import SimpleNamespace

from slack_sdk import WebClient

from vma.config import Settings
from vma.directory import Directory
from vma.integrations.slack.app import CheckchartAccess
from vma.integrations.slack.standin import SlackStandIn

DIRECTORY = ("npi,name,email,slack_user_id,supervisor_slack_user_id,role\n"
             "1234567893,Maria Lopez MD,mlopez@example.org,U_LOPEZ,,provider\n")


def access_for(tmp_path, standin, group):
    path = tmp_path / "directory.csv"
    path.write_text(DIRECTORY)
    service = SimpleNamespace(directory=Directory.load(str(path)))
    settings = Settings(vma_checkchart_usergroup=group)
    return CheckchartAccess(service, settings, WebClient(token="xoxb-test", base_url=standin.api_url))


def test_group_members_and_directory_members_may_use_checkchart(tmp_path):
    with SlackStandIn() as standin:
        standin.add_usergroup("S_CODERS", ["U_CODER1", "U_CODER2"])
        access = access_for(tmp_path, standin, "S_CODERS")
        assert access.allowed("U_CODER1") and access.allowed("U_LOPEZ")
        assert not access.allowed("U_STRANGER")
        # One lookup serves many requests until the cache expires.
        assert len(standin.calls_to("usergroups.users.list")) == 1


def test_an_unknown_group_lets_only_the_directory_in(tmp_path):
    with SlackStandIn() as standin:
        access = access_for(tmp_path, standin, "S_MISSING")
        assert access.allowed("U_LOPEZ") and not access.allowed("U_CODER1")


def test_without_a_group_no_lookup_is_made(tmp_path):
    with SlackStandIn() as standin:
        access = access_for(tmp_path, standin, None)
        assert not access.allowed("U_CODER1")
        assert standin.calls_to("usergroups.users.list") == []
