"""The sides a sentence gives a site, read from the places of its words without building its tokens where they
stand as they are (plain_sides), are those sides_at_site reads from its tokens; and the examined and disputed
sides documentation() reads, looking at a sentence's findings only when it adds a side, are those read from
every sentence's findings."""

from __future__ import annotations

import random

import pytest

from tests.speed.output_record import chart_files, chart_notes
from vma.checks import CheckContext
from vma.checks.support.axes import evidence
from vma.checks.support.axes.index import CodeAxis, axis_index
from vma.checks.support.axes.sides import plain_sides, sides_at_site
from vma.checks.support.axes.words import LATERALITY
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.notes.words import is_negated_at, tokens
from vma.checks.support.refine import documented
from vma.checks.support.refine.plan import _code_facts
from vma.intake import parse_chart
from vma.reference import default_reference

FILES = {label: path for label, path in chart_files().items() if path.suffix == ".json"}
HEADS = ("knee", "knees", "shoulder", "eye", "eyes", "hip", "foot", "feet", "hand", "wrist", "elbow", "ankle",
         "limb", "ear", "breast", "lung", "kidney", "finger", "arm", "leg")
WORDS = ("right", "left", "Right", "LEFT", "R", "L", "r", "rt", "Lt", "bilateral", "bilaterally", "both", "OD", "OS",
         "OU", "no", "denies", "without", "not", "pain", "swelling", "medial", "lateral", "the", "and", "of", "his",
         "tenderness", "over", "mild", "x-ray", "2", "30", "non")
PUNCT = ("", "", "", ",", ".", ";", ":", " (", ")", " -", "/")


def _sentences(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        words = [rng.choice(WORDS[:15] if rng.random() < 0.3 else HEADS if rng.random() < 0.4 else WORDS)
                 for _ in range(rng.randint(1, 14))]
        text = ""
        for w in words:
            text += w + rng.choice(PUNCT) + " "
        if rng.random() < 0.1:
            text += "patient's "
        if rng.random() < 0.05:
            text += "caf\u00e9 "
        out.append(text.strip())
    return out


def _both_ways(note: NoteDoc) -> tuple[int, int]:
    compared = sided = 0
    plain = note.tokenized.plain_norms
    for i, sentence in enumerate(note.sentences):
        for head in HEADS:
            found = plain_sides(sentence.text, plain[i], head)
            if found is None:
                continue
            assert found == sides_at_site(sentence.text, note.tokenized[i][1], (head,)), (sentence.text, head)
            assert found == sides_at_site(sentence.text, tokens(sentence.text), (head,)), (sentence.text, head)
            compared += 1
            sided += bool(found)
    return compared, sided


def test_sides_read_from_the_places_of_a_sentences_words_are_those_read_from_its_tokens_on_generated_notes():
    rng = random.Random(11)
    compared = sided = 0
    for _ in range(200):
        note = NoteDoc(". ".join(_sentences(rng, 20)) + ".")
        evidence.note_words(note)  # the word index tells which sentences' words stand as they are
        found = _both_ways(note)
        compared, sided = compared + found[0], sided + found[1]
    print(compared, sided)
    assert compared > 10000 and sided > 300


def test_sides_read_from_the_places_of_a_sentences_words_are_those_read_from_its_tokens_on_the_recorded_notes():
    notes = chart_notes()
    if not notes:
        pytest.skip("no recorded chart here")
    compared = sided = 0
    for note in notes:
        evidence.note_words(note)
        found = _both_ways(note)
        compared, sided = compared + found[0], sided + found[1]
    print(compared, sided)
    assert compared > 10000 and sided > 100


def _examined_every_finding(ev, site, note):
    """_examined_sides as it read every examined sentence's findings."""
    found: set[str] = set()
    for sentence in ev.cited:
        text = sentence.text
        if sentence.section not in documented._EXAMINED or not any(
                not is_negated_at(text, m.start()) for m in documented._ABNORMAL_FINDING.finditer(text)):
            continue
        found |= documented._sides_of(note, sentence, site)
    return frozenset(found)


def _disputed_every_finding(note, ev, site):
    """_sides_in_dispute as it read every sentence's findings."""
    sides: set[str] = set()
    for sentence in ev.cited:
        if documented._NORMAL_FINDING.search(sentence.text):
            continue
        sides |= documented._sides_of(note, sentence, site)
    return len(sides) > 1


def _side_cases(notes, index, codes):
    """(note, evidence, site) for each code with a side to read and each of the notes."""
    ref = documented.refiner(index)
    for note in notes:
        for code in codes:
            facts = _code_facts(ref, code)
            for head in facts.heads:
                if head is None:
                    continue
                desc = index.release.description(code) or ""
                ev = evidence.side_evidence(note, index, CodeAxis(LATERALITY, code, desc, None, (), (head,)), True)
                yield note, ev, (head,)


@pytest.mark.skipif(not FILES, reason="no labelled chart here")
def test_examined_and_disputed_sides_read_only_where_a_sentence_adds_a_side_are_those_read_everywhere():
    index = axis_index(CheckContext(parse_chart(next(iter(FILES.values())).read_bytes())[0],
                                    default_reference()).icd)
    rel = index.release
    codes = [c for cat in ("M25", "M17", "S83", "M22", "M77", "G56", "H40", "H35", "M75", "S62", "L97", "M06")
             if cat in rel for c in index.base_descendants(cat)]
    rng = random.Random(5)
    codes = rng.sample(codes, min(120, len(codes)))
    notes = chart_notes()
    # and notes whose examination gives the site a side, normal or not, in several sentences
    for _ in range(60):
        sides = [rng.choice(["right", "left", "bilateral", "both"]) for _ in range(4)]
        site = rng.choice(["knee", "shoulder", "elbow", "wrist", "hip", "foot", "eye"])
        exam = " ".join(f"{s.capitalize()} {site}: {rng.choice(['tenderness', 'no tenderness', 'normal', 'swelling', 'unremarkable', 'limited range'])}."
                        for s in sides[1:])
        notes.append(NoteDoc(f"ASSESSMENT\n\n{sides[0].capitalize()} {site} pain.\n\nEXAM\n\n{exam}\n"))
    examined = disputed = 0
    for note, ev, site in _side_cases(notes, index, codes):
        expected = _examined_every_finding(ev, site, note)
        assert documented._examined_sides(ev, site, note) == expected
        examined += bool(expected)
        expected = _disputed_every_finding(note, ev, site)
        assert documented._sides_in_dispute(note, ev, site) == expected
        disputed += expected
    print(examined, disputed)
    assert examined > 20 and disputed > 20
