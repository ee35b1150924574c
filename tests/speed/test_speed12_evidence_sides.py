"""The sides a sentence gives a site word, its gaps read only between a side word and the site word (and a side
already found not read again), are those the walk out from the site word reads, gap by gap; a gap of one space is
no break without the pattern; and a condition's mentions, its words' places read from the look-up's table, are those
read through the look-up every time."""

from __future__ import annotations

import random
from itertools import accumulate, compress, repeat
from operator import add

import pytest

from tests.speed.output_record import chart_files, chart_notes
from vma.checks import CheckContext
from vma.checks.support.axes import evidence
from vma.checks.support.axes.index import axis_index
from vma.checks.support.axes.sides import (
    _EYE_SIDES,
    _SIDE_ABBREV,
    _SIDE_AFTER,
    _SIDE_BEFORE,
    plain_sides,
    sides_at_site,
)
from vma.checks.support.axes.words import _PUNCT, _WORD_BYTES, BILATERAL, LEFT, RIGHT, same_word
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.notes.words import Token, is_negated_at, is_uncertain_at, tokens
from vma.intake import parse_chart
from vma.reference import default_reference

FILES = {label: path for label, path in chart_files().items() if path.suffix == ".json"}
HEADS = ("knee", "knees", "shoulder", "eye", "eyes", "hip", "foot", "feet", "hand", "wrist", "elbow", "ankle", "ear")
WORDS = ("right", "left", "Right", "LEFT", "R", "L", "r", "rt", "Lt", "bilateral", "bilaterally", "both", "OD", "OS",
         "OU", "no", "denies", "without", "not", "pain", "swelling", "medial", "lateral", "the", "and", "of", "his",
         "tenderness", "over", "mild", "x-ray", "2", "30", "non", "ruled", "out")
GAPS = (" ", " ", " ", " ", "  ", ", ", ". ", "; ", ": ", " (", ") ", " - ", "/", "\t", " \n ", ",", "", "'s ")


def _walked(sentence: str, norms, raws, starts, ends, head: str) -> set[str]:
    """The sides as the walk out from each site word reads them: each gap it passes, up to the first break."""
    initial = head[:1]
    eye = head == "eye"
    n = len(norms)
    found: set[str] = set()
    for i, norm in enumerate(norms):
        if norm[:1] != initial or not same_word(norm, head):
            continue
        for j in range(i - 1, max(-1, i - 5), -1):
            end = ends[j] if ends is not None else starts[j] + len(raws[j])
            if _PUNCT.search(sentence, end, starts[j + 1]):
                break
            side = _SIDE_BEFORE.get(norms[j]) or (_SIDE_ABBREV.get(norms[j]) if j == i - 1 and raws[j].isupper()
                                                   else None)
            if side and not is_negated_at(sentence, starts[j]):
                found |= {RIGHT, LEFT} if side == BILATERAL else {side}
        for j in range(i + 1, min(n, i + 4)):
            end = ends[j - 1] if ends is not None else starts[j - 1] + len(raws[j - 1])
            if _PUNCT.search(sentence, end, starts[j]):
                break
            side = _SIDE_AFTER.get(norms[j]) or (_EYE_SIDES.get(raws[j]) if eye else None)
            if side and not is_negated_at(sentence, starts[i]):
                found |= {RIGHT, LEFT} if side == BILATERAL else {side}
    return found


def _walked_plain(text: str, norms: list[str], head: str) -> set[str] | None:
    if norms is None or "'" in text or not text.isascii():
        return None
    pieces = text.encode("ascii").translate(_WORD_BYTES).decode("ascii").split(" ")
    raws = list(filter(None, pieces))
    if len(raws) != len(norms):
        return None
    starts = list(compress(accumulate(map(add, map(len, pieces), repeat(1)), initial=0), pieces))
    return _walked(text, norms, raws, starts, None, head)


def _sentences(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        words = [rng.choice(WORDS[:15] if rng.random() < 0.35 else HEADS if rng.random() < 0.4 else WORDS)
                 for _ in range(rng.randint(1, 16))]
        text = "".join(w + rng.choice(GAPS) for w in words)
        if rng.random() < 0.05:
            text += "caf\u00e9 "
        out.append(text.strip())
    return out


def _compare(note: NoteDoc) -> tuple[int, int]:
    compared = sided = 0
    plain = note.tokenized.plain_norms
    for i, sentence in enumerate(note.sentences):
        text = sentence.text
        words = note.tokenized[i][1]
        for head in HEADS:
            expected = _walked(text, *zip(*words), head) if words else set()
            assert sides_at_site(text, words, (head,)) == expected, (text, head)
            own = tokens(text)
            assert sides_at_site(text, own, (head,)) == (_walked(text, *zip(*own), head) if own else set())
            assert plain_sides(text, plain[i], head) == _walked_plain(text, plain[i], head), (text, head)
            compared += 1
            sided += bool(expected)
    return compared, sided


def test_sides_read_between_side_word_and_site_word_are_the_walks_on_generated_notes():
    rng = random.Random(12)
    compared = sided = 0
    for _ in range(150):
        note = NoteDoc(". ".join(_sentences(rng, 20)) + ".")
        evidence.note_words(note)  # the word index tells which sentences' words stand as they are
        found = _compare(note)
        compared, sided = compared + found[0], sided + found[1]
    print(compared, sided)
    assert compared > 30000 and sided > 1000


def test_sides_read_between_side_word_and_site_word_are_the_walks_on_the_recorded_notes():
    notes = chart_notes()
    if not notes:
        pytest.skip("no recorded chart here")
    compared = sided = 0
    for note in notes:
        evidence.note_words(note)
        found = _compare(note)
        compared, sided = compared + found[0], sided + found[1]
    print(compared, sided)
    assert compared > 10000 and sided > 50


def test_a_gap_of_one_space_is_no_break_and_any_other_gap_is_read_by_the_pattern():
    rng = random.Random(3)
    chars = " ,.;:()-/\t\nab1"
    for _ in range(20000):
        gap = "".join(rng.choice(chars) for _ in range(rng.randint(0, 4)))
        sentence = "alpha" + gap + "beta"
        a, b = Token("alpha", "alpha", 0, 5), Token("beta", "beta", 5 + len(gap), 9 + len(gap))
        assert evidence._gap_has_break(sentence, a, b) == bool(_PUNCT.search(sentence[a.end:b.start])), gap
        # tokens that overlap (an expanded abbreviation) have no gap
        assert evidence._gap_has_break(sentence, b, a) == bool(_PUNCT.search(sentence[b.end:a.start]))


def _mentions_looked_up_each_time(note: NoteDoc, index, code: str, outpatient: bool) -> list[tuple]:
    """condition_mentions' reading, each term's places asked of the look-up every time."""
    where = evidence.NoteWords(note.word_norms).where
    best: dict[int, tuple[float, int]] = {}
    for terms, total, _, _ in index.condition_term_sets(code):
        got: dict[int, float] = {}
        first: dict[int, int] = {}
        for term, weight in terms:
            for si, ti in where(term).items():
                got[si] = got.get(si, 0.0) + weight
                if ti < first.get(si, ti + 1):
                    first[si] = ti
        for si, weight in got.items():
            share = weight / total
            if share > best.get(si, (0.0, 0))[0]:
                best[si] = (share, first[si])
    out = []
    for si in sorted(best):
        share, at = best[si]
        if share < 0.5:
            continue
        sentence, words = note.tokenized[si]
        start = words[at].start
        out.append((si, at, is_negated_at(sentence.text, start),
                    outpatient and is_uncertain_at(sentence.text, start)))
    return out


@pytest.mark.skipif(not FILES, reason="no labelled chart here")
def test_condition_mentions_read_from_the_look_ups_table_are_those_looked_up_each_time():
    charts = [parse_chart(path.read_bytes())[0] for path in FILES.values()]
    index = axis_index(CheckContext(charts[0], default_reference()).icd)
    rng = random.Random(8)
    pool = [c for cat in ("E11", "I10", "I50", "M25", "M17", "J45", "N18", "L97", "S83", "H40", "K21", "F32")
            if cat in index.release for c in (cat, *index.base_descendants(cat))]
    compared = named = 0
    for chart in charts:
        if not chart.note or not chart.note.text:
            continue
        codes = [dx.code for dx in chart.diagnoses] + rng.sample(pool, min(8, len(pool)))
        note = NoteDoc.from_chart_note(chart.note.text, chart.note.sections)
        for code in codes:
            if code not in index.release:
                continue
            for outpatient in (True, False):
                got = [(m.index, m.first, m.negated, m.uncertain)
                       for m in evidence.condition_mentions(note, index, code, outpatient)]
                assert got == _mentions_looked_up_each_time(note, index, code, outpatient), (code, outpatient)
                compared += 1
                named += bool(got)
    print(compared, named)
    assert compared > 500 and named > 100
