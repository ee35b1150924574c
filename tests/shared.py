"""What the tests share: test doubles, synthetic charts and rows, settings, the app served on a port.

One module for every suite (the check suites share ``tests.checking``), so a double is written once:

- ``RecordingNotifier`` records what the domain asks the Slack adapter to send (store, e2e, writeback);
  ``ReminderNotifier`` the reminder, escalation and digest sends only (thread safe).
- ``chart``/``raw`` build charts; ``add_chart``/``add_query`` rows as the service leaves them.
- ``make_settings`` (the query loop) and ``make_reminder_settings`` (business hours, reminder clock).
- ``ServedApp`` serves an ASGI app with uvicorn on a free port.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn

from tests.conftest import base_chart
from vma.clock import utc_now
from vma.config import Settings
from vma.conversations.ports import SentMessage

__all__ = ["DIRECTORY_CSV", "KNEE_AND_SHOULDER_NOTE", "KNEE_NOTE", "LEFT_KNEE_NOTE", "NOTE_QUOTE", "OTHER_NPI",
           "PROVIDER_NPI", "REMINDER_DIRECTORY_CSV", "UNKNOWN_NPI", "USER_OF", "Clock", "RecordingNotifier",
           "ReminderNotifier", "ServedApp", "SimulatedCrash", "add_chart", "add_query", "break_check", "chart",
           "free_port", "make_reminder_settings", "make_settings", "raw", "utc_now"]


# -- the query loop: charts, the recording notifier, settings ----------------------------------------

PROVIDER_NPI = "1234567893"
UNKNOWN_NPI = "1558598797"
DIRECTORY_CSV = (
    "npi,name,email,slack_user_id,supervisor_slack_user_id,role,delegate_slack_user_ids\n"
    f"{PROVIDER_NPI},Maria Lopez MD,mlopez@example.org,U_LOPEZ,U_CHIEF,provider,U_SCRIBE\n"
    ",Sam Scribe,scribe@example.org,U_SCRIBE,,delegate,\n"
    ",Cody Coder,coder@example.org,U_CODER,,coder,\n"
    ",Pat Manager,pm@example.org,U_CHIEF,,manager,\n"
    "1245319599,Other Doc MD,other@example.org,U_OTHERDOC,,provider,\n"
)

KNEE_NOTE = ("CHIEF COMPLAINT\n\nKnee pain.\n\nHISTORY OF PRESENT ILLNESS\n\nPatient reports knee pain for two weeks "
             "after gardening. No trauma.\n\nASSESSMENT AND PLAN\n\n1. Knee pain. Ibuprofen 400 mg as needed, ice, "
             "follow up in 4 weeks.\n\nI spent 25 minutes with the patient today.")
KNEE_AND_SHOULDER_NOTE = ("CHIEF COMPLAINT\n\nKnee and shoulder pain.\n\nHISTORY OF PRESENT ILLNESS\n\nPatient reports "
                          "knee pain and shoulder pain for two weeks after gardening.\n\nASSESSMENT AND PLAN\n\n"
                          "1. Knee pain. Ibuprofen as needed.\n2. Shoulder pain. Home exercises.\n\n"
                          "I spent 25 minutes with the patient today.")
LEFT_KNEE_NOTE = ("CHIEF COMPLAINT\n\nKnee pain.\n\nHISTORY OF PRESENT ILLNESS\n\nPatient reports left knee pain for "
                  "two weeks after gardening.\n\nASSESSMENT AND PLAN\n\n1. Left knee pain. Ibuprofen as needed.\n\n"
                  "I spent 25 minutes with the patient today.")


def chart(chart_id="ENC-S-1", *, note=KNEE_NOTE, codes=("M25.569",), version=1, npi=PROVIDER_NPI, **overrides) -> dict:
    data = base_chart(
        chart_id=chart_id, document_id=f"DOC-{chart_id}", version=version,
        patient={"mrn": "MRN-77120", "name": "Ana Testcase", "birth_date": "1968-03-14", "sex": "F"},
        provider={"npi": npi, "name": "Maria Lopez, MD", "email": "mlopez@example.org"},
        note={"text": note}, diagnoses=[{"code": c, "poa": None} for c in codes],
        procedures=[{"code": "99213", "modifiers": [], "units": 1,
                     "diagnosis_pointers": list(range(1, len(codes) + 1))}],
    )
    data.update(overrides)
    return data


def raw(data: dict) -> bytes:
    return json.dumps(data).encode()


class SimulatedCrash(BaseException):
    """The process dies here: not an Exception, so nothing in the service catches it."""


class RecordingNotifier:
    """Implements vma.conversations.ports.Notifier; records every call instead of talking to Slack."""

    def __init__(self, users_by_email: dict[str, str] | None = None):
        self.calls: list[tuple[str, tuple]] = []
        self.users_by_email = users_by_email or {}
        self.crash_on: set[str] = set()    # method names that "kill the process" once
        self.fail_on: set[str] = set()     # method names that raise a Slack-like error once
        self._serial = 0
        self._lock = threading.Lock()

    def _hook(self, method: str) -> None:
        if method in self.crash_on:
            self.crash_on.discard(method)
            raise SimulatedCrash(method)
        if method in self.fail_on:
            self.fail_on.discard(method)
            raise ConnectionError("slack unreachable")

    def _sent(self, channel: str) -> SentMessage:
        with self._lock:
            self._serial += 1
            return SentMessage(channel=channel, ts=f"1800000000.{self._serial:06d}")

    def of(self, method: str) -> list[tuple]:
        return [args for name, args in self.calls if name == method]

    def find_sent(self, channel_or_user, idem_key, since):
        return None  # nothing reaches a real Slack here, so no earlier copy can be there

    def mention(self, user_id):
        return f"<@{user_id}>"  # as the Slack adapter writes it

    def resolve_user(self, email):
        self._hook("resolve_user")
        self.calls.append(("resolve_user", (email,)))
        return self.users_by_email.get(email)

    def send_query_dm(self, user_id, summary, queries, idem_key=None):
        self._hook("send_query_dm")
        self.calls.append(("send_query_dm", (user_id, summary, queries)))
        return self._sent("D" + user_id)

    def update_query_dm(self, message, summary, queries):
        self._hook("update_query_dm")
        self.calls.append(("update_query_dm", (message, summary, queries)))

    def post_cleared(self, channel, cleared, idem_key=None):
        self._hook("post_cleared")
        self.calls.append(("post_cleared", (channel, cleared)))
        return self._sent(channel)

    def post_unroutable(self, channel, summary, queries, reason, idem_key=None):
        self._hook("post_unroutable")
        self.calls.append(("post_unroutable", (channel, summary, queries, reason)))
        return self._sent(channel)

    def post_check_failed(self, channel, chart_id, version, checks, idem_key=None):
        self._hook("post_check_failed")
        self.calls.append(("post_check_failed", (channel, chart_id, version, checks)))
        return self._sent(channel)

    def post_ehr_held(self, channel, chart_id, version, document_id, target, outcome, idem_key=None):
        self._hook("post_ehr_held")
        self.calls.append(("post_ehr_held", (channel, chart_id, version, document_id, target, outcome)))
        return self._sent(channel)

    def send_reminder(self, user_id, items):
        self.calls.append(("send_reminder", (user_id, items)))
        return self._sent("D" + user_id)

    def send_escalation(self, target, provider_name, items):
        self.calls.append(("send_escalation", (target, provider_name, items)))
        return self._sent(target)

    def send_withdrawn(self, message, summary, queries, reason):
        self._hook("send_withdrawn")
        self.calls.append(("send_withdrawn", (message, summary, queries, reason)))

    def post_digest(self, channel, text, png):
        self.calls.append(("post_digest", (channel, text, png)))


class Clock:
    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 11, 17, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def make_settings(tmp_path: Path, database_url: str, **overrides) -> Settings:
    directory = tmp_path / "directory.csv"
    directory.write_text(DIRECTORY_CSV)
    values = dict(vma_database_url=database_url, vma_coder_channel="C_CODERS", vma_manager_channel="C_MANAGERS",
                  vma_provider_directory=str(directory), vma_business_hours="always", vma_phi_mode="minimal")
    values.update(overrides)
    return Settings(**values)


# What a careless exception message could carry: the patient's name and the note's words.
NOTE_QUOTE = "Ana Testcase: left knee pain after gardening"


def break_check(monkeypatch, check_id: str, error: BaseException | None = None) -> None:
    """Make the registered check ``check_id`` raise, outside strict mode (as in production).

    The error's text quotes a note on purpose: it must reach the log only, never a finding or Slack.
    """
    import dataclasses

    import vma.checks as checks

    checks.all_checks()
    spec = checks._REGISTRY[check_id]

    def broken(ctx):
        raise error or KeyError(NOTE_QUOTE)

    monkeypatch.delenv("VMA_STRICT_CHECKS", raising=False)
    monkeypatch.setitem(checks._REGISTRY, check_id, dataclasses.replace(spec, fn=broken))
    monkeypatch.setattr(checks, "_ordered", None)


# -- reminders and the digest ------------------------------------------------------------------------

OTHER_NPI = "1558598797"
REMINDER_DIRECTORY_CSV = (
    "npi,name,email,slack_user_id,supervisor_slack_user_id,role\n"
    f"{PROVIDER_NPI},Maria Lopez MD,mlopez@example.org,U_LOPEZ,U_CHIEF,provider\n"
    f"{OTHER_NPI},Sam Chen DO,schen@example.org,U_CHEN,,provider\n"
    ",Pat Manager,pm@example.org,U_CHIEF,,manager\n"
)
USER_OF = {PROVIDER_NPI: "U_LOPEZ", OTHER_NPI: "U_CHEN"}


class ReminderNotifier:
    """Records what G's code asks the Slack adapter to send; thread safe for the two-worker test."""

    def __init__(self, fail_reminders: int = 0):
        self.reminders: list[tuple[str, list[int]]] = []
        self.escalations: list[tuple[str, str | None, list[int], list[float | None]]] = []
        self.digests: list[tuple[str, str, bytes | None]] = []
        self.fail_reminders = fail_reminders
        self._lock = threading.Lock()
        self._serial = 0

    def _sent(self, channel: str):
        from vma.conversations.ports import SentMessage

        self._serial += 1
        return SentMessage(channel=channel, ts=f"1700000000.{self._serial:06d}")

    def send_reminder(self, user_id, items):
        with self._lock:
            if self.fail_reminders:
                self.fail_reminders -= 1
                raise ConnectionError("slack unreachable")
            self.reminders.append((user_id, [item.query.query_id for item in items]))
            return self._sent("D" + user_id)

    def send_escalation(self, target, provider_name, items):
        with self._lock:
            self.escalations.append((target, provider_name, [item.query.query_id for item in items],
                                     [item.query.age_business_hours for item in items]))
            return self._sent(target)

    def post_digest(self, channel, text, png):
        with self._lock:
            self.digests.append((channel, text, png))


def make_reminder_settings(tmp_path: Path, database_url: str, **overrides) -> Settings:
    directory = tmp_path / "directory.csv"
    directory.write_text(REMINDER_DIRECTORY_CSV)
    values = dict(
        vma_database_url=database_url,
        vma_business_hours="Mon-Fri 08:00-18:00",
        vma_timezone="America/New_York",
        vma_reminder_after="4h",
        vma_escalate_after="48h",
        vma_manager_channel="C_MANAGERS",
        vma_provider_directory=str(directory),
    )
    values.update(overrides)
    return Settings(**values)


def add_chart(session, chart_id: str, npi: str = PROVIDER_NPI):
    from vma.store.models import ChartRecord

    record = ChartRecord(chart_id=chart_id, version=1, chart_json={"chart_id": chart_id}, provider_npi=npi)
    session.add(record)
    session.flush()
    return record


def add_query(session, record, *, sent_at: datetime | None, settings, npi: str = PROVIDER_NPI,
              check: str = "laterality", status: str = "open", answered_at: datetime | None = None):
    """A query row as the service leaves it after sending the DM."""
    from vma.conversations.reminders import first_due_at
    from vma.store.models import Query

    query = Query(chart_record_id=record.id, chart_id=record.chart_id, check=check, code="M25.569",
                  question="Which knee?", evidence="knee pain", choices=[], status=status,
                  provider_npi=npi, provider_user_id=USER_OF[npi] if sent_at else None,
                  sent_at=sent_at, answered_at=answered_at,
                  next_due_at=first_due_at(sent_at, settings) if (sent_at and status == "open") else None)
    session.add(query)
    session.flush()
    return query


# -- the app on a port ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedApp:
    def __init__(self, app, port: int | None = None):
        self.port = port or free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServedApp":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
