"""A sentence lower-cased at each call (no cache of the last ones) is the cached one; is_negated_at, which takes each
form of its patterns where it runs it, and is_past_or_planned, which reads its pattern's properties once, answer as
they did, on generated sentences and on every labelled chart's."""

from __future__ import annotations

import random
import re
from functools import lru_cache

from tests.speed.output_record import chart_notes
from tests.speed.test_notes2_negation import _PIECES
from vma.checks.support.notes import patterns
from vma.checks.support.notes import words as W

_MORE = ("absent", "excluded", "doubtful", "not likely", "not present", "NOT FAVORED", "ruled  out", "Resolved", "NON",
         "Non-", "non ", "snon", "no", "denies", "but", "However", "free of", "ſ", "\u0131", "\u0130", "\u212a", "ΣΑΣ",
         "Σ", "previously", "in March", "IN 2019", "2 weeks ago", "to prevent", "was seen", "should she develop",
         "hx of", "S/P", "now at goal", "history of", "fever", "chills", "or", "and", "present", "with", "(", ")", ";")
_SEPARATORS = ("", " ", " ", ", ", "/", ".", "-", ": ")


@lru_cache(maxsize=32)
def _cached_lowered(text: str) -> str:
    return text.lower()


def _old_is_negated_at(sentence: str, pos: int, window: int = 6) -> bool:
    """is_negated_at as it was, both forms of its patterns taken at every call, the sentence lower-cased through the
    cache."""
    if "non" in sentence[max(0, pos - 4):pos].lower() and W._NON_PREFIX.search(sentence, max(0, pos - 4), pos):
        return True
    text, negated_after, negation_end, lowered = sentence, W._NEGATED_AFTER, W._NEGATION_END, None
    if not patterns._folds_onto_ascii(sentence):
        lowered = _cached_lowered(sentence)
        if len(lowered) == len(sentence):
            text, negated_after, negation_end = lowered, W._NEGATED_AFTER_FAST.lower, W._NEGATION_END_FAST.lower
    after = text[pos:pos + 80]
    if text is lowered and not ("not " in after or "resolved" in after or "ruled out" in after or "absent" in after
                                or "unlikely" in after or "excluded" in after or "doubtful" in after):
        negated_after = None
    rest = None
    if negated_after is not None:
        rest = after[W._TERM_WORD.match(after).end():]
        if negated_after.match(rest.split(",")[0].split(".")[0]):
            return True
    if text is lowered and W._CUE_FIRST_BYTES.isdisjoint(
            lowered[:pos].encode("ascii", "replace").translate(W._CUE_WORD_BYTES).split()):
        return False
    start = 0
    for m in W._CLAUSE_BREAK.finditer(sentence, 0, pos):
        start = m.end()
    words = W._NEGATION_WORD.findall(sentence[start:pos].lower())[-window:]
    if W._cue_in(words):
        return True
    last_comma = sentence.rfind(",", 0, pos)
    if last_comma < 0:
        return False
    rest = after[W._TERM_WORD.match(after).end():] if rest is None else rest
    if negation_end.search(text, last_comma + 1, pos) or W._PRESENT_AFTER.match(rest):
        return False
    stretch_start = 0
    for end in negation_end.finditer(text, 0, last_comma):
        stretch_start = end.end()
    stretch = sentence[stretch_start:pos]
    segments = W._LIST_SPLIT.split(stretch.lower())
    for k in range(len(segments) - 1, -1, -1):
        seg_words = W._NEGATION_WORD.findall(segments[k])
        if k < len(segments) - 1 and len(seg_words) > 4:
            return False
        if W._cue_in(seg_words):
            return True
    return False


def _old_is_past_or_planned(sentence: str, pos: int) -> bool:
    start, end = W.clause_bounds(sentence, pos)
    if W._NOT_NOW_FAST.lower is not None and not patterns._folds_onto_ascii(sentence):
        lowered = _cached_lowered(sentence)
        if len(lowered) == len(sentence):
            gate = W._NOT_NOW_FAST.gate
            if gate is not None and gate.search(lowered, start, end) is None:
                return False
            return W._NOT_NOW_FAST.lower.search(lowered, start, end) is not None
    return W._NOT_NOW.search(sentence, start, end) is not None


def _generated(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pieces = list(_PIECES) + list(_MORE)
    return ["".join(rng.choice(pieces) + rng.choice(_SEPARATORS) for _ in range(rng.randint(1, 14)))
            for _ in range(count)]


def _labelled_sentences() -> list[str]:
    return [s.text for note in chart_notes() for s in note.sentences]


def _places(sentence: str, rng: random.Random) -> set[int]:
    return {m.start() for m in re.finditer(r"\w+", sentence)} | {0, len(sentence), rng.randint(0, len(sentence))}


def test_a_text_lowered_at_each_call_is_the_cached_one():
    for text in [*_generated(5000, 120), *_labelled_sentences(), "", "İ", "ΣΑΣ ΣΑΣ", "\u212a", "ß"]:
        assert patterns._lowered(text) == _cached_lowered(text) == text.lower(), text


def test_negation_and_time_answer_as_they_did():
    rng = random.Random(121)
    for sentence in [*_generated(12000, 122), *_labelled_sentences()]:
        for pos in _places(sentence, rng):
            assert W.is_negated_at(sentence, pos) == _old_is_negated_at(sentence, pos), (sentence, pos)
            assert W.is_past_or_planned(sentence, pos) == _old_is_past_or_planned(sentence, pos), (sentence, pos)
