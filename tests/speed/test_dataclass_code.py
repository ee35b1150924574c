"""`vma` lets dataclasses run the code kept from an earlier run instead of compiling the same text again:
every method it makes is the very code compiling gives, whether the text is new or found in the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Prints, for every dataclass defined below and in the modules a check run loads, what the code of each
# function on the class is made of: compiled here, or taken from the cache when VMA_REUSE is set.
_PROBE = r'''
import json, os, sys, dataclasses, types
if os.environ.get("VMA_REUSE"):
    from vma.cli import _reuse_dataclass_code
    _reuse_dataclass_code()
from dataclasses import dataclass, field
from typing import ClassVar

def described(code):
    """Everything a code object is made of, the code objects it holds described likewise."""
    parts = {name: getattr(code, name) for name in dir(code)
             if name.startswith("co_") and not callable(getattr(code, name))}
    parts["co_consts"] = [described(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts]
    return repr(sorted(parts.items()))

@dataclass(frozen=True, slots=True)
class Frozen:
    code: str
    parts: tuple = ()
    kept: ClassVar[int] = 0

@dataclass(order=True, kw_only=True)
class Ordered:
    rank: int
    names: list = field(default_factory=list)
    note: "str | None" = None

    def __post_init__(self):
        self.names = list(self.names)

@dataclass(eq=False, repr=False)
class Plain:
    value: object = None

from vma.checks import all_checks
all_checks()
found = {}
for module in list(sys.modules.values()):
    for name, cls in list(vars(module).items()):
        if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__:
            for attr, fn in sorted(vars(cls).items()):
                code = getattr(fn, "__code__", None)
                if code is not None and code.co_filename == "<string>":
                    found[f"{cls.__module__}.{cls.__qualname__}.{attr}"] = described(code)
print(json.dumps(found))
'''


def _methods(tmp_path: Path, reuse: bool) -> dict:
    env = {**os.environ, "VMA_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("VMA_REUSE", None)
    if reuse:
        env["VMA_REUSE"] = "1"
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_kept_code_is_the_code_compiling_gives(tmp_path):
    compiled = _methods(tmp_path, reuse=False)
    assert not list(tmp_path.glob("dataclass-code-*"))
    first = _methods(tmp_path, reuse=True)  # compiled, and kept at exit
    kept, = tmp_path.glob("dataclass-code-*")
    again = _methods(tmp_path, reuse=True)  # taken from the file
    assert len(compiled) > 150 and "__main__.Ordered.__lt__" in compiled and "__main__.Frozen.__setattr__" in compiled
    assert first == compiled
    assert again == compiled
    kept.write_bytes(b"not marshal")  # a torn file: compiled again
    assert _methods(tmp_path, reuse=True) == compiled
