"""What the Slack stand-in plays and records: the workspace's identities, the calls and messages it
keeps, and the polling helper tests wait with."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02, what: str = "timed out waiting"):
    """``predicate()``'s first truthy value, polled until ``timeout`` seconds; TimeoutError after that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(interval)

BOT_USER_ID = "UVMABOT01"
TEAM_ID = "T0VMA0001"
APP_ID = "A0VMA0001"

_JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.time)
    ok: bool = True
    error: str | None = None


@dataclass
class Message:
    channel: str
    ts: str
    text: str | None
    blocks: list | None
    user: str | None = None  # for ephemeral messages: who sees it
    ephemeral: bool = False
    updates: int = 0
    metadata: dict | None = None  # chat.postMessage's message metadata, returned by conversations.history
