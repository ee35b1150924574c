"""Is this request Slack's? The signature over the raw bytes, then the payload's shape.

Both run before bolt parses anything: a request that is not from Slack is a 401 whatever it holds,
and a signed payload of a shape Slack never sends is a 400 rather than a 500 inside bolt.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_MAX_AGE = 60 * 5  # Slack's rule: a request signed more than five minutes off is a replay


def slack_signature_ok(secret: str, body: bytes, timestamp: str | None, signature: str | None,
                       now: float | None = None) -> bool:
    """Slack's ``v0`` HMAC-SHA256 over ``v0:<timestamp>:<raw body bytes>``, and a fresh timestamp.

    Checked over the raw bytes before anything parses the body, so a request that is not from
    Slack is a 401 whatever it holds (bolt checks again after parsing).
    """
    if not secret or not timestamp or not signature:
        return False
    text = timestamp.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12:  # seconds since 1970: ten digits until the year 2286
        return False
    if abs(int(time.time() if now is None else now) - int(text)) > SIGNATURE_MAX_AGE:
        return False
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode("latin-1") + b":" + body,
                                hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


_OBJECT_FIELDS = ("user", "team", "channel", "container", "message", "enterprise", "view", "event",
                  "workflow_step", "state", "previous_view", "function_data", "bot_access_token")
_TEXT_FIELDS = ("type", "token", "api_app_id", "team_id", "user_id", "channel_id", "enterprise_id", "command", "text",
                "trigger_id", "response_url", "callback_id", "event_id", "user_name", "channel_name")
_LIST_OF_OBJECTS = ("actions", "authorizations", "response_urls")


def slack_payload_problem(body) -> str | None:
    """What makes a (signed) payload one Slack never sends, or None when its shape is Slack's.

    bolt reads fields like ``body["view"]["type"]`` unguarded and answers 500 when they are odd;
    a payload that fails here gets a 400 before bolt sees it.
    """
    if not isinstance(body, dict):
        return "the payload is not an object"
    for key in _OBJECT_FIELDS:
        if key in body and body[key] is not None and not isinstance(body[key], dict):
            return f"'{key}' is not an object"
    for key in _TEXT_FIELDS:
        if key in body and body[key] is not None and not isinstance(body[key], str):
            return f"'{key}' is not text"
    for key in _LIST_OF_OBJECTS:
        if key in body and not (isinstance(body[key], list) and all(isinstance(i, dict) for i in body[key])):
            return f"'{key}' is not a list of objects"
    for key in ("user", "team", "channel", "enterprise"):
        part = body.get(key)
        if isinstance(part, dict) and "id" in part and not isinstance(part["id"], str):
            return f"'{key}.id' is not text"
    kind = body.get("type")
    if kind == "event_callback" or "event" in body:
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "'event.type' is missing"
        for key in ("message", "previous_message", "item", "workflow_step"):
            if event.get(key) is not None and not isinstance(event[key], dict):
                return f"'event.{key}' is not an object"
    if kind == "block_actions" or "actions" in body:
        actions = body.get("actions")
        if not actions or not all(isinstance(a.get("action_id"), str) and isinstance(a.get("block_id", ""), str)
                                  for a in actions):
            return "'actions' is empty or an action has no action_id"
    if kind in ("view_submission", "view_closed") or "view" in body:
        view = body.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("type"), str) \
                or not isinstance(view.get("callback_id", ""), str):
            return "'view' has no type or callback_id"
        if view.get("state") is not None and not isinstance(view["state"], dict):
            return "'view.state' is not an object"
    return None
