"""Medically unlikely edits (MUE) for practitioner services, from the CMS quarterly CSV.

Release layout: a quoted copyright line, a header whose first cell spans two
lines (``"HCPCS/\\nCPT Code"``), then per row the code, the MUE value (units
per line or per date of service), the adjudication indicator as a digit and
its text ("1 Line Edit", "2 Date of Service Edit: Policy", "3 Date of Service
Edit: Clinical") and the rationale. Rows are recognised by shape, so header
changes between releases do not matter. The effective date comes from the
file name (``..._Eff_07-01-2026.csv``) when it carries one.

The practitioner file has some 15,000 rows: it is streamed into a dict of
small tuples (a fraction of a second), no compiled cache needed.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

from vma.reference.values import Value, set_field

DATA = Path(__file__).resolve().parent / "data"
SAMPLE = DATA / "mue_sample.csv"
_CODE = re.compile(r"^[0-9A-Z]{5}$")
_EFF = re.compile(r"Eff_(\d{2})-(\d{2})-(\d{4})", re.I)

ADJUDICATION = {
    1: "line edit",
    2: "date of service edit (policy)",
    3: "date of service edit (clinical)",
}


class MueFileError(ValueError):
    """An MUE file that cannot be read; the message names the variable and the row."""


class MueEdit(Value):
    __slots__ = ("code", "units", "indicator", "rationale")
    code: str
    units: int
    indicator: int  # MAI: 1 line, 2 date of service (policy), 3 date of service (clinical)
    rationale: str

    def __init__(self, code: str, units: int, indicator: int, rationale: str) -> None:
        set_field(self, "code", code)
        set_field(self, "units", units)
        set_field(self, "indicator", indicator)
        set_field(self, "rationale", rationale)

    @property
    def per_line(self) -> bool:
        return self.indicator == 1


class MueTable:
    def __init__(self, edits: dict[str, tuple[int, int, str]], effective: date | None, source: str):
        self._edits = edits
        self.effective = effective
        self.source = source

    def __len__(self) -> int:
        return len(self._edits)

    def get(self, code: str) -> MueEdit | None:
        found = self._edits.get(code.upper())
        return MueEdit(code.upper(), *found) if found else None


def effective_from_name(path: Path) -> date | None:
    m = _EFF.search(path.name)
    if not m:
        return None
    try:
        return date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    except ValueError:
        return None


def parse_mue(path: Path, variable: str = "VMA_MUE_FILE") -> MueTable:
    edits: dict[str, tuple[int, int, str]] = {}
    rationales: dict[str, str] = {}  # one shared string per distinct rationale
    try:
        fh = path.open("r", encoding="latin-1", newline="")
    except OSError as exc:
        raise MueFileError(f"{variable}: cannot read {path}: {exc.strerror}") from None
    with fh:
        for n, row in enumerate(csv.reader(fh), start=1):
            if len(row) < 3:
                continue
            code = row[0].strip().upper()
            if not _CODE.match(code):
                continue
            value, mai = row[1].strip(), row[2].strip()[:1]
            if not value.isdigit() or mai not in ("1", "2", "3"):
                raise MueFileError(f"{variable} {path} record {n} ({code}): expected units and an adjudication indicator 1-3, got {row[1]!r}, {row[2]!r}")
            why = row[3].strip() if len(row) > 3 else ""
            edits[code] = (int(value), int(mai), rationales.setdefault(why, why))
    if not edits:
        raise MueFileError(f"{variable} {path}: no MUE rows found (expected the CMS practitioner CSV layout)")
    return MueTable(edits, effective_from_name(path), str(path))


def load_mue(path: str | None) -> MueTable:
    """The CMS file named by ``VMA_MUE_FILE`` (replacing the sample), else the bundled sample."""
    if path and path.strip():
        p = Path(path.strip())
        if not p.is_file():
            raise MueFileError(f"VMA_MUE_FILE: no such file: {p}")
        return parse_mue(p)
    return parse_mue(SAMPLE)
