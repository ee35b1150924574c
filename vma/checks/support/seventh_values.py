"""7th characters that are not an episode of care: the value a definition names (stage, trimester, glaucoma stage, coma scale moment) read from the note, tied to the coded condition."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vma.checks.support.axes.words import same_word
from vma.checks.support.episode import _GENERIC_WORDS, episode_evidence, is_episode_definition, seventh_for
from vma.checks.support.notes.document import NoteDoc, Sentence
from vma.checks.support.notes.patterns import lazy_pattern, lower_case_pattern
from vma.checks.support.notes.words import HISTORY_SECTIONS, clause_bounds, is_negated_at
from vma.checks.support.scan import gated

# -- 7th characters that are not an episode of care ------------------------------------------------

# Words of a definition that name no value ("mild stage" -> mild).
_VALUE_STOP = frozenset({"with", "without", "stage", "of", "the", "to", "at", "in", "or", "and", "a", "an", "more"})
_PAREN = lazy_pattern(r"\(([^)]*)\)")
_BRACKET = lazy_pattern(r"\[[^\]]*\]")
_DEF_WORD = lazy_pattern(r"[a-z0-9]+")
# Where a finding counts: any sentence of this encounter, or only a sentence naming the condition.
ANYWHERE, WITH_CONDITION = "anywhere", "with condition"
# What a finding does: states the value, states it when negated ("no tophi" = without tophus),
# or only hints at it (a query when nothing settles the value).
STATES, STATES_NEGATED, HINTS = "states", "states negated", "hints"
_GCS = r"(?:gcs|glasgow|coma scale)"

# Clinical findings that state a value, keyed by the definition's own wording (never by code):
# (pattern over the value's wording, where, what, pattern over the note's words).
_VALUE_FINDINGS: tuple[tuple[re.Pattern[str], str, str, re.Pattern[str]], ...] = (
    # Exudative AMD (H35.32-): fluid, hemorrhage, leakage or anti-VEGF treatment = active CNV.
    (lazy_pattern(r"^with active choroidal neovascularization$"), ANYWHERE, STATES, lazy_pattern(
        r"\b(?:subretinal|intraretinal|sub-retinal|intra-retinal) fluid\b"
        r"|\b(?:subretinal|intraretinal|sub-retinal|intra-retinal|submacular|preretinal) hemorrhag\w*|\bhemorrhag\w*"
        r"|\bleak(?:age|ing|s)?\b"
        r"|\bactive (?:choroidal )?neovasculari[sz]ation\b|\bactive cnvm?\b|\banti-?vegf\b|\blucenti\w*|\branibizumab\b"
        r"|\beylea\b|\baflibercept\b|\bavastin\b|\bbevacizumab\b|\bbeovu\b|\bbrolucizumab\b|\bvabysmo\b|\bfaricimab\b"
        r"|\bsusvimo\b|\bintravitreal injections?\b", re.I)),
    (lazy_pattern(r"^with inactive choroidal neovascularization$"), ANYWHERE, STATES, lazy_pattern(
        r"\b(?:inactive|involuted|regressed|quiescent) (?:choroidal )?(?:neovasculari[sz]ation|cnvm?|neovascular membrane)\b"
        r"|\b(?:cnvm?|neovasculari[sz]ation|neovascular membrane) (?:is |appears |remains |has )?(?:now )?"
        r"(?:inactive|involuted|regressed|quiescent)\b", re.I)),
    (lazy_pattern(r"^with inactive scar$"), ANYWHERE, STATES, lazy_pattern(
        r"\b(?:disciform|fibrotic|fibrovascular|submacular|subretinal|macular|inactive) scar\w*", re.I)),
    # Nonexudative AMD (H35.31-): the code says "dry"; geographic atrophy is the advanced atrophic stage.
    (lazy_pattern(r"^early dry stage$"), WITH_CONDITION, STATES, lazy_pattern(r"\bearly\b", re.I)),
    (lazy_pattern(r"^intermediate dry stage$"), WITH_CONDITION, STATES, lazy_pattern(r"\bintermediate\b", re.I)),
    (lazy_pattern(r"^advanced atrophic with subfoveal involvement$"), ANYWHERE, STATES, lazy_pattern(
        r"\bgeographic atrophy (?:\w+ ){0,4}(?:involving|involves|affecting|affects|with) (?:the )?(?:fovea|center)\b"
        r"|\b(?:center|fovea)-involving (?:geographic )?atrophy\b|\bsubfoveal (?:geographic )?atrophy\b", re.I)),
    (lazy_pattern(r"^advanced atrophic without subfoveal involvement$"), ANYWHERE, STATES, lazy_pattern(
        r"\bgeographic atrophy (?:\w+ ){0,4}(?:sparing|spares) (?:the )?(?:fovea|center)\b"
        r"|\b(?:fovea|foveal|center)-sparing (?:geographic )?atrophy\b|\bextrafoveal (?:geographic )?atrophy\b", re.I)),
    (lazy_pattern(r"^advanced atrophic"), ANYWHERE, HINTS, lazy_pattern(
        r"\bgeographic atrophy\b|\badvanced (?:dry|atrophic|nonexudative|non-exudative)\b", re.I)),
    # Glaucoma (H40.1-, H40.2-, ...): early = mild, advanced/end-stage = severe.
    (lazy_pattern(r"^mild stage$"), WITH_CONDITION, STATES, lazy_pattern(r"\bearly\b", re.I)),
    (lazy_pattern(r"^severe stage$"), WITH_CONDITION, STATES, lazy_pattern(r"\badvanced\b|\bend[- ]stage\b", re.I)),
    # Coma scale (R40.21- to R40.24-): when the score was taken, written with the score.
    (lazy_pattern(r"^in the field"), ANYWHERE, STATES, lazy_pattern(
        rf"\b{_GCS}\b[^.;]{{0,60}}\b(?:in the field|ems|paramedics?|ambulance|pre-?hospital|emt|on scene)\b"
        rf"|\b(?:in the field|ems|paramedics?|ambulance|pre-?hospital|emt|on scene)\b[^.;]{{0,60}}\b{_GCS}\b", re.I)),
    (lazy_pattern(r"^at arrival to emergency department$"), ANYWHERE, STATES, lazy_pattern(
        rf"\b{_GCS}\b[^.;]{{0,60}}\b(?:(?:on|upon|at) arrival|in the (?:ed|er|emergency (?:department|room)))\b"
        rf"|\b(?:(?:on|upon|at) arrival|in the (?:ed|er|emergency (?:department|room)))\b[^.;]{{0,60}}\b{_GCS}\b", re.I)),
    (lazy_pattern(r"^at hospital admission$"), ANYWHERE, STATES, lazy_pattern(
        rf"\b{_GCS}\b[^.;]{{0,60}}\b(?:on|upon|at) (?:hospital )?admission\b"
        rf"|\b(?:on|upon|at) (?:hospital )?admission\b[^.;]{{0,60}}\b{_GCS}\b", re.I)),
    (lazy_pattern(r"^24 hours or more after hospital admission$"), ANYWHERE, STATES, lazy_pattern(
        rf"\b{_GCS}\b[^.;]{{0,60}}\b(?:(?:24|36|48|72|\d{{3}}) hours (?:or more )?(?:after|post|following|since) "
        r"(?:hospital )?admission|hospital day (?:[2-9]|\d\d))\b", re.I)),
    # Chronic gout (M1A): tophi on examination; "no tophi" is without tophus.
    (lazy_pattern(r"^with tophus"), ANYWHERE, STATES, lazy_pattern(r"\btoph(?:us|i|aceous)\b", re.I)),
    (lazy_pattern(r"^without tophus"), ANYWHERE, STATES_NEGATED, lazy_pattern(r"\btoph(?:us|i|aceous)\b", re.I)),
    # Central retinal vein occlusion (H34.81-).
    (lazy_pattern(r"^with macular edema$"), ANYWHERE, STATES, lazy_pattern(r"\b(?:cystoid )?macular edema\b|\bCME\b")),
)

# The note talks about a stage without settling it.
_STAGE_HINT = lazy_pattern(r"\bstag(?:e|ed|ing)\b|\bgrade\b|\bseverity\b", re.I)
_MULTIPLE_GESTATION = lazy_pattern(
    r"\btwins?\b|\btriplets?\b|\bquadruplets?\b|\bmultiple (?:gestation|pregnancy)\b|\b(?:di|mono)chorionic\b"
    r"|\b(?:di|mono)amniotic\b|\b(?:di-di|mo-di|mo-mo)\b", re.I)
_SINGLE_GESTATION = lazy_pattern(
    r"\bsingleton\b|\bsingle (?:live )?(?:intrauterine )?(?:gestation|pregnancy|fetus|iup)\b", re.I)
_FETUS_NAMED = lazy_pattern(r"\b(?:fetus|twin|baby|triplet) ([a-e1-5])\b", re.I)
_EYE_SIDE = lazy_pattern(r"\b(right|left) eyes?\b|\bboth eyes\b|\b(OD|OS|OU)\b", re.I)
_EYE_LABEL = lazy_pattern(r"^\s*[-•*]?\s*(right eye|left eye|od|os|ou)\b\s*[:\-]", re.I)
# Where the words about one condition end: punctuation, a contrast, or "and" joining another condition.
_CLAUSE_BREAK = lazy_pattern(r"[,;:()]|\bbut\b|\bhowever\b|\band\b", re.I)


@dataclass
class ValueReading:
    """What the note states about a 7th character that is not an episode of care.

    ``documented``: the characters whose value the note states, each with the note's words
    and sentences; ``hints``: words that talk about the value without settling it;
    ``unspecified``: the definition's "unspecified" character, if it has one; ``axis``:
    what the character tells, read from the definition ("stage", "eye", "fetus", "time").
    """

    documented: dict[str, list[tuple[Sentence, str]]] = field(default_factory=dict)
    hints: list[tuple[Sentence, str]] = field(default_factory=list)
    unspecified: str | None = None
    axis: str = ""

    def settled(self) -> str | None:
        """The one character the note documents; the "unspecified" one when the note says
        nothing about the value; None when it hints or conflicts without settling (a query)."""
        if len(self.documented) == 1:
            return next(iter(self.documented))
        if self.documented or self.hints:
            return None
        return self.unspecified

    def _pairs(self, char: str | None) -> list[tuple[Sentence, str]]:
        if char is not None:
            return self.documented.get(char, [])
        return [p for v in self.documented.values() for p in v] + self.hints

    def sentences(self, char: str | None = None) -> list[Sentence]:
        return list(dict.fromkeys(s for s, _ in self._pairs(char)))

    def words(self, char: str | None = None) -> list[str]:
        return list(dict.fromkeys(w for _, w in self._pairs(char)))


def _value_slots(definition: dict[str, str], char: str) -> tuple[list[tuple[str, ...]], bool]:
    """The words that tell a value from the definition's other values, each with its
    parenthesised alternatives, and whether the value is "without" them:
    "with tophus (tophi)" -> ([("tophus", "tophi")], False); "mild stage" -> ([("mild",)], False);
    "with inactive scar" -> ([("inactive",), ("scar",)], False)."""
    text = _BRACKET.sub(" ", definition[char].lower())
    slots: list[list[str]] = []
    for piece in re.split(r"(\([^)]*\))", text):
        if piece.startswith("(") and slots:
            slots[-1].extend(_DEF_WORD.findall(piece))
        else:
            slots.extend([w] for w in _DEF_WORD.findall(piece))
    without = any(s[0] == "without" for s in slots)
    return [tuple(s) for s in slots if s[0] not in _VALUE_STOP], without


def _axis_of(definition: dict[str, str], unspecified: str | None) -> str:
    if unspecified is not None:
        nouns = [w for w in _DEF_WORD.findall(definition[unspecified].lower())
                 if w not in {"unspecified", "not", "applicable", "or"}]
        if nouns:
            return nouns[0]
    others = [set(_DEF_WORD.findall(d.lower())) for c, d in definition.items() if c != unspecified]
    common = set.intersection(*others) - _VALUE_STOP if others else set()
    return next(iter(common)) if len(common) == 1 else ""


def _eye_words(note: NoteDoc, sentence: Sentence, span: tuple[int, int] | None = None
               ) -> tuple[set[str], list[str]]:
    """Eyes a sentence is written for, and the words that say so: named in ``span`` of it (the
    words about the condition: "mild retinopathy OD, moderate OS"), else in it ("right eye",
    OD, "both eyes"), else the label of its line ("Right eye: ... Positive for hemorrhage.").
    OD/OS/OU count in capitals only."""
    def side(word: str) -> set[str]:
        word = word.lower()
        return {"right"} if word in ("right", "right eye", "od") else {"left"} if word in ("left", "left eye", "os") \
            else {"right", "left"}

    found = [m for m in _EYE_SIDE.finditer(sentence.text) if not (m.group(2) and not m.group(2).isupper())]
    if span is not None:
        found = [m for m in found if span[0] <= m.start() < span[1]] or found
    if found:
        return set().union(*(side(m.group(1) or m.group(2) or "both") for m in found)), [m.group() for m in found]
    line_start = note.text.rfind("\n", 0, sentence.start) + 1
    label = _EYE_LABEL.match(note.text[line_start:sentence.start + len(sentence.text)])
    return (side(label.group(1)), [label.group(1)]) if label else (set(), [])


def _eye_sides(note: NoteDoc, sentence: Sentence) -> set[str]:
    return _eye_words(note, sentence)[0]


def _coded_eye(description: str) -> str | None:
    text = description.lower()
    return "right" if "right eye" in text else "left" if "left eye" in text else None


def _near_condition(text: str, start: int, condition: frozenset[str] = frozenset()) -> tuple[int, int]:
    """The stretch of a sentence that speaks of the condition whose first word is at ``start``:
    its clause, and up to three clauses after it that are short tags ("Primary open-angle
    glaucoma, both eyes, moderate stage"; "Glaucoma: severe stage"). A clause that names the
    ``condition`` words again speaks of another instance ("mild retinopathy OD, proliferative
    retinopathy OS") and ends the stretch."""
    before = [m.end() for m in _CLAUSE_BREAK.finditer(text, 0, start)]
    left = before[-1] if before else 0
    brk = _CLAUSE_BREAK.search(text, start)
    right = brk.start() if brk else len(text)
    for _ in range(3):  # "glaucoma, both eyes, moderate stage": a few short tags after the condition
        if brk is None or brk.group().isalpha():  # after "and" or "but" another condition is spoken of
            break
        following = _CLAUSE_BREAK.search(text, brk.end())
        end = following.start() if following else len(text)
        tail = text[brk.end():end]
        if len(tail.split()) > 4 or condition & set(re.findall(r"[a-z]+", tail.lower())):
            break
        right, brk = end, following
    return left, right


def read_value(note: NoteDoc, definition: dict[str, str], description: str, mentions) -> ValueReading:
    """The value of a non-episode 7th character that the note states, read from the
    definition's own wording and the clinical findings that state it.

    ``mentions``: the coded condition's mentions (:func:`vma.checks.support.axes.evidence.condition_mentions`); only
    those that count (not negated, not uncertain, not history) carry the value's words.
    """

    reading = ValueReading()
    reading.unspecified = next((c for c, d in definition.items() if "unspecified" in d.lower()), None)
    reading.axis = _axis_of(definition, reading.unspecified)
    coded_eye = _coded_eye(description)
    counted = [m for m in mentions if m.counts]
    encounter = [s for s in note.sentences if s.section not in HISTORY_SECTIONS]
    values = {c: d.lower() for c, d in definition.items() if c != reading.unspecified}

    # the condition's own words, which a second instance of it repeats (sides and eyes do not)
    condition = frozenset(w for w in re.findall(r"[a-z]+", description.lower())
                          if len(w) >= 4 and w not in _GENERIC_WORDS and w not in ("eyes", "with", "without"))

    def near(m) -> tuple[int, int]:
        return _near_condition(m.sentence.text, m.words[m.first].start, condition)

    this_eye: dict[int, bool] = {}  # by sentence: each finding and value asks again of the same sentences

    def for_this_eye(sentence: Sentence) -> bool:
        if coded_eye is None:
            return True
        known = this_eye.get(id(sentence))
        if known is None:
            known = this_eye[id(sentence)] = not (sides := _eye_sides(note, sentence)) or coded_eye in sides
        return known

    def add(char: str, sentence: Sentence, words: str) -> None:
        pairs = reading.documented.setdefault(char, [])
        if (sentence, words) not in pairs:
            pairs.append((sentence, words))

    if values and set(values.values()) <= {"right eye", "left eye", "bilateral"}:
        # The 7th character is the eye (E08.32- ... E13.35-): the eyes written with the condition.
        sides: set[str] = set()
        cited = []
        for m in counted:
            found, words = _eye_words(note, m.sentence, near(m))
            sides |= found
            cited += [(m.sentence, w) for w in words]
        want = "bilateral" if sides == {"right", "left"} else f"{next(iter(sides))} eye" if sides else None
        char = next((c for c, d in values.items() if d == want), None)
        for s, w in cited if char else ():
            add(char, s, w)
        return reading

    if values and all("fetus" in d for d in values.values()):
        # 0 for a single gestation or an unidentified fetus; 1-9 name the fetus of a multiple gestation.
        multiple = [(s, m.group()) for s in encounter for m in [_MULTIPLE_GESTATION.search(s.text)] if m]
        if not multiple and reading.unspecified is not None:
            for s in encounter:
                single = _SINGLE_GESTATION.search(s.text)
                if single and not is_negated_at(s.text, single.start()):
                    add(reading.unspecified, s, s.text[single.start():single.end()])
        for m in counted if multiple else ():
            lo, hi = near(m)
            for f in _FETUS_NAMED.finditer(m.sentence.text, lo, hi):
                number = str("abcde".index(f.group(1).lower()) + 1) if f.group(1).isalpha() else f.group(1)
                char = next((c for c, d in values.items() if d == f"fetus {number}"), None)
                if char:
                    add(char, m.sentence, f.group())
        if multiple and not reading.documented:
            reading.hints = multiple
        return reading

    for char, text in values.items():
        slots, without = _value_slots(definition, char)
        # the definition's own words, standing with the condition
        for m in counted if slots else ():
            if not for_this_eye(m.sentence):
                continue
            lo, hi = near(m)
            close = [t for t in m.words if lo <= t.start < hi]
            at = [next((t for t in close if any(same_word(t.norm, a) for a in alts)), None) for alts in slots]
            if None in at:
                continue
            if is_negated_at(m.sentence.text, min(t.start for t in at)) != without:
                continue
            add(char, m.sentence, m.sentence.text[min(t.start for t in at):max(t.end for t in at)])
        # the clinical findings that state it
        for value_rx, scope, role, finding in _VALUE_FINDINGS:
            if not value_rx.search(text):
                continue
            if scope == WITH_CONDITION:
                pool = [(m.sentence, near(m)) for m in counted]
            else:  # only the sentences the finding's gate lets through can hold it
                passing = {id(s) for s in gated(note, lower_case_pattern(finding))}
                pool = [(s, (0, len(s.text))) for s in encounter if id(s) in passing]
            for s, (lo, hi) in pool:
                if not for_this_eye(s):
                    continue
                for f in lower_case_pattern(finding).finditer(s.text):
                    if not lo <= f.start() < hi:
                        continue
                    negated = is_negated_at(s.text, f.start())
                    if role == HINTS and not negated:
                        reading.hints.append((s, s.text[f.start():f.end()]))
                    elif negated == (role == STATES_NEGATED):  # "No tophi": quoted with its negation
                        begin = clause_bounds(s.text, f.start())[0] if negated else f.start()
                        add(char, s, s.text[begin:f.end()].strip())
    if not reading.documented and reading.axis == "stage":
        for m in counted:
            h = _STAGE_HINT.search(m.sentence.text)
            if h and for_this_eye(m.sentence):  # the clause that talks about the stage
                lo, hi = clause_bounds(m.sentence.text, h.start())
                reading.hints.append((m.sentence, m.sentence.text[lo:hi].strip().rstrip(".")))
    if reading.documented:
        reading.hints = []
    return reading


def settled_seventh(note: NoteDoc, release, base: str, mentions) -> str | None:
    """The 7th character of ``base`` the note settles (episode of care for an injury, the value
    of a stage, eye or fetus otherwise), or None. For a correction that leads to a code needing
    a 7th character, so that one suggestion carries it (vma.checks.support.refine)."""
    definition = release.seventh_character_definition(base) or {}
    if not definition:
        return None
    description = release.description(base) or ""
    if is_episode_definition(definition):
        ev = episode_evidence(note).about(description)
        episode = ev.episode()
        return seventh_for(definition, episode, ev) if episode else None
    return read_value(note, definition, description, mentions).settled()
