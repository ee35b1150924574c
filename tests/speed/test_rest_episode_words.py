"""The words that let the episode reader pass over a sentence (``_CUE_WORDS``): wherever a cue pattern matches a
lower-cased sentence, the sentence holds one of its kind's words or a word beginning with one of its starts. Checked
on the notes we hold, on sentences made from each alternative of each pattern at random, and against the reading
that searched every gate literal instead."""

from __future__ import annotations

import random
import re
import re._parser as sre_parse

import pytest

from tests.speed.output_record import chart_notes
from tests.speed.pattern_samples import sample
from vma.checks.support import episode
from vma.checks.support.episode_cues import _CUE_WORDS, _EPISODE_CUES, _NEEDS
from vma.checks.support.gate_words import gates_passed, lowered_sentences
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.notes.words import HISTORY_SECTIONS

_WORDS = ["the", "a", "he", "was", "for", "3", "2019", "of", "his", "left", "ankle", "x", "and", "pain", "is", "to",
          "fracture", "wrist", "in", "at", "by", "today", "with"]
_FILL = [" ", " ", " ", "-", ",", ".", "(", ")", "/", ":", "'", " \u2014 ", "\u00e9"]


def _made_up(kind: str, count: int = 400) -> list[str]:
    rng = random.Random(kind)
    parsed = sre_parse.parse(_EPISODE_CUES[kind].pattern, re.I)
    out = []
    for _ in range(count):
        left = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 3)))
        right = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 3)))
        match = sample(parsed, rng)
        if rng.random() < 0.3:
            match = match.upper() if rng.random() < 0.5 else match.title()
        out.append(f"{left}{rng.choice(_FILL)}{match}{rng.choice(_FILL)}{right}".strip())
    return out



@pytest.fixture(scope="module")
def chart_sentences() -> list[str]:
    return [s.text for doc in chart_notes() for s in doc.sentences]


def _held(texts: list[str], kind: str) -> list[bool]:
    lowered = [t.lower() for t in texts]
    hits = episode._holding_cue_words(lowered, (kind,))[0]
    return [i in hits for i in range(len(texts))]


def _matched(texts: list[str], kind: str) -> list[str]:
    pattern = episode.lower_case_pattern(_EPISODE_CUES[kind]).lower
    return [t for t in texts if len(t.lower()) == len(t) and "\x00" not in t and pattern.search(t.lower())]


@pytest.mark.parametrize("kind", sorted(_CUE_WORDS))
def test_every_sentence_a_cue_matches_holds_one_of_its_words(kind, chart_sentences):
    made_up = _matched(_made_up(kind), kind)
    assert len(made_up) > 100, "the sampler should make mostly matching sentences"
    texts = made_up + _matched(chart_sentences, kind)
    missed = [t for t, held in zip(texts, _held(texts, kind)) if not held]
    assert not missed, missed[:5]


@pytest.mark.parametrize("kind", sorted(_CUE_WORDS))
def test_each_word_of_a_kind_is_needed(kind, chart_sentences, monkeypatch):
    """Leaving any one word or start out misses some match: the sentences tried reach every alternative."""
    texts = _matched(_made_up(kind, 1500), kind) + _matched(chart_sentences, kind)
    words, starts = _CUE_WORDS[kind]
    for left_out in sorted(words) + list(starts):
        fewer = (words - {left_out}, tuple(s for s in starts if s != left_out))
        monkeypatch.setitem(_CUE_WORDS, kind, fewer)
        episode._cue_words_of.cache_clear()
        assert not all(_held(texts, kind)), (kind, left_out)
    monkeypatch.setitem(_CUE_WORDS, kind, (words, starts))
    episode._cue_words_of.cache_clear()


def _read_by_gates(note: NoteDoc) -> dict:
    """_read_cues as it was: every literal of every gate searched for."""
    cues: dict = {}
    read = [s for s in note.sentences if s.section not in HISTORY_SECTIONS]
    scanners = episode._scanners()
    lowered = lowered_sentences(read)
    passed = (gates_passed(lowered, tuple(p for _, p in scanners)) if lowered is not None
              else [None] * len(scanners))
    at: dict = {}
    for (kind, pattern), hits in zip(scanners, passed):
        where = range(len(read)) if hits is None else hits
        if kind in (episode.EVENT, episode.LONG_AGO):
            where = [i for i in where if read[i].section not in episode._STORY_SECTIONS_EXCLUDED]
        elif kind in (episode.WORKUP, episode.TREATMENT, "wound care"):
            where = [i for i in where if read[i].section in episode._ENCOUNTER_SECTIONS]
        needs = _NEEDS.get(kind) if lowered is not None else None
        if needs is not None:
            where = [i for i in where if needs(lowered[i])]
        for i in where:
            at.setdefault(i, []).append((kind, pattern))
    for i in sorted(at):
        for kind, words in episode._sentence_cues(read[i], at[i], lowered[i] if lowered is not None else None).items():
            cues.setdefault(kind, []).extend((read[i], w) for w in words)
    return cues


def test_the_cues_read_are_those_the_gates_gave():
    notes = chart_notes()
    notes += [NoteDoc(f"HPI\n\nHe fell.\n\nASSESSMENT AND PLAN\n\n{t}") for k in _CUE_WORDS for t in _made_up(k, 60)]
    found = 0
    for note in notes:
        expected = _read_by_gates(NoteDoc(note.text, note._given_sections))
        assert episode._read_cues(note) == expected, note.text[:200]
        found += bool(expected)
    assert found > 100


@pytest.mark.parametrize("name", ["_OPEN_FRACTURE", "_GUSTILO_III"])
def test_open_fracture_and_gustilo_type_are_read_as_the_patterns_say(name):
    pattern = getattr(episode, name)
    rng = random.Random(name)
    parsed = sre_parse.parse(pattern.pattern, re.I)
    texts = ["Type 2 diabetes. Closed fracture.", "Open wound; no fracture.", "Gustilo type 2 open fracture.",
             "ASSESSMENT\n\nOpen distal radius fracture, Gustilo type IIIA."]
    for _ in range(300):
        match = sample(parsed, rng)
        match = rng.choice([match, match.upper(), match.title()])
        texts.append(f"HPI\n\nHe {rng.choice(_WORDS)}{rng.choice(_FILL)}{match}{rng.choice(_FILL)}today.")
    field = "open_fracture" if name == "_OPEN_FRACTURE" else "gustilo_iii"
    found = 0
    for text in texts:
        note = NoteDoc(text)
        expected = bool(pattern.search(note.text))
        assert bool(getattr(episode.episode_evidence(note), field)) == expected, text
        found += expected
    assert found > 100
