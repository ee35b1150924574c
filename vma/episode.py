"""The encounter's episode of care for 7th characters (A initial / D subsequent / S sequela)
read from the note, and the 7th character of a definition that fits it.

Sources: ICD-10-CM Official Guidelines for Coding and Reporting FY2026, I.C.19.a
(7th characters A, D, S for injuries: active treatment, routine healing care,
sequelae) and I.C.19.c.1 (fractures not stated open or closed are coded closed;
Gustilo type I or II when the type is not given).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vma.notes import HISTORY_SECTIONS, NoteDoc, Sentence, is_negated_at, lower_case_pattern

INITIAL, SUBSEQUENT, SEQUELA = "initial", "subsequent", "sequela"

_NUM = r"(?:\d+|one|two|three|four|five|six|seven|a few|few|several|a couple of)"
_EPISODE_CUES: dict[str, re.Pattern[str]] = {
    # A new injury seen now: onset in hours or days, or stated as the first evaluation.
    INITIAL: re.compile(
        rf"\b{_NUM}\s+(?:hours?|days?)\s+ago\b|\byesterday\b|\blast night\b|\bthis morning\b|\bearlier today\b"
        r"|\binitial (?:visit|evaluation|encounter)\b|\bfirst (?:visit|evaluation)\b|\bnew injury\b"
        r"|\bacute injury\b|\bjust (?:fell|injured)\b", re.I),
    # Active treatment (Guideline I.C.19.a: surgical treatment, emergency department encounter,
    # evaluation and continuing treatment by the same or a different physician).
    "active": re.compile(
        r"\bsplint(?:ed|ing)?\b|\bair ?cast\b|\bcrutch(?:es)?\b|\bsling\b|\b(?:walking|cam) boot\b"
        r"|\bimmobiliz\w*|\bclosed reduction\b|\breduced\b|\borif\b|\bsurgical repair\b|\bsutur\w*"
        r"|\blaceration repair\b|\bdebridement\b|\bemergency (?:department|room)\b"
        r"|\bplaced (?:in|into) (?:a |an )?(?:short |long )?(?:arm |leg )?cast\b|\bcast (?:was )?(?:applied|placed)\b",
        re.I),
    # Care after active treatment while the injury heals.
    SUBSEQUENT: re.compile(
        r"\bfollow[- ]?up (?:visit )?(?:of|for|on) (?:his |her |the |their )?(?:[\w-]+ ){0,3}"
        r"(?:fracture|sprain|strain|injury|burn|laceration|dislocation|wound)"
        r"|\b(?:here|presents|returns|seen|comes in|is in) (?:today )?for (?:a |his |her )?(?:routine )?follow[- ]?up\b"
        r"|\broutine healing\b|\bhealing (?:well|appropriately|as expected|nicely)\b"
        r"|\bcast (?:was )?(?:removed|removal|change)\b|\bremov(?:e|ed|al of) (?:the |his |her )?cast\b"
        r"|\bstatus post\b|\bs/p\b|\bpost[- ]?op(?:erative)?\b|\bsubsequent (?:visit|encounter)\b"
        r"|\b\d+ weeks? (?:out )?(?:from|after|since|post) (?:the |his |her )?(?:injury|surgery|fracture|orif|repair)\b",
        re.I),
    SEQUELA: re.compile(
        r"\bsequelae?\b|\blate effects?\b|\bresidual (?:effects?|deficits?) (?:of|from)\b"
        r"|\bscar(?:ring)? (?:from|due to|secondary to) (?:a |the |his |her )?(?:burn|injury|laceration)\b"
        r"|\bcontracture (?:from|due to|secondary to)\b", re.I),
}
_OPEN_FRACTURE = re.compile(r"\bopen (?:\w+ )?fracture\b|\bcompound fracture\b", re.I)
_GUSTILO_III = re.compile(r"\b(?:type|gustilo) (?:III|3)\s?[ABC]?\b", re.I)
_HEALING = (("nonunion", re.compile(r"\bnon-?union\b", re.I)),
            ("malunion", re.compile(r"\bmal-?union\b", re.I)),
            ("delayed healing", re.compile(r"\bdelayed (?:healing|union)\b", re.I)))


@dataclass
class EpisodeEvidence:
    """Episode cues found in the note, each with the sentences that carry it."""

    cues: dict[str, list[tuple[Sentence, str]]]
    open_fracture: bool
    gustilo_iii: bool
    healing: str

    def has(self, kind: str) -> bool:
        return bool(self.cues.get(kind))

    def episode(self) -> str | None:
        """The encounter's episode, or None when the note is silent or mixed.

        Sequela when the note says so; initial for a new injury; subsequent for
        follow-up during healing; active treatment alone (splint, crutches) with
        no follow-up statement is initial (Guideline I.C.19.a).
        """
        initial, subsequent, sequela = self.has(INITIAL), self.has(SUBSEQUENT), self.has(SEQUELA)
        if sequela and not initial:
            return SEQUELA
        if initial and not subsequent:
            return INITIAL
        if subsequent and not initial:
            return SUBSEQUENT
        if self.has("active") and not (initial or subsequent):
            return INITIAL
        return None

    def firm(self, episode: str) -> bool:
        """Strong enough to overturn a coded episode: a new injury with active treatment,
        an explicit follow-up, or an explicit sequela."""
        if episode == INITIAL:
            return self.has(INITIAL) and self.has("active")
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


def episode_evidence(note: NoteDoc) -> EpisodeEvidence:
    cues: dict[str, list[tuple[Sentence, str]]] = {}
    for sentence in note.sentences:
        if sentence.section in HISTORY_SECTIONS:
            continue
        for kind, rx in _EPISODE_CUES.items():
            for m in lower_case_pattern(rx).finditer(sentence.text):
                if not is_negated_at(sentence.text, m.start()):
                    # the note's own wording: the match may have run on lower-cased text
                    cues.setdefault(kind, []).append((sentence, sentence.text[m.start():m.end()]))
    text = note.text
    healing = next((name for name, rx in _HEALING if rx.search(text)), "routine healing")
    return EpisodeEvidence(cues, bool(_OPEN_FRACTURE.search(text)), bool(_GUSTILO_III.search(text)), healing)


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
