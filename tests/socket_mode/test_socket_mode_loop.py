"""Socket Mode end to end, over a real websocket on loopback.

The app runs as ``vma serve --socket-mode`` wires it: no signing secret, ``SLACK_APP_TOKEN`` an
``xapp-`` token; ``apps.connections.open`` at the Slack stand-in hands out a ``ws://127.0.0.1``
URL of the stand-in's websocket server, and every Slack request (the answer click, the
``/checkchart`` command and modal, ``app_home_opened``) arrives as a Socket Mode envelope that the
app must acknowledge. Charts still come in over HTTP (``POST /charts``) and every Web API call
goes to the stand-in. The client pings every half second here (10 s in production), so a cut
connection is noticed in about two seconds.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.shared import ServedApp
from vma.config import Settings
from vma.integrations.slack import socket_mode
from vma.integrations.slack.manifest import METHOD_SCOPES, manifest
from vma.integrations.slack.standin import SlackStandIn, SocketModeSender, find_element, wait_until

DEMO = Path(__file__).resolve().parents[2] / "vma" / "demo"
LOPEZ, CHEN, CODER, CHIEF = "U0LOPEZ01", "U0CHEN001", "U0CODER01", "U0CHIEF01"
CODERS, MANAGERS = "C0CODERS1", "C0MANAGE1"
PING = 0.5


class SocketStack:
    def __init__(self, slack: SlackStandIn, database_url: str):
        self.slack = slack
        self.settings = Settings(
            slack_bot_token="xoxb-socket", slack_app_token="xapp-1-A0VMA0001-socket", slack_signing_secret=None,
            slack_api_url=slack.api_url, vma_database_url=database_url, vma_coder_channel=CODERS,
            vma_manager_channel=MANAGERS, vma_provider_directory=str(DEMO / "directory.csv"),
            vma_business_hours="always")
        from vma.web import create_app

        # The scheduler runs as in vma serve: a Slack call that fails once is retried by its tick.
        self.app = create_app(self.settings, socket_mode=True)
        self.served = ServedApp(self.app).start()
        self.handler = socket_mode.start(self.app.state.bolt, self.settings, ping_interval=PING)
        self.sender = SocketModeSender(slack)
        self.http = httpx.Client(timeout=30)

    def post_chart(self, name: str) -> None:
        response = self.http.post(self.served.url + "/charts", content=(DEMO / f"{name}.json").read_bytes(),
                                  headers={"Content-Type": "application/json"})
        assert response.status_code == 202, response.text

    def dm(self, user: str, chart_id: str):
        channel = self.slack.dm_channel(user)
        # The first chart of a process loads the reference data: give it time on a loaded machine.
        return self.slack.wait_for(lambda: [m for m in self.slack.messages_in(channel) if chart_id in (m.text or "")],
                                   timeout=30)[-1]

    def coder_post(self, chart_id: str):
        return self.slack.wait_for(lambda: [m for m in self.slack.messages_in(CODERS) if chart_id in (m.text or "")],
                                   timeout=20)

    def answers(self, query_chart: str) -> list:
        from sqlalchemy import select

        from vma.store.models import AuditEvent

        with self.app.state.service.store.session() as session:
            return session.execute(select(AuditEvent).where(AuditEvent.action == "answer",
                                                            AuditEvent.chart_id == query_chart)).scalars().all()

    def close(self) -> None:
        # Slack's side closes first, so the SDK's reader is not left waiting out its read timeout.
        self.handler.client.auto_reconnect_enabled = False
        self.slack.socket_mode.drop(abrupt=False)
        socket_mode.stop(self.handler)
        self.served.stop()
        self.http.close()


@pytest.fixture
def stack(database_url):
    with SlackStandIn(users={"mlopez@example.org": LOPEZ, "schen@example.org": CHEN}) as slack:
        built = SocketStack(slack, database_url)
        try:
            yield built
        finally:
            built.close()


def _button(message, starts: str) -> dict:
    element = find_element(message.blocks, lambda e: e.get("type") == "button" and e["text"]["text"].startswith(starts))
    assert element is not None, f"no button starting {starts!r}"
    return element


def test_the_whole_loop_runs_over_socket_mode_without_a_signing_secret(stack):
    slack = stack.slack
    opened = slack.calls_to("apps.connections.open")
    assert len(opened) == 1 and opened[0].token.startswith("xapp-")  # the app token, not the bot token
    assert slack.socket_mode.connections, "no websocket connection is open"

    # A chart in (HTTP intake), its query DM out (Web API).
    stack.post_chart("ENC-D2002")
    dm = stack.dm(LOPEZ, "ENC-D2002")

    # The provider's click comes over the websocket and is acknowledged there.
    envelope = stack.sender.click(LOPEZ, dm.channel, dm.ts, _button(dm, "Pain in left knee"))
    assert envelope.wait_ack(5) is None  # block_actions: an empty acknowledgement
    posted, = stack.coder_post("ENC-D2002")
    assert "M25.562" in str(posted.blocks)
    slack.wait_for(lambda: slack.message(dm.channel, dm.ts).updates >= 1, timeout=30)  # the DM shows the answer
    assert len(stack.answers("ENC-D2002")) == 1

    # /checkchart <id>: the report is the acknowledgement's payload, shown to the coder alone.
    reply = stack.sender.slash(CODER, "/checkchart", "ENC-D2002").wait_ack(5)
    assert reply["response_type"] == "ephemeral" and "ENC-D2002" in reply["text"] and "M25.562" in reply["text"]
    refusal = stack.sender.slash("U0OUTSIDE", "/checkchart", "ENC-D2002").wait_ack(5)
    assert "not available to you" in refusal["text"] and "M25.562" not in str(refusal)

    # /checkchart alone opens the paste-a-note modal; submitting it answers with the findings view.
    stack.sender.slash(CODER, "/checkchart", "").wait_ack(5)
    modal = slack.wait_for(lambda: [v for v in slack.views if v.get("callback_id") == "vma_checkchart"])[-1]
    result = stack.sender.submit_view(CODER, modal, {
        "vma_note": {"note": "ASSESSMENT AND PLAN\n\nKnee pain, worse with stairs. Ice and rest."},
        "vma_codes": {"codes": "M25.569 99213"}}).wait_ack(20)
    assert result["response_action"] == "update" and "laterality" in str(result["view"])

    # App Home over the websocket: app_home_opened -> views.publish.
    stack.sender.event({"type": "app_home_opened", "user": CODER, "channel": "D0CODER01", "tab": "home"}).wait_ack(5)
    home = slack.wait_for(lambda: slack.published.get(CODER))
    assert home["type"] == "home" and "ENC-D2002" in str(home["blocks"])

    # Slack's own requests never reach HTTP in Socket Mode: without a secret /slack/events refuses all.
    assert stack.http.post(stack.served.url + "/slack/events", content=b"payload=%7B%7D",
                           headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 401

    # Every Web API method used in the loop is declared with its scopes in the app manifest.
    scopes = set(manifest(socket_mode=True)["oauth_config"]["scopes"]["bot"])
    used = {c.method for c in slack.calls if c.method not in ("response_url", "socket_mode.ack")}
    assert used >= {"apps.connections.open", "conversations.open", "chat.postMessage", "chat.update",
                    "views.open", "views.publish"}
    for method in used:
        assert method in METHOD_SCOPES and set(METHOD_SCOPES[method]) <= scopes, method
    assert slack.violations == []


def test_a_dropped_websocket_reconnects_and_the_answer_sent_meanwhile_is_kept(stack):
    slack = stack.slack
    stack.post_chart("ENC-D2002")
    dm = stack.dm(LOPEZ, "ENC-D2002")

    assert slack.socket_mode.drop(abrupt=True) == 1  # the network fails: no close frame, no goodbye
    envelope = stack.sender.click(LOPEZ, dm.channel, dm.ts, _button(dm, "Pain in left knee"))
    # The app notices the silent connection, asks for a new URL and reconnects by itself; the click
    # Slack could not deliver arrives on the new connection.
    envelope.wait_ack(10 + 8 * PING)
    assert slack.socket_mode.opened == 2 and len(slack.calls_to("apps.connections.open")) == 2
    stack.coder_post("ENC-D2002")
    assert len(stack.answers("ENC-D2002")) == 1

    # Slack's routine refresh ("disconnect" message): a new connection at once, the old one closed.
    slack.socket_mode.refresh()
    slack.socket_mode.wait_connected(3, timeout=10)
    stack.sender.event({"type": "app_home_opened", "user": LOPEZ, "channel": "D0LOPEZ01", "tab": "home"}).wait_ack(5)
    slack.wait_for(lambda: slack.published.get(LOPEZ))
    assert slack.violations == []


def test_an_answer_whose_acknowledgement_was_lost_is_delivered_again_and_counted_once(stack):
    slack = stack.slack
    stack.post_chart("ENC-D2003")  # two questions for Dr Chen
    dm = stack.dm(CHEN, "ENC-D2003")
    first = _button(dm, "Sprain of unspecified ligament of left ankle, initial")

    slack.socket_mode.lose_acks = True  # the app answers; Slack never hears it
    envelope = stack.sender.click(CHEN, dm.channel, dm.ts, first)
    wait_until(lambda: len(stack.answers("ENC-D2003")) == 1, 10, what="the answer was not recorded")
    slack.socket_mode.lose_acks = False
    slack.socket_mode.drop(abrupt=False)  # the connection closes with the envelope still unacknowledged

    envelope.wait_ack(10)
    assert envelope.deliveries == 2 and envelope.retry_attempt == 1
    # The second delivery finds the question answered: one answer, and the provider is told so.
    notice = slack.wait_for(lambda: [m for m in slack.ephemeral_for(CHEN) if "already answered" in (m.text or "")])
    assert notice and len(stack.answers("ENC-D2003")) == 1
    assert slack.violations == []


def test_socket_mode_needs_an_app_level_token():
    with pytest.raises(socket_mode.SocketModeError, match="SLACK_APP_TOKEN"):
        socket_mode.check_app_token(None)
    with pytest.raises(socket_mode.SocketModeError, match="app-level token"):
        socket_mode.check_app_token("xoxb-a-bot-token")
    assert socket_mode.check_app_token("xapp-1-A1-2-abc") == "xapp-1-A1-2-abc"


def test_slack_refusing_the_app_token_stops_start_up_with_the_reason(tmp_path):
    from vma.web import create_app

    with SlackStandIn() as slack:
        settings = Settings(slack_bot_token="xoxb-x", slack_app_token="xapp-1-revoked", slack_api_url=slack.api_url,
                            vma_database_url=f"sqlite:///{tmp_path / 'vma.db'}")
        app = create_app(settings, start_scheduler=False, socket_mode=True)
        slack.error_next("apps.connections.open", "invalid_auth")
        with pytest.raises(socket_mode.SocketModeError, match="invalid_auth"):
            socket_mode.start(app.state.bolt, settings, ping_interval=PING, wait=1)
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):  # HTTP mode still insists on the secret
        create_app(settings, start_scheduler=False)


def _serve_env(slack: SlackStandIn, tmp_path, **extra) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("VMA_", "SLACK_"))}
    env.update({"SLACK_API_URL": slack.api_url, "SLACK_BOT_TOKEN": "xoxb-serve",
                "VMA_DATABASE_URL": f"sqlite:///{tmp_path / 'vma.db'}",
                "VMA_PROVIDER_DIRECTORY": str(DEMO / "directory.csv"), **extra})
    return env


def test_vma_serve_socket_mode_starts_without_a_signing_secret_and_answers_over_the_websocket(tmp_path):
    import signal
    import subprocess
    import sys

    vma = str(Path(sys.executable).with_name("vma"))
    with SlackStandIn() as slack:
        refused = subprocess.run([vma, "serve", "--socket-mode", "--port", "0"], env=_serve_env(slack, tmp_path),
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "SLACK_APP_TOKEN" in refused.stdout + refused.stderr

        from tests.shared import free_port

        log = (tmp_path / "serve.log").open("w")
        server = subprocess.Popen([vma, "serve", "--socket-mode", "--host", "127.0.0.1", "--port", str(free_port())],
                                  env=_serve_env(slack, tmp_path, SLACK_APP_TOKEN="xapp-1-serve"),
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: server.poll() is not None or slack.socket_mode.connections, 30,
                       what="vma serve --socket-mode did not connect")
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            SocketModeSender(slack).event({"type": "app_home_opened", "user": CODER, "channel": "D0CODER01",
                                           "tab": "home"}).wait_ack(15)
            assert slack.wait_for(lambda: slack.published.get(CODER), timeout=20)["type"] == "home"
        finally:
            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=30)
            log.close()
        assert code in (0, -signal.SIGTERM), (tmp_path / "serve.log").read_text()
        assert "slack_socket_connected" in (tmp_path / "serve.log").read_text()
