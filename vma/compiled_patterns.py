"""Regular expressions compiled once per machine rather than once per process.

``re.compile`` parses a pattern and generates its matcher code in Python; for the long clinical
alternations and their gates that was about a tenth of a one-chart ``vma check``. Only the last step,
handing the code to the C matcher (``_sre.compile``), needs doing in each process. So the code a pattern
compiles to is kept on disk beside the compiled index, keyed by the pattern, its flags and the matcher's
version (``_sre.MAGIC`` and the Python version: the code format belongs to them), and a pattern found
there is rebuilt from its code directly. The result is the very pattern ``re.compile`` makes: a compiled
pattern compares equal only when its pattern, flags and code are equal, and a test asserts that equality
for every pattern the checks use. Anything unexpected (an unreadable file, an entry that does not load)
falls back to ``re.compile``.
"""

from __future__ import annotations

import _sre
import atexit
import os
import pickle
import re
import sys
from array import array
from re import _compiler, _parser

from vma.reference.icd10cm_load import cache_dir

_FORMAT = 2  # bump when what an entry holds changes


class MachineCache:
    """A dict kept in one pickle file in vma's cache folder: read on first use, and what this process
    added merged back into the file at exit (another process may have added entries meanwhile)."""

    everyone: list[MachineCache] = []

    def __init__(self, file_name: str):
        self.file_name = file_name
        self._entries: dict | None = None
        self._added: set = set()
        MachineCache.everyone.append(self)

    def entries(self) -> dict:
        if self._entries is None:
            self._entries = self._read()
        return self._entries

    def add(self, key, value) -> None:
        self.entries()[key] = value
        if not self._added:
            atexit.register(self.save)
        self._added.add(key)

    def save(self) -> None:
        """Write what was added since the last save; for a worker process too, which ends without
        running its exit handlers."""
        if not self._added or self._entries is None:
            return
        try:
            path = cache_dir() / self.file_name
            merged = self._read()
            merged.update({key: self._entries[key] for key in self._added})
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            with tmp.open("wb") as fh:
                pickle.dump(merged, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
            self._added.clear()
        except OSError:
            pass  # a read-only cache: worked out again next time

    def _read(self) -> dict:
        try:
            with (cache_dir() / self.file_name).open("rb") as fh:
                found = pickle.load(fh)
            return found if isinstance(found, dict) else {}
        except Exception:  # none yet, torn or unreadable: worked out again, and written anew
            return {}


def save_machine_caches() -> None:
    """Write what every cache gained; a pool's worker process calls it, as it ends without running
    its exit handlers."""
    for cache in MachineCache.everyone:
        cache.save()


# The code format belongs to the matcher's version and to Python's.
PATTERN_CODE = MachineCache(f"pattern-code-py{sys.version_info[0]}{sys.version_info[1]}-{_sre.MAGIC}-{_FORMAT}.pickle")


def compile_pattern(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, from the code kept on disk when this pattern was compiled before."""
    flags = int(flags)
    key = (pattern, flags)
    entry = PATTERN_CODE.entries().get(key)
    if entry is not None:
        try:
            full_flags, code, groups, groupindex, indexgroup = entry
            return _sre.compile(pattern, full_flags, array("I", code).tolist(), groups, groupindex, indexgroup)
        except Exception:  # an entry from another build of the matcher: compile it again below
            pass
    parsed = _parser.parse(pattern, flags)
    code = [int(op) for op in _compiler._code(parsed, flags)]  # the opcodes are named int constants
    indexgroup = [None] * parsed.state.groups
    for name, index in parsed.state.groupdict.items():
        indexgroup[index] = name
    full_flags, groups, groupindex = flags | parsed.state.flags, parsed.state.groups - 1, dict(parsed.state.groupdict)
    compiled = _sre.compile(pattern, full_flags, code, groups, groupindex, tuple(indexgroup))
    try:
        # Kept as bytes: a file of int lists took 6 ms to read, of bytes 1 ms.
        packed = array("I", code).tobytes()
    except OverflowError:  # a code word wider than this platform's unsigned int: not kept
        return compiled
    PATTERN_CODE.add(key, (full_flags, packed, groups, groupindex, tuple(indexgroup)))
    return compiled
