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

import pickle
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache, wraps
from typing import Callable, Iterator, TypeVar

from vma.reference.values import Value, set_field

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


class IcdEntry(Value):
    __slots__ = ("code", "description", "parent", "billable", "chapter", "block")
    code: str
    description: str
    parent: str | None
    billable: bool
    chapter: int
    block: str  # section id such as "M15-M19"

    def __init__(self, code: str, description: str, parent: str | None, billable: bool, chapter: int,
                 block: str) -> None:
        set_field(self, "code", code)
        set_field(self, "description", description)
        set_field(self, "parent", parent)
        set_field(self, "billable", billable)
        set_field(self, "chapter", chapter)
        set_field(self, "block", block)


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
    # (code, kind) -> inherited_notes: the checks ask the same codes' notes again on every chart.
    _inherited: dict = field(default_factory=dict, repr=False, compare=False)
    _ancestors: dict = field(default_factory=dict, repr=False, compare=False)  # code -> its ancestors, parent first

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
        return list(self._lineage(code))

    def _lineage(self, code: str) -> tuple[str, ...]:
        # The checks climb from the same codes again and again (a 7th character's definition, a
        # category's title), so each code's climb is kept.
        found = self._ancestors.get(code)
        if found is None:
            parent = self.parent(code)
            found = self._ancestors[code] = () if parent is None else (parent, *self._lineage(parent))
        return found

    def descendants(self, code: str) -> Iterator[str]:
        """Depth first, each code before its own children (one stack, not a generator per level)."""
        pending = list(reversed(self.children(code)))
        while pending:
            child = pending.pop()
            yield child
            pending.extend(reversed(self.children(child)))

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
        found = self._inherited.get((code, kind))
        if found is None:
            found = self._inherited[(code, kind)] = tuple(self._inherited_notes(code, kind))
        return list(found)

    def _inherited_notes(self, code: str, kind: str) -> list[tuple[str, str]]:
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
        """(code, note, references) of every Excludes1 note of the release: who sends what away. Read from the
        tabular on first use: what the checks need of them is compiled with the index
        (vma.checks.support.demographics.decide.scan_any_age_counterparts)."""
        if self._excludes1_refs is None:
            self._excludes1_refs = self.scan_excludes1_refs()
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
        for c in (code, *self._lineage(code)):
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


class CodeRef(Value):
    """A code or range named in a tabular note. ``first``..``last`` compared by prefix."""

    __slots__ = ("first", "last")
    first: str
    last: str

    def __init__(self, first: str, last: str) -> None:
        set_field(self, "first", first)
        set_field(self, "last", last)

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
    return list(_code_refs(note))


@lru_cache(maxsize=8192)  # tabular notes (reference text, never a chart's): a chart's checks read the same few again
def _code_refs(note: str) -> tuple[CodeRef, ...]:
    return tuple(CodeRef(first, last or first) for first, last in (m.groups() for m in _REF.finditer(note)))
