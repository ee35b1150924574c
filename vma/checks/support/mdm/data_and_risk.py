"""The amount of data reviewed and analysed, and the risk of the patient's management."""

from __future__ import annotations

import re
from functools import lru_cache

from vma.checks.support.mdm.wording import (
    _DECISION,
    _HIGH_RISK,
    _INTERPRETATION,
    _LOW_RISK,
    _MAJOR_SURGERY,
    _MINOR_SURGERY,
    _ORDERED,
    _OTC,
    _REPORT,
    _REVIEWED,
    _RX_CONSIDERED,
    _SDOH,
    _TESTS,
    HIGH,
    LAB_TESTS,
    LOW,
    MODERATE,
    STRAIGHTFORWARD,
    _first_unnegated,
    _prescription,
)
from vma.checks.support.notes.document import NoteDoc, Sentence
from vma.checks.support.notes.patterns import LowerCasePattern as _LowerCasePattern
from vma.checks.support.notes.patterns import lazy_pattern
from vma.checks.support.notes.words import is_negated_at
from vma.checks.support.scan import JoinedTexts, LiteralFinder, gated

# -- data ---------------------------------------------------------------------

_NOT_DATA_SECTIONS = ("pmh", "psh", "family", "social", "medications", "allergies", "ros")


def _data_sentences(note: NoteDoc):
    """Sentences that can record this encounter's data work (not the past or family history)."""
    return [s for s in note.sentences if s.section not in _NOT_DATA_SECTIONS]


def data_sentences_matching(note: NoteDoc, rx: _LowerCasePattern) -> list[Sentence]:
    """The data sentences, in order, that ``rx`` may match: those its literal gate finds in one scan of them all
    (support/scan), the others having no match."""
    sections = tuple(dict.fromkeys(s.section for s in note.sentences if s.section not in _NOT_DATA_SECTIONS))
    return gated(note, rx, sections)


class _Literals:
    """Literals one of which every match of a pattern holds in lower-cased text, where the gate derived from the
    pattern has none ("\\be[kc]g\\b") or settles for a common one ("pro" of "pro-?bnp", "mp" of "\\b[bc]mp\\b")."""

    __slots__ = ("gate_literals",)

    def __init__(self, *literals: str):
        self.gate_literals = literals


# The literals one of which every match of _INTERPRETATION holds, branch by branch: "independent(ly) ...", "my
# (own) interpretation|read(ing)", "personally ...", "i interpreted|read the", "... by me", "on my (own) review of
# the", "i (have|also|then) reviewed|viewed|looked at|visualized|examined ...". The gate derived from the pattern
# settles for " the" and lets most sentences through to a pattern that costs a long sentence a tenth of a
# millisecond.
_INTERPRETATION_LITERALS = _Literals(
    "independent", "interpret", "read", "personally ", " by me", "review of the", "i reviewed", "i have reviewed",
    "i also reviewed", "i then reviewed", "i viewed", "i have viewed", "i also viewed", "i then viewed", "looked at",
    "visualized", "examined")
# Every match of _DISCUSSION holds a verb of discussing and "with ", or a verb of calling; and after it, a
# professional (_EXTERNAL_PROFESSIONAL: "dr", "...ologist", each one named, each specialty named, all of which but
# orthopedics and psychiatry end in "ology"). Its own gate settles for "with " or "will ".
_DISCUSSED = _Literals("discussed", "spoke", "talked", "conferred", "consulted", "reviewed")
_WITH = _Literals("with ")
_CALLED = _Literals("called", "phoned", "paged", "contacted", "spoke to", "talked to", "curbside", "will call",
                    "will contact", "will reach out to", "will speak ", "will discuss ")
_PROFESSIONAL = _Literals("dr", "ologist", "surgeon", "physician", "pcp", "primary care", "specialist", "pharmacist",
                          "ology", "orthopedics", "psychiatry", "infectious disease", "hospitalist", "case manager",
                          "social worker")


def interpretation_sentences(note: NoteDoc) -> list[Sentence]:
    """The data sentences, in order, that _INTERPRETATION may match (the others have no match)."""
    return data_sentences_matching(note, _INTERPRETATION_LITERALS)


def discussion_sentences(note: NoteDoc) -> list[Sentence]:
    """The data sentences, in order, that _DISCUSSION may match: those holding a literal of each kind its matches
    hold (the others have no match)."""
    def ids(literals: _Literals) -> set[int]:
        return {id(s) for s in data_sentences_matching(note, literals)}

    spoken = ids(_DISCUSSED) & ids(_WITH) | ids(_CALLED)
    return [s for s in data_sentences_matching(note, _PROFESSIONAL) if id(s) in spoken] if spoken else []


_TEST_GATES = {
    "ECG": _Literals("ekg", "ecg", "electrocardiogram"),
    "cardiac markers": _Literals("troponin", "bnp"),
    "metabolic panel": _Literals("bmp", "cmp", "metabolic panel", "sodium", "potassium", "creatinine", "electrolytes",
                                 "kidney function", "renal function", "bun", "gfr"),
    "viral test": _Literals("covid", "flu", "rsv", "mono"),
}


@lru_cache(maxsize=1)
def _test_gates() -> tuple[LiteralFinder, dict[str, tuple[int, ...]], tuple[int, ...]]:
    """A finder of the literals of the tests' gates, the places in _TESTS of the tests each literal opens, and the
    places of the tests without a gate. Built on first use: a test's gate is worked out only then (LowerCasePattern)."""
    opens: dict[str, list[int]] = {}
    ungated: list[int] = []
    for k, (name, rx) in enumerate(_TESTS):
        literals = _TEST_GATES.get(name, rx).gate_literals
        if literals is None:
            ungated.append(k)
        for literal in dict.fromkeys(literals or ()):
            opens.setdefault(literal, []).append(k)
    return LiteralFinder(opens), {literal: tuple(tests) for literal, tests in opens.items()}, tuple(ungated)


def _tests_held(joined: JoinedTexts) -> dict[int, list[int]]:
    """For each joined text some test's gate opens on, the places in _TESTS of those tests, in order: the texts
    ``joined.holding`` names for each test's literals, from one pass over them for all the tests' literals."""
    if joined.text is None:
        return dict.fromkeys(range(joined.count), list(range(len(_TESTS))))  # every text holds every literal
    finder, opens, ungated = _test_gates()
    held = {i: set(ungated).union(*map(opens.__getitem__, literals)) for i, literals in finder.held(joined).items()}
    if ungated:
        for i in range(joined.count):
            held.setdefault(i, set(ungated))
    return {i: sorted(held[i]) for i in sorted(held)}


def unique_tests(note: NoteDoc) -> list[str]:
    # A test named in the results or the plan is one reviewed or ordered (AMA: ordering includes tests
    # considered but not selected after shared decision making); elsewhere the wording must say so.
    ordered = {id(s) for s in data_sentences_matching(note, _ORDERED)}
    reviewed = {id(s) for s in data_sentences_matching(note, _REVIEWED)}
    sentences = [s for s in _data_sentences(note) if s.section in ("results", "assessment", "plan", "instructions")
                 or (id(s) in ordered and _ORDERED.search(s.text))
                 or (id(s) in reviewed and _REVIEWED.search(s.text))]
    # The tests' gates, their literals found in one pass over those sentences joined, name the few where each test
    # may be (trying every test on every sentence cost a long note milliseconds); each sentence is tried for those.
    found: list[str] = []
    for i, tests in _tests_held(JoinedTexts([s.text for s in sentences])).items():
        text = sentences[i].text
        here = [name for name, rx in map(_TESTS.__getitem__, tests) if _unnegated_search(rx, text)]
        if "labs" in here and any(t in LAB_TESTS for t in here):
            # "Labs: CBC and CMP" names the same tests twice; "labs" elsewhere may be others (generous).
            here.remove("labs")
        found += [name for name in here if name not in found]
    # A heading that names the tests ("Labs: Within normal limits", "EKG: sinus rhythm") is the review of
    # their results: the heading is consumed as a section title, so it is read there (for the tests not found).
    titles = [section.title for section in note.sections
              if section.name in ("results", "exam", "assessment", "plan") and section.text.strip()]
    for i, tests in _tests_held(JoinedTexts(titles)).items():
        for name, rx in map(_TESTS.__getitem__, tests):
            if name not in found and _unnegated_search(rx, titles[i]):
                found.append(name)
    return found


def _unnegated_search(rx, text: str) -> bool:
    m = rx.search(text)
    return m is not None and not is_negated_at(text, m.start())


# Tests read from images or tracings (an interpretation or report is customary), as opposed to lab values.
READ_TESTS = frozenset({
    "x-ray", "MRI", "CT", "ultrasound", "echocardiogram", "ECG", "angiography", "OCT", "visual field",
    "fundus photography", "barium study", "nuclear imaging", "heart monitor", "sleep study", "EEG",
    "ankle-brachial index", "spirometry", "EMG", "bone density", "mammogram", "stress test",
})
# A study done at this visit whose findings the note itself reports ("3 views of the right knee were taken today.
# These reveal no fracture."): with no report from anyone else, the findings are the physician's own reading.
_IN_OFFICE_STUDY = lazy_pattern(
    r"\b(?:obtained|taken|performed|done)\b[^.;]{0,60}?\b(?:today|in (?:the )?(?:office|clinic)|on today's visit|"
    r"at this visit)\b", re.I)
_IN_OFFICE_STUDY = _LowerCasePattern(_IN_OFFICE_STUDY)


def _read_in_office(note: NoteDoc) -> bool:
    """The note reports its own reading of an imaging study or tracing done at this visit."""
    for s in note.sentences:
        if s.section in ("results", "assessment", "plan") and _first_unnegated(_IN_OFFICE_STUDY, s.text) \
                and not _REPORT.search(s.text) \
                and any(name in READ_TESTS and _unnegated_search(rx, s.text) for name, rx in _TESTS):
            return True
    return False


def _interpreted(text: str) -> bool:
    """The sentence records the physician's own reading of a test (AMA "independent interpretation"), not the
    review of its written report."""
    for m in _INTERPRETATION.finditer(text):
        if not is_negated_at(text, m.start()) and not _REPORT.search(text[m.start():m.end() + 30]):
            return True
    return False


def data_level(tests: list[str], external_notes: int, historian: bool, interpretation: bool,
               discussion: bool) -> int:
    category1 = len(tests) + external_notes + (1 if historian else 0)
    moderate_categories = sum((category1 >= 3, interpretation, discussion))
    if moderate_categories >= 2:
        return HIGH
    if moderate_categories == 1:
        return MODERATE
    if len(tests) + external_notes >= 2 or historian:
        return LOW
    return STRAIGHTFORWARD


# -- risk ---------------------------------------------------------------------

def _management_text(note: NoteDoc) -> list[str]:
    managed = [s.text for s in note.sentences if s.section in ("assessment", "plan", "instructions", "procedure")]
    return managed or [s.text for s in note.sentences]


def risk_of_management(note: NoteDoc) -> tuple[int, list[str]]:
    return RiskScan(note).result()


def _high_risk(text: str) -> str | None:
    hit = _first_unnegated(_HIGH_RISK, text)
    return f"high-risk management ({hit.lower()})" if hit else None


def _prescription_managed(text: str) -> str | None:
    why = _prescription(text)
    if not why and _RX_CONSIDERED.search(text):
        why = "prescription drug management considered and not selected (shared decision making)"
    return why


def _minor_procedure(text: str) -> str | None:
    decided = _DECISION.search(text) and _first_unnegated(_MINOR_SURGERY, text)
    return "decision about a minor procedure" if decided else None


def _surgery(text: str) -> str | None:
    decided = _DECISION.search(text) and _first_unnegated(_MAJOR_SURGERY, text)
    return "decision about surgery" if decided else None


def _social_determinants(text: str) -> str | None:
    return "management limited by social determinants of health" if _SDOH.search(text) else None


def _otc(text: str) -> str | None:
    return "over-the-counter drugs" if _first_unnegated(_OTC, text) else None


def _low_risk(text: str) -> str | None:
    return "low-risk treatment (therapy, bracing, referral)" if _first_unnegated(_LOW_RISK, text) else None


# The kinds of management, in the order a sentence is read for them (the order of their reasons within a
# sentence), each with the level it raises risk to. Each is read on its own: only the first wording of a kind is
# reported, except high-risk management, whose every wording is (the same reason twice is reported once).
_KINDS = (
    (HIGH, _high_risk, True),
    (MODERATE, _prescription_managed, False),
    (MODERATE, _minor_procedure, False),
    (MODERATE, _surgery, False),
    (MODERATE, _social_determinants, False),
    (LOW, _otc, False),
    (LOW, _low_risk, False),
)
# The patterns a sentence must match for each kind to be found in it (None: a prescription drug is named by a
# dose, a brand's capital and other wordings, and every sentence is read for it).
_NEEDED = ((_HIGH_RISK,), None, (_DECISION, _MINOR_SURGERY), (_DECISION, _MAJOR_SURGERY), (_SDOH,), (_OTC,),
           (_LOW_RISK,))
# The order in which to ask whether risk reaches a level: a prescription settles most moderate visits.
_ASKED = (1, 0, 2, 3, 4, 5, 6)
_PRESCRIPTION = 1
# Words of the sentences that most often manage a prescription drug ("Protonix 40 mg", "prescribed", "medication"):
# whether some sentence does is asked of those first.
_PRESCRIPTION_WORDS = ("mg", "prescri", "medication")


class RiskScan:
    """The risk of management, read only as far as a question needs. Each kind of management is looked for on
    its own, sentence by sentence: whether risk reaches a level is known at the first sentence with a kind of
    that level, while the full reading (level and every reason, in the order of the sentences) reads them all."""

    def __init__(self, note: NoteDoc):
        self._texts = _management_text(note)
        self._next = [0] * len(_KINDS)  # the next sentence to read for each kind
        self._hits: list[list[tuple[int, str]]] = [[] for _ in _KINDS]  # (sentence, reason) found per kind
        self._prescribed = False  # a sentence managing a prescription drug is known, whether or not the first
        self._joined: JoinedTexts | None = None
        self._readable: dict[int, set[int] | None] = {}

    def _may_hold(self, kind: int) -> set[int] | None:
        """The sentences the kind may be found in (None: any), from one scan of them all per literal of the patterns
        it needs: a sentence holding no literal of one of them has no match of it (support/scan)."""
        if kind not in self._readable:
            needed = _NEEDED[kind]
            if needed is None:
                self._readable[kind] = None
            else:
                self._readable[kind] = set.intersection(*(self._joined_texts().holding(rx.gate_literals)
                                                          for rx in needed))
        return self._readable[kind]

    def _joined_texts(self) -> JoinedTexts:
        if self._joined is None:
            self._joined = JoinedTexts(self._texts)
        return self._joined

    def _advance(self, kind: int) -> bool:
        """Read on for ``kind`` up to its next wording (or the end); whether one was found."""
        _, finds, every = _KINDS[kind]
        if not every and self._hits[kind]:
            return False  # only the first wording of the kind counts
        texts, start = self._texts, self._next[kind]
        may_hold = self._may_hold(kind)
        for i in range(start, len(texts)) if may_hold is None else sorted(i for i in may_hold if i >= start):
            reason = finds(texts[i])
            if reason:
                self._next[kind] = i + 1
                self._hits[kind].append((i, reason))
                return True
        self._next[kind] = len(texts)
        return False

    def _prescription_anywhere(self) -> bool:
        """Whether some sentence not yet read for it manages a prescription drug. Only whether one does matters
        here, not which is the first: the sentences holding the words such sentences most often have are read
        first, and where one does, the reading in order is left where it was, for the full reading to go on. Where
        none does, every sentence has been read for it, as a reading in order would have."""
        texts, start = self._texts, self._next[_PRESCRIPTION]
        likely = {i for i in self._joined_texts().holding(_PRESCRIPTION_WORDS) if i >= start}
        order = sorted(likely) + [i for i in range(start, len(texts)) if i not in likely]
        for i in order:
            if _prescription_managed(texts[i]):
                self._prescribed = True
                return True
        self._next[_PRESCRIPTION] = len(texts)
        return False

    def reaches(self, rank: int) -> bool:
        """Whether the full reading's level is at least ``rank``."""
        if rank <= STRAIGHTFORWARD:
            return True
        for kind in _ASKED:
            if _KINDS[kind][0] < rank:
                continue
            if self._hits[kind]:
                return True
            if kind == _PRESCRIPTION:
                if self._prescribed or self._prescription_anywhere():
                    return True
            elif self._advance(kind):
                return True
        return False

    def result(self) -> tuple[int, list[str]]:
        for kind in range(len(_KINDS)):
            while self._advance(kind):
                pass
        found = sorted((at, kind, reason) for kind, hits in enumerate(self._hits) for at, reason in hits)
        level = max((_KINDS[kind][0] for _, kind, _ in found), default=STRAIGHTFORWARD)
        return level, list(dict.fromkeys(reason for _, _, reason in found))
