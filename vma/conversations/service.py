"""The query loop: a chart in, questions to its provider, answers applied, the chart to the coders.

``ChartService`` is the domain's single entry point for the web app, the MLLP
listener, the drop folder and the scheduler. It owns no state between calls:
everything lives in the store, so a restart (or a second worker) resumes where
the first left off.

The route is kept in one module per room, in the order a chart walks it (see
docs/architecture.md): ``receiving`` (intake, versions, addenda, rejects) ->
``flows`` (checks, findings, delivery of queries, resuming) -> ``outbox`` (every
message and EHR write-back, sent once) -> ``answers`` -> ``clearing`` (final codes,
the coder post); ``lookup`` serves ``/checkchart`` and App Home. ``ChartService``
only puts the rooms together and holds the state they share (``common``).

Delivery rules (why the code is shaped this way)
------------------------------------------------

- Intake stores the raw input (or the rejection, with the raw kept) and
  answers at once; the checks run in ``process``, which ``process_pending``
  repeats for anything stored and not yet processed (a crash after the ack).
- Every message to Slack has an ``OutboundMessage`` row keyed by its purpose
  ("query_dm:<record id>", "cleared:<record id>", "withdrawn:...",
  "dm_update:<query id>"). The row is written before the call (pending, with a
  claim naming the worker sending it, so two workers do not send it together)
  and marked sent with the channel and ts after it. A restart finds a sent row
  and does not send again; a pending row whose worker is gone (``vma.store.workers``:
  stale heartbeat, free advisory lock, or a dead process on this host) is taken
  over at once, on start-up and on every tick. A crash or a timeout after
  Slack accepted a post and before the row was marked is why each post carries
  its key as Slack metadata (the outbox hands the key to the notifier): a second
  attempt first looks for that copy (``notifier.find_sent``) and only posts when
  there is none. If Slack cannot be
  asked (no history scope), the post goes again: at least once, never lost.
- State changes that imply a message (a withdrawal, an answer's DM update) write
  the pending row in the same transaction as the change, so the message cannot
  be forgotten by a crash between the two.
- A check that raises never lets a chart pass: the chart is stored ``incomplete``
  (no DM, no coder post), the manager channel is told which check failed on which
  chart, and it is checked again after a restart or by a worker of another release.
"""


from __future__ import annotations

import copy
from datetime import datetime
from typing import Callable

from vma.clock import utc_now
from vma.config import Settings
from vma.conversations.answers import MAX_OTHER_TEXT, AnswerResult, Answers
from vma.conversations.clearing import (MAX_POINTERS, NO_DESCRIPTION, Clearing, _final_pointers, _FinalDiagnoses,
                                        _sequence_diagnoses, _target_index, code_first_order)
from vma.conversations.common import json_safe
from vma.conversations.flows import PROCESS_LEASE, Flows, finding_dump
from vma.conversations.lookup import ADHOC_SKIPPED_CHECKS, HOME_LIMIT, STAFF_ROLES, CheckchartResult, Lookup
from vma.conversations.outbox import CLAIM_LEASE, POSTING_KINDS, Outbox, writeback_backoff
from vma.conversations.ports import Notifier
from vma.conversations.receiving import IntakeResult, Receiving
from vma.directory import Directory
from vma.reference import ReferenceData, default_reference
from vma.rules import load_rules
from vma.store.db import Store
from vma.store.workers import WorkerRegistry

# The names callers and tests import from here, wherever they now live.
__all__ = ["ADHOC_SKIPPED_CHECKS", "CLAIM_LEASE", "HOME_LIMIT", "MAX_OTHER_TEXT", "MAX_POINTERS", "NO_DESCRIPTION",
           "POSTING_KINDS", "PROCESS_LEASE", "STAFF_ROLES", "AnswerResult", "ChartService", "CheckchartResult",
           "IntakeResult", "_FinalDiagnoses", "_final_pointers", "_sequence_diagnoses", "_target_index",
           "code_first_order", "finding_dump", "json_safe", "writeback_backoff"]


class ChartService(Receiving, Flows, Outbox, Answers, Clearing, Lookup):
    """The rooms of the route put together; each mixin reaches the others through ``self``."""

    def __init__(self, store: Store, notifier: Notifier, settings: Settings, directory: Directory | None = None,
                 ref: ReferenceData | None = None, clock: Callable[[], datetime] | None = None, ehr=None):
        self.store = store
        self.notifier = notifier
        # The EHR write-back port (ports.WriteBack), or None when no EHR target is set.
        self.ehr = ehr
        self.settings = settings
        self.directory = directory if directory is not None else Directory()
        self._ref = ref
        self.clock = clock or utc_now
        # Registers on the first claim; ``vma serve`` starts it (heartbeat thread, advisory lock) at start-up.
        self.workers = WorkerRegistry.from_settings(store, settings, clock=self._now)

    @property
    def ref(self) -> ReferenceData:
        if self._ref is None:
            ref = default_reference()
            wanted = getattr(self.settings, "vma_rules_dir", None)
            if (wanted or None) != (ref.settings.vma_rules_dir or None):
                # This service's own payer rule packs (settings given in code, as the demo does), beside
                # the process's code sets: a copy shares the loaded tables and loads only its packs.
                ref = copy.copy(ref)
                ref.__dict__["payer_rules"] = load_rules(wanted)
            self._ref = ref
        return self._ref
