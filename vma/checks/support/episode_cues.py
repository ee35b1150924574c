"""The statements a note makes about an injury's episode of care, as patterns by kind of statement: the
injury's onset, a first evaluation, the injury event, active treatment, work-up, treatment begun, earlier
care, routine care after treatment, a follow-up visit, status post, sequela and onset long ago (Guideline
I.C.19.a; see :mod:`vma.checks.support.episode`, which reads them). Each kind comes with the words a
lower-cased sentence must hold for its pattern to match, so that most sentences are never searched."""

from __future__ import annotations

import re

from vma.checks.support.notes.patterns import lazy_pattern

INITIAL, SUBSEQUENT, SEQUELA = "initial", "subsequent", "sequela"
# Kinds of statement besides the three episodes (keys of _EPISODE_CUES).
ACTIVE = "active"  # immobilisation or a procedure at this encounter
FIRST_SEEN = "first seen"  # onset weeks ago, first/initial evaluation, "presents for evaluation of"
EVENT = "injury event"  # the history tells how the injury happened
WORKUP = "work-up"  # imaging taken, reviewed or ordered at this encounter
TREATMENT = "treatment begun"  # prescription, therapy referral, injection at this encounter
PRIOR = "earlier treatment"  # care for the injury before this visit, elsewhere or earlier
LONG_AGO = "onset long ago"  # months or years ago, a calendar year
_FOLLOW_UP_VISIT = "follow-up visit"  # merged into SUBSEQUENT unless the sentence plans future care
_STATUS_POST = "status post"  # merged into SUBSEQUENT unless the sentence dates it years back
_WOUND_CARE = "wound care"  # merged into ACTIVE when written where this encounter's care is

_NUM = r"(?:\d+(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|a few|few|several|a couple of|a|an)"
_IMAGING = (r"(?:x-?rays?|radiographs?|films|imaging|mri|ct(?: scan)?|cat scan|ultrasound|sonogram"
            r"|(?:\d+|two|three|four) views)")

_EPISODE_CUES: dict[str, re.Pattern[str]] = {
    # A new injury: onset in hours or days.
    INITIAL: lazy_pattern(
        rf"\b{_NUM}\s+(?:hours?|days?)\s+(?:ago|after (?:he|she|they|the|an?|his|her|their|being)\b)|\byesterday\b|\blast night\b|\bthis morning\b|\bearlier today\b"
        r"|\bover the weekend\b|\bthis past weekend\b|\bnew injury\b|\bacute injury\b|\bjust (?:fell|injured)\b", re.I),
    # Signs of a first evaluation that do not alone settle the episode: the guideline looks at
    # treatment, not at whether this provider sees the patient for the first time.
    FIRST_SEEN: lazy_pattern(
        rf"\b{_NUM}\s+weeks?\s+ago\b|\blast week\b|\binitial (?:visit|evaluation|encounter|consultation)\b"
        r"|(?<!at his )(?<!at her )(?<!at their )(?<!at the )\bfirst (?:visit|evaluation)\b(?! (?:on|in) \d)"
        r"|\bnew patient\b|\bnew to (?:our|this|the) (?:practice|clinic|office)\b"
        r"|\bpresents?(?: \w+){0,5} for (?:an? |the )?(?:initial )?evaluation of\b"
        r"|\bhas not (?:yet )?been (?:seen|evaluated|treated)\b", re.I),
    # How the injury happened, told in the history.
    EVENT: lazy_pattern(
        r"\b(?:fell|tripped|slipped|twisted|collided|whiplash|landed on|felt a pop)\b"
        r"|\bfall(?:ing)? (?:off|from|down|on|onto)\b|\brolled (?:his|her|their|the) \w+"
        r"|\bwas (?:hit|struck|kicked|tackled|bitten|rear-ended)\b|\bhit (?:his|her|their) \w+"
        r"|\b(?:motor vehicle|car|bike|bicycle|motorcycle) (?:accident|collision|crash)\b|\bmv[ac]\b"
        r"|\binjured (?:his|her|their)\b|\bsustained (?:\w+ ){0,3}(?:injury|fracture|laceration|burn)\b", re.I),
    # Active treatment (Guideline I.C.19.a: surgical treatment, emergency department encounter,
    # evaluation and continuing treatment by the same or a different physician).
    ACTIVE: lazy_pattern(
        r"\bsplint(?:ed|ing)?\b|\bair ?cast\b|\bcrutch(?:es)?\b|\bsling\b|\b(?:walking|cam) boot\b"
        r"|\bimmobiliz\w*|\bclosed reduction\b|\bopen reduction\b|\b(?:fracture|dislocation|joint|it) (?:was|were|has been) "
        r"(?:successfully )?reduced\b|\borif\b|\bsurgical repair\b|\bsutur\w*"
        r"|\blaceration repair\b|\bdebridement\b|\bemergency (?:department|room)\b"
        r"|\bplaced (?:in|into) (?:a |an )?(?:short |long )?(?:arm |leg )?cast\b|\bcast (?:was )?(?:applied|placed)\b",
        re.I),
    # Care of a fresh wound or sprain at this visit, active treatment where the plan or procedure records it.
    _WOUND_CARE: lazy_pattern(
        r"\birrigat\w*|\b(?:wounds?|lacerations?|bites?) (?:was|were) (?:cleaned|cleansed|dressed|explored|closed)\b"
        r"|\bsteri-?strips?\b|\bwound closure\b|\b(?:ace|elastic|compression) (?:wrap|bandage|sleeve|stocking)s?\b"
        r"|\btetanus (?:booster|toxoid|vaccine|shot|immunization|immune globulin) (?:was |is )?(?:given|administered|updated)\b"
        r"|\b(?:tdap|td) (?:was |is )?(?:given|administered)\b|\brabies (?:vaccine|immune globulin|prophylaxis)\b",
        re.I),
    WORKUP: lazy_pattern(
        rf"\b{_IMAGING}\b(?:,? [\w'-]+){{0,6}},? (?:were|was|are|is|have been|has been) (?:taken|obtained|performed|reviewed|done"
        r"|ordered)\b"
        rf"|\b(?:order\w*|obtain\w*|get|request\w*)(?: \w+){{0,2}} {_IMAGING}"
        rf"|\b{_IMAGING}\b(?:,? [\w'-]+){{0,6}},? (?:reveal\w*|show\w*|demonstrat\w*|(?:is|are|was|were) (?:normal|negative"
        r"|unremarkable))\b"
        rf"|\b{_IMAGING}(?: of the [\w ]{{1,20}}?)?:? (?:negative|normal|unremarkable|without fracture|no fracture)\b"
        r"|\breview\w*(?: [\w'-]+){0,5} (?:x-?rays?|radiographs?|imaging|mri|ct)\b|\bradiographic (?:findings|results)\b",
        re.I),
    TREATMENT: lazy_pattern(
        r"\bprescri(?:bed|ption|be|bing)\b"
        r"|\b(?:start\w*|begin\w*|initiat\w*|recommend\w*|take|taking|given|gave)(?: [\w-]+){0,4} \d+(?:\.\d+)? ?"
        r"(?:mg|mcg|g|ml|units?)\b"
        r"|\brefer\w*(?: \w+){0,4} (?:to|for) (?:\w+ ){0,2}(?:physical|occupational|hand) therapy\b"
        r"|\b(?:start\w*|begin\w*|initiat\w*|recommend\w*|order\w*)(?: \w+){0,3} (?:physical|occupational) therapy\b"
        r"|\b(?:physical|occupational) therapy (?:referral|consult\w*)\b"
        r"|\brefer\w*(?: \w+){0,4} to (?:\w+ ){0,2}(?:physical rehab\w*|chiropract\w*)"
        r"|\binject(?:ed|ions?)\b"
        # a drug and its dose, the plan's shorthand for starting it ("Ibuprofen 600 mg", "Amoxicillin-clavulanate
        # 875/125 mg twice daily"); read only where this encounter's plan is written
        r"|\b[a-z][a-z]{3,}(?:[-/][a-z]{3,})? \d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)? ?(?:mg|mcg|g|units?)\b", re.I),
    # Care for the injury before this visit.
    PRIOR: lazy_pattern(
        r"\b(?:was|were|had been) (?:seen|evaluated|treated|examined)(?: [\w-]+){0,6} (?:in|at|by) (?:the |an |a |his |her "
        r"|their )?(?:emergency|ed|er|urgent care|outside|another|other|orthop\w*|pcp|primary|walk-in|(?:\w+ )?hospital"
        r"|(?:pain|walk-in|outside|orthopedic|sports medicine) clinic)\b"
        r"|\b(?:was|were|had been) (?:splinted|casted|immobilized|taken to surgery|placed in (?:a |an )?(?:\w+ )?"
        r"(?:splint|cast|sling|boot|brace))\b"
        r"|\b(?:underwent|had undergone)\b"
        r"|\b(?:had|has had) (?:an? |the |his |her |their )?(?:\w+ )?(?:surgery|orif|open reduction|closed reduction"
        r"|fixation|operation|pinning|surgical repair)\b"
        r"|\bpreviously (?:seen|treated|evaluated|splinted|casted)\b|\b(?:was|were|had been) treated with\b"
        r"|\b(?:at|in|by) (?:an? )?(?:outside|another|other) (?:hospital|facility|institution|surgeon|practice)\b"
        r"|\b(?:went|was taken|was brought) to (?:the |an )?(?:emergency|ed|er|urgent care)\b", re.I),
    # Care after active treatment while the injury heals.
    SUBSEQUENT: lazy_pattern(
        r"\broutine healing\b|\bhealing (?:well|appropriately|as expected|nicely|normally|in (?:good|anatomic|acceptable) "
        r"(?:alignment|position))\b|\b(?:is|are|remains?) healing\b|\bhealing (?:fracture|wound|laceration|burn)\b"
        r"|\binterval healing\b|\b(?:bridging|interval|early|abundant|fracture|periosteal) callus\b|\bcallus formation\b"
        rf"|\b{_IMAGING}\b(?: [\w'-]+){{0,6}} (?:show\w*|reveal\w*|demonstrat\w*)(?: [\w'-]+){{0,4}} (?:healing|callus"
        r"|union|consolidation)\b"
        r"|\bsubsequent (?:visit|encounter)\b"
        r"|\bpost-?op(?:erative)? (?:visit|check|day|follow[- ]?up|appointment|week)\b|\b\d+ (?:days?|weeks?|months?) post-?op\b"
        r"|\b(?:\d+|one|two|three|four|five|six|eight|ten|twelve) (?:days?|weeks?|months?) (?:out )?(?:from|after|since|post) "
        r"(?:the |his |her |their )?(?:injury|surgery|fracture|orif|repair|reduction|casting)\b", re.I),
    # The visit itself is the follow-up (a plan to follow up is future care: see _FUTURE).
    _FOLLOW_UP_VISIT: lazy_pattern(
        r"\b(?:here|presents?|presenting|returns?|returning|seen|comes? (?:in|back)|is in|is back|back)(?: today| again"
        r"| to (?:the |our )?(?:clinic|office))? for (?:a |an |his |her |their |the )?(?:routine |scheduled )?"
        r"(?:follow[- ]?up|recheck|re-?check|re-?evaluation|post-?op(?:erative)? (?:visit|check|appointment))\b"
        r"|\bfollow[- ]?up (?:visit )?(?:of|for|on) (?:his |her |the |their )?(?:[\w-]+ ){0,3}"
        r"(?:fracture|sprain|strain|injury|burn|laceration|dislocation|wound)"
        r"|\b(?:fracture|sprain|strain|injury|burn|laceration|dislocation|wound|post-?op(?:erative)?) follow[- ]?up\b"
        r"|\b(?:cast|splint|sutures?|staples?|pins?|hardware|fixator) (?:was |were |is |are |has been |have been )?"
        r"(?:removed|taken off|discontinued|changed)\b"
        r"|\b(?:cast|splint|suture|staple|pin|hardware) (?:removal|change)\b"
        r"|\bremov(?:ed|al of) (?:the |his |her |their )?(?:cast|splint|sutures?|staples?|pins?|hardware)\b"
        r"|\bout of (?:the |his |her |their )?(?:cast|splint|boot|sling|brace)\b"
        r"|\bwean(?:ed|ing)? (?:out of|off(?: of)?|from) (?:the |his |her |their )?(?:cast|splint|boot|sling|brace"
        r"|crutches)\b", re.I),
    _STATUS_POST: lazy_pattern(
        r"\b(?:status post|s/p)\s+(?:[\w-]+\s+){0,3}?(?:orif|open reduction|closed reduction|fixation|repair|surgery"
        r"|surgical|pinning|arthroscop\w*|nailing|plating)\b", re.I),
    SEQUELA: lazy_pattern(
        r"\bsequelae?\b|\blate effects?\b|\bresidual (?:effects?|deficits?) (?:of|from)\b"
        r"|\bscar(?:ring)? (?:from|due to|secondary to) (?:a |the |his |her )?(?:burn|injury|laceration)\b"
        r"|\bcontracture (?:from|due to|secondary to)\b", re.I),
    LONG_AGO: lazy_pattern(
        r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|several|many|a few|a couple of|a|an)"
        r" (?:months?|years?) ago\b|\bin (?:\d{1,2}/)?(?:19|20)\d\d\b|\bsince (?:\d{1,2}/)?(?:19|20)\d\d\b", re.I),
}


# What a lower-cased sentence must hold for some cue patterns to match it, beyond their gate: the gate looks for
# one literal of each alternative ("day" for "3 days ago", " for " for "here for follow-up"), and these words are
# in nearly every note; each alternative also needs another word, or a dose. Sentences without are not tried.
_DOSE = re.compile(r"\d ?[mgu]")  # a digit before "mg", "mcg", "g", "ml" or "unit(s)"


def _may_be_onset(low: str) -> bool:
    return (any(w in low for w in ("yesterday", "last night", "this morning", "earlier today", "over the weekend",
                                   "this past weekend", "new injury", "acute injury", "just "))
            or (("day" in low or "hour" in low) and ("ago" in low or "after " in low)))


def _may_be_first_seen(low: str) -> bool:
    return (any(w in low for w in ("last week", "initial ", "first ", "new patient", "new to ", "evaluation of",
                                   "has not "))
            or ("week" in low and "ago" in low))


def _may_begin_treatment(low: str) -> bool:
    return any(w in low for w in ("prescri", "refer", "therapy", "inject")) or _DOSE.search(low) is not None


def _may_be_routine_care(low: str) -> bool:
    return (any(w in low for w in ("healing", "callus", "union", "consolidation", "subsequent ", "post"))
            or (any(w in low for w in ("from", "after", "since"))
                and any(w in low for w in ("injury", "surgery", "fracture", "orif", "repair", "reduction", "casting"))))


def _may_be_follow_up_visit(low: str) -> bool:
    return (any(w in low for w in ("follow", "remov", "change", "discontinued", "taken off", "out of ", "wean"))
            or (" for " in low and any(w in low for w in ("check", "evaluation", "post"))))


def _may_tell_the_event(low: str) -> bool:
    return any(w in low for w in ("fell", "tripped", "slipped", "twisted", "collided", "whiplash", "landed on",
                                  "felt a pop", "fall", "rolled ", "was hit", "was struck", "was kicked", "was tackled",
                                  "was bitten", "was rear-ended", "hit ", "accident", "collision", "crash", "mv",
                                  "injured ", "sustained "))


def _may_be_earlier_care(low: str) -> bool:
    return any(w in low for w in ("seen", "evaluated", "treated", "examined", "splinted", "casted", "immobilized",
                                  "taken to ", "placed in ", "underwent", "undergone", "surgery", "orif", "reduction",
                                  "fixation", "operation", "pinning", "surgical repair", "previously ", "hospital",
                                  "facility", "institution", "surgeon", "practice", "went to ", "brought to "))


def _may_be_long_ago(low: str) -> bool:
    return ((" ago" in low and ("month" in low or "year" in low))
            or (("in " in low or "since " in low) and ("19" in low or "20" in low)))


_NEEDS = {INITIAL: _may_be_onset, FIRST_SEEN: _may_be_first_seen, TREATMENT: _may_begin_treatment,
          SUBSEQUENT: _may_be_routine_care, _FOLLOW_UP_VISIT: _may_be_follow_up_visit,
          EVENT: _may_tell_the_event, PRIOR: _may_be_earlier_care, LONG_AGO: _may_be_long_ago}


# For each kind, words one of which every match of its pattern holds as a whole word (a run of ASCII letters between
# characters that are not), or the starts of such words: a sentence of the lower-cased note with none of them is not
# searched. Each is read off the pattern where a word boundary, a space, a digit or a hyphen stands on both sides of
# a literal word (on its left only, for a start): one such word or start for each alternative.
_CUE_WORDS: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    INITIAL: (frozenset({"hour", "hours", "day", "days", "yesterday", "night", "morning", "earlier", "weekend",
                         "injury", "fell", "injured"}), ()),
    FIRST_SEEN: (frozenset({"week", "weeks", "initial", "first", "new", "evaluation", "been"}), ()),
    EVENT: (frozenset({"fell", "tripped", "slipped", "twisted", "collided", "whiplash", "landed", "felt", "fall",
                       "falling", "rolled", "hit", "struck", "kicked", "tackled", "bitten", "rear", "accident",
                       "collision", "crash", "mva", "mvc", "injured", "sustained"}), ()),
    ACTIVE: (frozenset({"splint", "splinted", "splinting", "aircast", "crutch", "crutches", "sling", "boot",
                        "reduction", "reduced", "orif", "repair", "debridement", "emergency", "cast"}),
             ("immobiliz", "sutur")),
    _WOUND_CARE: (frozenset({"cleaned", "cleansed", "dressed", "explored", "closed", "steri", "steristrip",
                             "steristrips", "closure", "wrap", "wraps", "bandage", "bandages", "sleeve", "sleeves",
                             "stocking", "stockings", "tetanus", "tdap", "td", "rabies"}), ("irrigat",)),
    WORKUP: (frozenset({"taken", "performed", "done", "get", "normal", "negative", "unremarkable", "fracture",
                        "radiographic"}),
             ("order", "obtain", "request", "reveal", "show", "demonstrat", "review")),
    TREATMENT: (frozenset({"mg", "mcg", "g", "ml", "unit", "units", "therapy", "injected", "injection", "injections"}),
                ("prescri", "refer")),
    PRIOR: (frozenset({"seen", "evaluated", "treated", "examined", "splinted", "casted", "immobilized", "taken",
                       "placed", "underwent", "undergone", "surgery", "orif", "reduction", "fixation", "operation",
                       "pinning", "repair", "hospital", "facility", "institution", "surgeon",
                       "practice", "went", "brought"}), ()),
    SUBSEQUENT: (frozenset({"healing", "callus", "union", "consolidation", "subsequent", "post", "postop",
                            "postoperative", "injury", "surgery", "fracture", "orif", "repair", "reduction",
                            "casting"}), ()),
    _FOLLOW_UP_VISIT: (frozenset({"follow", "followup", "recheck", "re", "reevaluation", "post", "postop",
                                  "postoperative", "removed", "taken", "discontinued", "changed", "removal", "change",
                                  "cast", "splint", "boot", "sling", "brace", "wean", "weaned", "weaning"}), ()),
    _STATUS_POST: (frozenset({"orif", "reduction", "fixation", "repair", "surgery", "surgical", "pinning", "nailing",
                              "plating"}), ("arthroscop",)),
    SEQUELA: (frozenset({"sequela", "sequelae", "late", "residual", "scar", "scarring", "contracture"}), ()),
    LONG_AGO: (frozenset({"ago", "in", "since"}), ()),
}
