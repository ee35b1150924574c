"""What the note says about a code's 7th character: the episode of care of an injury
(A initial / D subsequent / S sequela, with the fracture-specific values), and the other
7th characters the tabular defines (AMD and glaucoma stage, eye, fetus, time of a coma
scale score, tophus), read from the definition's own wording.

Episode of care (Guideline I.C.19.a). A is "for each encounter where the patient is
receiving active treatment for the condition" (evaluation and continuing treatment by the
same or a different physician): "assignment of the 7th character is based on whether the
patient is undergoing active treatment and not whether the provider is seeing the patient
for the first time". D is for "encounters after the patient has completed active treatment
of the condition and is receiving routine care for the condition during the healing or
recovery phase" (cast change or removal, x-ray to check healing, medication adjustment,
follow-up visits following treatment). S is for sequelae. The note is read as classes of
statements, each kept with the sentences that carry it:

- the injury's onset in hours or days (a new injury) or in weeks, the injury event told in
  the history, the first evaluation of it;
- care given at this encounter: immobilisation and procedures, or an evaluation with
  diagnostic work-up (imaging taken, reviewed or ordered) and treatment begun
  (prescriptions, therapy referral, injection);
- care after completed treatment: the visit stated as a follow-up of the injury (a plan to
  follow up later is future care, not a follow-up visit), healing on examination or
  imaging, cast or suture removal, status post the surgical treatment;
- treatment completed elsewhere before this visit (seen in the ED, splinted, operated on);
- sequela wording.

A note often speaks of several problems. For one coded injury (:meth:`EpisodeEvidence.about`)
follow-up, healing, sequela, earlier-care and long-ago statements count only in a sentence
that names an injury or its treatment, the code's own words, or how an injury happened;
and the episode is read only when the assessment names the injury (not negated, not
uncertain: Guideline IV.H). A coded episode is changed only on firm evidence: D to A for a
new injury with immobilisation or a procedure, or for a first evaluation with active
treatment and no earlier or completed treatment; A to D only on routine care after
treatment with no new immobilisation or procedure today.

Fractures (Guideline I.C.19.c.1): a fracture not stated open or closed is coded closed;
an open fracture without its Gustilo type is type I or II; routine healing unless delayed
healing, nonunion or malunion is stated.

Other 7th characters. The tabular's definition names the value ("mild stage", "with active
choroidal neovascularization", "right eye", "fetus 2", "at arrival to emergency department",
"with tophus (tophi)"). A value is documented when its words stand with the coded
condition in a sentence of this encounter (not negated; "without X" when X is negated), or
when the clinical findings that state it are recorded: for exudative AMD, subretinal or
intraretinal fluid, hemorrhage, leakage on angiography or anti-VEGF treatment state active
choroidal neovascularization, and "inactive", "involuted", "regressed" or a disciform scar
state the inactive values (American Academy of Ophthalmology, ICD-10-CM coding for AMD,
FY2023 staging); "early" and "advanced"/"end-stage" are the mild and severe glaucoma stages
(ICD-9-CM 365.71/365.73 inclusion terms, AAO glaucoma staging). For an eye-specific code,
findings written for the other eye do not count. Fetus: 7th character 0 is for single
gestations and for multiple gestations where the fetus is unspecified; 1-9 identify the
fetus of a multiple gestation (tabular notes at O31-O69, Guideline I.C.15). Glaucoma: "0"
unspecified when there is no documentation of the stage, "4" indeterminate only when the
stage cannot be clinically determined (Guideline I.C.7.a.5).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

from vma.checks.support.episode_cues import (
    _CUE_WORDS,
    _EPISODE_CUES,
    _FOLLOW_UP_VISIT,
    _NEEDS,
    _NUM,
    _STATUS_POST,
    _WOUND_CARE,
    ACTIVE,
    EVENT,
    FIRST_SEEN,
    INITIAL,
    LONG_AGO,
    PRIOR,
    SEQUELA,
    SUBSEQUENT,
    TREATMENT,
    WORKUP,
)
from vma.checks.support.gate_words import lowered_sentences
from vma.checks.support.notes.document import NoteDoc, Sentence
from vma.checks.support.notes.patterns import LowerCasePattern, _folds_onto_ascii, lazy_pattern, lower_case_pattern
from vma.checks.support.notes.words import ASSESSMENT_SECTIONS, HISTORY_SECTIONS, is_negated_at, is_uncertain_at


_FUTURE = lazy_pattern(
    r"\b(?:will|shall|plans? to|planned|going to|schedul\w*|as needed|prn|next (?:visit|week|appointment)|"
    rf"in {_NUM} (?:days?|weeks?|months?)|if (?:needed|necessary))\b", re.I)
# A splint or boot kept on, weaned or taken off is the care of the healing phase, not a new one.
_CONTINUED = lazy_pattern(r"\b(?:continu\w*|wean\w*|discontinu\w*|remains?|still|out of|off|stop\w*|no longer)"
                          r"(?: [\w-]+){0,3} $", re.I)
# Earlier care that treated the injury definitively. Emergency or urgent care that only splinted it
# and sent the patient on leaves this visit's evaluation and treatment active (Guideline I.C.19.a:
# "evaluation and continuing treatment by the same or a different physician").
_DEFINITIVE = lazy_pattern(r"\b(?:surger\w*|surgical\w*|orif|open reduction|closed reduction|reduced|fixation|operat\w*"
                           r"|pinning|repair\w*|arthroscop\w*|underwent|had undergone|cast(?:ed)?)\b", re.I)
_ELSEWHERE = lazy_pattern(r"\b(?:taken|seen|done|obtained|performed|evaluated|treated|placed|given|applied)\b"
                          r"(?: [\w-]+){0,3} (?:in|at|by|from) (?:the |an? )?$", re.I)
_DEVICE = lazy_pattern(r"\b(?:splint\w*|air ?cast|crutch\w*|sling|boot|immobiliz\w*|cast)\b", re.I)
_DEVICE_OFF = lazy_pattern(r"\b(?:cast|splint|removed|removal|taken off|out of)\b", re.I)
_YEARS_BACK = lazy_pattern(
    rf"\b{_NUM} years? ago\b|\b(?:19|20)\d\d\b|\bat (?:the )?age (?:of )?\d+\b|\bas a (?:child|teenager)\b", re.I)

# Where each kind is read. The history of present illness tells the event and its onset;
# work-up and treatment begun count where this encounter's findings and plan are written.
_STORY_SECTIONS_EXCLUDED = frozenset(
    {"exam", "results", "assessment", "plan", "procedure", "instructions", "ros", "vitals", "time"})
_ENCOUNTER_SECTIONS = frozenset({"exam", "results", "assessment", "plan", "procedure", "instructions"})
_OPEN_FRACTURE = lazy_pattern(r"\bopen (?:\w+ )?fracture\b|\bcompound fracture\b", re.I)
_GUSTILO_III = lazy_pattern(r"\b(?:type|gustilo) (?:III|3)\s?[ABC]?\b", re.I)
_HEALING = (("nonunion", lazy_pattern(r"\bnon-?union\b", re.I)),
            ("malunion", lazy_pattern(r"\bmal-?union\b", re.I)),
            ("delayed healing", lazy_pattern(r"\bdelayed (?:healing|union)\b", re.I)))
# Words every match of each whole-note pattern above holds, looked for in the lower-cased note first: a
# note without them (most) is not searched with re.I at all. An open fracture holds "fracture" and one of the
# others; "type 2 diabetes" holds "type " but none of the Gustilo words.
_OPEN_FRACTURE_WORD, _OPEN_FRACTURE_WORDS = "fracture", ("open ", "compound fracture")
_GUSTILO_WORDS = ("type iii", "type 3", "gustilo iii", "gustilo 3")
_HEALING_WORDS = {"nonunion": "union", "malunion": "union", "delayed healing": "delayed "}


@dataclass
class EpisodeEvidence:
    """Episode cues found in the note, each with the sentences that carry it."""

    cues: dict[str, list[tuple[Sentence, str]]]
    open_fracture: bool
    gustilo_iii: bool
    healing: str
    # Whether the assessment names the coded injury (see :meth:`about`); None when the evidence
    # is read for the note as a whole.
    named: bool | None = None
    assessed: tuple[Sentence, ...] = ()  # the assessment's sentences, for :meth:`about`

    def has(self, kind: str) -> bool:
        return bool(self.cues.get(kind))

    def about(self, description: str) -> "EpisodeEvidence":
        """The evidence for one coded injury. Follow-up, healing, sequela, earlier-care and
        long-ago statements count only in a sentence that names an injury, its treatment, the
        code's own condition or site words, or tells how an injury happened ("returns for
        follow-up of his ankle sprain"), not a visit's other problems ("presents for follow-up
        of his chronic problems", "postoperative follow-up" of a joint replacement, "residual
        deficits from a stroke", "quit smoking 5 years ago"); and an episode is read only when
        the assessment names the injury."""
        anchor = _anchor(description)
        injury = bool(_NATURE_OF_INJURY.search(description))
        told = {id(s) for s, _ in self.cues.get(EVENT, ())}  # sentences telling how an injury happened

        def anchored(sentence: Sentence) -> bool:
            return bool(id(sentence) in told or _INJURY_WORDS.search(sentence.text)
                        or (anchor and anchor.search(sentence.text)))

        def names_it(sentence: Sentence) -> bool:
            """For an injury code, a nature-of-injury word; otherwise (adverse effects, allergies,
            complications) two of the code's own words, or its one word ("Allergy, unspecified");
            stated (not negated, not uncertain: Guideline IV.H)."""
            def stated(m) -> bool:
                return not (is_negated_at(sentence.text, m.start()) or is_uncertain_at(sentence.text, m.start()))

            if (injury or anchor is None) and any(stated(m) for m in _NATURE_OF_INJURY.finditer(sentence.text)):
                return True  # notes name injuries in their own words ("leg contusion" for a thigh)
            own = {m.group(1).lower() for m in anchor.finditer(sentence.text) if stated(m)} if anchor else set()
            return bool(own) and len(own) >= min(2, anchor.pattern.count("|") + 1)

        cues = {kind: [(s, w) for s, w in pairs if kind not in _ANCHORED or anchored(s)]
                for kind, pairs in self.cues.items()}
        return EpisodeEvidence({k: v for k, v in cues.items() if v}, self.open_fracture, self.gustilo_iii,
                               self.healing, any(names_it(s) for s in self.assessed), self.assessed)

    def active_first_evaluation(self) -> bool:
        """The injury evaluated at this encounter with active treatment, and no completed
        treatment: a new injury or its first evaluation (or the injury event told in the
        history), with immobilisation or a procedure, or with diagnostic work-up and treatment
        begun; nothing describing follow-up care, definitive earlier treatment (surgery, a
        reduction, a cast) or an onset months or years back. Emergency or urgent care that
        splinted the injury and sent the patient on does not make this visit's evaluation and
        treatment routine care (Guideline I.C.19.a: evaluation and continuing treatment by the
        same or a different physician is active)."""
        if self._routine_care() or self.named is False:
            return False
        # A new injury of days ago is not made old by another story of the same site years back ("hurt his
        # back golfing 4 days ago"; "he had surgery about 10 years ago in his lower back").
        years_back = {id(s) for s in self.sentences(LONG_AGO)}
        if self.has(LONG_AGO) and not self.has(INITIAL):
            return False
        if self.has(PRIOR) and any(_DEFINITIVE.search(s.text) and not (self.has(INITIAL) and id(s) in years_back)
                                   for s in self.sentences(PRIOR)):
            return False  # treated definitively before (surgery, reduction, a cast): not a first evaluation
        new = self.has(INITIAL) or self.has(FIRST_SEEN) or self.has(EVENT)
        return new and (self.has(ACTIVE) or (self.has(WORKUP) and self.has(TREATMENT)))

    def _routine_care(self) -> bool:
        """Care after treatment, read as such: a splint taken off a few days after the injury is
        the examiner's doing, not the end of a course of treatment."""
        if not self.has(SUBSEQUENT):
            return False
        if not self.has(INITIAL):
            return True
        return any(not _DEVICE_OFF.search(w) for w in self.words(SUBSEQUENT))

    def episode(self) -> str | None:
        """The encounter's episode, or None when the note is silent or mixed.

        Sequela when the note says so; initial for a new injury (onset in hours or days);
        subsequent for routine care during healing after treatment, when no new
        immobilisation or procedure is recorded; active treatment at this encounter, or a first
        evaluation with work-up and treatment begun, with no follow-up statement, is initial
        (Guideline I.C.19.a).
        """
        if self.named is False:  # the assessment does not name the injury: nothing here is about it
            return None
        initial, subsequent, sequela = self.has(INITIAL), self._routine_care(), self.has(SEQUELA)
        if sequela and not initial:
            return SEQUELA
        if initial and not subsequent:
            return INITIAL
        if subsequent:
            # A follow-up with a procedure today is mixed: active treatment may have resumed (A). A device
            # changed during healing is not ("cast change or removal" is the guideline's own example of D,
            # I.C.19.a), so a splint or boot after the cast comes off keeps the visit routine care.
            procedures = [w for w in self.words(ACTIVE) if not _DEVICE.search(w)]
            return SUBSEQUENT if not (initial or procedures) else None
        if self.has(ACTIVE) or self.active_first_evaluation():
            return INITIAL
        return None

    def firm(self, episode: str, coded: str | None = None) -> bool:
        """Strong enough to overturn a coded episode: a new injury with active treatment, a
        coded D against a first evaluation with active treatment and no completed treatment,
        an explicit follow-up, or an explicit sequela."""
        if episode == INITIAL:
            if self.has(INITIAL) and self.has(ACTIVE):
                return True
            return coded == SUBSEQUENT and self.active_first_evaluation()
        return self.has(episode)

    def sentences(self, *kinds: str) -> list[Sentence]:
        out: list[Sentence] = []
        for kind in kinds:
            for sentence, _ in self.cues.get(kind, ()):
                if sentence not in out:
                    out.append(sentence)
        return out

    def words(self, kind: str) -> list[str]:
        return list(dict.fromkeys(w for _, w in self.cues.get(kind, ())))


@lru_cache(maxsize=1)
def _scanners() -> tuple[tuple[str, LowerCasePattern], ...]:
    """The cue patterns on their fast path (lower-cased text behind a literal gate), built once."""
    return tuple((kind, lower_case_pattern(rx)) for kind, rx in _EPISODE_CUES.items())


def _sentence_cues(sentence: Sentence, scanners: list[tuple[str, LowerCasePattern]],
                   lowered: str | None) -> dict[str, list[str]]:
    """The episode cues of one sentence, the note's own words, after the sentence-level rules;
    ``scanners`` are the kinds (in :func:`_scanners` order) read in its section whose pattern's gate lets
    the sentence through; ``lowered`` its lower-cased text when the gates were searched in it (None: the
    patterns look at their gates themselves)."""
    found: dict[str, list[str]] = {}
    for kind, pattern in scanners:
        matches = (pattern.finditer(sentence.text) if lowered is None or pattern.lower is None
                   else pattern.lower.finditer(lowered))
        for m in matches:
            if kind == ACTIVE and _CONTINUED.search(sentence.text[max(0, m.start() - 40):m.start()]):
                continue
            if kind == ACTIVE and _ELSEWHERE.search(sentence.text[max(0, m.start() - 40):m.start()]):
                continue  # "x-rays taken in the emergency department": earlier care, not this visit
            if not is_negated_at(sentence.text, m.start()):
                # the note's own wording: the match may have run on lower-cased text
                found.setdefault(kind, []).append(sentence.text[m.start():m.end()])
    if _WOUND_CARE in found:
        found.setdefault(ACTIVE, []).extend(found.pop(_WOUND_CARE))
    if _FOLLOW_UP_VISIT in found:
        words = found.pop(_FOLLOW_UP_VISIT)
        if not lower_case_pattern(_FUTURE).search(sentence.text):  # "follow up in 2 weeks" is future care
            found.setdefault(SUBSEQUENT, []).extend(words)
    if _STATUS_POST in found:
        words = found.pop(_STATUS_POST)
        if not lower_case_pattern(_YEARS_BACK).search(sentence.text):  # an old, unrelated operation
            found.setdefault(SUBSEQUENT, []).extend(words)
    if PRIOR in found or SUBSEQUENT in found:
        # a splint, an x-ray or a prescription told with earlier or completed care is not this
        # encounter's active treatment
        for kind in (ACTIVE, WORKUP, TREATMENT):
            found.pop(kind, None)
    return found


@lru_cache(maxsize=4)
def _scanners_of(kinds: frozenset[str]) -> tuple[tuple[str, LowerCasePattern], ...]:
    return tuple((kind, pattern) for kind, pattern in _scanners() if kind in kinds)


def _read_cues(note: NoteDoc, kinds: frozenset[str] | None = None) -> dict[str, list[tuple[Sentence, str]]]:
    """The note's episode cues by kind, each with its sentence; ``kinds`` limits the patterns read to those
    (the sentence-level rules still apply to what they find)."""
    cues: dict[str, list[tuple[Sentence, str]]] = {}
    read = [s for s in note.sentences if s.section not in HISTORY_SECTIONS]
    scanners = _scanners() if kinds is None else _scanners_of(kinds)
    lowered = lowered_sentences(read)
    passed = (_holding_cue_words(lowered, tuple(kind for kind, _ in scanners)) if lowered is not None
              else [None] * len(scanners))
    scanners_at: dict[int, list[tuple[str, LowerCasePattern]]] = {}
    for (kind, pattern), hits in zip(scanners, passed):
        where = range(len(read)) if hits is None else hits
        # only the sections where the kind is read
        if kind in (EVENT, LONG_AGO):
            where = [i for i in where if read[i].section not in _STORY_SECTIONS_EXCLUDED]
        elif kind in (WORKUP, TREATMENT, _WOUND_CARE):
            where = [i for i in where if read[i].section in _ENCOUNTER_SECTIONS]
        needs = _NEEDS.get(kind) if lowered is not None else None
        if needs is not None:
            where = [i for i in where if needs(lowered[i])]
        for i in where:
            scanners_at.setdefault(i, []).append((kind, pattern))
    for i in sorted(scanners_at):  # a sentence no cue's gate lets through has no cue
        found = _sentence_cues(read[i], scanners_at[i], lowered[i] if lowered is not None else None)
        for kind, words in found.items():
            cues.setdefault(kind, []).extend((read[i], w) for w in words)
    return cues


_SEP = "\x00"  # lowered_sentences keeps it out of every sentence
# ASCII letters (lower-cased already) kept, the separator kept, every other byte a space: a character outside ASCII
# encodes to one "?", so each sentence keeps its place.
_RUN_BYTES = bytes(c if 97 <= c <= 122 or c == 0 else c | 0x20 if 65 <= c <= 90 else 32 for c in range(256))


def _holding_cue_words(lowered: list[str], kinds: tuple[str, ...]) -> list[set[int]]:
    """For each kind, the indexes of the lower-cased sentences holding one of its words (see _CUE_WORDS), or a word
    beginning with one of its starts. The cue patterns run without re.I on the lower-cased text, where a letter of
    theirs matches that letter alone: a sentence without such a word holds no match. One pass over the sentences
    replaces a search for each literal of each pattern's gate."""
    runs = _SEP.join(lowered).encode("ascii", "replace").translate(_RUN_BYTES).decode("ascii")
    pieces = runs.split(_SEP)
    wanted = _cue_words_of(kinds)
    where: dict[str, list[int]] = {}
    for i, piece in enumerate(pieces):
        for word in wanted.intersection(piece.split()):
            where.setdefault(word, []).append(i)
    starts = [0, *accumulate(len(p) + 1 for p in pieces)]
    out = []
    for kind in kinds:
        words, beginnings = _CUE_WORDS[kind]
        hits: set[int] = set()
        for word in words.intersection(where):
            hits.update(where[word])
        for beginning in beginnings:
            at = runs.find(beginning)
            while at >= 0:
                if at == 0 or runs[at - 1] in " \x00":
                    hits.add(bisect_right(starts, at) - 1)
                at = runs.find(beginning, at + 1)
        out.append(hits)
    return out


@lru_cache(maxsize=4)
def _cue_words_of(kinds: tuple[str, ...]) -> frozenset[str]:
    return frozenset().union(*(_CUE_WORDS[kind][0] for kind in kinds))


def episode_evidence(note: NoteDoc) -> EpisodeEvidence:
    if "episode_evidence" in note.memo:
        return note.memo["episode_evidence"]
    cues = _read_cues(note)
    text = note.text
    # re.I folds only the characters of _folds_onto_ascii onto ASCII letters: without them, a match's letters
    # stand lower-cased in the lower-cased note.
    low = None if _folds_onto_ascii(text) else text.lower()
    healing = next((name for name, rx in _HEALING
                    if (low is None or _HEALING_WORDS[name] in low) and _found(rx, text, low)), "routine healing")
    open_fracture = (low is None or (_OPEN_FRACTURE_WORD in low and any(w in low for w in _OPEN_FRACTURE_WORDS))
                     ) and _found(_OPEN_FRACTURE, text, low)
    gustilo = (low is None or any(w in low for w in _GUSTILO_WORDS)) and _found(_GUSTILO_III, text, low)
    assessed = tuple(s for s in note.sentences if s.section in ASSESSMENT_SECTIONS)
    ev = EpisodeEvidence(cues, open_fracture, gustilo, healing, assessed=assessed)
    note.memo["episode_evidence"] = ev
    return ev


# The statements that can make an encounter's episode other than initial: routine care after treatment
# (follow-up visits and status post merge into it) and sequela. Without them EpisodeEvidence.episode() is
# initial or None, for the note as a whole and for any one injury (EpisodeEvidence.about only drops cues).
_LEAVING_INITIAL = frozenset({SUBSEQUENT, _FOLLOW_UP_VISIT, _STATUS_POST, SEQUELA})


def may_leave_initial(note: NoteDoc) -> bool:
    """Whether the note states routine care after treatment or a sequela anywhere its episode is read. A code
    coded as an initial encounter keeps it without them, so its check need not read the other cues."""
    ev = note.memo.get("episode_evidence")
    if ev is not None:
        return ev.has(SUBSEQUENT) or ev.has(SEQUELA)
    if "may_leave_initial" not in note.memo:
        cues = _read_cues(note, _LEAVING_INITIAL)
        note.memo["may_leave_initial"] = bool(cues.get(SUBSEQUENT) or cues.get(SEQUELA))
    return note.memo["may_leave_initial"]


def _found(rx, text: str, low: str | None) -> bool:
    """``rx`` (re.I) matches the note: run without re.I on the lower-cased note (``low``, None when re.I would
    fold a character of it onto ASCII) where its letters are all lower-case, as LowerCasePattern does."""
    lower = lower_case_pattern(rx).lower
    if low is not None and lower is not None and len(low) == len(text):
        return lower.search(low) is not None
    return rx.search(text) is not None


# Statements that move a code away from A, or block the first-evaluation reading, must be about
# the injury (see EpisodeEvidence.about): "quit smoking 5 years ago" dates nothing here.
_ANCHORED = frozenset({SUBSEQUENT, SEQUELA, LONG_AGO, PRIOR})
# Words that name an injury in an assessment ("Neck strain.", "Right leg contusion.").
_NATURE_OF_INJURY = lazy_pattern(
    r"\b(?:fractur(?:e|es|ed)|fx|sprains?|sprained|strains?|strained|injur(?:y|ies|ed)|lacerations?|burns?|open wounds?"
    r"|dislocat(?:ion|ions|ed)|contusions?|tears?|torn|ruptur(?:e|ed)|whiplash|abrasions?|concussion|avulsion"
    r"|subluxation|puncture|bites?|crush(?:ed|ing)?|frostbite|poisoning|overdose)\b", re.I)
_INJURY_WORDS = lazy_pattern(
    r"\b(?:fractur\w*|fx|sprains?|sprained|strains?|strained|injur\w*|laceration\w*|burns?|wounds?|dislocat\w*|contusions?|casts?"
    r"|splint\w*|sutures?|staples?|callus|orif|fixation|reduction|slings?|boots?|braces?|crutch(?:es)?"
    r"|immobiliz\w*)\b", re.I)
# Words of a description that do not tell the injury's condition or site.
_GENERIC_WORDS = frozenset({
    "unspecified", "other", "right", "left", "bilateral", "specified", "part", "site", "level", "region", "lower",
    "upper", "end", "initial", "subsequent", "encounter", "sequela", "displaced", "nondisplaced", "closed", "open",
    "type", "first", "second", "third", "degree", "multiple", "superficial", "without", "with", "foreign", "body",
    "unilateral", "shaft", "elsewhere", "classified"})


def _anchor(description: str) -> re.Pattern[str] | None:
    """The code's own condition and site words ("Sprain of unspecified ligament of right ankle"
    -> sprain, ligament, ankle), as a pattern over a sentence (plurals too)."""
    words = sorted({w for w in re.findall(r"[a-z]+", re.sub(r"\([^)]*\)", " ", description.lower()))
                    if len(w) >= 4 and w not in _GENERIC_WORDS})
    return lazy_pattern(r"\b(" + "|".join(words) + r")(?:s|es)?\b", re.I) if words else None


def is_episode_definition(definition: dict[str, str]) -> bool:
    """A 7th-character definition of episodes of care (injuries, poisonings, M80, M84...)."""
    return any(e in d.lower() for d in definition.values() for e in (INITIAL, SUBSEQUENT, SEQUELA))


def seventh_for(definition: dict[str, str], episode: str, ev: EpisodeEvidence) -> str | None:
    """The one 7th character of a definition that fits the episode and the fracture details
    in the note, read from the definition's own wording; None when it does not settle."""
    def fits_open_or_closed(description: str) -> bool:
        if "open" in description:
            return ev.open_fracture
        if "closed" in description:
            return not ev.open_fracture  # a fracture not stated open is coded closed (I.C.19.c.1)
        return True

    chars = [c for c, d in definition.items() if episode in d.lower()]
    if len(chars) > 1:
        chars = [c for c in chars if fits_open_or_closed(definition[c].lower())]
    if len(chars) > 1 and ev.open_fracture:
        chars = [c for c in chars if ("iiia" in definition[c].lower()) == ev.gustilo_iii]
    if len(chars) > 1 and episode == SUBSEQUENT:
        chars = [c for c in chars if ev.healing in definition[c].lower()]
    return chars[0] if len(chars) == 1 else None
