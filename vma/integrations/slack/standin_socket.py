"""The Slack stand-in's Socket Mode side: a real websocket server that says ``hello``, sends envelopes
built from the same payloads the HTTP sender posts, waits for their acknowledgement, and resends what a
dropped connection did not acknowledge."""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vma.integrations.slack.blocks import validate_message, validate_view
from vma.integrations.slack.standin_records import APP_ID, Call, wait_until
from vma.integrations.slack.standin_senders import (block_actions_payload, event_callback_payload,
                                                    slash_command_payload, view_submission_payload)

if TYPE_CHECKING:  # annotations only: standin.py imports this module
    from vma.integrations.slack.standin import SlackStandIn


# -- Socket Mode ------------------------------------------------------------------------------------


@dataclass
class Envelope:
    """One Socket Mode envelope and, once the app acknowledges it, the acknowledgement's payload."""

    envelope_id: str
    type: str
    payload: dict
    accepts_response_payload: bool
    retry_attempt: int = 0
    acked: threading.Event = field(default_factory=threading.Event)
    ack_payload: dict | None = None
    deliveries: int = 0

    def message(self) -> str:
        return json.dumps({"envelope_id": self.envelope_id, "type": self.type, "payload": self.payload,
                           "accepts_response_payload": self.accepts_response_payload,
                           "retry_attempt": self.retry_attempt,
                           "retry_reason": "timeout" if self.retry_attempt else ""})

    def wait_ack(self, timeout: float = 10.0) -> dict | None:
        """The acknowledgement's payload (None when it carried none); TimeoutError when it never came."""
        if not self.acked.wait(timeout):
            raise TimeoutError(f"the app did not acknowledge {self.type} envelope {self.envelope_id}")
        return self.ack_payload


class SocketModeSide:
    """Slack's end of Socket Mode: a websocket server on 127.0.0.1, started on first use."""

    def __init__(self, standin: SlackStandIn):
        self.standin = standin
        self.connections: list = []           # open websocket connections (websockets ServerConnection)
        self.opened = 0                       # connections accepted so far
        self.envelopes: list[Envelope] = []   # everything sent, in order
        self._tickets: set[str] = set()
        self._pending: deque[Envelope] = deque()
        self._in_flight: dict[str, tuple[Envelope, Any]] = {}
        self._lock = threading.RLock()
        self._server = None
        self._thread: threading.Thread | None = None
        # While True, acknowledgements are read and thrown away (as if lost on the way): the
        # envelopes stay in flight, and a dropped connection then sends them again.
        self.lose_acks = False

    # -- lifecycle --------------------------------------------------------------------------

    def _ensure_started(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            from websockets.sync.server import serve

            self._server = serve(self._serve, "127.0.0.1", 0, compression=None, ping_interval=None)
            self._thread = threading.Thread(target=self._server.serve_forever, name="slack-standin-ws", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            self.drop(abrupt=True)
            server.shutdown()

    @property
    def port(self) -> int:
        self._ensure_started()
        return self._server.socket.getsockname()[1]

    def issue_url(self) -> str:
        """A one-time websocket URL, as ``apps.connections.open`` returns."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"

    # -- the server ---------------------------------------------------------------------------

    def _serve(self, connection) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(connection.request.path).query)
        ticket = (query.get("ticket") or [""])[0]
        with self._lock:
            valid = ticket in self._tickets
            self._tickets.discard(ticket)
        if not valid:
            connection.close(1008, "invalid ticket")
            return
        with self._lock:
            self.opened += 1
            connection.send(json.dumps({
                "type": "hello", "num_connections": len(self.connections) + 1,
                "debug_info": {"host": "vma-standin", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID}}))
            self.connections.append(connection)
            waiting = list(self._pending)
            self._pending.clear()
        for envelope in waiting:
            self._deliver(envelope)
        try:
            for raw in connection:
                self._on_message(raw)
        except Exception:  # the connection was cut: what it had not acknowledged goes out again
            pass
        finally:
            with self._lock:
                if connection in self.connections:
                    self.connections.remove(connection)
                lost = [env for env, conn in self._in_flight.values() if conn is connection and not env.acked.is_set()]
                for envelope in lost:
                    del self._in_flight[envelope.envelope_id]
                    envelope.retry_attempt += 1
            for envelope in lost:
                self._deliver(envelope)

    def _on_message(self, raw) -> None:
        try:
            data = json.loads(raw)
        except (TypeError, ValueError):
            return
        envelope_id = data.get("envelope_id") if isinstance(data, dict) else None
        with self._lock:
            if self.lose_acks:
                return
            entry = self._in_flight.pop(envelope_id, None)
        if entry is None:
            return
        envelope = entry[0]
        payload = data.get("payload")
        if envelope.type in ("slash_commands", "interactive") and isinstance(payload, dict):
            problems = []
            if payload.get("blocks"):
                problems = validate_message(payload.get("text"), payload.get("blocks"))
            elif isinstance(payload.get("view"), dict):
                problems = validate_view(payload["view"])
            with self.standin._lock:
                self.standin.calls.append(Call("socket_mode.ack", payload, None, ok=not problems))
                if problems:
                    self.standin.violations.append(("socket_mode.ack", problems))
                else:
                    self.standin.responses.append(payload)
        envelope.ack_payload = payload if isinstance(payload, dict) else None
        envelope.acked.set()

    def _deliver(self, envelope: Envelope) -> None:
        """Send on the newest open connection, or keep it for the next one."""
        with self._lock:
            connection = self.connections[-1] if self.connections else None
            if connection is None:
                self._pending.append(envelope)
                return
            self._in_flight[envelope.envelope_id] = (envelope, connection)
            envelope.deliveries += 1
        try:
            connection.send(envelope.message())
        except Exception:  # closing under us: _serve's cleanup sends it again on the next connection
            pass

    # -- test controls --------------------------------------------------------------------------

    def send(self, envelope_type: str, payload: dict, accepts_response_payload: bool) -> Envelope:
        self._ensure_started()
        envelope = Envelope(uuid.uuid4().hex, envelope_type, payload, accepts_response_payload)
        with self._lock:
            self.envelopes.append(envelope)
        self._deliver(envelope)
        return envelope

    def drop(self, abrupt: bool = True) -> int:
        """Cut every open connection: ``abrupt`` as a network failure (no close frame), else a close frame."""
        with self._lock:
            connections = list(self.connections)
        for connection in connections:
            if abrupt:
                try:
                    connection.socket.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                connection.socket.close()
            else:
                connection.close(1001, "going away")
        return len(connections)

    def refresh(self) -> None:
        """Slack's ``disconnect`` message: the app opens a new connection and this one is closed."""
        with self._lock:
            connections = list(self.connections)
        for connection in connections:
            connection.send(json.dumps({"type": "disconnect", "reason": "refresh_requested",
                                        "debug_info": {"host": "vma-standin"}}))

    def wait_connected(self, count: int = 1, timeout: float = 15.0) -> None:
        """Until ``count`` connections have been opened so far and one is open now."""
        wait_until(lambda: self.opened >= count and self.connections, timeout, 0.02,
                   f"no Socket Mode connection number {count} within {timeout} s")


class SocketModeSender:
    """What ``SignedSlackSender`` posts, sent as Socket Mode envelopes; each call returns the envelope."""

    def __init__(self, standin: SlackStandIn):
        self.standin = standin
        self.side = standin.socket_mode

    def click(self, user_id: str, channel: str, message_ts: str, action: dict) -> Envelope:
        payload = block_actions_payload(user_id, channel, message_ts, action, self.standin.response_url("actions"))
        return self.side.send("interactive", payload, accepts_response_payload=False)

    def submit_view(self, user_id: str, view: dict, values: dict[str, dict[str, str]]) -> Envelope:
        return self.side.send("interactive", view_submission_payload(user_id, view, values),
                              accepts_response_payload=True)

    def slash(self, user_id: str, command: str, text: str = "", channel: str = "C0CODERS1") -> Envelope:
        payload = slash_command_payload(user_id, command, text, channel, self.standin.response_url("command"))
        return self.side.send("slash_commands", payload, accepts_response_payload=True)

    def event(self, event: dict) -> Envelope:
        return self.side.send("events_api", event_callback_payload(event), accepts_response_payload=False)
