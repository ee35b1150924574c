"""Phrases a note uses for what the tabular names otherwise ("herniated disc" for a displaced intervertebral
disc, "renal" for the kidney), each with the tabular's words that :func:`vma.checks.support.notes.words.tokens`
adds after the phrase. Each follows an Index entry or a tabular inclusion term."""

from __future__ import annotations

import re
from typing import Callable

from vma.checks.support.notes.patterns import lazy_pattern
from vma.checks.support.notes.spine_levels import SPINE_SPAN, spinal_region_words

def _limb_words(m: re.Match[str]) -> tuple[str, ...]:
    return ("upper", "limb") if m.group().lower().rstrip("s").endswith("arm") else ("lower", "limb")


# Phrases a note uses for what the tabular names otherwise; the tabular's words are added after
# the phrase (the note's own words stay). Each follows an Index entry or a tabular inclusion term.
# Each pattern comes with the literal words one of which it needs, checked on the lower-cased
# sentence first, so that most sentences never run a pattern.
_PHRASE_TERMS: tuple[tuple[tuple[str, ...], re.Pattern[str], tuple[str, ...] | Callable], ...] = tuple(
    # compiled on first use: a sentence runs a phrase's pattern only when it has one of the phrase's words
    (gate, lazy_pattern(rx, flags), words) for gate, rx, flags, words in (
        # Index: Herniation, disc - see Displacement, intervertebral disc; Protrusion, disc - same.
        (("herniat", "bulg", "protru", "extru", "slipped", "ruptured"),
         r"\b(?:herniat\w*|bulg\w*|protru\w*|extru\w*|slipped|ruptured) (?:\w+ ){0,2}?dis[ck]s?\b"
         r"|\bdis[ck] (?:herniation|bulge|protrusion|extrusion)s?\b|\bherniated nucleus pulposus\b", re.I,
         ("intervertebral", "disc", "displacement")),
        # Index: Disease, disc, degenerative - see Degeneration, intervertebral disc.
        (("degenerative",), r"\bdegenerative dis[ck] disease\b", re.I, ("intervertebral", "disc", "degeneration")),
        # Index: Elevated, transaminase level R74.01. "Liver enzymes" may be alkaline phosphatase or GGT
        # (Index: Elevated, liver function, hepatic enzyme R74.8), so only the transaminases count.
        (("transaminases", "aminotransferase"),
         r"\b(?:transaminases|aminotransferases?)\b", re.I, ("liver", "transaminase")),
        # Index: Diabetes, poorly controlled / inadequately controlled / out of control - code to
        # Diabetes, by type, with hyperglycemia.
        (("poorly controlled", "inadequately controlled", "out of control"),
         r"\b(?:poorly|inadequately) controlled (?:type (?:1|2|i|ii) )?(?:diabetes|dm|t2dm)\b"
         r"|\b(?:diabetes|dm)\b[^.;]{0,40}\b(?:poorly controlled|inadequately controlled|out of control)\b",
         re.I, ("hyperglycemia",)),
        # "Secondary to", "due to" and "caused by" are the tabular's "resulting from" (M16.3-, M16.5-: osteoarthritis
        # resulting from hip dysplasia, post-traumatic).
        (("secondary to", "due to", "caused by"), r"\b(?:secondary to|due to|caused by)\b", re.I, ("resulting", "from")),
        # Index: Arthritis, post-traumatic - see Osteoarthritis, post-traumatic.
        (("traumatic",), r"\bpost-?\s?traumatic (?:degenerative )?arthritis\b", re.I, ("osteoarthritis",)),
        # The first metatarsophalangeal joint is a joint of the foot (M10.07-, M19.07-: "ankle and foot").
        (("mtp", "metatarsophalangeal", "podagra"), r"\b(?:mtp|metatarsophalangeal|podagra)\b", re.I, ("foot",)),
        # The toes are the foot's in the sites "ankle and foot" (M10.07-, M19.07-, M25.57-): "gout of the right
        # great toe" is gout of the right foot.
        (("toe",), r"\b(?:great|big|first|second|third|fourth|fifth|little|small) toes?\b", re.I, ("foot",)),
        # Index: Pain, back, low M54.50; Lumbago, lumbalgia M54.50, with sciatica M54.4- (the tabular's word).
        (("low back", "lower back"), r"\blow(?:er)? back pain\b", re.I, ("lumbago",)),
        # The leg and the arm are parts of the tabular's lower and upper limb (L03.11-, L02.41-, I80.29-):
        # "cellulitis of the left lower leg" is L03.116, Cellulitis of left lower limb.
        (("leg", "arm"), r"\b(?:lower |upper )?(?:leg|arm|forearm)s?\b", re.I, _limb_words),
        # "Renal" is the kidney's adjective (the word is added after the note's own, which stays for the
        # terms that use it: "chronic renal insufficiency").
        (("renal",), r"\brenal\b", re.I, ("kidney",)),
        # Index: Stone - see Calculus. Not the lay "kidney stone", said of a stone wherever it lodges (a "kidney
        # stone in the proximal ureter" is a calculus of the ureter).
        (("stone",), r"(?<!kidney )\bstones?\b", re.I, ("calculus",)),
        # Index: Smoker - see Dependence, drug, nicotine. Not a former smoker's (Z87.891 is history).
        (("smok",), r"(?<!former )(?<!ex-)(?<!ex )(?<!non-)(?<!non)\b(?:current(?:ly)? )?(?:smoker|smokes|smoking"
         r"|smoke\b[^.;]{0,60}?\b(?:cigarettes?|cigars?|tobacco|packs?)"
         r"|(?:continues?|still|currently|actively) (?:to )?smoke)\b", re.I,
         ("nicotine", "dependence")),
        # Index main term "Diabetes, diabetic": "diabetic neuropathy" names the diabetes too.
        (("diabetic",), r"(?<![-\w])diabetic\b", re.I, ("diabetes",)),
        # Spinal levels name the region, and for the cervical discs the level, of the dorsopathy codes
        # (M47-M54); read in capitals only ("L4-5", "C5-C6").
        ((), SPINE_SPAN, 0, spinal_region_words),
    ))

# How far into a match of each phrase's pattern one of its gate words starts, at most, in characters (None: no gate
# words): "disc " before "herniation", "diabetes" and 40 characters before "poorly controlled", "post- " before
# "traumatic", "fourth " before "toe", "lower fore" before "arm", "currently continues to " before "smoke". A match
# starts no further than that before the first place one of them stands.
_PHRASE_LEADS: tuple[int | None, ...] = (5, 0, 0, 48, 0, 6, 0, 7, 0, 10, 0, 0, 23, 0, None)
