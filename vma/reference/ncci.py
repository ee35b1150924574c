"""NCCI procedure-to-procedure (PTP) edits for practitioners, from the CMS quarterly files.

Layout (CMS release, tab-separated): a few header lines, then per row
column 1 code, column 2 code, ``*`` when the edit existed before 1996,
effective date (YYYYMMDD), deletion date (YYYYMMDD or ``*`` for none),
modifier indicator (0 never bypassed, 1 bypassable with an NCCI-associated
modifier, 9 not applicable) and the rationale text.

The full release holds well over a million rows in four parts, so a file is
never held as Python objects: it is streamed once into an SQLite table indexed
by (column 1, column 2) and cached under the cache directory, keyed by each
file's path, size and mtime. Later processes open the cached table directly.
The deletion date is the last day an edit is in force (CMS lists edits ending
at quarter ends such as 20231231).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

from vma.reference.icd10cm_load import cache_dir, cache_key

DATA = Path(__file__).resolve().parent / "data"
SAMPLE = DATA / "ncci_ptp_sample.txt"
INDEX_FORMAT = 1
_CODE = re.compile(r"^[0-9A-Z]{5}$")


class PtpFileError(ValueError):
    """A PTP file that cannot be read; the message names the file."""


@dataclass(frozen=True)
class PtpEdit:
    column1: str
    column2: str
    effective: date | None
    deletion: date | None
    modifier_indicator: int
    rationale: str

    def in_force(self, dos: date | None) -> bool:
        if dos is None:
            return self.deletion is None
        if self.effective is not None and dos < self.effective:
            return False
        return self.deletion is None or dos <= self.deletion

    @property
    def bypassable(self) -> bool:
        return self.modifier_indicator == 1


def _ymd(text: str) -> int | None:
    text = text.strip()
    if not text or text == "*" or not text.isdigit() or len(text) != 8:
        return None
    return int(text)


def _as_date(value: int | None) -> date | None:
    if value is None:
        return None
    return date(value // 10000, value // 100 % 100, value % 100)


def _rows(path: Path, rationales: dict[str, int]) -> Iterator[tuple]:
    """Data rows of one file; header and malformed lines are skipped by shape, not by count."""
    try:
        fh = path.open("r", encoding="latin-1", newline="")
    except OSError as exc:
        raise PtpFileError(f"VMA_NCCI_PTP_FILES: cannot read {path}: {exc.strerror}") from None
    with fh:
        for line in fh:
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) < 6:
                continue
            col1, col2 = parts[0].strip().upper(), parts[1].strip().upper()
            mi = parts[5].strip()
            if not (_CODE.match(col1) and _CODE.match(col2)) or mi not in ("0", "1", "9"):
                continue
            why = parts[6].strip() if len(parts) > 6 else ""
            why_id = rationales.get(why)
            if why_id is None:
                why_id = rationales[why] = len(rationales)
            yield col1, col2, _ymd(parts[3]), _ymd(parts[4]), int(mi), why_id


def _cache_key(paths: list[Path]) -> str:
    ident = [str(INDEX_FORMAT)]
    for p in paths:
        st = p.stat()
        ident.append(f"{p.resolve()}|{st.st_size}|{int(st.st_mtime)}")
    return cache_key("\n".join(ident))


def _fill(db: sqlite3.Connection, paths: list[Path]) -> int:
    db.execute("CREATE TABLE ptp (col1 TEXT, col2 TEXT, eff INTEGER, del INTEGER, mi INTEGER, why INTEGER)")
    db.execute("CREATE TABLE rationale (id INTEGER PRIMARY KEY, text TEXT)")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    rationales: dict[str, int] = {}
    for path in paths:
        db.executemany("INSERT INTO ptp VALUES (?,?,?,?,?,?)", _rows(path, rationales))
    db.executemany("INSERT INTO rationale VALUES (?,?)", [(i, t) for t, i in rationales.items()])
    # Indexing after the bulk insert is several times faster than keeping it up to date row by row.
    db.execute("CREATE INDEX ptp_pair ON ptp (col1, col2)")
    (count,) = db.execute("SELECT count(*) FROM ptp").fetchone()
    db.execute("INSERT INTO meta VALUES ('format', ?), ('rows', ?)", (str(INDEX_FORMAT), str(count)))
    db.commit()
    return count


def compile_ptp(paths: list[Path], target: str | Path) -> int:
    """Stream the files into an SQLite table at ``target``; returns the number of rows."""
    db = sqlite3.connect(str(target))
    try:
        # A compile is all-or-nothing (written to a temporary name and renamed),
        # so durability during the load buys nothing.
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        return _fill(db, paths)
    finally:
        db.close()


class PtpTable:
    """Lookups over one compiled set of PTP files (safe to share between threads)."""

    def __init__(self, db: sqlite3.Connection, sources: list[Path], rows: int):
        self._db = db
        self._lock = threading.Lock()
        self.sources = sources
        self.rows = rows
        self._why = dict(db.execute("SELECT id, text FROM rationale").fetchall())

    def _edits(self, sql: str, args: tuple) -> list[PtpEdit]:
        with self._lock:
            found = self._db.execute(sql, args).fetchall()
        return [PtpEdit(c1, c2, _as_date(eff), _as_date(dl), mi, self._why.get(why, ""))
                for c1, c2, eff, dl, mi, why in found]

    def history(self, column1: str, column2: str) -> list[PtpEdit]:
        """Every row for the ordered pair, in force or not."""
        return self._edits("SELECT col1, col2, eff, del, mi, why FROM ptp WHERE col1=? AND col2=? ORDER BY eff",
                           (column1.upper(), column2.upper()))

    def edit(self, column1: str, column2: str, dos: date | None) -> PtpEdit | None:
        """The edit in force on ``dos`` for the ordered pair, ignoring indicator 9 (not applicable)."""
        live = [e for e in self.history(column1, column2) if e.in_force(dos) and e.modifier_indicator != 9]
        return live[-1] if live else None

    def edits_among(self, codes: Iterable[str], dos: date | None) -> list[PtpEdit]:
        """Edits in force on ``dos`` between any two different codes of a claim (one query)."""
        wanted = sorted({c.upper() for c in codes})
        if len(wanted) < 2:
            return []
        marks = ",".join("?" * len(wanted))
        found = self._edits(
            f"SELECT col1, col2, eff, del, mi, why FROM ptp WHERE col1 IN ({marks}) AND col2 IN ({marks}) ORDER BY eff",
            (*wanted, *wanted))
        latest: dict[tuple[str, str], PtpEdit] = {}
        for e in found:
            if e.column1 != e.column2 and e.in_force(dos) and e.modifier_indicator != 9:
                latest[(e.column1, e.column2)] = e
        return list(latest.values())


def _open(paths: list[Path]) -> PtpTable:
    for p in paths:
        if not p.is_file():
            raise PtpFileError(f"VMA_NCCI_PTP_FILES: no such file: {p}")
    stem = "-".join(p.stem for p in paths)[:60]
    cache = cache_dir() / f"ncci-{stem}-{_cache_key(paths)}.sqlite"
    if cache.exists():
        try:
            db = sqlite3.connect(f"file:{cache}?mode=ro", uri=True, check_same_thread=False)
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("format") == str(INDEX_FORMAT):
                return PtpTable(db, paths, int(meta["rows"]))
            db.close()
        except sqlite3.Error:
            pass  # a torn or foreign cache file is rebuilt, never trusted
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(cache.name + f".tmp{os.getpid()}")
        tmp.unlink(missing_ok=True)
        rows = compile_ptp(paths, tmp)
        os.replace(tmp, cache)
        db = sqlite3.connect(f"file:{cache}?mode=ro", uri=True, check_same_thread=False)
        return PtpTable(db, paths, rows)
    except OSError:
        # A read-only cache directory still lets this process work, in memory.
        db = sqlite3.connect(":memory:", check_same_thread=False)
        return PtpTable(db, paths, _fill(db, paths))


def split_paths(value: str | None) -> list[Path]:
    return [Path(p) for p in (value or "").split(":") if p.strip()]


def load_ncci(paths: str | None) -> PtpTable:
    """The PTP edits from ``VMA_NCCI_PTP_FILES`` (``:``-separated), else the bundled sample.

    Files given replace the sample (contract section 3).
    """
    given = split_paths(paths)
    return _open(given or [SAMPLE])
