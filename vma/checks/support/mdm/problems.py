"""The number and complexity of problems addressed: the assessment's items and the kind of each."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate

from vma.checks.support.mdm.wording import (
    _ACTION_LINE,
    _ACUTE,
    _BULLET,
    _CHRONIC_COURSE,
    _CHRONIC_NATURE,
    _DEFERRED,
    _ESCALATION,
    _EXACERBATION_GATED,
    _FOUND_ON,
    _ITEM_NUMBERED,
    _ITEM_PROBLEM,
    _LABEL_STOPWORDS,
    _MINOR,
    _NARRATIVE,
    _NEW_DIAGNOSIS,
    _RECENT_ONSET_GATED,
    _SERIOUS,
    _SEVERE,
    _SYSTEMIC,
    _SYSTEMIC_SYMPTOMS,
    _TIME_LINE,
    _TREATMENT_START,
    _UNDIAGNOSED_GATED,
    _WORKUP,
    ACUTE,
    CHRONIC,
    EXACERBATION,
    HIGH,
    LEVEL_NAMES,
    LOW,
    MINOR,
    MODERATE,
    SERIOUS,
    SEVERE,
    STRAIGHTFORWARD,
    SYSTEMIC,
    UNDIAGNOSED,
    _first_unnegated,
    _prescription,
)
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.notes.patterns import _folds_onto_ascii, lazy_pattern
from vma.checks.support.notes.words import is_negated_at, is_uncertain


@dataclass
class ProblemItem:
    """One problem addressed in the assessment and plan."""

    label: str
    body: list[str] = field(default_factory=list)
    kind: str = CHRONIC
    reason: str = ""  # the wording that set the kind

    @property
    def text(self) -> str:
        return " ".join([self.label, *self.body])


@dataclass
class MdmEstimate:
    problems: list[ProblemItem]
    problems_level: int
    tests: list[str]
    external_notes: int
    independent_historian: bool
    independent_interpretation: bool
    external_discussion: bool
    data_level: int
    risk_level: int
    risk_reasons: list[str]

    @property
    def level(self) -> int:
        """The level two of the three elements reach: the middle one."""
        return sorted((self.problems_level, self.data_level, self.risk_level))[1]

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]

    def data_summary(self) -> str:
        parts = []
        if self.tests:
            parts.append(f"{len(self.tests)} unique test{'s' if len(self.tests) > 1 else ''} "
                         f"({', '.join(self.tests)})")
        if self.external_notes:
            parts.append("external records reviewed")
        if self.independent_historian:
            parts.append("an independent historian")
        if self.independent_interpretation:
            parts.append("an independent interpretation")
        if self.external_discussion:
            parts.append("a discussion with an external physician")
        return ", ".join(parts) if parts else "no data reviewed or ordered"

    def problems_summary(self) -> str:
        if not self.problems:
            return "no problem stated in the assessment"
        by_kind: dict[str, list[str]] = {}
        for item in self.problems:
            by_kind.setdefault(item.kind, []).append(item.label)
        parts = []
        for kind, labels in by_kind.items():
            count = _count_word(len(labels))
            noun = kind if len(labels) == 1 else _pluralise_kind(kind)
            parts.append(f"{count} {noun} ({', '.join(labels)})")
        return "; ".join(parts)


def _count_word(n: int) -> str:
    return {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}.get(n, str(n))


def _pluralise_kind(kind: str) -> str:
    for singular, plural in (("illness or injury", "illnesses or injuries"), ("illness", "illnesses"),
                             ("problem", "problems"), ("injury", "injuries")):
        if singular in kind:
            return kind.replace(singular, plural, 1)
    return kind


# -- problems -----------------------------------------------------------------

def _assessment_lines(note: NoteDoc) -> tuple[list[str], list[str]]:
    """(assessment lines, plan lines), raw, blank lines dropped."""
    assessment = [ln for s in note.sections if s.name == "assessment" for ln in s.text.splitlines() if ln.strip()]
    plan = [ln for s in note.sections if s.name == "plan" for ln in s.text.splitlines() if ln.strip()]
    return assessment, plan


def _is_short_header(line: str) -> bool:
    """A problem heading written as a short line (one that is not a bullet point, followed by one: the caller
    knows) over bullet points ("Acid reflux." then "• ...")."""
    text = line.strip().rstrip(".:")
    if not text:
        return False
    return len(text.split()) <= 8 and not _NARRATIVE.search(text) and not _ACTION_LINE.search(text) \
        and ":" not in text


_LABEL_END = lazy_pattern(r"(?<!\bmr)(?<!\bms)(?<!\bdr)(?<!\bst)(?<!\bmrs)(?<!\bvs)\. ", re.I)


def _split_label(text: str) -> tuple[str, list[str]]:
    """ "Hyponatremia. Sodium 129 today." -> ("Hyponatremia", ["Sodium 129 today."]); a title's dot ("Mr. Cook")
    does not end the label."""
    # Every match is a ". ": the search starts at the first one, the titles' look-behinds still reading the text
    # before it, and skips the letters before it, each of which the look-behinds would be tried at.
    at = text.find(". ")
    m = _LABEL_END.search(text, at) if at >= 0 else None
    head, rest = (text[:m.start()], text[m.end():]) if m else (text, "")
    label = head.strip().rstrip(".:")
    return label, ([rest.strip()] if rest.strip() else [])


def _may_hold_time_line(lines: list[str]) -> bool:
    """Whether some line may be a time attestation: its gate's words, looked for once in all the lines together
    (the assessment and plan of most notes hold none, and the pattern would be tried on each line in vain)."""
    joined = "\n".join(lines)
    lowered = joined.lower()
    literals = _TIME_LINE.gate_literals
    if literals is None or len(lowered) != len(joined):
        return True  # such a line is read by the pattern itself (see LowerCasePattern)
    return any(literal in lowered for literal in literals)


def problem_items(note: NoteDoc) -> list[ProblemItem]:
    """Problems addressed, read from the assessment/plan: numbered items, short headings over bullets, or
    (for an assessment written as a few short lines over a narrative plan) each assessment line. Plan text
    that belongs to no item as written goes to the items it names (see :func:`_distribute`)."""
    assessment, plan = _assessment_lines(note)
    lines = assessment + plan
    timed = _may_hold_time_line(lines)
    items: list[ProblemItem] = []
    loose: list[str] = []  # plan lines outside any item
    current: ProblemItem | None = None
    # Each line is asked whether it is a bullet point as itself and as the line after another: once is enough.
    bullets = [_BULLET.match(line) is not None for line in lines]
    bullets.append(False)  # nothing follows the last line
    plan_from = len(assessment)
    for i, line in enumerate(lines):
        if i == plan_from:
            # A separate plan section is not the last assessment item's own text.
            current = None
        numbered = _ITEM_NUMBERED.match(line) or _ITEM_PROBLEM.match(line)
        if timed and _TIME_LINE.search(line):
            current = None  # the time attestation closes the problem list
        elif numbered:
            label, body = _split_label(numbered.group(1))
            current = ProblemItem(label, body)
            items.append(current)
        elif bullets[i + 1] and not bullets[i] and _is_short_header(line):
            current = ProblemItem(line.strip().rstrip(".:"))
            items.append(current)
        elif current is not None and bullets[i]:
            current.body.append(_BULLET.sub("", line).strip())
        elif current is not None and not _NARRATIVE.search(line) and not line.rstrip().endswith(":"):
            current.body.append(line.strip())
        else:
            current = None
            if i >= plan_from:
                loose.append(line.strip())
    if not items:
        # A narrative note: "ASSESSMENT\n\nRight medial epicondylitis.\n\nPLAN\n\n<paragraph>".
        loose = [ln.strip() for ln in plan if not (timed and _TIME_LINE.search(ln))]
        for line in assessment:
            label, body = _split_label(_BULLET.sub("", line).strip())
            if label and len(label.split()) <= 14 and not _NARRATIVE.search(label) \
                    and not (timed and _TIME_LINE.search(line)) and not _ACTION_LINE.search(label):
                items.append(ProblemItem(label, body))
    _distribute(items, loose)
    return items


class _LabelWords:
    """The label's distinctive words, found where a word starts in a text (their longer forms too): what
    r"\b(?:word|...)" with re.I finds, without compiling a pattern for every label of every note. The words are
    lower-case ASCII; on text without the few characters re.I folds onto ASCII letters (nor any whose lower case
    is longer), a case-insensitive match is a match in the lower-cased text."""

    __slots__ = ("words",)

    def __init__(self, words: list[str]):
        self.words = words

    def search(self, text: str) -> bool:
        lowered = text.lower()
        return self.search_lowered(text, lowered, len(lowered) == len(text) and not _folds_onto_ascii(text))

    def search_lowered(self, text: str, lowered: str, plain: bool) -> bool:
        """:meth:`search`, given the text lower-cased and whether that is of its length and the text has no
        character re.I folds onto an ASCII letter (``plain``): one text is looked at for several labels."""
        if not plain:
            return re.search(r"\b(?:" + "|".join(re.escape(w) for w in self.words) + r")", text, re.I) is not None
        for word in self.words:
            at = lowered.find(word)
            while at >= 0:
                if at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_"):  # \b before a word character
                    return True
                at = lowered.find(word, at + 1)
        return False


class _Texts:
    """Texts joined and lower-cased once, for the label words of each item to be looked for in them all with a
    str.find per word, not in each text in turn. Texts with the characters that make :meth:`_LabelWords.search`
    read them by its pattern are read each by it."""

    __slots__ = ("texts", "joined", "lowered", "starts")

    def __init__(self, texts: list[str]):
        self.texts = texts
        joined = "\x00".join(texts)  # no label word holds it: none runs from one text into the next
        lowered = joined.lower()
        self.joined = joined
        self.lowered = lowered if len(lowered) == len(joined) and not _folds_onto_ascii(joined) else None
        self.starts = [0, *accumulate(len(t) + 1 for t in texts)][:len(texts)]

    def naming(self, words: _LabelWords) -> set[int]:
        """The indices of the texts where ``words.search`` finds one of the words."""
        if self.lowered is None:
            return {i for i, text in enumerate(self.texts) if words.search(text)}
        joined, find, starts, last = self.joined, self.lowered.find, self.starts, len(self.texts) - 1
        found: set[int] = set()
        for word in words.words:
            at = find(word)
            while at >= 0:
                i = bisect_right(starts, at) - 1
                if at == starts[i] or not (joined[at - 1].isalnum() or joined[at - 1] == "_"):  # \b before it
                    found.add(i)
                    if i == last:
                        break
                    at = find(word, starts[i + 1])
                else:
                    at = find(word, at + 1)
        return found


def _label_words(label: str) -> _LabelWords | None:
    """The label's distinctive words, as a finder of them (or their longer forms) in the plan."""
    words = [w for w in re.findall(r"[a-z]{4,}", label.lower()) if w not in _LABEL_STOPWORDS]
    return _LabelWords(words) if words else None


def _is_heading(line: str, named: list[ProblemItem]) -> bool:
    """A short line that says nothing but the problem's name ("Dandruff", "Acid reflux.")."""
    # Most plan lines are long: the word count turns them away before their words are read.
    if len(line.split()) > 8 or re.search(r"[.;]\s", line) or _ACTION_LINE.search(line):
        return False
    words = [w for w in re.findall(r"[a-z]{4,}", line.lower()) if w not in _LABEL_STOPWORDS]
    label_words = {w for item in named for w in re.findall(r"[a-z]{4,}", item.label.lower())}
    return all(any(w.startswith(lw) or lw.startswith(w) for lw in label_words) for w in words)


def _distribute(items: list[ProblemItem], lines: list[str]) -> None:
    """Give each plan line to the items it names ("In terms of his diabetes, ..."); a short line naming an item
    heads the lines after it ("Dandruff" over its paragraph); a line naming none, under no heading, belongs to
    every item (the generous reading: a plan written as one narrative may treat any of them)."""
    if not items:
        return
    keys = [(item, key) for item in items if (key := _label_words(item.label)) is not None]
    heading: list[ProblemItem] = []
    for line in lines:
        lowered = line.lower()
        plain = len(lowered) == len(line) and not _folds_onto_ascii(line)
        named = [item for item, key in keys if key.search_lowered(line, lowered, plain)]
        if named and _is_heading(line, named):
            heading = named
            continue
        for item in named or heading or items:
            item.body.append(line)


def _history_mentions(note: NoteDoc, label: str) -> str:
    """What the HPI and chief complaint say about the problem the item names (its distinctive words)."""
    key = ("mdm.history", label)  # asked of an item both when its kind is bounded and when it is read
    said = note.memo.get(key)
    if said is None:
        rx = _label_words(label)
        history = note.memo.get("mdm.history")  # the same sentences for every item of the note
        if history is None:
            history = note.memo["mdm.history"] = _Texts(
                [s.text for s in note.sentences if s.section in ("hpi", "chief_complaint")])
        said = note.memo[key] = "" if rx is None else " ".join(history.texts[i] for i in sorted(history.naming(rx)))
    return said


_HISTORY = object()  # stands for what the history says of the item, in classify's table of kinds


def classify(item: ProblemItem, note: NoteDoc) -> ProblemItem:
    """Set the item's kind, taking the highest kind any of its wording allows."""
    own = item.text
    history = None  # read from the history only when the item's own wording has not decided its kind
    for kind, rx, texts in (
        (SEVERE, _SEVERE, (own,)),
        (EXACERBATION, _EXACERBATION_GATED, (own, _HISTORY)),
        (SYSTEMIC, _SYSTEMIC, (item.label,)),
        (SYSTEMIC, _SYSTEMIC_SYMPTOMS, (own, _HISTORY)),
        (SERIOUS, _SERIOUS, (item.label,)),
    ):
        for text in texts:
            if text is _HISTORY:
                if history is None:
                    history = _history_mentions(note, item.label)
                text = history
            hit = _first_unnegated(rx, text)
            if hit:
                item.kind, item.reason = kind, hit
                return item
    if (is_uncertain(item.label) or _UNDIAGNOSED_GATED.search(own)) and _WORKUP.search(own):
        item.kind, item.reason = UNDIAGNOSED, "uncertain diagnosis with work-up"
        return item
    if _MINOR.search(item.label):
        item.kind, item.reason = MINOR, _MINOR.search(item.label).group(0)
    elif _ACUTE.search(item.label) and not _NEW_DIAGNOSIS.search(own):
        item.kind, item.reason = ACUTE, _ACUTE.search(item.label).group(0)
    elif _recent_onset(own, history) and not _CHRONIC_COURSE.search(f"{own} {history}") \
            and not _CHRONIC_NATURE.search(item.label) and not any(_prescription(line) for line in item.body):
        # A problem the note dates to recent days or weeks, with nothing saying it persists or recurs,
        # managed without prescription drugs, is an acute uncomplicated illness, not a chronic one (AMA
        # MDM definitions: chronic = expected to last at least a year; uncomplicated = low risk of
        # morbidity). One treated with a prescription keeps the generous reading.
        item.kind, item.reason = ACUTE, _recent_onset(own, history)
    else:
        # Unknown course: read as chronic, the higher of the two readings when several are addressed. A chronic
        # problem whose treatment is raised or started at the visit is not at its treatment goal, hence not stable.
        item.kind, item.reason = CHRONIC, ""
        goal = _not_at_goal(item)
        if goal:
            item.kind, item.reason = EXACERBATION, goal
    return item


def graver_than_acute(item: ProblemItem, note: NoteDoc) -> bool:
    """Whether :func:`classify` reads the item as a stable chronic illness or a graver kind, whatever the rest of
    its wording: it reads a minor or an acute uncomplicated problem only on the label's wording or a recent
    onset. Two such items make moderate problems without the costlier reading of their kinds."""
    if _MINOR.search(item.label) or _ACUTE.search(item.label):
        return False
    # The item's own wording first: what the history says is looked for only where that dates no onset.
    return _recent_onset(item.text, "") is None and _recent_onset(_history_mentions(note, item.label), "") is None


def _recent_onset(own: str, history: str) -> str | None:
    """The wording that dates the problem's onset to recent days or weeks."""
    for text in (own, history):
        for m in _RECENT_ONSET_GATED.finditer(text):
            if not is_negated_at(text, m.start()) and not _FOUND_ON.search(text[max(0, m.start() - 60):m.start()]):
                return m.group(0)
    return None


def _first_undeferred(rx, text: str) -> str | None:
    """The first match that no negation or deferral ("defer initiating", "declines starting") stands before."""
    for m in rx.finditer(text):
        if not is_negated_at(text, m.start()) and not _DEFERRED.search(text[max(0, m.start() - 40):m.start()]):
            return m.group(0)
    return None


def _not_at_goal(item: ProblemItem) -> str:
    """Why a chronic problem is not at its treatment goal, read from its own plan: a medication raised for it, or
    treatment started for it (which a newly diagnosed chronic illness put on treatment shows too)."""
    for line in item.body:
        hit = _first_undeferred(_ESCALATION, line)
        if hit:
            return f"not at treatment goal: {hit}"
    for line in item.body:
        hit = _first_undeferred(_TREATMENT_START, line)
        if hit:
            return f"not at treatment goal: treatment started ({hit})"
    if _NEW_DIAGNOSIS.search(item.text) and item.body:
        return "newly diagnosed, with a treatment plan"
    return ""


def problems_level(items: list[ProblemItem]) -> int:
    kinds = [i.kind for i in items]
    if SEVERE in kinds:
        return HIGH
    if any(k in (EXACERBATION, UNDIAGNOSED, SYSTEMIC, SERIOUS) for k in kinds) or kinds.count(CHRONIC) >= 2:
        return MODERATE
    if not kinds:
        return STRAIGHTFORWARD
    if kinds == [MINOR]:
        return STRAIGHTFORWARD
    return LOW
