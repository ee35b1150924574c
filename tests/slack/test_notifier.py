import pytest
from slack_sdk.errors import SlackApiError

from vma.conversations.ports import SentMessage
from vma.integrations.slack.notifier import notifier_from_settings

from tests.slack import views


def test_query_dm_opens_the_conversation_and_posts_valid_blocks(slack, slack_settings):
    notifier = notifier_from_settings(slack_settings, backoff=0.01)
    sent = notifier.send_query_dm("U_LOPEZ", views.summary(), [views.knee_query()])
    assert [c.method for c in slack.calls] == ["conversations.open", "chat.postMessage"]
    assert slack.calls[0].params["users"] == "U_LOPEZ"
    assert sent.channel == slack.dm_channel("U_LOPEZ")
    message = slack.message(sent.channel, sent.ts)
    assert message.blocks and "ENC-T-1" in message.text
    assert all(c.token == "xoxb-test" for c in slack.calls)
    assert slack.violations == []


def test_update_in_place_and_withdrawn(slack, slack_settings):
    notifier = notifier_from_settings(slack_settings, backoff=0.01)
    q = views.knee_query()
    sent = notifier.send_query_dm("U_LOPEZ", views.summary(), [q])
    q.status, q.answer_label, q.answered_by = "answered", "Pain in left knee (M25.562)", "U_LOPEZ"
    notifier.update_query_dm(sent, views.summary(), [q])
    message = slack.message(sent.channel, sent.ts)
    assert message.updates == 1 and "all questions answered" in message.text
    q.status = "withdrawn"
    notifier.send_withdrawn(sent, views.summary(), [q], "amended note version 2")
    assert "Withdrawn: amended note version 2" in str(slack.message(sent.channel, sent.ts).blocks)


def test_channel_posts_and_escalation_targets(slack, slack_settings):
    notifier = notifier_from_settings(slack_settings, backoff=0.01)
    cleared = notifier.post_cleared("C_CODERS", views.cleared())
    assert cleared.channel == "C_CODERS"
    notifier.post_unroutable("C_MANAGERS", views.summary(), [views.knee_query()], "no Slack user for the provider")
    notifier.send_reminder("U_LOPEZ", views.reminder_items())
    notifier.send_escalation("U_CHIEF", "Maria Lopez, MD", views.reminder_items())
    notifier.send_escalation("C_MANAGERS", "Maria Lopez, MD", views.reminder_items())
    opened = [c.params["users"] for c in slack.calls_to("conversations.open")]
    assert opened == ["U_LOPEZ", "U_CHIEF"]  # a channel target is posted to directly
    assert len(slack.messages_in("C_MANAGERS")) == 2
    assert slack.violations == []


def test_resolve_user_by_email(slack, slack_settings):
    notifier = notifier_from_settings(slack_settings, backoff=0.01)
    assert notifier.resolve_user("MLopez@example.org") == "U_LOPEZ"
    assert notifier.resolve_user("nobody@example.org") is None


def test_rate_limit_and_server_errors_are_retried(slack, slack_settings):
    notifier = notifier_from_settings(slack_settings, backoff=0.01)
    slack.fail_next("chat.postMessage", status=429, retry_after=0)
    slack.fail_next("chat.postMessage", status=500)
    sent = notifier.post_cleared("C_CODERS", views.cleared())
    attempts = slack.calls_to("chat.postMessage")
    assert [c.ok for c in attempts] == [False, False, True]
    assert slack.message(sent.channel, sent.ts) is not None


def test_persistent_failure_raises_so_the_caller_keeps_the_work(slack, slack_settings):
    notifier = notifier_from_settings(slack_settings, backoff=0.01)
    slack.fail_next("chat.postMessage", status=500, times=10)
    with pytest.raises(SlackApiError):
        notifier.post_cleared("C_CODERS", views.cleared())


def test_digest_with_chart_uploads_the_file(slack, slack_settings):
    notifier = notifier_from_settings(slack_settings, backoff=0.01)
    notifier.post_digest("C_MANAGERS", "Query aging: 3 open", b"\x89PNG fake")
    methods = [c.method for c in slack.calls]
    assert methods[0] == "chat.postMessage"
    assert "files.getUploadURLExternal" in methods and "files.completeUploadExternal" in methods
    assert slack.files and slack.files[0]["content"] == b"\x89PNG fake"


def test_standin_rejects_invalid_blocks_like_slack(slack, slack_settings):
    notifier = notifier_from_settings(slack_settings, backoff=0.01)
    with pytest.raises(SlackApiError) as err:
        notifier.client.chat_postMessage(channel="C1", text="x",
                                         blocks=[{"type": "header", "text": {"type": "plain_text", "text": "x" * 200}}])
    assert err.value.response["error"] == "invalid_blocks"
    assert slack.violations and slack.violations[0][0] == "chat.postMessage"


def test_standin_requires_a_token(slack):
    from slack_sdk import WebClient

    with pytest.raises(SlackApiError) as err:
        WebClient(base_url=slack.api_url).auth_test()
    assert err.value.response["error"] == "not_authed"
