"""The benchmark names the interpreter its figures belong to, and how its core is linked."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.engine import interpreter


def test_the_interpreter_line_names_this_python_and_its_core_linkage():
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("no /proc: the linkage is reported as unknown")
    line = interpreter()
    assert sys.version.split()[0] in line
    shared = "libpython" in maps.read_text()
    assert ("core in a shared libpython" in line) is shared
    assert ("core linked statically" in line) is (not shared)
