"""ICD-10-CM: a compact index compiled from a CMS tabular XML release.

Source: the CMS/NCHS "ICD-10-CM Tabular List of Diseases and Injuries" XML.
The bundled release is the April 1, 2026 file shipped inside the PyPI package
``simple-icd-10-cm`` 1.5.0; an operator adds newer releases with
``VMA_ICD10CM_XML`` (the same XML layout CMS publishes each year).

Parsing the 10 MB XML takes seconds and importing ``simple_icd_10_cm`` costs
about 190 MB, so each release is compiled once into a pickle in the cache
directory, keyed by the XML file's identity and the index format. Later
processes load only the pickle.

Seventh-character codes are not listed in the XML; they are generated here the
way the tabular instructs: the nearest ``sevenChrDef`` above a leaf applies, the
code is padded with the placeholder X to six characters, then the 7th added.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, TypeVar

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

# 4: the compiled cache also holds the tables the checks derive from the release (vma.checks.support.axes.index.derive).
# 5: seventh-character codes are made on demand from their leaf, not stored (half the index).
# 6: entries, children and notes are stored by category and read when a code of it is first asked for.
INDEX_FORMAT = 6
NOTE_KINDS = (
    "inclusionTerm",
    "includes",
    "excludes1",
    "excludes2",
    "codeFirst",
    "useAdditionalCode",
    "codeAlso",
    "notes",
)


@dataclass(frozen=True, slots=True)
class IcdEntry:
    code: str
    description: str
    parent: str | None
    billable: bool
    chapter: int
    block: str  # section id such as "M15-M19"


@dataclass
class IcdRelease:
    """One ICD-10-CM release, effective from ``effective``."""

    name: str
    effective: date
    source: str
    # code -> (description, parent, billable, chapter, block)
    _entries: dict[str, tuple[str, str | None, bool, int, str]]
    _children: dict[str, tuple[str, ...]]
    _notes: dict[str, dict[str, tuple[str, ...]]]
    _seven: dict[str, dict[str, str]]  # where a sevenChrDef is written
    blocks: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> (description, chapter)
    chapters: dict[int, str] = field(default_factory=dict)
    # Tables derived from the whole release (see vma.checks.support.axes.index.derive), built with the compiled index.
    derived: dict = field(default_factory=dict, repr=False)
    # Leaves under a sevenChrDef: their 7th-character codes (S93.401 -> S93.401A, S93.401D, S93.401S)
    # are not stored but made when asked for, as the tabular instructs (see _compile).
    _seven_leaves: frozenset[str] = frozenset()
    _made: dict = field(default_factory=dict, repr=False, compare=False)
    _excludes1_refs: list | None = field(default=None, repr=False, compare=False)
    # A release read from the cache: category -> its pickled (entries, children, notes), unread yet;
    # the categories in tabular order; each read category's codes in order; the notes' keys in order.
    _chunks: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    _categories: tuple[str, ...] = ()
    _chunk_codes: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)
    _notes_order: bytes | None = field(default=None, repr=False, compare=False)

    # -- reading by category -------------------------------------------------
    def _read_chunk(self, code: str) -> bool:
        """Read the stored category of ``code`` if it is still unread; True if it was."""
        blob = self._chunks.pop(code[:3], None)
        if blob is None:
            return False
        entries, children, notes = pickle.loads(blob)
        self._entries.update(entries)
        self._children.update(children)
        self._notes.update(notes)
        self._chunk_codes[code[:3]] = tuple(entries)
        return True

    def read_all(self) -> None:
        """Read every stored category now (before forking workers that will share them)."""
        for category in list(self._chunks):
            self._read_chunk(category)

    # -- look-ups -----------------------------------------------------------
    def _row(self, code: str) -> tuple[str, str | None, bool, int, str] | None:
        # Callers look in _entries first (``self._entries.get(code) or self._row(code)``): the stored
        # codes are most look-ups, and a call saved on each is felt in a check's hot loops.
        row = self._entries.get(code)
        if row is None and self._chunks and self._read_chunk(code):
            row = self._entries.get(code)
        if row is None and self._seven_leaves and len(code) == 8:
            row = self._made.get(code)
            if row is None:
                row = self._made[code] = self._seventh_row(code) or ()
        return row or None

    def _seventh_row(self, code: str) -> tuple[str, str | None, bool, int, str] | None:
        """The entry of a 7th-character code ("S32.9XXA"): its leaf is the code without the 7th
        character and the placeholder X's that padded it to six."""
        if code[3] != ".":
            return None
        base = code[:3] + code[4:7]
        for k in range(6, 2, -1):
            if k < 6 and base[k] != "X":
                break
            leaf = f"{base[:3]}.{base[3:k]}" if k > 3 else base[:3]
            if leaf in self._seven_leaves:
                ext = (self.seventh_character_definition(leaf) or {}).get(code[7])
                if ext is None:
                    return None
                desc, _, _, chapter, block = self._entries[leaf]
                return (f"{desc}, {ext}", leaf, True, chapter, block)
        return None

    def _seventh_children(self, leaf: str) -> tuple[str, ...]:
        bare = leaf.replace(".", "").ljust(6, "X")
        return tuple(f"{bare[:3]}.{bare[3:]}{char}" for char in self.seventh_character_definition(leaf) or {})

    def get(self, code: str) -> IcdEntry | None:
        row = self._entries.get(code) or self._row(code)
        if row is None:
            return None
        return IcdEntry(code, *row)

    def __contains__(self, code: str) -> bool:
        return code in self._entries or self._row(code) is not None

    def __len__(self) -> int:
        self.read_all()
        return len(self._entries) + sum(len(self._seventh_children(leaf)) for leaf in self._seven_leaves)

    def codes(self) -> Iterator[str]:
        """Every code in tabular order, each 7th-character code right after its leaf."""
        self.read_all()
        stored = (c for cat in self._categories for c in self._chunk_codes[cat]) if self._categories \
            else iter(self._entries)
        for code in stored:
            yield code
            if code in self._seven_leaves:
                yield from self._seventh_children(code)

    def description(self, code: str) -> str | None:
        row = self._entries.get(code) or self._row(code)
        return row[0] if row else None

    def is_billable(self, code: str) -> bool:
        row = self._entries.get(code) or self._row(code)
        return bool(row and row[2])

    def parent(self, code: str) -> str | None:
        row = self._entries.get(code) or self._row(code)
        return row[1] if row else None

    def children(self, code: str) -> tuple[str, ...]:
        found = self._children.get(code)
        if found is None and self._chunks and self._read_chunk(code):
            found = self._children.get(code)
        if found is None:
            return self._seventh_children(code) if code in self._seven_leaves else ()
        return found

    def siblings(self, code: str) -> tuple[str, ...]:
        """Codes under the same parent, the code itself excluded."""
        parent = self.parent(code)
        if parent is None:
            return ()
        return tuple(c for c in self.children(parent) if c != code)

    def ancestors(self, code: str) -> list[str]:
        """Parent first, up to the category."""
        out = []
        p = self.parent(code)
        while p is not None:
            out.append(p)
            p = self.parent(p)
        return out

    def descendants(self, code: str) -> Iterator[str]:
        for child in self.children(code):
            yield child
            yield from self.descendants(child)

    def billable_descendants(self, code: str) -> list[str]:
        return [c for c in self.descendants(code) if self.is_billable(c)]

    def notes(self, code: str, kind: str) -> tuple[str, ...]:
        """Instructional notes of one kind written on the code itself."""
        found = self._notes.get(code)
        if found is None and self._chunks and self._read_chunk(code):
            found = self._notes.get(code)
        return found.get(kind, ()) if found else ()

    def inherited_notes(self, code: str, kind: str) -> list[tuple[str, str]]:
        """(where, note) for the code and each ancestor, nearest first; block and chapter notes last."""
        out = [(code, n) for n in self.notes(code, kind)]
        for anc in self.ancestors(code):
            out.extend((anc, n) for n in self.notes(anc, kind))
        entry = self.get(code)
        if entry is not None:
            out.extend((entry.block, n) for n in self.notes(entry.block, kind))
            chap = f"chapter:{entry.chapter}"
            out.extend((chap, n) for n in self.notes(chap, kind))
        return out

    def excludes1_refs(self) -> list[tuple[str, str, list[CodeRef]]]:
        """(code, note, references) of every Excludes1 note of the release: who sends what away."""
        if self._excludes1_refs is None:
            blob = self.derived.get("excludes1_refs")
            self._excludes1_refs = pickle.loads(blob) if isinstance(blob, bytes) else self.scan_excludes1_refs()
        return self._excludes1_refs

    def scan_excludes1_refs(self) -> list[tuple[str, str, list[CodeRef]]]:
        """Every Excludes1 note of the release read for its references: vma.checks.support.axes.index.derive runs it when
        the index is compiled."""
        self.read_all()
        keys = pickle.loads(self._notes_order) if self._notes_order is not None else list(self._notes)
        return [(code, note, note_code_refs(note))
                for code in keys for note in self._notes[code].get("excludes1", ())]

    def seventh_character_definition(self, code: str) -> dict[str, str] | None:
        """The 7th characters allowed for a code that needs one (nearest definition above it)."""
        for c in (code, *self.ancestors(code)):
            if c in self._seven:
                return self._seven[c]
        return None

    def requires_seventh(self, code: str) -> bool:
        """True for a tabular code that is a leaf and needs a 7th character to be billable.

        The index lists the 7th-character codes generated for such a leaf as its
        children (S93.401 -> S93.401A, S93.401D, S93.401S), so "leaf" here means
        that every child is one of those generated codes, not that there are none.
        """
        if self._row(code) is None or self.is_billable(code) or self.seventh_character_definition(code) is None:
            return False
        padded = code.replace(".", "").ljust(6, "X")
        return all(len(kid.replace(".", "")) == 7 and kid.replace(".", "")[:6] == padded
                   for kid in self.children(code))

    def with_seventh(self, code: str, char: str) -> str:
        bare = code.replace(".", "")
        bare = bare.ljust(6, "X") + char
        return f"{bare[:3]}.{bare[3:]}"

    def chapter_of(self, code: str) -> int | None:
        row = self._entries.get(code) or self._row(code)
        return row[3] if row else None

    def block_of(self, code: str) -> str | None:
        row = self._entries.get(code) or self._row(code)
        return row[4] if row else None


_Key = TypeVar("_Key")
_Built = TypeVar("_Built")


def per_release(build: Callable[[_Key], _Built]) -> Callable[[_Key], _Built]:
    """One ``build(obj)`` per object for the life of the process: for data derived from a release
    (or from something kept per release). Releases are few, long-lived and not hashable, so they
    are told apart by identity, never by value."""
    held: dict[int, tuple[object, _Built]] = {}

    @wraps(build)
    def get(obj: _Key) -> _Built:
        found = held.get(id(obj))
        if found is None or found[0] is not obj:
            found = held[id(obj)] = (obj, build(obj))
        return found[1]

    return get


# -- note references ("E10.-", "O00-O07", "I50.2-", "Z79.4") ----------------

_CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
_REF = re.compile(rf"\b({_CODE})(?:\s*-\s*({_CODE}))?(?:\.-|-)?")


@dataclass(frozen=True, slots=True)
class CodeRef:
    """A code or range named in a tabular note. ``first``..``last`` compared by prefix."""

    first: str
    last: str

    def covers(self, code: str) -> bool:
        bare = code.replace(".", "")
        lo = self.first.replace(".", "")
        hi = self.last.replace(".", "")
        if lo == hi:
            return bare.startswith(lo)
        # A range of categories: compare on the range's own length, inclusive.
        return lo <= bare[: len(lo)] and bare[: len(hi)] <= hi


def note_code_refs(note: str) -> list[CodeRef]:
    """The codes and ranges a tabular note names, e.g. "(E10.-)", "(O00-O07)", "(I50.-)"."""
    refs: list[CodeRef] = []
    for m in _REF.finditer(note):
        first, last = m.groups()
        refs.append(CodeRef(first, last or first))
    return refs


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


def _cache_key(xml_path: Path) -> str:
    st = xml_path.stat()
    ident = f"{xml_path.resolve()}|{st.st_size}|{int(st.st_mtime)}|{INDEX_FORMAT}"
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


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
