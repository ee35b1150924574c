"""The problem reader's rewritten patterns and reordered tests answer as the plain forms they replace, on the
labelled charts' text and on strings built to sit at their edges."""

from __future__ import annotations

import random
import re

from tests.speed.output_record import chart_files
from tests.checks_em.test_mdm_reach import NOTES
from vma.checks.support.mdm import problems
from vma.checks.support.mdm.problems import ProblemItem, _is_heading, _may_hold_time_line, problem_items
from vma.checks.support.mdm.wording import _ACTION_LINE, _LABEL_STOPWORDS, _RECENT_ONSET, _TIME_LINE
from vma.intake import ChartInputError, parse_chart

# The pattern as first written, with "for (?:the )?(?:past|last)" in one piece.
_PLAIN_RECENT_ONSET = re.compile(
    r"\brecent(?:ly)?\b|\b(?:\d+|one|two|three|four|five|six|a few|several|a couple of) (?:days?|weeks?)"
    r"(?: ago| of| now|, since)\b|\bfor (?:the )?(?:past|last) (?:\d+|one|two|three|four|five|six|few|several) "
    r"(?:days?|weeks?)\b|\bsince (?:yesterday|last week)\b", re.I)

_WORDS = ["for", "the", "past", "last", "3", "two", "few", "several", "days", "day", "weeks", "week", "recent",
          "recently", "since", "yesterday", "ago", "of", "now", ",", ".", "a", "couple", "Past", "LAST", "For",
          "\u0130", "hypertension", "follow", "up", "plan", "continue", "lisinopril", "10", "mg", "acid", "reflux"]


def _chart_lines() -> list[str]:
    lines = []
    for _label, path in sorted(chart_files().items())[:300]:
        try:
            chart, _ = parse_chart(path.read_bytes())
        except ChartInputError:
            continue
        lines += [ln for ln in chart.note.text.splitlines() if ln.strip()]
    return lines


LINES = _chart_lines()


def _random_strings(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 12))) for _ in range(n)]


def test_recent_onset_matches_as_the_plain_pattern():
    texts = LINES + _random_strings(5000, 1) + ["for the past 3 days", "for last two weeks", "for  past 3 days",
                                                "for the last few weeks ago", "For The Past Several Days"]
    assert len(LINES) > 1000
    hits = 0
    for text in texts:
        got = [(m.start(), m.group(0)) for m in _RECENT_ONSET.finditer(text)]
        want = [(m.start(), m.group(0).lower() if len(text.lower()) == len(text) else m.group(0))
                for m in _PLAIN_RECENT_ONSET.finditer(text)]
        assert got == want, text
        hits += bool(got)
    assert hits > 100


def _plain_is_heading(line: str, named: list[ProblemItem]) -> bool:
    words = [w for w in re.findall(r"[a-z]{4,}", line.lower()) if w not in _LABEL_STOPWORDS]
    label_words = {w for item in named for w in re.findall(r"[a-z]{4,}", item.label.lower())}
    return len(line.split()) <= 8 and not re.search(r"[.;]\s", line) and not _ACTION_LINE.search(line) \
        and all(any(w.startswith(lw) or lw.startswith(w) for lw in label_words) for w in words)


def test_is_heading_answers_as_the_plain_test():
    named = [[ProblemItem("Acid reflux")], [ProblemItem("Hypertension"), ProblemItem("Type 2 diabetes")]]
    texts = LINES + _random_strings(3000, 2) + ["Acid reflux.", "Hypertension", "Reflux; plan"]
    seen = set()
    for text in texts:
        for items in named:
            answer = _is_heading(text, items)
            assert answer == _plain_is_heading(text, items), text
            seen.add(answer)
    assert seen == {True, False}


_TIME_WORDS = ["spent", "total", "time", "Time", "on", "min", "minutes", "MIN", "25", ".", "with", "patient", "\u0130",
               "TIME", "spent.", "counseling", "over", "50%", "\n"]


def test_a_block_without_the_time_words_has_no_time_line():
    rng = random.Random(4)
    blocks = [LINES[i:i + rng.randint(1, 8)] for i in range(0, len(LINES), 5)]
    blocks += [[" ".join(rng.choice(_TIME_WORDS) for _ in range(rng.randint(1, 9))) for _ in range(rng.randint(1, 4))]
               for _ in range(4000)]
    said = set()
    for block in blocks:
        may = _may_hold_time_line(block)
        if not may:
            assert not any(_TIME_LINE.search(line) for line in block), block
        said.add((may, any(_TIME_LINE.search(line) for line in block)))
    assert said == {(False, False), (True, False), (True, True)}


def test_problem_items_read_as_when_every_line_is_tried(monkeypatch):
    notes = [note for _label, note, _coded in NOTES]
    gated = [[(i.label, i.body) for i in problem_items(note)] for note in notes]
    monkeypatch.setattr(problems, "_may_hold_time_line", lambda lines: True)
    assert gated == [[(i.label, i.body) for i in problem_items(note)] for note in notes]


def test_texts_naming_a_label_are_those_its_words_search_finds():
    """The label words looked for once in texts joined name the texts a search of each names: at a text's start,
    after a letter, digit or underscore, and in texts with characters re.I folds onto ASCII letters."""
    rng = random.Random(9)
    words = ["diabetes", "Diabetes", "DIABETES", "prediabetes", "_diabetes", "1diabetes", "diab", "etes", "reflux",
             "acid", "Acid-reflux", "\u0130", "\u212a", "\x00", " ", ".", "hyper", "tension", "hypertension"]
    labels = ["Diabetes", "Acid reflux", "Hypertension, diabetes", "Reflux", "Type 2 DM"]
    for _ in range(2000):
        texts = ["".join(rng.choice(words) + rng.choice(["", " "]) for _ in range(rng.randint(0, 5)))
                 for _ in range(rng.randint(0, 6))]
        joined = problems._Texts(texts)
        for label in labels:
            key = problems._label_words(label)
            if key is not None:
                assert joined.naming(key) == {i for i, t in enumerate(texts) if key.search(t)}, (texts, label)
    for line_set in (LINES[:400], LINES[400:800]):
        joined = problems._Texts(line_set)
        for label in ("Hypertension", "Diabetes mellitus", "Knee pain", "Acid reflux", "Depression"):
            key = problems._label_words(label)
            assert joined.naming(key) == {i for i, t in enumerate(line_set) if key.search(t)}


def test_a_label_ends_where_the_plain_search_ends_it():
    """The search for a label's end, started at the first ". ", finds what one from the start finds: the titles'
    look-behinds read the text before where it starts."""
    rng = random.Random(4)
    words = ["Mr.", "mr.", "MRS.", "Dr.", "St.", "vs.", "Ms.", "ST.", "a.", "x", "Cook.", "Hypertension.", ".", " ",
             "\u017ft.", "D\u0280.", "Sodium", "129", "today."]
    for _ in range(5000):
        text = "".join(rng.choice(words) + rng.choice([" ", "", "  "]) for _ in range(rng.randint(0, 8)))
        m = problems._LABEL_END.search(text)
        plain = (text[:m.start()].strip().rstrip(".:"), [text[m.end():].strip()] if text[m.end():].strip() else []) \
            if m else (text.strip().rstrip(".:"), [])
        assert problems._split_label(text) == plain, text
