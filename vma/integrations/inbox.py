"""The drop folder (``VMA_INBOX``): chart files an EHR export or a person leaves for vma.

Canonical JSON, FHIR JSON or HL7 files. A file is taken only once it has stopped
changing (an exporter may still be writing it), stored through
``ChartService.intake``, then moved to ``done/``; a file that cannot be used is
moved to ``rejected/`` with ``<name>.error.txt`` beside it naming the fields.
The move happens after the store commits, so a crash in between leaves the
file in place and the next sweep stores it again as a harmless duplicate.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from vma.intake import error_lines

log = logging.getLogger(__name__)

SUFFIXES = {".json", ".hl7", ".txt", ".er7", ".fhir"}


@dataclass
class SweepReport:
    stored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


class Inbox:
    def __init__(self, folder: str | Path, service, settle_seconds: float = 1.0):
        self.folder = Path(folder)
        self.done = self.folder / "done"
        self.rejected = self.folder / "rejected"
        self.service = service
        self.settle_seconds = settle_seconds
        for d in (self.folder, self.done, self.rejected):
            d.mkdir(parents=True, exist_ok=True)

    def _ready_files(self) -> list[Path]:
        now = time.time()
        out = []
        for p in sorted(self.folder.iterdir()):
            if not p.is_file() or p.name.startswith(".") or p.suffix.lower() not in SUFFIXES:
                continue
            if now - p.stat().st_mtime < self.settle_seconds:
                continue  # still being written
            out.append(p)
        return out

    def sweep(self) -> SweepReport:
        report = SweepReport()
        for path in self._ready_files():
            try:
                raw = path.read_bytes()
            except OSError as exc:
                log.warning("inbox: cannot read %s: %s", path.name, exc)
                continue
            result = self.service.intake(raw, source=f"inbox:{path.name}")
            if result.http_status in (200, 202):
                (report.duplicates if result.duplicate else report.stored).append(path.name)
                _move(path, self.done)
            else:
                report.rejected.append(path.name)
                target = _move(path, self.rejected)
                lines = error_lines(result.errors) or ["the file could not be used"]
                target.with_name(target.name + ".error.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return report


def _move(path: Path, folder: Path) -> Path:
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}.{int(time.time() * 1000)}{path.suffix}"
    os.replace(path, target)
    return target
