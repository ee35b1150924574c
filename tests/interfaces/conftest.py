"""A real ChartService on a real database, its notifier the real SlackNotifier against the Slack stand-in,
and an MLLP listener on 127.0.0.1:0 in front of it."""

from __future__ import annotations

import socket
from pathlib import Path

import hl7
import pytest
from hl7.client import MLLPClient

from vma.config import Settings
from vma.integrations.slack.standin import SlackStandIn, wait_until

DEMO = Path(__file__).resolve().parents[2] / "vma" / "demo"
LOPEZ = "U0LOPEZ01"
CODERS, MANAGERS = "C0CODERS1", "C0MANAGE1"
FRAME_END = b"\x1c\r"

KNEE_NOTE = ("CHIEF COMPLAINT", "", "Knee pain.", "", "ASSESSMENT AND PLAN", "",
             "1. Knee pain after a fall. Ibuprofen as needed.", "", "I spent 25 minutes with the patient today.")


class World:
    def __init__(self, tmp_path: Path, database_url: str, slack: SlackStandIn, ref):
        self.tmp_path = tmp_path
        self.slack = slack
        self.ref = ref
        self.settings = Settings(
            slack_bot_token="xoxb-interfaces", slack_signing_secret="interfaces-secret", slack_api_url=slack.api_url,
            vma_database_url=database_url, vma_coder_channel=CODERS, vma_manager_channel=MANAGERS,
            vma_provider_directory=str(DEMO / "directory.csv"), vma_business_hours="always")
        self.listeners = []
        self.handlers = []
        self.stores = []
        self.restart()

    def restart(self):
        """A new process: new engine, new service, new notifier; only the database carries over."""
        from vma.conversations.service import ChartService
        from vma.directory import Directory
        from vma.integrations.slack.notifier import notifier_from_settings
        from vma.store.db import Store

        self.store = Store(self.settings.vma_database_url)
        self.stores.append(self.store)
        self.store.migrate()
        self.service = ChartService(self.store, notifier_from_settings(self.settings, backoff=0.05), self.settings,
                                    Directory.load(self.settings.vma_provider_directory), ref=self.ref)
        return self.service

    def listen(self, process: bool = True):
        from vma.integrations.mllp import MllpListener, service_handler

        handler = service_handler(self.service, process=process)
        listener = MllpListener(handler, host="127.0.0.1", port=0).start()
        self.handlers.append(handler)
        self.listeners.append(listener)
        return listener

    def drain(self) -> None:
        """Wait for the background checks the handlers started."""
        for handler in self.handlers:
            handler.drain()

    def rows(self, model, *where):
        from sqlalchemy import select

        with self.store.session() as session:
            return session.execute(select(model).where(*where).order_by(model.id)).scalars().all()

    def dms(self, user: str = LOPEZ):
        return self.slack.messages_in(self.slack.dm_channel(user))

    def close(self) -> None:
        for listener in self.listeners:
            listener.stop()
        for handler in self.handlers:
            handler.close()
        for store in self.stores:
            store.dispose()


@pytest.fixture
def slack():
    with SlackStandIn(users={"mlopez@example.org": LOPEZ}) as standin:
        yield standin


@pytest.fixture
def world(tmp_path, database_url, slack, ref):
    w = World(tmp_path, database_url, slack, ref)
    yield w
    w.close()
    assert slack.violations == [], slack.violations


def read_acks(sock: socket.socket, count: int, timeout: float = 20) -> list[hl7.Message]:
    """``count`` whole ACK frames (several may come in one recv, or one in several)."""
    sock.settimeout(timeout)
    data = b""
    while data.count(FRAME_END) < count:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"the listener closed the connection; got {data!r}")
        data += chunk
    frames = data.split(FRAME_END)[:count]
    assert all(f.startswith(b"\x0b") for f in frames), frames
    return [hl7.parse(f[1:].decode("utf-8")) for f in frames]


def send(client: MLLPClient, text: str) -> hl7.Message:
    """Send one message with python-hl7's MLLP client and read its ACK."""
    first = client.send_message(text)
    data = first
    while not data.endswith(FRAME_END):
        chunk = client.socket.recv(4096)
        if not chunk:
            break
        data += chunk
    return hl7.parse(data[1:-2].decode("utf-8"))


def ack_code(ack: hl7.Message) -> str:
    return str(ack.segment("MSA")(1))


def err_text(ack: hl7.Message) -> str:
    return ack.segment("ERR").extract_field(1, 8)


def wait_for(predicate, timeout: float = 20, interval: float = 0.05):
    return wait_until(predicate, timeout, interval)
