"""New or established patient (AMA CPT E/M guidelines: professional services from the same physician, or another of the exact same specialty and subspecialty in the same group, within the past three years): what the note says of a prior visit."""

from __future__ import annotations

import re
from dataclasses import dataclass

from vma.checks import CheckContext
from vma.checks.support.notes.document import NoteDoc, Sentence
from vma.checks.support.notes.patterns import LowerCasePattern, _folds_onto_ascii, lazy_pattern
from vma.checks.support.notes.words import is_negated_at
from vma.checks.support.scan import JoinedTexts


@dataclass(frozen=True)
class VisitLevel:
    code: str
    family: str  # "new" or "established"
    rank: int  # 0 for 99211 (no MDM or time), else the MDM rank 1..4
    minutes: int | None


# -- new or established -------------------------------------------------------------
#
# CPT E/M guidelines: a new patient has received no professional services from the physician, or from another
# physician of the exact same specialty and subspecialty in the same group practice, within the past three years.
# A note that records an earlier visit with this physician or practice ("since I last saw her", "the dose was
# increased at her last visit", "returns for follow-up") documents an established patient; a visit with another
# provider or facility ("her last visit with her cardiologist", "was seen in the ER") does not.

# This physician (first person) saw or has been following the patient. Per CPT the place of that earlier service
# does not matter: the same physician seeing the patient in a hospital makes the patient established.
# "I saw her" also opens a teaching physician's attestation of today's visit: it speaks of an earlier visit only
# with a word that places it in the past ("3 months ago", "since I last saw her", "in March").
_FIRST_PERSON_SAW = lazy_pattern(
    r"\b(?:i|we)\s+(?:have\s+|had\s+|'ve\s+)?(?:last\s+|previously\s+|first\s+|also\s+)?(?:saw|seen|treated|met)\s+"
    r"(?:him|her|them|the patient|this patient|mr\.?\s+\w+|ms\.?\s+\w+|mrs\.?\s+\w+)\b", re.I)
_PAST_ANCHOR = lazy_pattern(
    r"\b(?:ago|last|since|before|previously|prior|earlier|in the past|back in|(?:in|on|during) (?:january|february|"
    r"march|april|may|june|july|august|september|october|november|december)|(?:19|20)\d\d|\d{1,2}/\d{1,2})\b", re.I)
_FIRST_PERSON_PRIOR = lazy_pattern(
    r"\b(?:i|we)\s*(?:have|'ve|had)\s+been\s+(?:following|seeing|treating|managing|caring for)\b|"
    r"\bknown to (?:me|us|our (?:practice|clinic|office)|this (?:practice|clinic|office))\b|"
    r"\b(?:my|our) (?:established|longtime|long-standing) patient\b|\bpatient of (?:mine|ours)\b|"
    r"\bpreviously (?:seen|evaluated|treated) (?:by me|by us|here|in (?:our|this) (?:clinic|office|practice))\b|"
    r"\bseen (?:here|by me|by us|in (?:our|this) (?:clinic|office|practice)) (?:before|previously|in the past|last)\b|"
    r"\b(?:my|our) (?:last|previous|prior) (?:note|visit|exam|examination|evaluation|encounter)\b|"
    r"\bseen by my (?:partner|colleague)\b|"
    # An earlier visit "with me", or a service this physician gave, placed in the past by a date or an interval
    # in the same clause ("her annual physical with me in May", "the lisinopril which I started in March"):
    # without that anchor "I started lisinopril" is today's plan.
    r"(?:\b(?:visit|physical|exam|examination|appointment|check-?up|consultation|evaluation)s? with (?:me|us)|"
    r"\b(?:i|we)\s+(?:had\s+|have\s+|'ve\s+|previously\s+|first\s+)?(?:started|prescribed|ordered|diagnosed|"
    r"referred|injected|treated|operated)\b)[^.;]{0,60}?\b(?:\d+\s+(?:days?|weeks?|months?|years?)\s+ago|"
    r"last\s+(?:week|month|year|spring|summer|fall|autumn|winter)|(?:back\s+)?(?:in|on|during)\s+(?:january|"
    r"february|march|april|may|june|july|august|september|october|november|december)|in\s+(?:19|20)\d\d|"
    r"on\s+\d{1,2}/\d{1,2})\b", re.I)
# An earlier visit named without saying with whom: this practice, unless the sentence names other care.
_EARLIER_VISIT = lazy_pattern(
    r"\b(?:her|his|their|the patient's|the|your|this patient's)\s+(?:last|previous|prior|most recent)\s+"
    r"(?:office\s+|clinic\s+|follow[- ]?up\s+)?(?:visit|appointment|encounter)\b|"
    r"\bsince (?:the )?last (?:visit|appointment)\b|\bat (?:the )?last (?:visit|appointment)\b|"
    r"\b(?:since|at|during|after) (?:her|his|their|the|your) (?:first|initial) (?:office )?(?:visit|appointment)\b|"
    r"\b(?:was|were)\s+last\s+seen\b|\blast seen (?:here|in (?:this|our|the) (?:clinic|office))\b|"
    r"\b(?:returns|returned|is returning|comes back|came back|is back|presents back)\b(?:\s+(?:today|here|again|"
    r"to (?:the |our |this )?(?:clinic|office)))*\s+(?:for|in|with)\s+(?:(?:a|an|her|his|their|the|scheduled|routine)"
    r"\s+)*(?:\d+[- ](?:week|month|day|year)\s+|(?:short[- ]term|postoperative|post-?op|interval)\s+)?"
    r"(?:follow[- ]?up|recheck|re-?check|re-?evaluation|reassessment|check[- ]?up)\b|"
    r"\b(?:returns|returned) to (?:the |our |this )?(?:clinic|office)\b|\breturn visit\b", re.I)
# Here "for follow-up" (weaker: a new patient may come to follow up care given elsewhere).
_FOLLOW_UP_VISIT = lazy_pattern(
    r"\b(?:presents?|presenting|here|seen|is in|comes in|coming in|came in)\b[^.;]{0,30}?\bfor (?:(?:a|an|her|his|"
    r"their|the|scheduled|routine|regular)\s+)*(?:\d+[- ](?:week|month|day|year)\s+|(?:short[- ]term|postoperative|"
    r"post-?op|interval)\s+)?follow[- ]?up\b|^follow[- ]?up\b", re.I)
# The same practice, set aside before looking for other care in the sentence.
_THIS_PRACTICE = lazy_pattern(
    r"\b(?:our|this|my)\s+(?:[a-z-]+\s){0,2}?(?:clinic|office|practice|group|team|partner|colleague|physician "
    r"assistant|nurse practitioner|pa|np|nurse|department)\b|\bwith (?:me|us)\b|\bby (?:me|us)\b", re.I)
_OTHER_CARE = lazy_pattern(
    r"\b(?:[a-z]+ologist|[a-z]+iatrist|surgeon|pcp|primary care|doctor|physician|provider|practitioner|dentist|"
    r"therapist|chiropractor|specialist|optometrist|midwife|(?:[a-z]+ )?(?:ology|ics) (?:clinic|department)|"
    r"cardiology|neurology|nephrology|urology|oncology|dermatology|gastroenterology|pulmonology|endocrinology|"
    r"rheumatology|orthopedics|ophthalmology|psychiatry|er|ed|emergency (?:room|department)|urgent care|"
    r"hospital|walk-in|another (?:clinic|office|practice|facility)|outside (?:clinic|office|practice|facility)|"
    r"(?:his|her|their) (?:[a-z-]+ )?(?:clinic|office)|(?:with|at|to) (?:physical therapy|occupational therapy|pt|rehab|the lab))\b", re.I)
# What every match of _OTHER_CARE holds in lower-cased text, branch by branch: "...ologist", "...iatrist", each
# provider named ("therap" of therapist, physical and occupational therapy), "...ology|ics clinic|department", each
# specialty named (all but orthopedics and psychiatry end in "ology"), "er", "ed" and "pt" as words, "emergency
# ...", "urgent care", "hospital", "walk-in", "another|outside clinic|office|practice|facility", "his|her|their
# (...) clinic|office", "with|at|to ... rehab|the lab". With re.I the pattern runs its [a-z]+ branches from every
# word of a sentence, many times the cost of this search; most sentences hold none of these.
_OTHER_CARE_WORDS = lazy_pattern(
    r"ologist|iatrist|surgeon|pcp|primary care|doctor|physician|provider|practitioner|dentist|therap|chiropractor|"
    r"specialist|optometrist|midwife|clinic|department|ology|orthopedics|psychiatry|\b(?:er|ed|pt)\b|emergency|"
    r"urgent care|hospital|walk-in|office|practice|facility|rehab|the lab")
_DOCTOR_NAME = lazy_pattern(r"\b(?:[Dd]r|DR)\.?\s+([A-Z][a-zA-Z'-]+)")
_NEW_PATIENT_STATEMENT = lazy_pattern(
    r"\bnew patient\b|\bestablish(?:ing)? (?:care|as a patient)\b|\bto establish (?:care|with (?:me|us|our|this|a new)|as a (?:new )?patient)\b|\bfirst (?:visit|time|"
    r"appointment|encounter) (?:here|with (?:me|us|our|this)|in (?:our|this))\b|\b(?:has not|hasn't|have not|"
    r"haven't|never) (?:been )?(?:seen|evaluated|treated) (?:her|him|them|the patient )?(?:here|by me|by us|"
    r"before|in (?:our|this))|\bnew to (?:me|us|(?:our|this|the) (?:practice|clinic|office|group))\b|"
    r"\b(?:this is (?:an|her|his|the patient's|the)|for (?:an?|her|his)|presents for (?:an?|her|his)) "
    r"(?:initial|first) (?:visit|consultation|consult|evaluation|appointment)\b", re.I)
_REFERRAL = lazy_pattern(r"\breferred\b|\breferral from\b|\bfor (?:a )?(?:second opinion|consultation)\b", re.I)
_YEARS_AGO = lazy_pattern(
    r"\b(\d+|three|four|five|six|seven|eight|nine|ten|several|many)\s+(?:\+\s*)?years?\s+ago\b|"
    r"\b(?:over|more than)\s+(\d+|three|four|five|six|seven|eight|nine|ten|several|many)\s+years\b|"
    r"\bin\s+((?:19|20)\d\d)\b", re.I)
_TODAY = lazy_pattern(r"\b(?:today|this (?:morning|afternoon|evening))\b", re.I)
_NUMBER_WORDS = {"three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
                 "several": 3, "many": 3}
_CREDENTIALS = {"md", "do", "np", "pa", "pac", "rn", "dnp", "facs", "facp", "phd", "mbbs", "jr", "sr", "ii", "iii",
                "aprn", "fnp", "crnp", "mph", "od", "dpm", "dr"}
# Sections that do not tell the patient's history with this practice (other people's history, findings).
_VISIT_HISTORY_SECTIONS = {"family", "social", "allergies", "ros", "exam"}
# Where a note says why the patient is here today ("presents for follow-up of ...").
_PRESENTING_SECTIONS = {"chief_complaint", "hpi", "preamble", "assessment"}


_FIRST_PERSON_SAW = LowerCasePattern(_FIRST_PERSON_SAW)
_FIRST_PERSON_PRIOR = LowerCasePattern(_FIRST_PERSON_PRIOR)
_EARLIER_VISIT = LowerCasePattern(_EARLIER_VISIT)
_FOLLOW_UP_VISIT = LowerCasePattern(_FOLLOW_UP_VISIT)
_NEW_PATIENT_STATEMENT = LowerCasePattern(_NEW_PATIENT_STATEMENT)
_PRIOR_STATEMENTS = (_FIRST_PERSON_SAW, _FIRST_PERSON_PRIOR, _EARLIER_VISIT, _FOLLOW_UP_VISIT)


# The literals one of which every match of each pattern holds in lower-cased text, written out branch by branch
# (the gates derived from the patterns settle for short common words: " with ", " patient"). A sentence holding
# none of a pattern's literals has no match of it, so only the others are tried. Each literal is one scan of the
# note's sentences, made once however many patterns name it: a branch is given a literal another pattern needs
# anyway where one is rarer than the several it would need of its own.
_LITERALS: dict[LowerCasePattern, tuple[str, ...]] = {
    # "new patient"; "establish(ing) care|as a patient", "to establish ..."; "first visit|time|... here|with ...";
    # "has not|hasn't|have not|haven't|never (been) seen|evaluated|treated ..."; "new to ..."; "... initial|first
    # visit|consultation|...".
    _NEW_PATIENT_STATEMENT: ("new patient", "establish", "first", "seen", "evaluated", "treated", "new to ",
                             "initial"),
    # "i|we ... saw|seen|treated|met him|her|...".
    _FIRST_PERSON_SAW: ("saw", "seen", "treated", "met"),
    # "... been following|seeing|treating|managing|caring for"; "known to ..."; "my|our established|longtime|
    # long-standing patient"; "patient of ..."; "previously seen|evaluated|treated ..."; "seen here|by me|by us|in
    # our|in this ...", "seen by my ..."; "my|our last|previous|prior ..."; "... with me|us" or "i|we ...
    # started|prescribed|ordered|diagnosed|referred|injected|treated|operated", then a date.
    _FIRST_PERSON_PRIOR: (
        "following", "seeing", "treating", "managing", "caring for",
        "known to ",
        "establish", "longtime patient", "long-standing patient",
        "patient of ",
        "previous",
        "seen",
        "my last", "our last", "my prior", "our prior",
        " with me", " with us",
        "started", "prescribed", "ordered", "diagnosed", "referred", "injected", "treated", "operated",
    ),
    # "... last|previous|prior|most recent (...) visit|appointment|encounter"; "since|at (the) last visit|
    # appointment"; "since|at|during|after ... first|initial (office) visit|appointment"; "was|were last seen",
    # "last seen here|in ..."; "returns|returned|is returning|comes back|came back|is back|presents back ...
    # follow-up|..."; "returns|returned to ..."; "return visit".
    _EARLIER_VISIT: ("visit", "appointment", "encounter", "last", "return", "comes back", "came back", "is back",
                     "presents back"),
    _FOLLOW_UP_VISIT: ("follow",),
}

_TITLES = (" dr.", " mr.", " mrs.", " ms.", " st.", " dr", " mr", " mrs", " ms")
# The only endings whose lower case ends as a title does: a title ends in "r", "s" or a dot after "r", "s" or "t",
# and only those letters, in either case, lower-case into them. A sentence ending in none of them ends in no title,
# and most sentences are turned away without lower-casing their end.
_TITLE_ENDS = ("r", "R", "s", "S", "r.", "R.", "s.", "S.", "t.", "T.")


def _whole_sentences(note: NoteDoc) -> tuple[list[Sentence], set[int]]:
    """The note's sentences that can tell its history with the practice, with a title's dot mended: "Her last
    visit with Dr." + "Nguyen was in March." is one sentence here, so the name stays beside the visit. With
    them, the ids of the mended ones (new text, not sentences of the note)."""
    kept = [s for s in note.sentences if s.section not in _VISIT_HISTORY_SECTIONS]
    # Only a sentence of the note can start a mending (a mended one ends as the note's sentence it took in does),
    # and only one followed by another: where none ends in a title, as in most notes, nothing is mended.
    if not any(s.text.endswith(_TITLE_ENDS) and f" {s.text[-5:].lower()}".endswith(_TITLES) for s in kept[:-1]):
        return kept, set()
    out: list[Sentence] = []
    mended: set[int] = set()
    for s in kept:
        prev = out[-1] if out else None
        if prev is not None and prev.section == s.section and prev.text.endswith(_TITLE_ENDS) \
                and f" {prev.text[-5:].lower()}".endswith(_TITLES):
            mended.discard(id(prev))
            out[-1] = Sentence(f"{prev.text} {s.text}", s.section, prev.start)
            mended.add(id(out[-1]))
        else:
            out.append(s)
    return out, mended


def _provider_names(ctx: CheckContext) -> set[str]:
    names = set()
    for name in (ctx.chart.provider.name if ctx.chart.provider else None,
                 ctx.chart.signature.signed_by if ctx.chart.signature else None):
        names.update(w for w in re.findall(r"[a-z'-]{2,}", (name or "").lower()) if w not in _CREDENTIALS)
    return names


def _three_years_or_more(text: str, service_year: int | None) -> bool:
    """The sentence dates the earlier visit three or more years back (CPT's look-back window)."""
    for m in _YEARS_AGO.finditer(text):
        count, over, year = m.groups()
        raw = (count or over or "").lower()
        if raw:
            years = int(raw) if raw.isdigit() else _NUMBER_WORDS.get(raw, 0)
            if years >= 3:
                return True
        elif year and service_year is not None and service_year - int(year) >= 3:
            return True
    return False


_SAME_GROUP = lazy_pattern(r"\b(?:my|our) (?:partners?|colleagues?|associates?)\b", re.I)


def _names_other_doctor(text: str, own_names: set[str]) -> bool:
    """A physician named in the sentence who is neither this provider nor introduced as a partner in the group."""
    for m in _DOCTOR_NAME.finditer(text):
        if m.group(1).lower() in own_names:
            continue
        if _SAME_GROUP.search(text[max(0, m.start() - 30):m.end() + 25]):
            continue
        return True
    return False


def _names_other_care(text: str, own_names: set[str]) -> bool:
    """The sentence names another provider or facility (this practice's own words set aside)."""
    if _names_other_doctor(text, own_names):
        return True
    rest = _THIS_PRACTICE.sub(" ", _DOCTOR_NAME.sub(" ", text))
    if not _folds_onto_ascii(rest):
        lowered = rest.lower()
        # Without the characters re.I folds onto ASCII letters, a match with re.I is one of the same letters in
        # the lower-cased text (see notes.patterns): where none of its words stands, there is none.
        if len(lowered) == len(rest) and _OTHER_CARE_WORDS.search(lowered) is None:
            return False
    return _OTHER_CARE.search(rest) is not None


def _with_previous(sentences: list[Sentence], i: int) -> str:
    """"She saw Dr. Nguyen in May. At the last visit he raised the dose.": the visit named without saying with
    whom is read with the sentence before it, in the same section."""
    text = sentences[i].text
    return f"{sentences[i - 1].text} {text}" if i and sentences[i - 1].section == sentences[i].section else text


# The literals of the statements read first, each with the statements that name it.
_STATEMENTS_NAMING: dict[str, list[LowerCasePattern]] = {}
for _rx in _PRIOR_STATEMENTS:
    for _literal in _LITERALS[_rx]:
        _STATEMENTS_NAMING.setdefault(_literal, []).append(_rx)
del _rx, _literal
_PRIOR_LITERALS = tuple(_STATEMENTS_NAMING)


def _tried(literals: JoinedTexts) -> dict[LowerCasePattern, set[int]]:
    """For each statement read first, ``literals.holding`` of its literals: the texts holding one of them. Most
    literals stand in none of the texts: each is looked for once, in one pass over them all, and only those found
    are placed and given to the statements that name them (a literal two statements name is placed once)."""
    if literals.text is None:
        return {rx: literals.holding(_LITERALS[rx]) for rx in _PRIOR_STATEMENTS}  # every text, for each
    tried: dict[LowerCasePattern, set[int]] = {rx: set() for rx in _PRIOR_STATEMENTS}
    text = literals.text
    for literal in [literal for literal in _PRIOR_LITERALS if literal in text]:
        held = literals.places(literal)
        for rx in _STATEMENTS_NAMING[literal]:
            tried[rx] |= held
    return tried


def _gate_opens(rx: LowerCasePattern, text: str, note: NoteDoc) -> bool:
    """Whether the pattern's gate finds something in the note's lower-cased text. The gate is an alternation of
    literals and nothing else, searched without flags, and each of its literals holds one of ``gate_literals``: it
    finds something exactly where one of those stands, which str's search tells without sre trying the
    alternation at every place of the note. Those in the matched sentence are looked for first, as those most
    likely found early; the answer is the same in any order."""
    literals = rx.gate_literals
    if literals is None:
        return True
    lowered = text.lower()
    note_text = note.text.lower()
    return any(literal in note_text for literal in sorted(literals, key=lambda literal: literal not in lowered))


@dataclass(frozen=True)
class PriorVisit:
    sentence: Sentence
    strong: bool  # first person, or an earlier visit named outright; weak: "here for follow-up"


def prior_visit(ctx: CheckContext, note: NoteDoc) -> PriorVisit | None:
    """The sentence that documents an earlier professional service by this physician or practice within three
    years, or None. A note that also calls the patient new, or (for the weaker "here for follow-up") says the
    patient was referred, does not decide it."""
    sentences, _ = _whole_sentences(note)
    # A sentence holding none of a pattern's literals has no match of it; a mended sentence is read whole.
    literals = JoinedTexts([s.text for s in sentences])
    tried = _tried(literals)
    in_note: dict[LowerCasePattern, bool] = {}

    def found(rx: LowerCasePattern, i: int) -> re.Match[str] | None:
        """The pattern's match in the sentence, if the note holds a literal of its gate. A pattern is read only in
        such notes, which a mended sentence or a letter whose lower case is longer could otherwise elude; the note
        is searched for the literal only once a sentence matches, which few do."""
        if i not in tried[rx]:
            return None
        text = sentences[i].text
        # (the sentences tried hold a literal of the pattern's own list, most often one of its gate's too)
        m = rx.search_past_gate(text)
        if m is not None and rx not in in_note:
            in_note[rx] = _gate_opens(rx, text, note)
        return m if m is not None and in_note[rx] else None

    def called_new() -> bool:
        """Whether the note calls the patient new, which undoes any earlier visit it documents: asked only of a
        note that documents one (few do), the answer being None either way for the others."""
        tried[_NEW_PATIENT_STATEMENT] = literals.holding(_LITERALS[_NEW_PATIENT_STATEMENT])
        for i in sorted(tried[_NEW_PATIENT_STATEMENT]):
            m = found(_NEW_PATIENT_STATEMENT, i)
            if m and not is_negated_at(sentences[i].text, m.start()):
                return True
        return False

    tried_any = set().union(*tried.values())
    if not tried_any:
        return None
    names: set[str] | None = None

    def own() -> set[str]:  # read only for a sentence a statement matches, which few notes have
        nonlocal names
        if names is None:
            names = _provider_names(ctx)
        return names

    dos = ctx.chart.encounter.date_of_service or ""
    service_year = int(dos[:4]) if dos[:4].isdigit() else None
    strong = weak = None
    for i in sorted(tried_any):
        s = sentences[i]
        text = s.text
        m = found(_FIRST_PERSON_SAW, i)
        if m is not None and not (_PAST_ANCHOR.search(text) and not _TODAY.search(text[m.end():m.end() + 40])):
            m = None  # today's visit ("I saw and examined her today"), not an earlier one
        m = m or found(_FIRST_PERSON_PRIOR, i)
        if m and not is_negated_at(text, m.start()) and not _names_other_doctor(text, own()) \
                and not _three_years_or_more(text, service_year):
            strong = s
            break  # the first strong sentence decides, whatever the others say
        m = found(_EARLIER_VISIT, i)
        if m and not is_negated_at(text, m.start()) and not _names_other_care(_with_previous(sentences, i), own()) \
                and not _three_years_or_more(text, service_year):
            strong = s
            break
        m = found(_FOLLOW_UP_VISIT, i) if s.section in _PRESENTING_SECTIONS else None
        if m and not is_negated_at(text, m.start()) and not _names_other_care(_with_previous(sentences, i), own()) \
                and not _three_years_or_more(text, service_year):
            weak = weak or s
    if strong is not None:
        return None if called_new() else PriorVisit(strong, True)
    if weak is not None and not any(_REFERRAL.search(s.text) for s in sentences) and not called_new():
        return PriorVisit(weak, False)
    return None


def _family(ctx: CheckContext, billed: VisitLevel) -> tuple[str, PriorVisit | None]:
    """The patient's family for the visit code: the encounter's status, unless the note documents an earlier
    visit with this practice (then established), with that evidence."""
    family = ctx.chart.encounter.patient_status or billed.family
    if family == "new":
        prior = prior_visit(ctx, ctx.note)
        if prior is not None:
            return "established", prior
    return family, None
