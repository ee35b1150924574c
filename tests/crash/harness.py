"""`vma serve` as a real child process that the tests can kill -9, and a slow Slack stand-in.

The server runs exactly as in production (``.venv/bin/vma serve``, configured by
environment variables); the Slack Web API stand-in runs in the test process and
can be slowed down, so a kill lands while a Slack call is in flight. Nothing in
the server knows it is under test: there is no fault hook in the code.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from vma.integrations.slack.standin import SlackStandIn

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "vma" / "demo"
SECRET = "crash-signing-secret"
CODERS, MANAGERS = "C0CODERS1", "C0MANAGE1"
USERS = {"mlopez@example.org": "U0LOPEZ01", "schen@example.org": "U0CHEN001"}
# Demo charts that end cleared: a clean one, one query, two queries in one DM, a correction.
TEMPLATES = ("ENC-D2001", "ENC-D2002", "ENC-D2003", "ENC-D2004")

_DM_TEXT = re.compile(r"^Coding question on chart (\S+):")
_CLEARED_TEXT = re.compile(r"^Chart (\S+) is ready for coding")


def vma_executable() -> str:
    candidate = Path(sys.executable).with_name("vma")
    if candidate.exists():
        return str(candidate)
    return str(ROOT / ".venv" / "bin" / "vma")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def synthetic_chart(template: str, chart_id: str) -> bytes:
    data = json.loads((DEMO / f"{template}.json").read_text())
    data["chart_id"] = chart_id
    data["document_id"] = f"DOC-{chart_id}"
    data.pop("demo", None)
    return json.dumps(data).encode()


@dataclass
class SlackPost:
    """One chat.postMessage as the stand-in received it: who it was for and when."""

    method: str
    channel: str
    kind: str          # "query_dm" | "cleared" | "other"
    chart_id: str | None
    received: float
    answered: float | None = None


class SlowSlack(SlackStandIn):
    """The stand-in, answering chat.postMessage and chat.update only after ``delay`` seconds.

    Half the delay comes before Slack records the message and half after, so a kill of the
    client in either half leaves the message delivered (Slack does not know its caller died),
    which is exactly the window the outbox cannot close. Every post is logged with its chart
    id (taken from the message text), so duplicates are found by content, not by our own ids.
    """

    def __init__(self, *args, delay: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.delay = delay
        self.posts: list[SlackPost] = []
        self.inflight: Counter = Counter()
        self.inflight_charts: Counter = Counter()
        self.metadata: dict[tuple[str, str], dict] = {}
        self._stalls: dict[str, list[tuple[float, bool]]] = {}

    def stall_next(self, method: str, seconds: float, deliver: bool) -> None:
        """The next ``method`` call answers only after ``seconds`` (past the client's timeout);
        with ``deliver`` Slack has taken the message all the same, without it the message is lost."""
        with self._lock:
            self._stalls.setdefault(method, []).append((seconds, deliver))

    def start(self) -> "SlowSlack":
        super().start()
        # A caller killed mid-call leaves a broken pipe behind; Slack would not mind either.
        self._server.handle_error = lambda request, client_address: None
        return self

    def _slow(self, method: str, params, call):
        channel = str(params.get("channel") or "")
        text = str(params.get("text") or "")
        dm, cleared = _DM_TEXT.match(text), _CLEARED_TEXT.match(text)
        kind = "query_dm" if dm and method == "chat.postMessage" else "cleared" if cleared and method == "chat.postMessage" else "other"
        where = "coders" if channel == CODERS else "dm" if channel.startswith("D") else "other"
        tag = (method, where)
        chart_tag = f"{method}:{where}:{(dm or cleared).group(1) if (dm or cleared) else text[:30]}"
        with self._lock:
            self.inflight[tag] += 1
            self.inflight_charts[chart_tag] += 1
        with self._lock:
            stalls = self._stalls.get(method)
            stall = stalls.pop(0) if stalls else None
        try:
            if stall is not None:
                time.sleep(stall[0])
                if not stall[1]:
                    return {"ok": False, "error": "request_timeout"}
            time.sleep(self.delay / 2)
            result = call(params)
            if result.get("ok") and isinstance(params.get("metadata"), dict):
                with self._lock:
                    self.metadata[(result.get("channel") or channel, result.get("ts"))] = params["metadata"]
            if method == "chat.postMessage" and result.get("ok"):
                post = SlackPost(method, channel, kind, (dm or cleared).group(1) if (dm or cleared) else None,
                                 time.monotonic())
                with self._lock:
                    self.posts.append(post)
            time.sleep(self.delay / 2)
            return result
        finally:
            with self._lock:
                self.inflight[tag] -= 1
                self.inflight_charts[chart_tag] -= 1

    def _api_chat_postMessage(self, params):
        return self._slow("chat.postMessage", params, super()._api_chat_postMessage)

    def _api_chat_update(self, params):
        return self._slow("chat.update", params, super()._api_chat_update)

    def _api_conversations_history(self, params):
        """Newest first, with each message's metadata, like Slack with ``include_all_metadata``."""
        channel = params.get("channel")
        oldest = float(params.get("oldest") or 0)
        with self._lock:
            found = [m for m in self.messages if m.channel == channel and not m.ephemeral and float(m.ts) > oldest]
            messages = [{"type": "message", "ts": m.ts, "text": m.text,
                         **({"metadata": self.metadata[(m.channel, m.ts)]} if (m.channel, m.ts) in self.metadata else {})}
                        for m in reversed(found)]
        limit = int(params.get("limit") or 100)
        start = int(params.get("cursor") or 0)
        page = messages[start:start + limit]
        more = start + limit < len(messages)
        return {"ok": True, "messages": page, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def busy(self, method: str, where: str) -> bool:
        with self._lock:
            return self.inflight[(method, where)] > 0

    def posts_of(self, kind: str) -> dict[str, list[SlackPost]]:
        found: dict[str, list[SlackPost]] = {}
        with self._lock:
            for post in self.posts:
                if post.kind == kind:
                    found.setdefault(post.chart_id, []).append(post)
        return found


class ServerProcess:
    """``vma serve`` in a child process of its own session, so ``kill -9`` takes only it."""

    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None):
        self.port = port or free_port()
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.kills = 0
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> "ServerProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([vma_executable(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"vma serve exited with {self.proc.returncode}; see {self.log_path}:\n"
                                       + self.log_path.read_text(errors="replace")[-3000:])
                try:
                    if http.get(self.url + "/healthz").status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(f"vma serve did not answer /healthz in {timeout} s; see {self.log_path}")
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no lifespan exit."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.kills += 1
        self.proc = None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None


def server_env(slack: SlackStandIn, database_url: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-crash", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url,
        "VMA_DATABASE_URL": database_url, "VMA_CODER_CHANNEL": CODERS, "VMA_MANAGER_CHANNEL": MANAGERS,
        "VMA_PROVIDER_DIRECTORY": str(DEMO / "directory.csv"), "VMA_BUSINESS_HOURS": "always",
        "VMA_REMINDER_AFTER": "30d", "VMA_ESCALATE_AFTER": "60d", "VMA_STRICT_CHECKS": "1",
    }


class Background(threading.Thread):
    """A loop in a daemon thread that stops when asked; exceptions are kept for the test to raise."""

    def __init__(self, step, interval: float, name: str):
        super().__init__(name=name, daemon=True)
        self.step, self.interval = step, interval
        self.halt = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                self.step()
            except BaseException as exc:  # surfaced by the test
                self.error = exc
                return
            self.halt.wait(self.interval)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=30)
        if self.error:
            raise self.error
