"""Compiling a CMS tabular XML release into the compact index, caching it (with the tables the checks derive from it), and choosing the release in force on a date of service."""

from __future__ import annotations

import gc
import os
import pickle
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable
from zlib import adler32, crc32

from vma.reference.icd10cm import INDEX_FORMAT, NOTE_KINDS, IcdRelease

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET


# -- compiling a release ----------------------------------------------------

def _text(el: ET.Element | None) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def _compile(xml_path: Path) -> dict:
    import xml.etree.ElementTree as ET  # only to compile; a cached index never needs it

    tree = ET.parse(xml_path)
    root = tree.getroot()
    version = _text(root.find("version"))
    entries: dict[str, tuple] = {}
    children: dict[str, tuple[str, ...]] = {}
    notes: dict[str, dict[str, tuple[str, ...]]] = {}
    seven: dict[str, dict[str, str]] = {}
    seven_leaves: list[str] = []
    blocks: dict[str, tuple[str, int]] = {}
    chapters: dict[int, str] = {}

    def collect_notes(key: str, el: ET.Element) -> None:
        found: dict[str, tuple[str, ...]] = {}
        for kind in NOTE_KINDS:
            items = tuple(_text(n) for k in el.findall(kind) for n in k.findall("note"))
            if items:
                found[kind] = items
        if found:
            notes[key] = found

    def walk(el: ET.Element, parent: str | None, chapter: int, block: str, seven_def: dict | None) -> None:
        code = _text(el.find("name"))
        desc = _text(el.find("desc"))
        collect_notes(code, el)
        own_seven = el.find("sevenChrDef")
        if own_seven is not None:
            seven_def = {e.get("char"): _text(e) for e in own_seven.findall("extension")}
            seven[code] = seven_def
        subs = el.findall("diag")
        kids = [_text(s.find("name")) for s in subs]
        is_leaf = not subs
        billable = is_leaf and seven_def is None
        entries[code] = (desc, parent, billable, chapter, block)
        if kids:
            children[code] = tuple(kids)
        for s in subs:
            walk(s, code, chapter, block, seven_def)
        if is_leaf and seven_def is not None:
            # Its codes are the leaf padded with X to six characters, then each 7th character, and
            # "<leaf's title>, <the character's meaning>" (IcdRelease._seventh_row makes them).
            seven_leaves.append(code)

    for chap in root.findall("chapter"):
        num = int(_text(chap.find("name")))
        chapters[num] = _text(chap.find("desc"))
        collect_notes(f"chapter:{num}", chap)
        for sec in chap.findall("section"):
            sec_id = sec.get("id") or ""
            blocks[sec_id] = (_text(sec.find("desc")), num)
            collect_notes(sec_id, sec)
            for diag in sec.findall("diag"):
                walk(diag, None, num, sec_id, None)

    return {
        "format": INDEX_FORMAT,
        "version": version,
        "entries": entries,
        "children": children,
        "notes": notes,
        "seven": seven,
        "seven_leaves": seven_leaves,
        "blocks": blocks,
        "chapters": chapters,
    }


def bundled_xml() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("simple-icd-10-cm is not installed; it carries the bundled ICD-10-CM release")
    data = Path(list(spec.submodule_search_locations)[0]) / "data"
    found = sorted(data.glob("*tabular*.xml"))
    if not found:
        raise RuntimeError(f"no tabular XML in {data}")
    return found[-1]


def effective_date_for(xml_path: Path, version: str) -> date:
    """CMS releases: FY YYYY takes effect on October 1 of YYYY-1; an April update on April 1 of YYYY."""
    try:
        year = int(version)
    except ValueError:
        year = int(re.search(r"(20\d\d)", xml_path.name).group(1))  # type: ignore[union-attr]
    if "april" in xml_path.name.lower():
        return date(year, 4, 1)
    return date(year - 1, 10, 1)


def cache_dir() -> Path:
    base = os.environ.get("VMA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vma"
    )
    return Path(base)


def cache_key(ident: str) -> str:
    """16 hex digits naming a cache file after what it was made from (paths, sizes, times, format).

    Two checksums rather than a cryptographic hash: the key guards against a stale file, not an
    attacker, and loading hashlib (OpenSSL) was 3 ms of every one-chart check."""
    data = ident.encode()
    return f"{crc32(data):08x}{adler32(data):08x}"


def _cache_key(xml_path: Path) -> str:
    st = xml_path.stat()
    return cache_key(f"{xml_path.resolve()}|{st.st_size}|{int(st.st_mtime)}|{INDEX_FORMAT}")


def _read_cache(cache: Path) -> dict | None:
    # Many small tuples and strings: with the collector running it would walk the growing heap
    # again and again while they are built. Nothing here makes a cycle.
    enabled = gc.isenabled()
    gc.disable()
    try:
        with cache.open("rb") as fh:
            data = pickle.load(fh)
    finally:
        if enabled:
            gc.enable()
    # The index lives as long as the process: keep it out of every later collection.
    gc.freeze()
    return data if isinstance(data, dict) and data.get("format") == INDEX_FORMAT else None


def _write_cache(cache: Path, data: dict) -> None:
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".tmp{os.getpid()}")
        with tmp.open("wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only cache still lets this process work


def _stored(data: dict) -> dict:
    """The cache's form of a compiled release: entries, children and notes pickled by category, so
    that a process checking one chart reads the few categories it looks at, not all 1,900."""
    chunks: dict[str, tuple[dict, dict, dict]] = {}
    for code, row in data["entries"].items():
        chunks.setdefault(code[:3], ({}, {}, {}))[0][code] = row
    for code, kids in data["children"].items():
        chunks[code[:3]][1][code] = kids
    other_notes = {}
    for key, kinds in data["notes"].items():
        if key in data["entries"]:
            chunks[key[:3]][2][key] = kinds
        else:  # a chapter's or a block's
            other_notes[key] = kinds
    out = {k: v for k, v in data.items() if k not in ("entries", "children", "notes")}
    out["chunks"] = {cat: pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL) for cat, parts in chunks.items()}
    out["other_notes"] = other_notes
    out["notes_order"] = pickle.dumps(list(data["notes"]), protocol=pickle.HIGHEST_PROTOCOL)
    return out


def load_release(xml_path: str | Path, effective: date | None = None) -> IcdRelease:
    """Load a release from its CMS tabular XML, compiling and caching the index on first use.

    The cache also holds what the checks derive from the whole release, so no request pays for it."""
    # Here, not at the top: the reference data is loaded by the checks' package, never the reverse.
    from vma.checks.support.axes.index import DERIVED_FORMAT, derive

    path = Path(xml_path)
    cache = cache_dir() / f"icd10cm-{path.stem}-{_cache_key(path)}.pickle"
    stored = None
    if cache.exists():
        try:
            stored = _read_cache(cache)
        except Exception:  # a torn or stale cache file is rebuilt, never trusted
            stored = None
    if stored is not None and (stored.get("derived") or {}).get("format") == DERIVED_FORMAT:
        return IcdRelease(
            name=f"ICD-10-CM {path.stem}",
            effective=effective or effective_date_for(path, stored["version"]),
            source=str(path),
            _entries={},
            _children={},
            _notes=dict(stored["other_notes"]),
            _seven=stored["seven"],
            blocks=stored["blocks"],
            chapters=stored["chapters"],
            derived=stored["derived"],
            _seven_leaves=frozenset(stored["seven_leaves"]),
            _chunks=dict(stored["chunks"]),
            _categories=tuple(stored["chunks"]),
            _notes_order=stored["notes_order"],
        )
    # Compiled afresh, also when only the derived tables are out of date: they are always derived
    # from the whole release in tabular order.
    data = _compile(path)
    release = IcdRelease(
        name=f"ICD-10-CM {path.stem}",
        effective=effective or effective_date_for(path, data["version"]),
        source=str(path),
        _entries=data["entries"],
        _children=data["children"],
        _notes=data["notes"],
        _seven=data["seven"],
        blocks=data["blocks"],
        chapters=data["chapters"],
        _seven_leaves=frozenset(data["seven_leaves"]),
    )
    release.derived = data["derived"] = derive(release)
    _write_cache(cache, _stored(data))
    return release


def parse_xml_setting(value: str | None) -> list[tuple[Path, date | None]]:
    """``VMA_ICD10CM_XML``: one or more paths separated by ':'; ``path@YYYY-MM-DD`` sets the effective date."""
    out: list[tuple[Path, date | None]] = []
    for part in (value or "").split(os.pathsep if os.pathsep != ";" else ":"):
        part = part.strip()
        if not part:
            continue
        eff = None
        if "@" in part:
            part, _, when = part.rpartition("@")
            eff = date.fromisoformat(when)
        out.append((Path(part), eff))
    return out


class IcdCatalog:
    """All loaded releases; picks the one in force on a date of service."""

    def __init__(self, releases: Iterable[IcdRelease]):
        self.releases = sorted(releases, key=lambda r: r.effective)
        if not self.releases:
            raise ValueError("no ICD-10-CM release loaded")

    def for_date(self, dos: date | None) -> IcdRelease:
        if dos is None:
            return self.releases[-1]
        chosen = self.releases[0]
        for rel in self.releases:
            if rel.effective <= dos:
                chosen = rel
        return chosen


@lru_cache(maxsize=4)
def catalog(extra_xml: str | None = None) -> IcdCatalog:
    releases = [load_release(bundled_xml())]
    for path, eff in parse_xml_setting(extra_xml):
        releases.append(load_release(path, eff))
    return IcdCatalog(releases)
