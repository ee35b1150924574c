"""The engine's fast pattern path (lower-cased text, literal gates) finds exactly what the
original case-insensitive patterns find, on random sentences built from note words and from
the gates' own literals (so the gates are exercised on both sides)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import random
import re

import pytest

from tests.conftest import SPEC_EXAMPLES, base_chart
import vma.checks
from vma.checks.support.mdm import wording as mdm_wording
from vma.checks import all_checks
from vma.checks.support import episode_cues
from vma.checks.support.notes.patterns import LowerCasePattern, lower_case_pattern


def fast_patterns() -> list[tuple[str, LowerCasePattern]]:
    found = []
    all_checks()  # the check modules, imported
    engine = [importlib.import_module(m.name) for m in pkgutil.walk_packages(vma.checks.__path__, "vma.checks.")]
    for module in engine:
        for name, value in vars(module).items():
            if isinstance(value, LowerCasePattern):
                found.append((name, value))
            elif isinstance(value, re.Pattern) and value.flags & re.I:
                found.append((name, lower_case_pattern(value)))
    found += [(f"test:{name}", rx) for name, rx in mdm_wording._TESTS]
    found += [(f"episode:{key}", lower_case_pattern(rx)) for key, rx in episode_cues._EPISODE_CUES.items()]
    return found


def vocabulary(patterns) -> list[str]:
    texts = [json.dumps(base_chart())]
    if SPEC_EXAMPLES.is_dir():
        texts += [p.read_text() for p in SPEC_EXAMPLES.glob("*.json")]
    words = [w for t in texts for w in re.findall(r"[\w'/-]+|[.,;:()]", t)]
    for _, pattern in patterns:
        if pattern.gate is not None:
            words += re.findall(r"[a-z0-9'/-]+", pattern.gate.pattern)
    return words


def test_fast_path_matches_the_case_insensitive_patterns():
    patterns = fast_patterns()
    assert len(patterns) > 50 and sum(p.gate is not None for _, p in patterns) > 20
    words = vocabulary(patterns)
    rng = random.Random(7)
    hits = 0
    for _ in range(3000):
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(1, 14)))
        roll = rng.random()
        sentence = sentence.upper() if roll < 0.1 else sentence.capitalize() if roll < 0.5 else sentence
        for name, pattern in patterns:
            want = [m.span() for m in pattern.ci.finditer(sentence)]
            assert [m.span() for m in pattern.finditer(sentence)] == want, (name, sentence)
            first = pattern.search(sentence)
            assert (first.span() if first else None) == (want[0] if want else None), (name, sentence)
            hits += bool(want)
    assert hits > 100  # the sample really exercises matches, not only the gates' refusals


@pytest.mark.parametrize("text", ["İstanbul ORIF done", "ǅ follow-up with ﬁnal ORIF"])
def test_text_whose_lower_case_changes_length_uses_the_original_pattern(text):
    for name, pattern in fast_patterns():
        assert [m.span() for m in pattern.finditer(text)] == [m.span() for m in pattern.ci.finditer(text)], name


def test_one_gate_scan_of_the_note_names_every_sentence_a_pattern_can_match():
    """support/scan: the sentences gated() leaves out are the ones whose own gate search fails."""
    from vma.checks.support.scan import gated
    from vma.checks.support.notes.document import NoteDoc

    patterns = fast_patterns()
    words = vocabulary(patterns)
    rng = random.Random(11)
    for k in range(150):
        sentences = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) for _ in range(rng.randint(1, 8))]
        if k % 10 == 0:
            sentences.append("İstanbul ORIF done")  # lower-casing changes its length: no gate at all
        note = NoteDoc.from_chart_note("ASSESSMENT\n" + ". ".join(s.capitalize() for s in sentences) + ".", None)
        for name, pattern in patterns:
            kept = {id(s) for s in gated(note, pattern)}
            for s in note.sentences:
                if id(s) not in kept:
                    assert pattern.search(s.text) is None, (name, s.text)
                    assert pattern.gate is not None and pattern.gate.search(s.text.lower()) is None, (name, s.text)


def test_gate_scan_of_some_sections_names_the_sentences_holding_a_literal():
    """support/scan: with sections named, gated() keeps, in order, the sentences of those sections (their runs apart
    in the note) that hold one of the gate's literals, as a search of each sentence would."""
    from vma.checks.support.scan import gated
    from vma.checks.support.notes.document import NoteDoc

    patterns = fast_patterns()
    words = vocabulary(patterns)
    headings = ["HPI", "ASSESSMENT", "PLAN", "PHYSICAL EXAM", "RESULTS", "PROCEDURE"]
    choices = [("assessment", "plan"), ("hpi",), ("results", "assessment", "plan", "procedure"), ("exam", "hpi")]
    rng = random.Random(12)
    for k in range(100):
        parts = []
        for _ in range(rng.randint(1, 8)):
            sentences = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 10))) for _ in range(rng.randint(1, 4))]
            parts.append(rng.choice(headings) + "\n" + ". ".join(s.capitalize() for s in sentences) + ".")
        if k % 10 == 0:
            parts.append("PLAN\nİstanbul ORIF done")  # lower-casing changes its length: no gate at all
        note = NoteDoc.from_chart_note("\n".join(parts), None)
        for name, pattern in patterns[k % 7::7]:
            for sections in choices:
                literals = pattern.gate_literals
                # Where some sentence read changes length when lower-cased, there is no gate at all.
                whole = all(len(s.text.lower()) == len(s.text) for s in note.sentences if s.section in sections)
                expected = [s for s in note.sentences if s.section in sections and (
                    literals is None or not whole or any(lit in s.text.lower() for lit in literals))]
                assert gated(note, pattern, sections) == expected, (name, sections)
