"""HCPCS Level II codes and modifiers, from the CMS alpha-numeric ("ANWEB") file.

Fixed-width records (CMS record layout, the same from year to year):
code 1-5 (a modifier is right-aligned: ``   RT``), sequence 6-10, record id 11
(3 procedure and 4 its continuation lines, 7 modifier and 8 its continuation),
long description 12-91, short description 92-119, date added 269-276, action
effective date 277-284, termination date 285-292 (the last day in force),
action code 293. Lines of any other shape (the disclaimer, blank lines) are
skipped. The file is latin-1.

The file holds about 7,000 codes and a few hundred modifiers, so it is read
into a dict (well under a second) rather than compiled.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SUBSET = DATA / "hcpcs_anweb_subset.txt"
HCPCS_SHAPE = re.compile(r"^[A-V]\d{4}$")
_MODIFIER_SHAPE = re.compile(r"^[0-9A-Z]{2}$")


class HcpcsFileError(ValueError):
    """An HCPCS file that cannot be read; the message names the variable."""


class HcpcsEntry:
    """One code or modifier of the file; ``long`` grows as its continuation lines are read. Compared and
    shown field by field, as the dataclass it was (written out: see vma.reference.values)."""

    __slots__ = ("code", "short", "long", "added", "terminated", "action")

    def __init__(self, code: str, short: str, long: str, added: date | None, terminated: date | None,
                 action: str) -> None:
        self.code = code
        self.short = short
        self.long = long
        self.added = added
        self.terminated = terminated  # last day in force
        self.action = action

    def _fields(self) -> tuple:
        return (self.code, self.short, self.long, self.added, self.terminated, self.action)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._fields() == other._fields()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"{self.__class__.__qualname__}(code={self.code!r}, short={self.short!r}, long={self.long!r}, "
                f"added={self.added!r}, terminated={self.terminated!r}, action={self.action!r})")

    def in_force(self, dos: date | None) -> bool:
        if dos is None:
            return self.terminated is None
        if self.added is not None and dos < self.added:
            return False
        return self.terminated is None or dos <= self.terminated


def is_hcpcs_shape(code: str) -> bool:
    return bool(HCPCS_SHAPE.match(code))


def _ymd(text: str) -> date | None:
    text = text.strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


class HcpcsCodeSet:
    def __init__(self, codes: dict[str, HcpcsEntry], modifiers: dict[str, HcpcsEntry], complete: bool, source: str):
        self.codes = codes
        self.modifiers = modifiers
        self.complete = complete  # False for the bundled subset
        self.source = source

    def __contains__(self, code: str) -> bool:
        return code.upper() in self.codes

    def get(self, code: str) -> HcpcsEntry | None:
        return self.codes.get(code.upper())

    def describe(self, code: str) -> str | None:
        entry = self.get(code)
        return (entry.long or entry.short) if entry else None

    def modifier(self, modifier: str) -> HcpcsEntry | None:
        return self.modifiers.get(modifier.upper())


def parse_anweb(path: Path, *, complete: bool) -> HcpcsCodeSet:
    codes: dict[str, HcpcsEntry] = {}
    modifiers: dict[str, HcpcsEntry] = {}
    last: HcpcsEntry | None = None
    try:
        fh = path.open("r", encoding="latin-1", newline="")
    except OSError as exc:
        raise HcpcsFileError(f"VMA_HCPCS_FILE: cannot read {path}: {exc.strerror}") from None
    with fh:
        for raw in fh:
            line = raw.rstrip("\r\n")
            if len(line) < 12 or not line[5:10].isdigit() or line[10] not in "3478":
                continue
            code = line[:5].strip().upper()
            rec = line[10]
            text = line[11:91].strip()
            if rec in "48":
                # Continuation lines carry the rest of the long description.
                if last is not None and last.code == code:
                    last.long = f"{last.long} {text}".strip()
                continue
            padded = line.ljust(320)
            entry = HcpcsEntry(code, padded[91:119].strip(), text, _ymd(padded[268:276]), _ymd(padded[284:292]),
                               padded[292].strip())
            if rec == "3" and HCPCS_SHAPE.match(code):
                codes[code] = entry
            elif rec == "7" and _MODIFIER_SHAPE.match(code):
                modifiers[code] = entry
            else:
                continue
            last = entry
    if not codes and not modifiers:
        raise HcpcsFileError(f"VMA_HCPCS_FILE {path}: no HCPCS records found (expected the CMS fixed-width ANWEB layout)")
    return HcpcsCodeSet(codes, modifiers, complete, str(path))


def load_hcpcs(path: str | None) -> HcpcsCodeSet:
    """The CMS file named by ``VMA_HCPCS_FILE`` (replacing the subset), else the bundled subset."""
    if path and path.strip():
        p = Path(path.strip())
        if not p.is_file():
            raise HcpcsFileError(f"VMA_HCPCS_FILE: no such file: {p}")
        return parse_anweb(p, complete=True)
    return parse_anweb(SUBSET, complete=False)
