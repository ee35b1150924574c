"""CPT (HCPCS Level I) codes and modifiers.

CPT descriptors are the AMA's copyrighted text, so the project ships only code
numbers with short labels of its own (``data/cpt_labels.csv``), plus the traits
the claim edits need (family, whether the code takes a side modifier, whether
it has professional/technical components). An operator with a licence points
``VMA_CPT_FILE`` at a descriptor file (CSV ``code,description``); that file
replaces the bundled list as the code set, while the traits still come from
the project's table (they are not descriptors).

The bundled list is a sample, not the code set: a code missing from it is
"not known here" rather than "invalid" (see ``complete``).
"""

from __future__ import annotations

import csv
import re
from datetime import date
from functools import lru_cache
from pathlib import Path

from vma.reference.values import Value, set_field

DATA = Path(__file__).resolve().parent / "data"
LABELS = DATA / "cpt_labels.csv"
MODIFIERS = DATA / "cpt_modifiers.csv"

# Category I (five digits), Category II (F), Category III (T), PLA (U), and the
# vaccine-administration (A) and MAAA (M) series.
CPT_SHAPE = re.compile(r"^\d{4}[0-9FTUAM]$")


class CptFileError(ValueError):
    """A CPT file that cannot be read; the message names the variable and the line."""


class CptEntry(Value):
    __slots__ = ("code", "label", "kind", "added", "deleted", "sided", "pctc", "replaced_by")
    code: str
    label: str
    kind: str  # em, minor, major, surgery, rad, lab, med, therapy, cat2, cat3, pla, other
    added: date | None
    deleted: date | None  # last day in force
    sided: bool
    pctc: bool
    replaced_by: str | None  # for a retired code, the code that took over most of its use

    def __init__(self, code: str, label: str, kind: str, added: date | None = None, deleted: date | None = None,
                 sided: bool = False, pctc: bool = False, replaced_by: str | None = None) -> None:
        set_field(self, "code", code)
        set_field(self, "label", label)
        set_field(self, "kind", kind)
        set_field(self, "added", added)
        set_field(self, "deleted", deleted)
        set_field(self, "sided", sided)
        set_field(self, "pctc", pctc)
        set_field(self, "replaced_by", replaced_by)

    def in_force(self, dos: date | None) -> bool:
        if dos is None:
            return True
        if self.added is not None and dos < self.added:
            return False
        return self.deleted is None or dos <= self.deleted


def is_cpt_shape(code: str) -> bool:
    return bool(CPT_SHAPE.match(code))


def is_em(code: str) -> bool:
    """Evaluation and management services (office, hospital, ED, preventive, telemedicine)."""
    return code.isdigit() and ("99202" <= code <= "99499" or "98000" <= code <= "98016")


def kind_by_range(code: str) -> str:
    """The CPT section a code falls in, for codes the project's table does not list."""
    if not is_cpt_shape(code):
        return "other"
    tail = code[-1]
    if tail == "F":
        return "cat2"
    if tail == "T":
        return "cat3"
    if tail in "UM":
        return "pla"
    if tail == "A":
        return "med"
    if is_em(code):
        return "em"
    if "10004" <= code <= "69990":
        return "surgery"
    if "70010" <= code <= "79999":
        return "rad"
    if "80047" <= code <= "89398":
        return "lab"
    if "97010" <= code <= "97799":
        return "therapy"
    return "med"


def _date(text: str, where: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CptFileError(f"{where}: not a date: {text!r}") from None


@lru_cache(maxsize=1)
def bundled_entries() -> dict[str, CptEntry]:
    out: dict[str, CptEntry] = {}
    with LABELS.open(newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            where = f"{LABELS.name} line {n}"
            code = row["code"].strip().upper()
            out[code] = CptEntry(code, row["label"].strip(), row["kind"].strip() or kind_by_range(code),
                                 _date(row["added"], where), _date(row["deleted"], where),
                                 row["sided"].strip() == "1", row["pctc"].strip() == "1",
                                 (row.get("replaced_by") or "").strip() or None)
    return out


@lru_cache(maxsize=1)
def cpt_modifiers() -> dict[str, str]:
    """CPT (Level I) modifiers with the project's own short labels; the HCPCS file holds the Level II ones."""
    with MODIFIERS.open(newline="", encoding="utf-8") as fh:
        return {row["modifier"].strip().upper(): row["label"].strip() for row in csv.DictReader(fh)}


class CptCodeSet:
    def __init__(self, entries: dict[str, CptEntry], complete: bool, source: str):
        self.entries = entries
        self.complete = complete  # True when loaded from a full descriptor file
        self.source = source

    def __contains__(self, code: str) -> bool:
        return code.upper() in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, code: str) -> CptEntry | None:
        return self.entries.get(code.upper())

    def describe(self, code: str) -> str | None:
        entry = self.get(code)
        return entry.label if entry else None

    def kind(self, code: str) -> str:
        entry = self.get(code) or bundled_entries().get(code.upper())
        return entry.kind if entry else kind_by_range(code.upper())

    def traits(self, code: str) -> CptEntry | None:
        """The project's traits for a code (family, sided, PC/TC), whichever file supplied the label."""
        return bundled_entries().get(code.upper())

    def modifier_label(self, modifier: str) -> str | None:
        return cpt_modifiers().get(modifier.upper())


def _read_licensed(path: Path) -> dict[str, CptEntry]:
    if not path.is_file():
        raise CptFileError(f"VMA_CPT_FILE: no such file: {path}")
    traits = bundled_entries()
    out: dict[str, CptEntry] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
            for n, row in enumerate(csv.reader(fh), start=1):
                if not row or not row[0].strip():
                    continue
                code = row[0].strip().upper()
                if not is_cpt_shape(code):
                    if n == 1:
                        continue  # a header line such as "code,description"
                    raise CptFileError(f"VMA_CPT_FILE {path} line {n}: not a CPT code: {row[0]!r}")
                label = row[1].strip() if len(row) > 1 else ""
                known = traits.get(code)
                if known is not None:
                    # The licence gives the code set; retirement dates stay the project's knowledge.
                    out[code] = CptEntry(code, label or known.label, known.kind, known.added, known.deleted,
                                         known.sided, known.pctc, known.replaced_by)
                else:
                    out[code] = CptEntry(code, label, kind_by_range(code))
    except OSError as exc:
        raise CptFileError(f"VMA_CPT_FILE: cannot read {path}: {exc.strerror}") from None
    if not out:
        raise CptFileError(f"VMA_CPT_FILE {path}: no CPT codes found (expected CSV code,description)")
    return out


def load_cpt(path: str | None) -> CptCodeSet:
    """The licensed descriptor file named by ``VMA_CPT_FILE``, else the project's labelled sample."""
    if path and path.strip():
        p = Path(path.strip())
        return CptCodeSet(_read_licensed(p), complete=True, source=str(p))
    return CptCodeSet(dict(bundled_entries()), complete=False, source=str(LABELS))
