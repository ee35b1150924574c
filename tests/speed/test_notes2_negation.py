"""is_negated_at answers as the full reading does, also where no cue stands before the word (its quick answer)."""

import random
import re

from vma.checks.support.notes import words as W


def _full_reading(sentence: str, pos: int, window: int = 6) -> bool:
    """is_negated_at without its quick answer, every step on the sentence as written (re.I)."""
    if W._NON_PREFIX.search(sentence, max(0, pos - 4), pos):
        return True
    after = sentence[pos:pos + 80]
    m = W._TERM_WORD.match(after)
    rest = after[m.end():] if m else after
    if W._NEGATED_AFTER.match(rest.split(",")[0].split(".")[0]):
        return True
    start, _ = W.clause_bounds(sentence, pos)
    if W._cue_in(W._NEGATION_WORD.findall(sentence[start:pos].lower())[-window:]):
        return True
    last_comma = sentence.rfind(",", 0, pos)
    if last_comma < 0:
        return False
    if W._NEGATION_END.search(sentence, last_comma + 1, pos) or W._PRESENT_AFTER.match(rest):
        return False
    stretch_start = 0
    for end in W._NEGATION_END.finditer(sentence, 0, last_comma):
        stretch_start = end.end()
    segments = W._LIST_SPLIT.split(sentence[stretch_start:pos].lower())
    for k in range(len(segments) - 1, -1, -1):
        seg_words = W._NEGATION_WORD.findall(segments[k])
        if k < len(segments) - 1 and len(seg_words) > 4:
            return False
        if W._cue_in(seg_words):
            return True
    return False


_PIECES = ("no", "No", "not", "denies", "DENIED", "without", "negative for", "free of", "ruled out", "resolved",
           "unlikely", "fever", "cough", "pain", "knee", "but", "however", "or", "and", "nor", "with", "has",
           "change", "new", "present", "was", "non", "non-", "/", "a/no", "but/no", "or/not", "no/", "know",
           "nothing", "notes", ",", ";", ":", "(", ")", ".", "-", "Σ", "é", "K", "İ", "nonpitting", "edema")


def test_quick_answer_agrees_with_the_full_reading():
    rng = random.Random(7)
    for _ in range(20000):
        parts = [rng.choice(_PIECES) for _ in range(rng.randint(1, 14))]
        sentence = "".join(p + rng.choice(("", " ", " ", ", ")) for p in parts)
        for m in re.finditer(r"\w+", sentence):
            for window in (6, 2):
                assert W.is_negated_at(sentence, m.start(), window) == _full_reading(sentence, m.start(), window), (
                    sentence, m.start(), window)
