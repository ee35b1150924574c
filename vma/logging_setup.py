"""Logs an operator can read: one line per event that matters, IDs only, text or JSON.

``configure(fmt, level)`` (``vma serve --log-format json``, or ``VMA_LOG_FORMAT``) sends every
log record to stderr, one line each: ``text`` for a terminal or journald, ``json`` (one object
per line) for a log shipper. APScheduler's two INFO lines per job run ("Running job ...",
"... executed successfully"), every few seconds, are silenced; its warnings and errors stay.

The events (logger ``vma.events``; ``event`` names the kind, the other fields are IDs, counts
and statuses, never a patient's name, birth date, MRN or the note's words):

=====================  =======================================================================
event                  fields
=====================  =======================================================================
chart_received         chart_id, record_id, version, source (``http:charts``, ``http:fhir``, ``mllp``,
                       ``inbox``), sender (the intake token's name, when known), format
chart_rejected         source, sender, rejection_id, errors (count), fields (the input fields at fault)
chart_checked          chart_id, record_id, status, findings, queries, corrections, info, checks
chart_unauthenticated  chart_id, record_id (stored, checked once the signed version arrives)
chart_cancelled        chart_id, record_id, withdrawn (count)
query_dm_sent          chart_id, queries (IDs), to (Slack user ID), channel
reminder_sent          queries, charts, provider (NPI or Slack user), channel
escalation_sent        queries, charts, provider, targets
query_answered         chart_id, query_id, by (Slack user ID), option (index), kind
answer_refused         chart_id, query_id, by
query_withdrawn        chart_id, query_id, reason
chart_held             chart_id, record_id, reason (``no_slack_user``, ``not_in_directory``)
held_chart_posted      chart_id, record_id, channel (the manager channel)
chart_cleared          chart_id, record_id, channel, codes (count), changes (count)
slack_error            method, error (Slack's error code), status; or kind and queries
=====================  =======================================================================

Where they come from: every one of these steps writes an audit event in the same database
transaction (``vma.store.models.AuditEvent``); the bridge below logs each audit event once its
transaction commits, so a line is never written for work that was rolled back, and the log
and the audit trail cannot disagree. Slack errors are logged where every Web API call passes
(``vma.integrations.slack.notifier.LoggedWebClient``).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

EVENTS = "vma.events"
event_log = logging.getLogger(EVENTS)

# Loggers whose INFO lines repeat on every job run, or say nothing an operator acts on; their
# warnings still show.
QUIET_AT_INFO = ("apscheduler.executors", "apscheduler.scheduler", "apscheduler.jobstores", "alembic.runtime.plugins")
# Lines that are expected and mean nothing: bolt notes that SLACK_BOT_TOKEN is in the environment
# while vma hands it a client made from that same token.
EXPECTED_NOISE = ("As you gave `client` as well, `token` will be unused.",)
_BRIDGE_KEY = "vma_log_events"
_installed = threading.Lock()
_bridge_on = False


def log_event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    """One event line: ``name`` and its ID fields (None values left out)."""
    fields = {k: v for k, v in fields.items() if v is not None}
    if not event_log.isEnabledFor(level):
        return
    text = " ".join(f"{k}={_plain(v)}" for k, v in fields.items())
    event_log.log(level, f"{name} {text}".rstrip(), extra={"vma_event": name, "vma_fields": fields})


def _plain(value: Any) -> str:
    if isinstance(value, (list, tuple, set)):
        return ",".join(str(v) for v in value) or "-"
    text = str(value)
    return json.dumps(text) if (" " in text or not text) else text


class TextFormatter(logging.Formatter):
    """``2026-12-03T14:05:09Z INFO vma.events chart_received chart_id=ENC-1 ...``"""

    converter = time.gmtime

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%Y-%m-%dT%H:%M:%SZ")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``message``; events add ``event`` and fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
        }
        name = getattr(record, "vma_event", None)
        if name:
            entry["event"] = name
            for key, value in (getattr(record, "vma_fields", None) or {}).items():
                entry.setdefault(key, value if isinstance(value, (int, float, bool, list)) or value is None
                                 else str(value))
        entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(fmt: str = "text", level: str | int = "INFO", stream=None) -> logging.Handler:
    """Route every logger to one stderr handler in ``fmt``; returns the handler (tests remove it)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(lambda record: record.getMessage() not in EXPECTED_NOISE)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else getattr(logging, str(level).upper(), logging.INFO))
    # vma's own loggers follow that level (a benchmark or embedding program may have set "vma" apart).
    logging.getLogger("vma").setLevel(logging.NOTSET)
    for name in QUIET_AT_INFO:
        logging.getLogger(name).setLevel(logging.WARNING)
    # uvicorn's own loggers propagate here (serve passes log_config=None), so they share the format.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    install_audit_bridge()
    return handler


# -- the audit bridge ------------------------------------------------------------------------------


def install_audit_bridge() -> None:
    """Log each audit event when its transaction commits (idempotent; process-wide)."""
    global _bridge_on
    with _installed:
        if _bridge_on:
            return
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "after_commit", _emit)
        event.listen(Session, "after_rollback", _forget)
        _bridge_on = True


def _collect(session, _flush_context) -> None:
    from vma.store.models import AuditEvent

    # In after_flush, session.new still lists what this flush inserted.
    found = [(e.action, e.actor, e.chart_id, e.query_id, dict(e.detail or {}))
             for e in session.new if isinstance(e, AuditEvent)]
    if found:
        session.info.setdefault(_BRIDGE_KEY, []).extend(found)


def _forget(session) -> None:
    session.info.pop(_BRIDGE_KEY, None)


def _emit(session) -> None:
    events = session.info.pop(_BRIDGE_KEY, None)
    if not events:
        return
    try:
        for line in audit_lines(events):
            log_event(*line[:2], **line[2])
    except Exception:  # a log line must never fail the work it describes
        logging.getLogger(__name__).exception("logging committed audit events failed")


_GROUPED = {"ask": "query_dm_sent", "reminder_sent": "reminder_sent", "escalation_sent": "escalation_sent"}


def audit_lines(events: list[tuple]) -> list[tuple[str, int, dict]]:
    """(event name, level, fields) for committed audit events; one line per DM, reminder or escalation."""
    lines: list[tuple[str, int, dict]] = []
    groups: dict[tuple, dict] = {}
    for action, actor, chart_id, query_id, detail in events:
        if action in _GROUPED:
            key = (action, detail.get("channel") or detail.get("provider_key"), detail.get("ts"))
            group = groups.get(key)
            if group is None:
                group = groups[key] = {"queries": [], "charts": []}
                lines.append((_GROUPED[action], logging.INFO, group))
                if action == "ask":
                    group.update(to=detail.get("to"), channel=detail.get("channel"))
                elif action == "reminder_sent":
                    group.update(provider=detail.get("provider_key"), channel=detail.get("channel"))
                else:
                    group.update(provider=detail.get("provider_key"),
                                 targets=[d.get("target") for d in detail.get("delivered") or []])
            if query_id is not None:
                group["queries"].append(query_id)
            if chart_id and chart_id not in group["charts"]:
                group["charts"].append(chart_id)
            continue
        line = _single(action, actor, chart_id, query_id, detail)
        if line is not None:
            lines.append(line)
    for name, _, fields in lines:
        if name == "query_dm_sent" and len(fields.get("charts", [])) == 1:
            fields["chart_id"] = fields.pop("charts")[0]
    return lines


def _single(action: str, actor: str, chart_id, query_id, detail: dict) -> tuple[str, int, dict] | None:
    info, warn = logging.INFO, logging.WARNING
    record_id = detail.get("record_id")
    if action == "intake":
        return "chart_received", info, dict(chart_id=chart_id, record_id=record_id, version=detail.get("version"),
                                            source=_source(detail.get("source")), sender=detail.get("sender"),
                                            format=detail.get("format"))
    if action == "intake_rejected":
        errors = detail.get("errors") or []
        fields = sorted({str(e.get("field")) for e in errors if isinstance(e, dict) and e.get("field")})
        return "chart_rejected", warn, dict(source=_source(detail.get("source")), sender=detail.get("sender"),
                                            rejection_id=detail.get("rejection_id"), errors=len(errors), fields=fields)
    if action == "checked":
        findings = detail.get("findings") or []
        actions = [f[1] for f in findings if isinstance(f, (list, tuple)) and len(f) > 1]
        checks = sorted({str(f[0]) for f in findings if isinstance(f, (list, tuple)) and f})
        return "chart_checked", info, dict(chart_id=chart_id, record_id=record_id, status=detail.get("status"),
                                           findings=len(findings), queries=actions.count("query"),
                                           corrections=actions.count("correct"), info=actions.count("info"),
                                           checks=checks)
    if action == "stored_unauthenticated":
        return "chart_unauthenticated", info, dict(chart_id=chart_id, record_id=record_id)
    if action == "cancel":
        return "chart_cancelled", info, dict(chart_id=chart_id, record_id=record_id,
                                             withdrawn=len(detail.get("withdrawn") or []))
    if action == "answer":
        return "query_answered", info, dict(chart_id=chart_id, query_id=query_id, by=actor,
                                            option=detail.get("option_index"), kind=detail.get("kind"))
    if action == "answer_refused":
        return "answer_refused", warn, dict(chart_id=chart_id, query_id=query_id, by=actor)
    if action == "withdraw":
        return "query_withdrawn", info, dict(chart_id=chart_id, query_id=query_id, record_id=record_id,
                                             reason=detail.get("reason"))
    if action == "unroutable":
        reason = str(detail.get("reason") or "")
        # The stored reason names the provider's email; the log keeps only what kind of problem it is.
        code = "no_slack_user" if "no Slack user" in reason else (
            "not_in_directory" if "not in the directory" in reason else "unroutable")
        return "chart_held", warn, dict(chart_id=chart_id, record_id=record_id, reason=code)
    if action == "post_unroutable":
        return "held_chart_posted", info, dict(chart_id=chart_id, record_id=record_id, channel=detail.get("channel"))
    if action == "post":
        return "chart_cleared", info, dict(chart_id=chart_id, record_id=record_id, channel=detail.get("channel"),
                                           codes=len(detail.get("codes") or []),
                                           changes=len(detail.get("changes") or []))
    if action in ("reminder_failed", "escalation_failed"):
        return "slack_error", warn, dict(kind=action.removesuffix("_failed"), queries=detail.get("query_ids"),
                                         error=_error_code(detail.get("error")))
    # Any other audited step (a /checkchart look-up, a purge, a write-back): its name and IDs only.
    return f"audit_{action}", info, dict(chart_id=chart_id, query_id=query_id, record_id=record_id,
                                         by=actor if actor and actor != "vma" else None)


def _source(source: Any) -> str | None:
    """The channel a chart came in by. A drop-folder file's name may be a patient's (``ruiz_ana.hl7``): not logged."""
    if not source:
        return None
    text = str(source)
    return "inbox" if text.startswith("inbox:") else text


def _error_code(text: Any) -> str | None:
    """Slack's error code out of an exception's text (``'error': 'not_in_channel'``), else its first words."""
    if not text:
        return None
    raw = str(text)
    marker = "'error': '"
    if marker in raw:
        return raw.split(marker, 1)[1].split("'", 1)[0]
    return raw.splitlines()[0][:120]
