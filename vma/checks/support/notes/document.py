"""A note as sections and sentences (NoteDoc), its headings, the time statements, and quoting a sentence as evidence."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate, compress, repeat
from operator import contains

from vma.checks.support.notes.patterns import _folds_onto_ascii, lazy_pattern
from vma.checks.support.notes.sentence_norms import sentence_norms
from vma.checks.support.notes.words import Token, plain_tokens, tokens
from vma.checks.support.once import once
from vma.compiled_patterns import compile_pattern

# Canonical section names and the headings that introduce them.
SECTION_ALIASES: dict[str, tuple[str, ...]] = {
    "chief_complaint": ("chief complaint", "cc", "reason for visit", "reason for consultation"),
    "hpi": ("history of present illness", "hpi", "history", "interval history", "subjective"),
    "ros": ("review of systems", "ros"),
    "pmh": ("past medical history", "pmh", "past history", "medical history"),
    "psh": ("past surgical history", "surgical history"),
    "social": ("social history", "sh"),
    "family": ("family history", "fh"),
    "medications": ("medications", "current medications", "meds"),
    "allergies": ("allergies",),
    "vitals": ("vitals", "vital signs"),
    "exam": ("physical exam", "physical examination", "exam", "examination", "objective"),
    "results": ("results", "labs", "data", "imaging", "diagnostics", "studies"),
    "assessment": ("assessment", "impression", "diagnosis", "diagnoses", "assessment and plan", "a/p", "a&p"),
    "plan": ("plan", "recommendations", "disposition"),
    "procedure": ("procedure", "procedure note", "procedures"),
    "instructions": ("instructions", "patient instructions", "follow up", "follow-up"),
    "time": ("time", "total time", "attestation"),
}
_ALIAS_TO_SECTION = {alias: name for name, aliases in SECTION_ALIASES.items() for alias in aliases}

# A heading is a line in capitals, or a known name followed by a colon.
_HEADING_LINE = compile_pattern(r"^\s*([A-Z][A-Z /&\-]{1,60}[A-Z])\s*:?\s*$")
_HEADING_INLINE = compile_pattern(r"^\s*([A-Za-z][A-Za-z /&\-]{1,40}?)\s*:\s*(.*)$")

# Sentences end at whitespace after . ! or ? before a capital, a digit, a quote, a bracket or a bullet, and at
# newlines: "(?<=[.!?])\s+(?=[A-Z0-9\"'(•\-])|\n+", written to start with the whitespace both alternatives start
# with, so that sre skips to the next whitespace instead of trying both at every character (2.4 times faster).
_SENT_SPLIT = compile_pattern(r"\s(?:(?<=[.!?]\s)\s*(?=[A-Z0-9\"'(•\-])|(?<=\n)\n*)")
# In a text with no "!" or "?" (most notes), the first ends are those of a pattern that starts with the full stop, a
# literal that sre skips to in a tight loop instead of testing a class at every character; each is turned into a
# newline after its stop, and the text split at its newlines in C. The pieces that are not empty are the split's.
_STOP_END = compile_pattern(r"\.\s+(?=[A-Z0-9\"'(•\-])")


def _sentence_pieces(text: str) -> list[str]:
    """The text split where its sentences end (with empty pieces where newlines follow one another)."""
    if "!" in text or "?" in text:
        return _SENT_SPLIT.split(text)
    return _STOP_END.sub(".\n", text).split("\n")

_NUM_WORDS = {
    "five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "twenty-five": 25, "thirty": 30,
    "thirty-five": 35, "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60,
}
_TIME_PATTERNS = (
    compile_pattern(r"\b(?:i|we)\s+(?:have\s+)?spent\s+(?:a\s+total\s+of\s+|over\s+|more\s+than\s+|approximately\s+|about\s+)?(\d{1,3}|[a-z\-]+)\s*(?:\+\s*)?min", re.I),
    compile_pattern(r"\btotal\s+(?:time|of)\b[^.\n]{0,60}?(\d{1,3})\s*(?:min|minutes)\b", re.I),
    compile_pattern(r"\b(\d{1,3})\s*minutes?\s+(?:of\s+)?(?:total\s+)?(?:time\s+)?(?:was\s+|were\s+)?spent\b", re.I),
    compile_pattern(r"\btime\s*(?:spent)?\s*[:=]\s*(\d{1,3})\s*min", re.I),
)
# On such a note, each time pattern runs without re.I (mostly faster) on the lower-cased note, and only when the
# note has the words it needs: "min" (each), and "spent", "total", "minute" and "spent", and "time" (see
# _first_time_matches).
# The first and third lower-case time patterns start with a run of characters of a class (i, we, have and
# whitespace; digits and whitespace) that ends at a word the class has no letter of ("spent"; "minute"), so a match
# that starts before that word's first occurrence holds that occurrence, and starts in the run just before it: the
# search begins there instead of trying every "i" or digit of the note before it (see _search_from_run).
_SPENT_RUN = compile_pattern(r"[iwehav\s]*\Z")
_MINUTE_RUN = compile_pattern(r"[\d\s]*\Z")
# How far back from the word the run is looked for; a longer run (never seen) falls back to the whole note.
_LEAD_REACH = 64


def _first_time_matches(low: str) -> list[re.Match[str] | None]:
    """Each lower-case time pattern's first match in the lower-cased note."""
    if "min" not in low:
        return [None, None, None, None]
    spent_at = low.find("spent")
    spent, total, minute, time = _TIME_PATTERNS_LOWER
    return [_search_from_run(spent, _SPENT_RUN, low, spent_at) if spent_at >= 0 else None,
            total.search(low) if "total" in low else None,
            _search_from_run(minute, _MINUTE_RUN, low, low.find("minute")) if spent_at >= 0 else None,
            time.search(low) if "time" in low else None]


def _search_from_run(rx: re.Pattern[str], run: re.Pattern[str], low: str, at: int) -> re.Match[str] | None:
    """The first match of a pattern whose matches start with a run of the class of ``run`` before the first
    occurrence of their word, at ``at`` (-1: none)."""
    if at < 0:
        return None
    reach = max(0, at - _LEAD_REACH)
    begin = run.search(low, reach, at).start()  # the run of the class that ends at the word (maybe empty)
    return rx.search(low, 0 if begin == reach else begin)


@dataclass(frozen=True, slots=True)
class Section:
    name: str  # canonical ("assessment"), or the heading lower-cased when unknown
    title: str
    text: str
    start: int  # offset of the body in the full text


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    section: str
    start: int

    @property
    def lower(self) -> str:
        return self.text.lower()


# A frozen dataclass's __init__ sets each field through object.__setattr__; a note's sections and sentences are
# built instead as bare objects whose slots are filled (the sentences' each slot for all of them at once, in C).
_SECTION_SLOTS = (Section.name.__set__, Section.title.__set__, Section.text.__set__, Section.start.__set__)
_SENTENCE_SLOTS = (Sentence.text.__set__, Sentence.section.__set__, Sentence.start.__set__)


def canonical_section(title: str) -> str:
    low = title.lower()
    if low in _ALIAS_TO_SECTION:  # as written (a known name has single spaces and no colon): the usual heading
        return _ALIAS_TO_SECTION[low]
    key = " ".join(low.replace(":", " ").split())
    if key in _ALIAS_TO_SECTION:
        return _ALIAS_TO_SECTION[key]
    for alias, name in _ALIAS_TO_SECTION.items():
        if len(alias) > 3 and key.startswith(alias):
            return name
    return key


# The memo's key for the texts of the note's sentences, in a list of their own.
_SENTENCE_TEXTS = "notes.sentence_texts"


@dataclass
class NoteDoc:
    text: str
    _given_sections: dict[str, str] | None = field(default=None, repr=False)
    # Results that several checks derive from the same note (e.g. where a condition is
    # mentioned), keyed by the deriving function; lives and dies with the note.
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_chart_note(cls, text: str | None, sections: dict[str, str] | None) -> "NoteDoc":
        body = text or ""
        if sections:
            extra = "\n\n".join(f"{k.upper()}\n\n{v}" for k, v in sections.items())
            body = f"{body}\n\n{extra}" if body else extra
        return cls(body, sections)

    @once
    def sections(self) -> list[Section]:
        text = self.text
        lines = text.splitlines(keepends=True)
        ends = list(accumulate(map(len, lines)))  # where each line ends in the text (they make it up, in order)
        out: list[Section] = []
        set_name, set_title, set_text, set_start = _SECTION_SLOTS
        # The section being read: its name and title, where its body starts, and the text that opens the body before
        # the line after its heading (the rest of an inline heading's line).
        name, title, start, opening, body_from = "preamble", "", 0, "", 0

        def close(upto: int) -> None:
            body = (opening + text[body_from:upto]).strip()
            if body or title:
                section = object.__new__(Section)  # Section(name, title, body, start) (see _SECTION_SLOTS)
                set_name(section, name)
                set_title(section, title)
                set_text(section, body)
                set_start(section, start)
                out.append(section)

        # Only a line in capitals (no small letter) or one with a colon may be a heading; the others are body text.
        candidates = {*compress(range(len(lines)), map(str.isupper, lines)),
                      *compress(range(len(lines)), map(contains, lines, repeat(":")))}
        for i in sorted(candidates):
            line = lines[i]
            end = ends[i]
            m = _HEADING_LINE.match(line) if line.isupper() else None
            if m:
                heading = canonical_section(m.group(1))
                if heading in SECTION_ALIASES or len(line.strip()) <= 40:
                    close(end - len(line))
                    name, title, start, opening, body_from = heading, m.group(1).strip(), end, "", end
                continue
            colon = line.find(":")
            # An inline heading's name is what stands before the line's first colon (its pattern holds none), without
            # the spaces around it: a line where that names no section needs no match.
            if colon < 0 or line[:colon].strip().lower() not in _ALIAS_TO_SECTION:
                continue
            inline = _HEADING_INLINE.match(line)
            if inline and inline.group(1).strip().lower() in _ALIAS_TO_SECTION:
                close(end - len(line))
                title = inline.group(1).strip()
                rest = inline.group(2)
                name = canonical_section(title)
                start = end - len(line) + line.index(rest) if rest else end
                opening, body_from = rest + "\n", end
        close(len(text))
        return out

    def section(self, *names: str) -> Section | None:
        for s in self.sections:
            if s.name in names:
                return s
        return None

    def section_text(self, *names: str) -> str:
        """All text under any of the named sections, joined."""
        return "\n".join(s.text for s in self.sections if s.name in names)

    @once
    def sentences(self) -> list[Sentence]:
        texts: list[str] = []
        names: list[str] = []
        starts: list[int] = []
        for sec in self.sections:
            text, name, start = sec.text, sec.name, sec.start
            offset = 0
            for piece in _sentence_pieces(text):
                piece_clean = piece.strip(" •-\t")
                if piece_clean:
                    # Found at or before where the piece stands, since the previous one was: never -1.
                    offset = text.find(piece, offset)
                    texts.append(piece_clean)
                    names.append(name)
                    starts.append(start + offset)
        # Sentence(text, name, start) for each (see _SENTENCE_SLOTS).
        out = list(map(object.__new__, repeat(Sentence, len(texts))))
        for fill, values in zip(_SENTENCE_SLOTS, (texts, names, starts)):
            deque(map(fill, out, values), 0)
        self.memo[_SENTENCE_TEXTS] = (out, texts)  # the word index reads the texts (see word_norms)
        return out

    def find(self, pattern: str | re.Pattern[str], sections: tuple[str, ...] | None = None) -> list[Sentence]:
        """Sentences matching a regex (case-insensitive for strings), optionally in given sections."""
        rx = compile_pattern(pattern, re.I) if isinstance(pattern, str) else pattern
        return [s for s in self.sentences if (sections is None or s.section in sections) and rx.search(s.text)]

    @once
    def _time_matches(self) -> list[re.Match[str] | None]:
        """Each time pattern's first match in the whole note (its text lower-cased)."""
        text = self.text
        if _folds_onto_ascii(text):
            return [rx.search(text) for rx in _TIME_PATTERNS]
        low = text.lower()  # the matches' positions are the note's; their text comes back lower-cased
        return _first_time_matches(low)

    @once
    def total_time_minutes(self) -> int | None:
        """Total time the provider documented ("I spent 35 minutes ..."), if any."""
        for m in self._time_matches:
            if m:
                raw = m.group(1).lower()
                if raw.isdigit():
                    return int(raw)
                if raw in _NUM_WORDS:
                    return _NUM_WORDS[raw]
        return None

    @once
    def tokenized(self) -> "SentenceWords":
        """Each sentence with its words (see :func:`tokens`), each computed once per note, when first read."""
        return SentenceWords(self.sentences)

    @once
    def word_norms(self) -> list[list[str]]:
        """Each sentence's words as :func:`tokens` normalises them: what the word index of a note needs, most
        sentences' without building their tokens (see :func:`token_norms`)."""
        sentences = self.sentences
        kept = self.memo.get(_SENTENCE_TEXTS)
        out = sentence_norms(kept[1] if kept is not None and kept[0] is sentences else [s.text for s in sentences])
        tokenized = self.tokenized
        tokenized.plain_norms = out.copy()
        for i, norms in enumerate(out):
            if norms is None:
                out[i] = [t[0] for t in tokenized[i][1]]
        return out

    def time_statement(self) -> Sentence | None:
        # A sentence is a stretch of the note bounded by non-word characters, so a pattern that
        # matches no part of the whole note matches no sentence: only the others are tried.
        found = [rx for rx, m in zip(_TIME_PATTERNS, self._time_matches) if m]
        if not found:
            return None
        for s in self.sentences:
            if any(rx.search(s.text) for rx in found):
                return s
        return None


class SentenceWords(Sequence):
    """The sentences of a note each with its words (a pair), the words of a sentence tokenised when it is first
    read: the checks read the words of a few sentences, the note's word index only their normalised forms."""

    __slots__ = ("_sentences", "_words", "plain_norms")

    def __init__(self, sentences: list[Sentence]):
        self._sentences = sentences
        self._words: list[list[Token] | None] = [None] * len(sentences)
        # Once the note's word index is read: each sentence's words where tokens() gives them as they stand (see
        # sentence_norms), else None; an ASCII sentence without an apostrophe so read needs only their places.
        self.plain_norms: list[list[str] | None] | None = None

    def __len__(self) -> int:
        return len(self._sentences)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        words = self._words[i]
        if words is None:
            text = self._sentences[i].text
            norms = self.plain_norms[i] if self.plain_norms is not None else None
            if norms is not None and "'" not in text and text.isascii():
                words = self._words[i] = plain_tokens(text, norms)
            else:
                words = self._words[i] = tokens(text)
        return self._sentences[i], words

    def __iter__(self):
        for i in range(len(self._sentences)):
            yield self[i]


def quote(sentence: Sentence | str, limit: int = 200) -> str:
    """A short quotation for evidence, cut at a word boundary."""
    text = sentence.text if isinstance(sentence, Sentence) else sentence
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + " ..."
    return f'"{text}"'


SECTION_LABELS = {
    "chief_complaint": "Chief complaint", "hpi": "HPI", "ros": "ROS", "exam": "Exam",
    "results": "Results", "assessment": "Assessment", "plan": "Plan", "time": "Time",
    "procedure": "Procedure", "instructions": "Instructions", "vitals": "Vitals",
}


def cite(sentence: Sentence, limit: int = 200) -> str:
    """``Assessment: "Left shoulder pain ..."``"""
    label = SECTION_LABELS.get(sentence.section, sentence.section.replace("_", " ").capitalize())
    return f"{label}: {quote(sentence, limit)}"


# _TIME_PATTERNS without re.I, for lower-cased text (see _TIME_PATTERN_WORDS). "total(?<=\btotal)" is "\btotal"
# written to start with its letters, which sre then looks for directly instead of trying the pattern at every
# character (15 times faster); likewise "i" or "we", and a digit ("\d(?<!\w\d)" is "\b\d"), about twice as fast.
_TIME_PATTERNS_LOWER = (
    lazy_pattern(r"(?:i(?<=\bi)|we(?<=\bwe))\s+(?:have\s+)?spent\s+"
                 r"(?:a\s+total\s+of\s+|over\s+|more\s+than\s+|approximately\s+|about\s+)?(\d{1,3}|[a-z\-]+)\s*(?:\+\s*)?min"),
    lazy_pattern(r"total(?<=\btotal)\s+(?:time|of)\b[^.\n]{0,60}?(\d{1,3})\s*(?:min|minutes)\b"),
    lazy_pattern(r"(\d(?<!\w\d)\d{0,2})\s*minutes?\s+(?:of\s+)?(?:total\s+)?(?:time\s+)?(?:was\s+|were\s+)?spent\b"),
    lazy_pattern(r"time(?<=\btime)\s*(?:spent)?\s*[:=]\s*(\d{1,3})\s*min"),
)
