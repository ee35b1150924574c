"""NoteWords.where, which tries only the note's long words whose length may keep same_word's ratio bound, finds what
trying every long word of the same first letter found."""

import random

from vma.checks.support.axes import evidence
from vma.checks.support.axes.evidence import NoteWords, _inflections
from vma.checks.support.axes.words import same_word

_BASE = ["hypertension", "hypotension", "hypertensive", "osteoarthritis", "osteoarthrosis", "pneumonia", "pneumonitis",
         "displacement", "degeneration", "radiculopathy", "radiculitis", "fibrillation", "thrombosis", "abcdefgh",
         "hyperglycemia", "hypoglycemia", "insufficiency", "cardiomyopathy", "complications", "complication", "injury",
         "injuries", "disc", "discs", "sinusitis", "arthritis", "lumbago", "a" * 20, "a" * 24, "a" * 27]


def _mutate(rng: random.Random, word: str) -> str:
    letters = "aeiostnrlhy1"
    for _ in range(rng.randint(0, 3)):
        at = rng.randrange(len(word) + 1)
        roll = rng.random()
        if roll < 0.4:
            word = word[:at] + rng.choice(letters) + word[at:]
        elif roll < 0.7 and len(word) > 1:
            word = word[:at] + word[at + 1:]
        elif at < len(word):
            word = word[:at] + rng.choice(letters) + word[at + 1:]
    return word + rng.choice(["", "", "s", "es", "ies"])


def _words(rng: random.Random) -> list[str]:
    return [_mutate(rng, rng.choice(_BASE)) for _ in range(rng.randint(0, 12))]


def _where_trying_every_long_word(index: NoteWords, term: str) -> dict[int, int]:
    """NoteWords.where as it was, the long words kept by first letter only."""
    words = index._words
    forms = [f for f in _inflections(term) if f in words]
    if len(term) >= 8:
        by_letter: dict[str, list[str]] = {}
        for word in words:
            if len(word) >= 8:
                by_letter.setdefault(word[0], []).append(word)
        near = [w for w in by_letter.get(term[0], ()) if w not in forms and same_word(w, term)]
        forms += sorted(near, key=index._first_stands)
    found: dict[int, int] = {}
    for word in forms:
        for si, ti in index._first_at(word).items():
            if ti < found.get(si, ti + 1):
                found[si] = ti
    return found


def test_where_matches_trying_every_long_word():
    rng = random.Random(11)
    for _ in range(3000):
        norms = [_words(rng) for _ in range(rng.randint(1, 6))]
        index = NoteWords(norms)
        vocabulary = sorted({w for s in norms for w in s})
        terms = [_mutate(rng, rng.choice(_BASE)) for _ in range(4)] + rng.sample(vocabulary, min(3, len(vocabulary)))
        for term in terms:
            if not term:
                continue
            found = index.where(term)
            assert list(found.items()) == list(_where_trying_every_long_word(index, term).items()), (norms, term)
            # And what it means: each sentence's first word that stands for the term.
            expected = {si: next(ti for ti, w in enumerate(s) if same_word(w, term))
                        for si, s in enumerate(norms) if any(same_word(w, term) for w in s)}
            assert found == expected, (norms, term)


def test_near_lengths_hold_every_length_the_ratio_bound_keeps():
    for n in range(1, 80):
        shortest, longest = evidence._near_lengths(n)
        for m in range(1, 4 * n + 10):
            bound_keeps = (1.0 - abs(m - n) / (m + n)) * 100 >= 92
            assert (shortest <= m <= longest) == (bound_keeps and m >= 8), (n, m)
