"""A pattern rebuilt from the code kept on disk is the very pattern ``re.compile`` makes (compiled
patterns compare equal only when pattern, flags and code are equal), and a missing, torn or foreign
cache only costs compiling again."""

from __future__ import annotations

import pickle
import re

import pytest

import vma.compiled_patterns as compiled_patterns
from vma.compiled_patterns import MachineCache, compile_pattern

SAMPLES = [
    (r"\b(?:acute|chronic|acute on chronic)\s+(?P<organ>kidney|renal)\b", re.I),
    (r"(?i)\bleft\b|\bright\b", 0),
    (r"\d{1,3}(?:\.\d+)?\s*(?:mg|mcg)", re.ASCII),
    (r"(?:^|\n)\s*(?P<title>[A-Z][A-Z /]+):", re.M),
    (r"caf\u00e9|na\u00efve", re.I | re.UNICODE),
]


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VMA_CACHE_DIR", str(tmp_path))
    cache = MachineCache("pattern-code-test.pickle")
    monkeypatch.setattr(compiled_patterns, "PATTERN_CODE", cache)
    return cache


def test_a_pattern_from_the_cache_equals_the_one_re_compiles(fresh_cache, tmp_path):
    first = [compile_pattern(p, f) for p, f in SAMPLES]
    assert first == [re.compile(p, f) for p, f in SAMPLES]
    fresh_cache.save()
    assert (tmp_path / "pattern-code-test.pickle").is_file()

    again = MachineCache("pattern-code-test.pickle")  # as a new process would read it
    compiled_patterns.PATTERN_CODE = again
    rebuilt = [compile_pattern(p, f) for p, f in SAMPLES]
    assert len(again.entries()) == len(SAMPLES) and not again._added  # every one came from the file
    for (p, f), rx in zip(SAMPLES, rebuilt):
        assert rx == re.compile(p, f) and rx.groupindex == re.compile(p, f).groupindex
    assert rebuilt[0].search("Acute on chronic renal failure").group("organ") == "renal"


def _module_patterns() -> list[tuple[str, int]]:
    """(pattern, flags) of every lazily compiled pattern the check modules hold, with its gate."""
    import sys

    from vma.checks import all_checks
    from vma.checks.support.notes.patterns import LazyPattern, _gate_source

    all_checks()
    found = []
    for name, module in list(sys.modules.items()):
        if name.startswith("vma.") and module is not None:
            for value in vars(module).values():
                if isinstance(value, LazyPattern):
                    found.append((value.pattern, int(value.flags)))
                    lower_flags = (value.flags & ~re.I) | (0 if value.flags & re.ASCII else re.UNICODE)
                    gate = _gate_source(value.pattern, lower_flags)
                    if gate is not None:
                        found.append((gate, 0))
    return sorted(set(found))


def test_every_pattern_the_checks_compile_lazily_rebuilds_equal(fresh_cache):
    patterns = _module_patterns()
    assert len(patterns) > 50
    first = [compile_pattern(p, f) for p, f in patterns]
    fresh_cache.save()
    compiled_patterns.PATTERN_CODE = MachineCache("pattern-code-test.pickle")
    for (pattern, flags), made in zip(patterns, first):
        assert made == compile_pattern(pattern, flags) == re.compile(pattern, flags), pattern[:80]
    assert not compiled_patterns.PATTERN_CODE._added  # all of them read back from the file


def test_a_torn_cache_file_is_compiled_again_and_written_anew(fresh_cache, tmp_path):
    (tmp_path / "pattern-code-test.pickle").write_bytes(b"\x80\x05torn")
    assert compile_pattern(*SAMPLES[0]) == re.compile(*SAMPLES[0])
    fresh_cache.save()
    with (tmp_path / "pattern-code-test.pickle").open("rb") as fh:
        assert (SAMPLES[0][0], int(SAMPLES[0][1])) in pickle.load(fh)


def test_an_entry_that_does_not_load_is_compiled_again(fresh_cache):
    pattern, flags = SAMPLES[2]
    fresh_cache.entries()[(pattern, int(flags))] = (int(flags), ["not", "code"], 0, {}, (None,))
    assert compile_pattern(pattern, flags) == re.compile(pattern, flags)
