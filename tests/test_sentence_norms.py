"""The words of all a note's sentences read at once are the words tokens() gives each sentence."""

import random

from tests.test_notes_speed import _PIECES, _SEPARATORS, _texts
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.notes.sentence_norms import sentence_norms
from vma.checks.support.notes.words import tokens

_MORE = ["due to", "Due To", "low back", "lower  back", "forearm", "arms", "diabetes", "diabetic", "kidney stone",
         "stones", "smoker", "L5-S1", "C5-C6 disc", "\x00", "a\x00b", "OA", "HF", "stage III", "Type 2", "pad", "PAD",
         "type ii", "Class IV", "grade v", "stage iiib", "grade ivx", "type", "stage", "pharmacy", "alarm", "arms",
         "legal", "residue to", "toes", "left leg", "arm", "former smoker", "grade", "class", "I", "v"]


def _sentences(rng: random.Random) -> list[str]:
    pieces = _PIECES + _MORE
    return ["".join(rng.choice(pieces) + rng.choice(_SEPARATORS) for _ in range(rng.randint(0, 6)))
            for _ in range(rng.randint(0, 9))]


def test_each_text_gets_the_norms_of_its_tokens_or_none():
    rng = random.Random(21)
    for _ in range(3000):
        texts = _sentences(rng)
        got = sentence_norms(texts)
        assert len(got) == len(texts)
        for text, norms in zip(texts, got):
            assert norms is None or norms == [t.norm for t in tokens(text)], text


def test_a_notes_word_norms_are_its_sentences_token_norms():
    from tests.test_notes_speed import _devset_notes

    for text in [*_texts(1500, 22), *_devset_notes()]:
        note = NoteDoc(text)
        assert note.word_norms == [[t.norm for t in tokens(s.text)] for s in note.sentences], text


def test_level_bytes_find_a_level_head_exactly_where_the_pattern_does():
    from vma.checks.support.notes import sentence_norms as module

    rng = random.Random(23)
    alphabet = ["L", "C", "T", "l", "c", "t", "0", "5", "9", "²", "٣", "İ", "Ł", " ", "\x00", "a", "-", "L\u0304"]
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        fast = b"L0" in text.encode("ascii", "replace").translate(module._LEVEL_BYTES)
        assert fast == (module._LEVEL_HEAD.search(text) is not None), text


def test_sentences_read_after_the_word_index_get_their_tokens():
    from tests.test_notes_speed import _devset_notes

    for text in [*_texts(1500, 24), *_devset_notes()]:
        note = NoteDoc(text)
        note.word_norms
        assert [words for _, words in note.tokenized] == [tokens(s.text) for s in note.sentences], text
