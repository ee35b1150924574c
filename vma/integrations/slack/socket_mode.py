"""Socket Mode: Slack's traffic over an outbound websocket, for clinics without a public URL.

``vma serve --socket-mode`` with ``SLACK_APP_TOKEN`` (an app-level ``xapp-`` token with the
``connections:write`` scope) opens the connection itself: no inbound port, no TLS certificate
and no signing secret (requests arrive over the connection vma opened with its own token, so
there is nothing to verify; ``/slack/events`` over HTTP then refuses everything). Intake
(``/charts``, ``/fhir``, ``/healthz``) stays on the local HTTP port.

The websocket client is the Slack SDK's built-in one (no extra dependency): it asks
``apps.connections.open`` at ``SLACK_API_URL`` for a URL, answers Slack's pings, and reconnects
by itself when Slack sends ``disconnect`` (connections are refreshed every few hours), when the
connection is closed, or when pings go unanswered for four intervals (a dead network). An
envelope Slack could not deliver, or whose acknowledgement never arrived, is retried by Slack
on the new connection, and an answer recorded twice is recorded once (the service ignores a
second click on an answered query), so a dropped connection loses no answer.
"""

from __future__ import annotations

import logging
import time

from vma.logging_setup import log_event

log = logging.getLogger(__name__)

# Seconds between the client's pings; a connection silent for four of them is replaced.
PING_INTERVAL = 10.0
# How long start-up waits for the first connection before going on (the client keeps trying).
CONNECT_WAIT = 10.0


class SocketModeError(ValueError):
    """Socket Mode cannot start: the message says why (token, scope, Slack unreachable)."""


def check_app_token(token: str | None) -> str:
    if not token:
        raise SocketModeError("--socket-mode needs SLACK_APP_TOKEN (an app-level token, xapp-..., "
                              "with the connections:write scope)")
    if not token.startswith("xapp-"):
        raise SocketModeError("SLACK_APP_TOKEN must be an app-level token (xapp-...) with connections:write, "
                              f"not a {token.split('-', 1)[0]}- token")
    return token


def start(bolt_app, settings, *, ping_interval: float = PING_INTERVAL, wait: float = CONNECT_WAIT):
    """Open the Socket Mode connection for ``bolt_app``; returns the handler (``close()`` on exit)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    token = check_app_token(settings.slack_app_token)
    # The bolt app's client already points at SLACK_API_URL; apps.connections.open goes there too.
    handler = SocketModeHandler(bolt_app, token, web_client=bolt_app.client, ping_interval=ping_interval)
    client = handler.client

    def on_message(_client, message: dict, _raw) -> None:
        if message.get("type") == "hello":
            log_event("slack_socket_connected", num_connections=message.get("num_connections"))
        elif message.get("type") == "disconnect":
            log_event("slack_socket_refresh", reason=message.get("reason"))

    def on_close(code: int, reason: str | None = None) -> None:
        log_event("slack_socket_closed", logging.WARNING, code=code, reason=reason or None)

    def on_error(error: Exception) -> None:
        log_event("slack_error", logging.WARNING, method="socket_mode", error=type(error).__name__)

    client.message_listeners.append(on_message)
    client.on_close_listeners.append(on_close)
    client.on_error_listeners.append(on_error)
    try:
        handler.connect()
    except SlackApiError as exc:
        handler.close()
        error = exc.response.get("error") if exc.response is not None else exc
        raise SocketModeError(f"Slack refused the Socket Mode connection (apps.connections.open: {error}); "
                              "check SLACK_APP_TOKEN and its connections:write scope") from None
    except OSError as exc:
        handler.close()
        raise SocketModeError(f"cannot reach Slack at {settings.slack_api_url} for Socket Mode: {exc}") from None
    deadline = time.monotonic() + wait
    while not client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not client.is_connected():
        log.warning("Socket Mode is not connected yet; the client keeps trying every %.0f s", ping_interval)
    return handler


def stop(handler) -> None:
    """Close the connection for good (no reconnect); the SDK's reader may take up to its 3 s read timeout."""
    handler.client.auto_reconnect_enabled = False
    handler.close()
