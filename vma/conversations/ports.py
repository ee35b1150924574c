"""The boundary between the domain and the outside world.

The domain (``vma.conversations.service``, reminders, digest) speaks in these
plain view objects and calls a ``Notifier``; the Slack adapter
(``vma.integrations.slack``) implements the notifier and renders the views
with the templates. Nothing here imports Slack or the database, so the domain
is tested with a recording notifier and the adapter with hand-made views.

PHI: a view carries only what its audience may see. ``ChartSummary.patient_label``
is the masked MRN in ``minimal`` mode and "name (MRN)" only in ``full`` mode;
``evidence`` is a short quote from the note, sent only to the addressed
provider's DM, never to a channel in ``minimal`` mode (``ClearedChart`` and
escalations carry codes and chart IDs, not evidence).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol


@dataclass
class OptionView:
    """One answer button: ``index`` is the position in the query's stored choices."""

    index: int
    label: str
    kind: str = "code"  # code | poa | other | undetermined | confirm | value


@dataclass
class QueryView:
    query_id: int
    chart_id: str
    check: str
    code: str | None
    question: str
    evidence: str
    options: list[OptionView] = field(default_factory=list)
    status: str = "open"  # open | answered | withdrawn
    answer_label: str | None = None
    answered_by: str | None = None  # Slack user id
    other_text: str | None = None
    age_business_hours: float | None = None


@dataclass
class ChartSummary:
    chart_id: str
    version: int
    patient_label: str  # masked MRN ("***7120") in minimal mode
    date_of_service: str | None
    provider_name: str | None
    provider_npi: str | None
    setting: str | None = None
    # "Acme Health (60054) · PPO": the primary payer. Shown as "coverage": channel text is linted for payment
    # words (AHIMA/ACDIS compliant query practice), and the coder needs the plan, not a payment cue.
    payer: str | None = None


@dataclass
class CodeLine:
    code: str
    description: str
    kind: str = "diagnosis"  # diagnosis | procedure
    modifiers: list[str] = field(default_factory=list)
    units: int | None = None
    pointers: list[int] = field(default_factory=list)
    poa: str | None = None


@dataclass
class Change:
    """What changed between the proposed and the final codes, and why."""

    check: str
    before: str | None
    after: list[str]
    reason: str  # "answered by Dr X: Pain in left knee (M25.562)" / "note documents 'left knee'"
    source: str  # answer | correction (record supports it; coder confirms) | coder-review
    needs_coder_confirmation: bool = False


@dataclass
class ClearedChart:
    summary: ChartSummary
    codes: list[CodeLine]
    changes: list[Change] = field(default_factory=list)
    # What the payer would do and how to fix it, for claim edits left to the coder,
    # and answers routed to the coder ("Other: ...", "Clinically undetermined").
    coder_notes: list[str] = field(default_factory=list)
    signed_to_clear: timedelta | None = None


@dataclass
class SentMessage:
    channel: str
    ts: str


@dataclass
class ReminderItem:
    query: QueryView
    summary: ChartSummary


@dataclass
class HomeView:
    """App Home content for one user."""

    user_id: str
    role: str | None
    open_queries: list[tuple[ChartSummary, list[QueryView]]] = field(default_factory=list)
    ready_charts: list[ClearedChart] = field(default_factory=list)
    waiting_charts: list[tuple[ChartSummary, int]] = field(default_factory=list)  # (chart, open query count)


class Notifier(Protocol):
    """What the domain asks of the messaging adapter. Each send returns where it landed,
    so the message can be updated later and a restart can tell it was sent.

    ``idem_key`` is the outbox key of a post (``vma.conversations.outbox``): the adapter tags the
    message with it, and ``find_sent`` finds that message again after a crash hid Slack's answer.
    ``post_check_failed`` is optional: an adapter without it leaves the managers to the logs."""

    def resolve_user(self, email: str) -> str | None: ...

    def mention(self, user_id: str) -> str: ...

    def send_query_dm(self, user_id: str, summary: ChartSummary, queries: list[QueryView],
                      idem_key: str | None = None) -> SentMessage: ...

    def update_query_dm(self, message: SentMessage, summary: ChartSummary, queries: list[QueryView]) -> None: ...

    def post_cleared(self, channel: str, cleared: ClearedChart, idem_key: str | None = None) -> SentMessage: ...

    def post_unroutable(self, channel: str, summary: ChartSummary, queries: list[QueryView],
                        reason: str, idem_key: str | None = None) -> SentMessage: ...

    def post_ehr_held(self, channel: str, chart_id: str, version: int, document_id: str, target: str,
                      outcome: str, idem_key: str | None = None) -> SentMessage: ...

    def find_sent(self, channel_or_user: str, idem_key: str, since: datetime) -> SentMessage | None: ...

    def send_reminder(self, user_id: str, items: list[ReminderItem]) -> SentMessage: ...

    def send_escalation(self, target: str, provider_name: str | None, items: list[ReminderItem]) -> SentMessage: ...

    def send_withdrawn(self, message: SentMessage, summary: ChartSummary, queries: list[QueryView],
                       reason: str) -> None: ...

    def post_digest(self, channel: str, text: str, png: bytes | None) -> None: ...


class WriteBackResult(Protocol):
    outcome: str  # "accepted", "refused" or "retry"
    detail: str  # the ACK code and text, the HTTP status, or the error


class WriteBack(Protocol):
    """What the domain asks of the EHR write-back adapter (``vma.integrations.ehr.EhrWriteBack``): the
    outbox kinds it has a target for, and one send of a document under a message control ID."""

    @property
    def kinds(self) -> list[str]: ...

    def send(self, kind: str, doc: dict, control_id: str) -> WriteBackResult: ...
