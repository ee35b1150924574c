"""The sides a sentence gives a site are read once per note, and not at all in a sentence with no side word:
side_evidence finds what reading every sentence naming the site or the condition in full finds, on every
labelled chart."""

from __future__ import annotations

import pytest

from tests.speed.output_record import chart_files
from vma.checks import CheckContext
from vma.checks.support.axes import evidence
from vma.checks.support.axes.index import CodeAxis, axis_index
from vma.checks.support.notes.words import tokens
from vma.intake import parse_chart
from vma.reference import default_reference

FILES = {label: path for label, path in chart_files().items() if path.suffix == ".json"}
_SITES = ("knee", "shoulder", "eye", "ear", "hip", "hand", "foot", "elbow", "wrist", "ankle", "limb", "finger",
          "lung", "kidney", "breast", "leg", "arm", "side")


def _full_side_evidence(note, index, axis, outpatient):
    # every sentence naming the site or the condition tokenised and read, the past ones passed over first
    ev = evidence.AxisEvidence(mentions=evidence.condition_mentions(note, index, axis.code, outpatient))
    mention_at = {id(m.sentence): m for m in ev.mentions}
    at_site = set(evidence.note_words(note).where(axis.site[-1])) if axis.site else set()
    for i, sentence in enumerate(note.sentences):
        if i not in at_site and id(sentence) not in mention_at:
            continue
        words = tokens(sentence.text)
        if sentence.section in evidence.HISTORY_SECTIONS:
            continue
        if sentence.section not in evidence.ASSESSMENT_SECTIONS and evidence._LONG_PAST.search(sentence.text):
            continue
        sides = evidence.sides_at_site(sentence.text, words, axis.site) if i in at_site else set()
        mention = mention_at.get(id(sentence))
        if not sides and mention is not None and mention.counts:
            sides = evidence.sides_at_condition(sentence.text, mention.words, mention.first)
        if not sides:
            continue
        if mention is not None and mention.counts:
            ev.linked |= sides
            if mention.in_assessment:
                ev.assessment |= sides
        ev.anywhere |= sides
        if sentence not in ev.cited:
            ev.cited.append(sentence)
    return ev


@pytest.mark.skipif(not FILES, reason="no labelled chart here")
def test_sides_read_once_and_gated_are_those_read_in_full():
    checked = sided = 0
    for label, path in FILES.items():
        chart, _ = parse_chart(path.read_bytes())
        ctx = CheckContext(chart, default_reference())
        note = ctx.note
        index = axis_index(ctx.icd)
        for i, sentence in enumerate(note.sentences):
            words = tokens(sentence.text)
            for head in _SITES:
                for _ in range(2):  # read, then kept
                    found = evidence.sides_at(note, i, head)
                    assert found == evidence.sides_at_site(sentence.text, words, (head,)), (label, sentence.text, head)
                sided += bool(found)
        for _position, dx, _entry in ctx.known_diagnoses():
            base = index.split_seventh(dx.code)[0]
            if base not in index.release:
                continue
            for head in (*_SITES, None):
                axis = CodeAxis("laterality", base, "", None, (), (head,) if head else ())
                for outpatient in (True, False):
                    fast = evidence.side_evidence(note, index, axis, outpatient)
                    full = _full_side_evidence(note, index, axis, outpatient)
                    assert (fast.assessment, fast.linked, fast.anywhere, fast.cited) == \
                        (full.assessment, full.linked, full.anywhere, full.cited), (label, dx.code, head)
                    checked += bool(full.cited)
    assert sided > 50 and checked > 50


def test_sides_read_once_and_gated_on_side_words_of_every_kind():
    from vma.checks.support.notes.document import NoteDoc

    text = ("EXAM\n\nEye exam: cataract OD, clear lens OS. Drusen in each eye OU. R knee effusion. Rt knee warm. "
            "Knees tender bilaterally. Both knees swollen. Lt shoulder sore. No left hip pain. Eye red. "
            "Bilateral wrists stiff. L ankle bruised. Hand fine.\n\nASSESSMENT\n\nRight knee sprain, left eye pain.")
    note = NoteDoc(text)
    sided = 0
    for i, sentence in enumerate(note.sentences):
        words = tokens(sentence.text)
        for head in _SITES:
            found = evidence.sides_at(note, i, head)
            assert found == evidence.sides_at_site(sentence.text, words, (head,)), (sentence.text, head)
            sided += bool(found)
    assert sided >= 9
