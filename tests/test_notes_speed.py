"""The faster readings of vma.checks.support.notes give the same results as the plain ones they replace."""

import random
import re
import sys
from dataclasses import astuple

from vma.checks.support.notes import document, patterns
from vma.checks.support.notes import words as word_reading
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.notes.words import ABBREVIATIONS, Token, tokens

# The plain forms, as they were before they were made faster.
_PLAIN_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(•\-])|\n+")
_PLAIN_WORD = re.compile(r"[^\W_]+(?:'s)?")


def _plain_tokens(text: str) -> list[Token]:
    out: list[Token] = []
    previous = ""
    phrased = False
    for m in _PLAIN_WORD.finditer(text):
        raw = m.group()
        word = raw.lower()
        if word[-2:] == "'s":
            word = word[:-2]
        if previous in word_reading._ROMAN_CONTEXT and word[0] in "iv":
            roman = re.fullmatch(r"(i{1,3}|iv|v)([abc]?)", word)
            if roman:
                word = word_reading._ROMAN[roman.group(1)] + roman.group(2)
        expansion = ABBREVIATIONS.get(word)
        if expansion is not None and (word_reading._NAMES_A_SCORE.match(text, m.end()) or previous in ("on", "room")):
            expansion = None
        if expansion is not None and (raw.isupper() or len(word) > 2 and word not in word_reading._CAPITALS_ONLY):
            for part in expansion:
                out.append(Token(part, raw, m.start(), m.end()))
            previous = expansion[-1]
        else:
            out.append(Token(word, raw, m.start(), m.end()))
            previous = word
        if not phrased and (word[:4] in word_reading._PHRASE_STARTS or raw[:1] in "LCT" and raw[1:2].isdigit()):
            phrased = True
    return word_reading._with_phrase_terms(text, out) if phrased else out


_PIECES = [
    "John's", "JOHN'S", "JOHN'Sx", "john'sx", "L4-5", "L²", "C5-C6", "T12-L1", "stage IIIb", "type ii", "Type II",
    "class IV", "grade v", "CHF", "chf", "PAD", "pad", "on RA", "room RA", "GAD-7 score", "DM2", "İstanbul",
    "\u212aidney", "ΣΑΣ", "herniated disc", "low back pain", "toe's", "leg's", "_leg", "x_toe", "out of control",
    "poorly controlled DM", "L4", "l4", "T2-weighted", "free T4", "naïve", "café's", "’s", "'s", "a'sb", "ＨＴＮ",
    "HTN", "T2DM", "sided", "Left-sided", "I spent 25 minutes", "Total time: 30 min", "time spent = 15 min",
    "ſpent", "TOTAL TIME", "40 minutes were spent", "We have spent over thirty minutes", "No fever.", "Plan:",
    "• Continue", "- ice", "(see above)", "1.", "?", "!", "...", "\u0131", "\u0130", "\u017f", "Dr. Smith", "x",
]
_SEPARATORS = [" ", " ", ", ", "-", "'", "_", ". ", "; ", "(", ")", "\n", "\n\n", "’", "\t", ".\n", "! ", "? ", ":"]


def _texts(count: int, seed: int):
    rng = random.Random(seed)
    for _ in range(count):
        text = "".join(rng.choice(_PIECES) + rng.choice(_SEPARATORS) for _ in range(rng.randint(1, 16)))
        roll = rng.random()
        yield text.upper() if roll < 0.2 else text.lower() if roll < 0.4 else text


def test_tokens_match_the_word_by_word_reading():
    for text in [*_PIECES, *_texts(4000, 1)]:
        assert tokens(text) == _plain_tokens(text), text


def test_sentence_split_matches_the_plain_pattern():
    rng = random.Random(2)
    alphabet = ["a", "B", ".", "!", "?", " ", "\n", "\t", "\u2028", "\x0b", "(", "•", "-", "1", "'", '"', "\r",
                "\u00a0", "\u3000"]
    samples = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(20000)]
    for text in [*samples, *_texts(2000, 3)]:
        assert document._SENT_SPLIT.split(text) == _PLAIN_SENT_SPLIT.split(text), text
        plain = [p for p in _PLAIN_SENT_SPLIT.split(text) if p]
        assert [p for p in document._sentence_pieces(text) if p] == plain, text
        assert [p for p in document._sentence_pieces(text.replace("!", ".").replace("?", ".")) if p] == \
            [p for p in _PLAIN_SENT_SPLIT.split(text.replace("!", ".").replace("?", ".")) if p], text


def _plain_sentences(note: NoteDoc) -> list[document.Sentence]:
    """The sentences, each built through the dataclass's own __init__."""
    out = []
    for sec in note.sections:
        offset = 0
        for piece in _PLAIN_SENT_SPLIT.split(sec.text):
            piece_clean = piece.strip(" •-\t")
            if piece_clean:
                offset = sec.text.find(piece, offset)
                out.append(document.Sentence(piece_clean, sec.name, sec.start + offset))
    return out


def test_sentences_match_the_plain_split():
    rng = random.Random(9)
    alphabet = ["a", "B", ".", "!", "?", " ", "\n", "\t", "\u2028", "(", "•", "-", "1", "'", '"', "\r", "\u00a0",
                "PLAN:", "HPI\n", "ASSESSMENT\n", "Plan: ", "x. Y", "x.\n\nY"]
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        for note in (NoteDoc(text), NoteDoc.from_chart_note(text, {"plan": text[::-1]})):
            fast = note.sentences
            assert fast == _plain_sentences(note), text
            assert [astuple(s) for s in fast] == [astuple(s) for s in _plain_sentences(note)], text
            assert list(map(hash, fast)) == list(map(hash, _plain_sentences(note))), text


def test_time_statements_match_the_case_insensitive_patterns():
    # Word boundaries before the patterns' first letters and digits: "hi spent", "a12 minutes", "1234 minutes".
    edges = ["hi spent 5 min", "We spent 5 min", "awe spent 5 min", "i  have spent ten min", "x9 minutes spent",
             "a12 minutes spent", "_5 minutes spent", "é5 minutes spent", "1234 minutes spent", "(45 minutes spent"]
    for text in [*_texts(4000, 4), *edges, "I spent 25 minutes", "Total time 40 min.", "TIME: 20 MIN", "ſpent 5 min"]:
        plain = [rx.search(text) for rx in document._TIME_PATTERNS]
        fast = NoteDoc(text)._time_matches
        assert [m and (m.span(), m.group(1).lower()) for m in plain] == \
            [m and (m.span(), m.group(1).lower()) for m in fast], text


def test_only_the_listed_characters_fold_onto_ascii_letters():
    letters = re.compile("[a-z]", re.I)
    folding = "".join(chr(c) for c in range(128, sys.maxunicode + 1) if letters.fullmatch(chr(c)))
    assert len(folding) == 4
    assert set(folding) == set(patterns._FOLDING_ONTO_ASCII)


_PLAIN_CLAUSE_BREAK = re.compile(r"[,;:()]|\bbut\b|\bhowever\b", re.I)


def _plain_is_negated_at(sentence: str, pos: int, window: int = 6) -> bool:
    if word_reading._NON_PREFIX.search(sentence, max(0, pos - 4), pos):
        return True
    after = sentence[pos:pos + 80]
    m = re.match(r"[\w'-]+", after)
    rest = after[m.end():] if m else after
    if word_reading._NEGATED_AFTER.match(rest.split(",")[0].split(".")[0]):
        return True
    start = 0
    for m in _PLAIN_CLAUSE_BREAK.finditer(sentence, 0, pos):
        start = m.end()
    words = word_reading._NEGATION_WORD.findall(sentence[start:pos].lower())[-window:]
    if word_reading._cue_in(words):
        return True
    stretch_start = 0
    for end in word_reading._NEGATION_END.finditer(sentence, 0, pos):
        stretch_start = end.end()
    stretch = sentence[stretch_start:pos]
    if "," not in stretch or word_reading._PRESENT_AFTER.match(rest):
        return False
    segments = re.split(r",|\bor\b|\band\b|\bnor\b", stretch.lower())
    for k in range(len(segments) - 1, -1, -1):
        seg_words = word_reading._NEGATION_WORD.findall(segments[k])
        if k < len(segments) - 1 and len(seg_words) > 4:
            return False
        if word_reading._cue_in(seg_words):
            return True
    return False


_CLAUSE_PIECES = ["but", "BUT", "But", "however", "HOWEVER", "butter", "abut", "rebut", "however,", "no", "denies",
                  "fever", "chills", "or", "and", "nor", "(", ")", ":", ";", ",", "ı", "x_but", "but_", "2but",
                  "was ruled out", "present", "non-", "non", "without", "has", "reports", "swelling", "with"]


def test_clause_breaks_match_the_plain_pattern():
    rng = random.Random(5)
    for _ in range(20000):
        text = "".join(rng.choice(_CLAUSE_PIECES) + rng.choice(["", " ", " ", "-", "."]) for _ in range(rng.randint(1, 10)))
        assert [m.span() for m in word_reading._CLAUSE_BREAK.finditer(text)] == \
            [m.span() for m in _PLAIN_CLAUSE_BREAK.finditer(text)], text


def test_negation_matches_the_plain_reading():
    rng = random.Random(6)
    for _ in range(5000):
        text = " ".join(rng.choice(_CLAUSE_PIECES + _PIECES) for _ in range(rng.randint(1, 14)))
        for pos in {0, len(text) // 2, len(text) - 1, rng.randrange(len(text))}:
            assert word_reading.is_negated_at(text, pos) == _plain_is_negated_at(text, pos), (text, pos)
            assert word_reading.clause_bounds(text, pos) == (
                max([0] + [m.end() for m in _PLAIN_CLAUSE_BREAK.finditer(text, 0, pos)]),
                next((m.start() for m in _PLAIN_CLAUSE_BREAK.finditer(text, pos)), len(text))), (text, pos)


def test_past_or_planned_matches_the_plain_pattern():
    rng = random.Random(8)
    pieces = _CLAUSE_PIECES + _PIECES + ["last week", "LAST MONTH", "2 weeks ago", "history of", "s/p", "ſtatus post",
                                         "prior", "in March", "to prevent", "signs of", "now stable", "had been"]
    for _ in range(5000):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        for pos in {0, len(text) // 2, len(text) - 1, rng.randrange(len(text))}:
            start, end = word_reading.clause_bounds(text, pos)
            assert word_reading.is_past_or_planned(text, pos) == (word_reading._NOT_NOW.search(text, start, end) is not None), \
                (text, pos)


def test_split_words_reads_as_the_plain_word_by_word_reading():
    # The words lower-cased in one pass over the words joined, and a spinal level looked for at the start of a word
    # only where L, C or T stands before a digit somewhere in the text.
    rng = random.Random(10)
    alphabet = ["L", "C", "T", "l", "c", "t", "4", "5", "12", "²", "٣", " ", "-", "'s", "a", "B", "x", "İ", "ΣΑΣ",
                "herniated", "Due to", "toe", "ARM", "\x00", "L4", "C5-C6", "xL4", "4L"]
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        parts, raws, words, phrased = word_reading._split_words(text)
        plain_words = [w[:-2] if w[-2:] == "'s" else w for w in map(str.lower, raws)]
        assert words == plain_words, text
        assert phrased == (not word_reading._PHRASE_STARTS.isdisjoint(w[:4] for w in plain_words) or any(
            r[:1] in "LCT" and r[1:2].isdigit() for r in raws)), text


def _plain_canonical(title: str) -> str:
    key = " ".join(title.lower().replace(":", " ").split())
    if key in document._ALIAS_TO_SECTION:
        return document._ALIAS_TO_SECTION[key]
    for alias, name in document._ALIAS_TO_SECTION.items():
        if len(alias) > 3 and key.startswith(alias):
            return name
    return key


def _plain_sections(text: str) -> list[document.Section]:
    """The sections as read line by line, every line kept in a buffer, each section built by its own __init__."""
    out: list[document.Section] = []
    pos = 0
    current_title, current_start, buf = "", 0, []

    def close() -> None:
        body = "".join(buf).strip()
        if body or current_title:
            out.append(document.Section(_plain_canonical(current_title) if current_title else "preamble",
                                        current_title, body, current_start))

    for line in text.splitlines(keepends=True):
        m = re.match(r"^\s*([A-Z][A-Z /&\-]{1,60}[A-Z])\s*:?\s*$", line)
        inline = re.match(r"^\s*([A-Za-z][A-Za-z /&\-]{1,40}?)\s*:\s*(.*)$", line) if not m else None
        if m and (_plain_canonical(m.group(1)) in document.SECTION_ALIASES or len(line.strip()) <= 40):
            close()
            current_title, current_start, buf = m.group(1).strip(), pos + len(line), []
        elif inline and inline.group(1).strip().lower() in document._ALIAS_TO_SECTION:
            close()
            current_title = inline.group(1).strip()
            current_start = pos + line.index(inline.group(2)) if inline.group(2) else pos + len(line)
            buf = [inline.group(2) + "\n"]
        else:
            buf.append(line)
        pos += len(line)
    close()
    return out


def _devset_notes() -> list[str]:
    import json
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1].parent / "shared" / "devset" / "cases"
    notes = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        note = json.loads(path.read_text()).get("note") or {}
        notes.append(NoteDoc.from_chart_note(note.get("text"), note.get("sections")).text)
    return notes


def test_sections_match_the_line_by_line_reading():
    # Headings in capitals, known names before a colon (with spaces, tabs, other line ends, a colon in the rest),
    # and lines that only look like them.
    rng = random.Random(11)
    alphabet = ["PLAN", "PLAN:", "Plan:", "plan :", " Plan\t:", "Plan: x", "Plan:\u2028", "HPI", "ASSESSMENT AND PLAN",
                "A/P:", "a&p:", "Assessment  and plan:", "VITALS REVIEWED", "Vitals: 120/80", "MSK", "X", "XY", "ÉTAT",
                "CURRENT MEDICATIONS:", "Medications:Lisinopril", "Time: 30 min", "Labs:", "Blood pressure: 1",
                "Follow-up: 2 weeks", "follow up:", "PHYSICAL EXAM", "History:", "Note: x: y", "\n", "\n", "\r\n",
                "\n\n", " ", "\t", "x", "a.", "•", "- ", ":", "1", "İ", "\u2028", "\x0c"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 25))) for _ in range(6000)]
    for text in [*texts, *_devset_notes(), *_texts(500, 12)]:
        fast = NoteDoc(text).sections
        plain = _plain_sections(text)
        assert fast == plain, text
        assert [astuple(s) for s in fast] == [astuple(s) for s in plain], text
    names = [*document._ALIAS_TO_SECTION, "Plan", "PLAN:", " plan", "a/p ", "A&P", "assessment  and plan", "cc x",
             "history of present illness today", "foo", "", ":", "İ", "time:", "Follow-Up"]
    for _ in range(3000):
        title = "".join(rng.choice(names + [" ", ":", "\t"]) for _ in range(rng.randint(1, 3)))
        assert document.canonical_section(title) == _plain_canonical(title), title


def _plain_phrase_terms(text: str, words: list[Token]) -> list[Token]:
    """Every phrase's pattern run over the whole text wherever one of its gate words stands (or a spinal level)."""
    from bisect import bisect_left

    low = text.lower()
    extra = []
    for gate, rx, terms in word_reading._PHRASE_TERMS:
        if gate and not any(word in low for word in gate):
            continue
        if not gate and not word_reading._SPINAL_LEVEL.search(text):
            continue
        for m in rx.finditer(text):
            if word_reading.is_past_or_planned(text, m.start()):
                continue
            found = terms(m) if callable(terms) else terms
            extra.extend((m.end(), Token(t, m.group(), m.start(), m.end())) for t in found)
    out, starts, at = [], [w.start for w in words], 0
    for end, token in sorted(extra, key=lambda e: e[0]):
        upto = bisect_left(starts, end, at)
        out += words[at:upto] + [token]
        at = upto
    return out + words[at:]


_PHRASE_PIECES = [
    "disc herniation", "Disk Bulges", "herniated disc", "slipped  disc", "bulging L4 disc", "degenerative disc disease",
    "transaminases", "aminotransferase", "poorly controlled diabetes", "DM remains poorly controlled",
    "diabetes, which is out of control", "diabetes; poorly controlled", "due to", "secondary to", "caused by",
    "post-traumatic arthritis", "post- traumatic degenerative arthritis", "posttraumatic arthritis", "MTP",
    "podagra", "great toe", "fourth toes", "little toe", "low back pain", "lower back pain", "lower forearm",
    "upper legs", "arm", "forearms", "alarm", "renal", "adrenal", "kidney stone", "stones", "Stone", "smoker",
    "former smoker", "non-smoker", "currently smokes", "currently continues to smoke", "still smoke", "smoke 1 pack",
    "diabetic", "non-diabetic", "L4-5", "C5-C6", "previously", "history of", "ſmoker", "\u212aidney stone", "İ",
    "x", "the", "DIABETES", "and",
]


def test_phrase_terms_match_every_pattern_run_over_the_whole_text():
    rng = random.Random(13)
    for _ in range(6000):
        text = "".join(rng.choice(_PHRASE_PIECES) + rng.choice([" ", " ", ", ", "-", ". ", "_", ""])
                       for _ in range(rng.randint(1, 8)))
        roll = rng.random()
        text = text.upper() if roll < 0.15 else text.lower() if roll < 0.3 else text
        words = word_reading._tokens_expanded(text, *_word_columns(text))
        assert word_reading._with_phrase_terms(text, words) == _plain_phrase_terms(text, words), text


def _word_columns(text: str):
    found = list(_PLAIN_WORD.finditer(text))
    return ([m.group().lower() for m in found], [m.group() for m in found], [m.start() for m in found],
            [m.end() for m in found])


def test_every_match_of_a_phrase_holds_a_gate_word_within_its_lead():
    rng = random.Random(14)
    for _ in range(6000):
        text = "".join(rng.choice(_PHRASE_PIECES) + rng.choice([" ", " ", ", ", "-", ". ", ""])
                       for _ in range(rng.randint(1, 6)))
        low = text.lower()
        if len(low) != len(text) or patterns._folds_onto_ascii(text):
            continue
        for (gate, rx, _), lead in zip(word_reading._PHRASE_TERMS, word_reading._PHRASE_LEADS):
            if lead is None:
                continue
            for m in rx.finditer(text):
                assert any(low.find(word, m.start(), m.end()) - m.start() in range(lead + 1) for word in gate), (
                    text, m)


def test_time_patterns_searched_from_their_lead_word_find_the_first_match():
    rng = random.Random(12)
    alphabet = ["i", "we", "have", " ", "  ", "\n", "\u2003", "spent", "minute", "minutes", "min", "5", "12", "\u0665",
                "x", "a", "s", ".", "total time", "time:", "of", "over", "ten", "hi", "awe", "-", " " * 70, "9" * 70]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))) for _ in range(30000)]
    # Runs longer than the reach before the word.
    long_runs = ["i" + " " * 70 + "spent 5 min", "x we" + " \n" * 40 + "have spent 3 min", "5" + " " * 70 + "minutes spent",
                 "a 1" + "0" * 2 + " " * 63 + "minute spent"]
    for text in [*long_runs, *texts, *(t.lower() for t in _texts(2000, 6))]:
        plain = [rx.search(text) for rx in document._TIME_PATTERNS_LOWER]
        fast = document._first_time_matches(text)
        assert [m and (m.span(), m.groups()) for m in plain] == [m and (m.span(), m.groups()) for m in fast], text
