"""What every room of the chart's route shares: the service's typed seams, its clock and its audit log.

Kept small and free of the other conversation modules, so receiving, flows, outbox, answers,
clearing and lookup can all build on it without importing one another.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from vma.chart import Chart
from vma.clock import as_utc
from vma.store.models import AuditEvent

if TYPE_CHECKING:  # annotations only: the concrete classes pull in Slack, HTTP and the reference data
    from vma.config import Settings
    from vma.conversations.ports import Notifier, WriteBack
    from vma.directory import Directory
    from vma.reference import ReferenceData
    from vma.store.db import Store
    from vma.store.workers import WorkerRegistry

# One logger for the whole route: operators filter the service's lines by this name, which predates the split.
log = logging.getLogger("vma.conversations.service")


class ServiceCore:
    """The state and the two helpers every part of ``ChartService`` relies on."""

    store: Store
    notifier: Notifier
    settings: Settings
    directory: Directory
    ehr: WriteBack | None
    clock: Callable[[], datetime]
    workers: WorkerRegistry
    ref: ReferenceData

    def _now(self) -> datetime:
        return as_utc(self.clock())

    def _audit(self, session, action: str, *, actor: str = "vma", chart_id: str | None = None,
               query_id: int | None = None, detail: dict | None = None) -> None:
        session.add(AuditEvent(at=self._now(), actor=actor or "unknown", action=action, chart_id=chart_id,
                               query_id=query_id, detail=detail or {}))

    def _audit_alone(self, action: str, **kwargs) -> None:
        """An audit event in its own transaction (the caller's session is only reading)."""
        with self.store.session() as session, session.begin():
            self._audit(session, action, **kwargs)


def json_safe(value: Any) -> Any:
    """PostgreSQL's JSONB and text refuse NUL; a NUL an EHR sent becomes U+FFFD rather than a failed intake."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def unauthenticated(chart: Chart) -> bool:
    """An HL7/FHIR document its EHR marks as not (yet) authenticated; canonical charts say nothing and are checked."""
    return (chart.model_extra or {}).get("authenticated") is False
