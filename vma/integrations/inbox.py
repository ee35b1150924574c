"""The drop folder (``VMA_INBOX``): chart files an EHR export or a person leaves for vma.

Canonical JSON, FHIR JSON or HL7 files (the format is read from the content,
not the name). A file is taken only once it has stopped changing (an exporter
may still be writing it), stored through ``ChartService.intake``, then moved to
``done/``; a file that cannot be used is moved to ``rejected/`` with
``<name>.error.txt`` beside it naming the fields. The move happens after the
store commits, so a crash in between leaves the file in place and the next
sweep stores it again as a harmless duplicate. Checks run right after the
store; what a crash interrupts there is resumed by ``process_pending``.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from vma.intake import error_lines
from vma.store.status import IntakeOutcome

log = logging.getLogger(__name__)

# Names exporters and copy tools give a file while it is still being written.
PARTIAL_SUFFIXES = {".tmp", ".part", ".partial", ".filepart", ".crdownload", ".swp", ".lock"}
MAX_FILE = 1_000_000  # the HTTP intake's cap (contract section 6), for the same reasons


@dataclass
class SweepReport:
    stored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # still being written; looked at again next sweep


class Inbox:
    def __init__(self, folder: str | Path, service, settle_seconds: float = 2.0, process: bool = True):
        self.folder = Path(folder)
        self.done = self.folder / "done"
        self.rejected = self.folder / "rejected"
        self.service = service
        self.settle_seconds = settle_seconds
        self.process = process
        for d in (self.folder, self.done, self.rejected):
            d.mkdir(parents=True, exist_ok=True)

    def _candidates(self, report: SweepReport) -> list[Path]:
        now = time.time()
        out = []
        for p in sorted(self.folder.iterdir()):
            if not p.is_file() or p.name.startswith((".", "~")) or p.suffix.lower() in PARTIAL_SUFFIXES:
                continue
            try:
                stat = p.stat()
            except OSError:  # moved away by another worker between listing and looking
                continue
            if now - stat.st_mtime < self.settle_seconds:
                report.waiting.append(p.name)
                continue
            out.append(p)
        return out

    def sweep(self) -> SweepReport:
        report = SweepReport()
        for path in self._candidates(report):
            try:
                if path.stat().st_size > MAX_FILE:
                    self._reject(path, [f"(file): {path.stat().st_size} bytes, over the {MAX_FILE} byte limit"], report)
                    continue
                raw = path.read_bytes()
            except FileNotFoundError:
                continue  # another worker took it
            except OSError as exc:
                log.warning("inbox: cannot read %s: %s", path.name, exc)
                continue
            result = self.service.intake(raw, source=f"inbox:{path.name}")
            if result.outcome in (IntakeOutcome.STORED, IntakeOutcome.DUPLICATE):
                (report.duplicates if result.duplicate else report.stored).append(path.name)
                _move(path, self.done)
                if result.outcome == IntakeOutcome.STORED and result.record_id is not None and self.process:
                    try:
                        self.service.process(result.record_id)
                    except Exception:  # stays stored as received; process_pending retries it
                        log.exception("inbox: checking %s (record %s) failed", path.name, result.record_id)
            else:
                self._reject(path, error_lines(result.errors) or ["(file): the file could not be used"], report)
        return report

    def _reject(self, path: Path, lines: list[str], report: SweepReport) -> None:
        report.rejected.append(path.name)
        target = _move(path, self.rejected)
        if target is not None:
            target.with_name(target.name + ".error.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _move(path: Path, folder: Path) -> Path | None:
    target = folder / path.name
    if target.exists():  # the same name dropped again: keep both
        target = folder / f"{path.stem}.{time.time_ns()}{path.suffix}"
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return None
    return target


_inboxes: dict[str, Inbox] = {}


def run_inbox_sweep(service, settings) -> SweepReport | None:
    """One sweep of ``settings.vma_inbox``; the scheduler calls this every few seconds. None when unset."""
    folder = getattr(settings, "vma_inbox", None)
    if not folder:
        return None
    try:
        inbox = _inboxes.get(str(folder))
        if inbox is None or inbox.service is not service:
            inbox = _inboxes[str(folder)] = Inbox(folder, service)
        return inbox.sweep()
    except Exception:  # a sweep that fails (folder unmounted) must not stop the scheduler
        log.exception("inbox sweep of %s failed", folder)
        return None
