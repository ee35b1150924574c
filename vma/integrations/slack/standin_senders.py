"""What Slack sends the app over HTTP, as the stand-in plays it: the payloads Slack builds (block
actions, view submissions, slash commands, events) and ``SignedSlackSender``, which signs and posts them
to ``/slack/events`` as Slack does."""

from __future__ import annotations

import itertools
import json
import time
import urllib.parse
from typing import TYPE_CHECKING

from vma.integrations.slack.standin_records import APP_ID, BOT_USER_ID, TEAM_ID

if TYPE_CHECKING:  # annotations only: standin.py imports this module
    from vma.integrations.slack.standin import SlackStandIn


# -- what Slack sends the app (the same payloads over HTTP and over Socket Mode) -------------------

_serial = itertools.count(1)


def _trigger_id() -> str:
    return f"{next(_serial)}.{int(time.time())}.standin"


def block_actions_payload(user_id: str, channel: str, message_ts: str, action: dict, response_url: str) -> dict:
    """A ``block_actions`` payload for one button or select element of a message."""
    element = dict(action)
    act = {"action_id": element["action_id"], "block_id": element.get("block_id", "b"),
           "type": element.get("type", "button"), "action_ts": f"{time.time():.6f}"}
    if act["type"] == "static_select":
        act["selected_option"] = element["selected_option"]
    else:
        act["value"] = element.get("value")
        act["text"] = element.get("text") or {"type": "plain_text", "text": "button"}
    return {
        "type": "block_actions", "api_app_id": APP_ID, "token": "legacy-unused",
        "team": {"id": TEAM_ID, "domain": "standin"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": "directmessage"},
        "message": {"type": "message", "ts": message_ts, "user": BOT_USER_ID},
        "trigger_id": _trigger_id(),
        "response_url": response_url,
        "actions": [act],
    }


def view_submission_payload(user_id: str, view: dict, values: dict[str, dict[str, str]]) -> dict:
    """A ``view_submission``; ``values`` is {block_id: {action_id: text}} for plain-text inputs."""
    state = {block: {action: {"type": "plain_text_input", "value": text} for action, text in actions.items()}
             for block, actions in values.items()}
    return {
        "type": "view_submission", "api_app_id": APP_ID, "token": "legacy-unused",
        "team": {"id": TEAM_ID, "domain": "standin"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "trigger_id": _trigger_id(),
        "view": {**view, "state": {"values": state}, "team_id": TEAM_ID, "app_id": APP_ID},
    }


def slash_command_payload(user_id: str, command: str, text: str, channel: str, response_url: str) -> dict[str, str]:
    return {
        "token": "legacy-unused", "team_id": TEAM_ID, "team_domain": "standin", "channel_id": channel,
        "channel_name": "general", "user_id": user_id, "user_name": user_id.lower(), "command": command,
        "text": text, "api_app_id": APP_ID, "response_url": response_url, "trigger_id": _trigger_id(),
    }


def event_callback_payload(event: dict) -> dict:
    return {
        "token": "legacy-unused", "team_id": TEAM_ID, "api_app_id": APP_ID, "type": "event_callback",
        "event": {**event, "event_ts": f"{time.time():.6f}"}, "event_id": f"Ev{next(_serial):08d}",
        "event_time": int(time.time()), "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID,
                                                           "is_bot": True}],
    }


class SignedSlackSender:
    """Sends requests to the app as Slack does: form bodies, ``X-Slack-Signature`` and timestamp."""

    def __init__(self, events_url: str, signing_secret: str, standin: SlackStandIn | None = None):
        import httpx

        self.events_url = events_url
        self.signing_secret = signing_secret
        self.standin = standin
        self.http = httpx.Client(timeout=30)

    def close(self) -> None:
        self.http.close()

    def signed_headers(self, body: bytes, timestamp: int | None = None, secret: str | None = None) -> dict[str, str]:
        from slack_sdk.signature import SignatureVerifier

        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(secret or self.signing_secret).generate_signature(timestamp=ts, body=body)
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}

    def post(self, body: bytes, content_type: str, **sign):
        headers = {"Content-Type": content_type, **self.signed_headers(body, **sign)}
        return self.http.post(self.events_url, content=body, headers=headers)

    def _trigger_id(self) -> str:
        return _trigger_id()

    def _response_url(self, name: str) -> str:
        return self.standin.response_url(name) if self.standin else "http://127.0.0.1:9/response"

    def interaction(self, payload: dict, **sign):
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded", **sign)

    def click(self, user_id: str, channel: str, message_ts: str, action: dict, **sign):
        """A ``block_actions`` request for one button or select element of a message."""
        payload = block_actions_payload(user_id, channel, message_ts, action, self._response_url("actions"))
        return self.interaction(payload, **sign)

    def submit_view(self, user_id: str, view: dict, values: dict[str, dict[str, str]], **sign):
        """A ``view_submission``; ``values`` is {block_id: {action_id: text}} for plain-text inputs."""
        return self.interaction(view_submission_payload(user_id, view, values), **sign)

    def slash(self, user_id: str, command: str, text: str = "", channel: str = "C0CODERS1", **sign):
        payload = slash_command_payload(user_id, command, text, channel, self._response_url("command"))
        return self.post(urllib.parse.urlencode(payload).encode(), "application/x-www-form-urlencoded", **sign)

    def event(self, event: dict, **sign):
        return self.post(json.dumps(event_callback_payload(event)).encode(), "application/json", **sign)
