"""A local stand-in for the Slack Web API, and a client that sends signed requests
the way Slack does.

``SlackStandIn`` is a small HTTP server on 127.0.0.1 (random port, own thread).
Point ``SLACK_API_URL`` at ``standin.api_url`` and every Web API call vma makes
lands here: it is recorded (method, parameters, JSON), answered the way Slack
answers, and every ``blocks``/``view`` is validated with ``slack_sdk.models``
and the Block Kit limits; a violation is recorded and answered with
``invalid_blocks`` exactly where Slack would refuse it. Faults (429 with
Retry-After, 500) can be injected per method to exercise the retry handlers.

``SignedSlackSender`` plays Slack's part towards the app: it signs each request
with the signing secret (``v0`` HMAC-SHA256 over ``v0:timestamp:body``, the
scheme ``slack_sdk.signature.SignatureVerifier`` checks) and posts
interactions, slash commands and events to ``/slack/events``.

Socket Mode: ``apps.connections.open`` (called with an ``xapp-`` app-level
token) hands out a ``ws://127.0.0.1:<port>/link/?ticket=...`` URL of a real
websocket server in this process (``SocketModeSide``, RFC 6455 by the
``websockets`` package). On each connection it says ``hello`` as Slack does,
then sends envelopes (``events_api``, ``interactive``, ``slash_commands``)
that ``SocketModeSender`` builds from the same payloads the HTTP sender posts,
and waits for the app's acknowledgement (``{"envelope_id", "payload"}``).
An envelope sent while no connection is open waits for the next one; one sent
on a connection that drops before its acknowledgement comes back is sent
again on the next connection with ``retry_attempt`` + 1, as Slack retries what
it could not deliver. ``drop()`` cuts the connections (abruptly, or with a
close frame) and ``refresh()`` sends Slack's ``disconnect`` message, so tests
can prove the app reconnects without losing an answer.

Used by the tests and by ``vma demo``; nothing in production imports it.
"""

from __future__ import annotations

import itertools
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from vma.integrations.slack.blocks import validate_message, validate_view
from vma.integrations.slack.standin_records import _JSON_FIELDS, APP_ID, BOT_USER_ID, TEAM_ID, Call, Message, wait_until
from vma.integrations.slack.standin_senders import SignedSlackSender
from vma.integrations.slack.standin_socket import SocketModeSender, SocketModeSide

# What tests and the demo import from here; the senders and the Socket Mode side live beside this module.
__all__ = ["APP_ID", "BOT_USER_ID", "TEAM_ID", "Call", "Message", "SignedSlackSender", "SlackStandIn", "SocketModeSender",
           "SocketModeSide", "find_element", "wait_until"]


class SlackStandIn:
    """The Slack Web API, locally. ``with SlackStandIn() as slack: ... slack.api_url``."""

    def __init__(self, users: dict[str, str] | None = None, token: str = "xoxb-standin"):
        self.users_by_email: dict[str, str] = dict(users or {})
        self.usergroups: dict[str, list[str]] = {}
        self.token = token
        self.calls: list[Call] = []
        self.messages: list[Message] = []
        self.views: list[dict] = []          # views.open / views.push / views.update
        self.published: dict[str, dict] = {}  # App Home per user
        self.files: list[dict] = []
        self.responses: list[dict] = []       # posts to response_url
        self.violations: list[tuple[str, list[str]]] = []
        self._faults: dict[str, list[tuple[int, int]]] = {}
        self._lock = threading.RLock()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._errors: dict[str, list[str]] = {}
        self.socket_mode = SocketModeSide(self)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> "SlackStandIn":
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet: the calls are recorded instead
                pass

            def do_GET(self):
                standin._handle(self)

            def do_POST(self):
                standin._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="slack-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.socket_mode.stop()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "SlackStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server, "stand-in not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def api_url(self) -> str:
        return self.base_url + "api/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.base_url}response/{name}"

    # -- test controls -------------------------------------------------------------------------

    def add_user(self, email: str, user_id: str) -> None:
        self.users_by_email[email.lower()] = user_id

    def add_usergroup(self, group_id: str, user_ids: list[str]) -> None:
        self.usergroups[group_id] = list(user_ids)

    def fail_next(self, method: str, status: int = 429, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer ``status`` (429 carries Retry-After)."""
        with self._lock:
            self._faults.setdefault(method, []).extend([(status, retry_after)] * times)

    def error_next(self, method: str, error: str = "not_in_channel", times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP 200 ``{"ok": false, "error": error}``."""
        with self._lock:
            self._errors.setdefault(method, []).extend([error] * times)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def messages_in(self, channel: str, ephemeral: bool | None = False) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.channel == channel
                    and (ephemeral is None or m.ephemeral == ephemeral)]

    def ephemeral_for(self, user: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.ephemeral and m.user == user]

    def message(self, channel: str, ts: str) -> Message | None:
        with self._lock:
            for m in self.messages:
                if m.channel == channel and m.ts == ts:
                    return m
        return None

    @staticmethod
    def dm_channel(user_id: str) -> str:
        return "D" + user_id.lstrip("UW")

    def wait_for(self, predicate, timeout: float = 10.0, interval: float = 0.02):
        """Polls ``predicate()`` until truthy (background work after an ack is asynchronous)."""
        return wait_until(predicate, timeout, interval, "the stand-in did not see the expected Slack call in time")

    # -- HTTP ----------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        path = parsed.path
        if path.startswith("/upload/"):
            with self._lock:
                self.files.append({"file_id": path.rsplit("/", 1)[-1], "bytes": len(body), "content": body})
            return self._reply(request, 200, b"OK", "text/plain")
        if path.startswith("/response/"):
            try:
                payload = json.loads(body or b"{}")
            except ValueError:
                payload = {"raw": body.decode("utf-8", "replace")}
            problems = validate_message(payload.get("text"), payload.get("blocks")) if payload.get("blocks") else []
            with self._lock:
                self.calls.append(Call("response_url", payload, None, ok=not problems))
                if problems:
                    self.violations.append(("response_url", problems))
                else:
                    self.responses.append(payload)
            return self._reply(request, 400 if problems else 200, b"invalid_blocks" if problems else b"ok",
                               "text/plain")
        if not path.startswith("/api/"):
            return self._reply(request, 404, b"not found", "text/plain")
        method = path[len("/api/"):]
        params = self._params(parsed.query, body, request.headers.get("Content-Type") or "")
        auth = request.headers.get("Authorization") or ""
        token = auth[7:] if auth.startswith("Bearer ") else params.pop("token", None)
        with self._lock:
            faults = self._faults.get(method)
            fault = faults.pop(0) if faults else None
        if fault:
            status, retry_after = fault
            with self._lock:
                self.calls.append(Call(method, params, token, ok=False, error=f"injected {status}"))
            headers = {"Retry-After": str(retry_after)} if status == 429 else {}
            error = "ratelimited" if status == 429 else "internal_error"
            return self._reply(request, status, json.dumps({"ok": False, "error": error}).encode(), headers=headers)
        with self._lock:
            errors = self._errors.get(method)
            injected = errors.pop(0) if errors else None
        if not token:
            result: dict[str, Any] = {"ok": False, "error": "not_authed"}
        elif injected:
            result = {"ok": False, "error": injected}
        elif token.startswith("xapp-") != (method == "apps.connections.open"):
            # Slack: an app-level token opens Socket Mode connections and does nothing else.
            result = {"ok": False, "error": "not_allowed_token_type"}
        else:
            handler = getattr(self, "_api_" + method.replace(".", "_"), None)
            result = handler(params) if handler else {"ok": False, "error": "unknown_method"}
        with self._lock:
            self.calls.append(Call(method, params, token, ok=bool(result.get("ok")), error=result.get("error")))
        self._reply(request, 200, json.dumps(result).encode())

    @staticmethod
    def _params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
        params: dict[str, Any] = {k: v for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)}
        if body:
            if "json" in content_type:
                try:
                    params.update(json.loads(body))
                except ValueError:
                    params["_unparsable_body"] = body.decode("utf-8", "replace")
            else:
                params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        for key in _JSON_FIELDS:
            if isinstance(params.get(key), str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    pass  # left as text: the validator reports it
        return params

    @staticmethod
    def _reply(request, status: int, body: bytes, content_type: str = "application/json; charset=utf-8",
               headers: dict[str, str] | None = None) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.end_headers()
        request.wfile.write(body)

    # -- Web API methods -----------------------------------------------------------------------

    def _next_ts(self) -> str:
        return f"{1_800_000_000 + next(self._ts)}.{next(self._ids):06d}"

    def _invalid(self, method: str, problems: list[str]) -> dict:
        with self._lock:
            self.violations.append((method, problems))
        return {"ok": False, "error": "invalid_blocks", "errors": problems}

    def _api_auth_test(self, params):
        return {"ok": True, "url": "https://vma-standin.slack.com/", "team": "vma stand-in", "user": "vma",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "B0VMA0001", "is_enterprise_install": False}

    def _api_apps_connections_open(self, params):
        return {"ok": True, "url": self.socket_mode.issue_url()}

    def _api_users_lookupByEmail(self, params):
        email = str(params.get("email") or "").lower()
        user_id = self.users_by_email.get(email)
        if not user_id:
            return {"ok": False, "error": "users_not_found"}
        return {"ok": True, "user": {"id": user_id, "team_id": TEAM_ID, "deleted": False,
                                     "profile": {"email": email}}}

    def _api_usergroups_users_list(self, params):
        members = self.usergroups.get(str(params.get("usergroup") or ""))
        if members is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(members)}

    def _api_conversations_open(self, params):
        users = str(params.get("users") or "").split(",")
        if not users or not users[0]:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": self.dm_channel(users[0]), "is_im": True}}

    def _message_problems(self, params) -> list[str]:
        return validate_message(params.get("text"), params.get("blocks"))

    def _api_chat_postMessage(self, params):
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        problems = self._message_problems(params)
        if problems:
            return self._invalid("chat.postMessage", problems)
        ts = self._next_ts()
        with self._lock:
            self.messages.append(Message(channel, ts, params.get("text"), params.get("blocks"),
                                         metadata=params.get("metadata") if isinstance(params.get("metadata"), dict)
                                         else None))
        return {"ok": True, "channel": channel, "ts": ts,
                "message": {"text": params.get("text"), "blocks": params.get("blocks"), "ts": ts}}

    def _api_conversations_history(self, params):
        """A channel's messages, newest first, from ``oldest`` on; metadata only with include_all_metadata."""
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(params.get("oldest") or 0)
        with_metadata = str(params.get("include_all_metadata")).lower() in ("1", "true")
        with self._lock:
            found = [m for m in self.messages if m.channel == channel and not m.ephemeral and float(m.ts) >= oldest]
        messages = []
        for m in sorted(found, key=lambda m: float(m.ts), reverse=True)[: int(params.get("limit") or 100)]:
            entry = {"type": "message", "ts": m.ts, "text": m.text, "user": BOT_USER_ID}
            if with_metadata and m.metadata:
                entry["metadata"] = m.metadata
            messages.append(entry)
        return {"ok": True, "messages": messages, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _api_chat_update(self, params):
        problems = self._message_problems(params)
        if problems:
            return self._invalid("chat.update", problems)
        message = self.message(params.get("channel"), params.get("ts"))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        with self._lock:
            message.text = params.get("text")
            message.blocks = params.get("blocks")
            message.updates += 1
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _api_chat_postEphemeral(self, params):
        if not params.get("channel") or not params.get("user"):
            return {"ok": False, "error": "channel_not_found" if not params.get("channel") else "user_not_in_channel"}
        problems = self._message_problems(params)
        if problems:
            return self._invalid("chat.postEphemeral", problems)
        ts = self._next_ts()
        with self._lock:
            self.messages.append(Message(params["channel"], ts, params.get("text"), params.get("blocks"),
                                         user=params["user"], ephemeral=True))
        return {"ok": True, "message_ts": ts}

    def _view_call(self, method: str, params, needs_trigger: bool):
        if needs_trigger and not params.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = params.get("view")
        problems = validate_view(view)
        if problems:
            return self._invalid(method, problems)
        view_id = f"V{next(self._ids):08d}"
        stored = {**view, "id": view_id}
        with self._lock:
            self.views.append(stored)
        return {"ok": True, "view": stored}

    def _api_views_open(self, params):
        return self._view_call("views.open", params, needs_trigger=True)

    def _api_views_push(self, params):
        return self._view_call("views.push", params, needs_trigger=True)

    def _api_views_update(self, params):
        return self._view_call("views.update", params, needs_trigger=False)

    def _api_views_publish(self, params):
        user_id = params.get("user_id")
        if not user_id:
            return {"ok": False, "error": "invalid_arguments"}
        result = self._view_call("views.publish", params, needs_trigger=False)
        if result.get("ok"):
            with self._lock:
                self.published[user_id] = result["view"]
        return result

    def _api_files_getUploadURLExternal(self, params):
        file_id = f"F{next(self._ids):08d}"
        return {"ok": True, "upload_url": f"{self.base_url}upload/{file_id}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, params):
        files = params.get("files") or []
        return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title")} for f in files]}


def find_element(blocks: list[dict], predicate) -> dict | None:
    """The first interactive element of a message (with its block_id) that satisfies ``predicate``."""
    for block in blocks or []:
        for element in block.get("elements") or []:
            if element.get("action_id") and predicate(element):
                return {**element, "block_id": block.get("block_id", "b")}
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("action_id") and predicate(accessory):
            return {**accessory, "block_id": block.get("block_id", "b")}
    return None
