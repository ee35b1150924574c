"""The literal gates of the note patterns are worked out once and kept on disk."""

from __future__ import annotations

import re

import pytest

from vma.checks.support.notes import patterns as notes
from vma.compiled_patterns import MachineCache


GATES_FILE = "pattern-gates-test.pickle"


@pytest.fixture
def fresh_gates(tmp_path, monkeypatch):
    monkeypatch.setenv("VMA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(notes, "PATTERN_GATES", MachineCache(GATES_FILE))
    return tmp_path


def _another_process(monkeypatch) -> None:
    monkeypatch.setattr(notes, "PATTERN_GATES", MachineCache(GATES_FILE))


def test_a_saved_gate_is_read_back_without_parsing_the_pattern(fresh_gates, monkeypatch):
    rx = re.compile(r"\b(?:poorly|inadequately) controlled (?:diabetes|dm)\b")
    worked_out = notes._gate_source(rx.pattern, rx.flags)
    assert worked_out is not None and re.search(worked_out, "poorly controlled dm")
    notes.PATTERN_GATES.save()
    assert (fresh_gates / GATES_FILE).is_file()

    _another_process(monkeypatch)
    monkeypatch.setattr(notes, "_required_fragments", lambda parsed: pytest.fail("parsed again"))
    assert notes._gate_source(rx.pattern, rx.flags) == worked_out
    assert notes._gate_for(rx).pattern == worked_out


def test_a_pattern_with_no_literal_to_require_has_no_gate_and_that_is_kept_too(fresh_gates, monkeypatch):
    rx = re.compile(r"\d+\s*(?:m|h)")
    assert notes._gate_source(rx.pattern, rx.flags) is None
    notes.PATTERN_GATES.save()
    _another_process(monkeypatch)
    monkeypatch.setattr(notes, "_required_fragments", lambda parsed: pytest.fail("parsed again"))
    assert notes._gate_for(rx) is None


def test_a_torn_gate_file_is_worked_out_again(fresh_gates):
    (fresh_gates / GATES_FILE).write_bytes(b"not a pickle")
    rx = re.compile(r"\bherniated disc\b")
    gate = notes._gate_source(rx.pattern, rx.flags)
    assert re.fullmatch(gate, "herniated disc")


def test_the_full_pattern_is_compiled_only_once_text_passes_its_gate(fresh_gates):
    fast = notes.LowerCasePattern(re.compile(r"\b(?:metformin|glipizide) \d+ ?mg\b", re.I))
    assert fast.search("Blood pressure is 130/80.") is None
    assert fast._lower is None  # the gate turned it away: nothing but the gate compiled
    assert fast.search("Continue Metformin 500 mg twice daily.").group() == "metformin 500 mg"
    assert fast._lower is not None
    assert fast.search("continue glipizide 5mg") is not None
    assert list(fast.finditer("no metformin today")) == []
    assert fast.match("metformin 5 mg") is not None
