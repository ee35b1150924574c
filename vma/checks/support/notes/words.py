"""Word-level reading for checks that tie a word to a condition: tokens with offsets and phrase terms, clause bounds, and whether a word is negated, uncertain, past or planned."""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import partial
from itertools import accumulate, compress, repeat
from operator import add, contains, itemgetter
from typing import NamedTuple

from vma.checks.support.notes.patterns import _folds_onto_ascii, _lowered, lower_case_pattern
from vma.checks.support.notes.phrase_terms import _PHRASE_LEADS, _PHRASE_TERMS
from vma.compiled_patterns import compile_pattern

NEGATION_CUES = (
    "denies", "denied", "no", "not", "without", "negative for", "free of", "absence of",
    "no evidence of", "no signs of", "ruled out", "rules out", "resolved", "unlikely",
)
UNCERTAINTY_CUES = (
    "likely", "probable", "probably", "possible", "possibly", "suspected", "suspect",
    "questionable", "rule out", "r/o", "versus", "vs", "consistent with", "concern for",
    "differential", "may be", "might be", "presumed",
)
# One pass for all cues: some cue stands between a space or "(" and a space or punctuation.
_UNCERTAIN_CUE = compile_pattern(r"[\s(](?:" + "|".join(re.escape(c) for c in UNCERTAINTY_CUES) + r")[\s,.:)]")
def is_negated(sentence: str, term: str, window: int = 6) -> bool:
    """True when a negation cue stands within ``window`` words before ``term`` in the sentence.

    "Denies numbness or tingling" negates tingling; a cue after a contrast word
    ("but", "however") no longer applies.
    """
    low = sentence.lower()
    idx = low.find(term.lower())
    if idx < 0:
        return False
    before = re.split(r"\b(?:but|however|although|except)\b|[;:]", low[:idx])[-1]
    words = re.findall(r"[a-z/]+", before)[-window:]
    joined = " ".join(words)
    for cue in NEGATION_CUES:
        if re.search(rf"(?:^|\s){re.escape(cue)}(?:\s|$)", joined + " "):
            return True
    return False


def is_uncertain(sentence: str) -> bool:
    """Uncertain diagnoses ("likely", "rule out") are not coded in outpatient settings (Guideline IV.H)."""
    return _UNCERTAIN_CUE.search(f" {sentence.lower()} ") is not None

# -- word-level reading, for checks that look for terms near a condition --------

# Sections that record the past or other people, not this encounter's findings.
HISTORY_SECTIONS = ("pmh", "psh", "family", "social", "medications", "allergies")
# Sections where the provider states the diagnoses of the encounter.
ASSESSMENT_SECTIONS = ("assessment", "plan", "procedure")

# Common clinical abbreviations, expanded to the words the tabular uses, so a
# note saying "CHF" or "OA" can be matched against code descriptions. Where the
# abbreviation names a condition the tabular words differently, the expansion
# follows the ICD-10-CM Index cross-reference (CAD: "Disease, coronary - see
# Disease, heart, ischemic, atherosclerotic"; CVA: "Accident, cerebrovascular
# I63.9"; HNP: "Herniation, disc - see Displacement, intervertebral disc").
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    # "left-sided sciatica" is the tabular's "sciatica, left side" (M54.3-, M54.4-)
    "sided": ("side",),
    "strep": ("streptococcal",),
    "oa": ("osteoarthritis",),
    "chf": ("congestive", "heart", "failure"),
    "hf": ("heart", "failure"),
    "hfref": ("systolic", "heart", "failure"),
    "hfpef": ("diastolic", "heart", "failure"),
    "ckd": ("chronic", "kidney", "disease"),
    "esrd": ("end", "stage", "renal", "disease"),
    "aki": ("acute", "kidney", "failure"),
    "aom": ("acute", "otitis", "media"),
    "om": ("otitis", "media"),
    "ome": ("otitis", "media", "with", "effusion"),
    "uti": ("urinary", "tract", "infection"),
    "uri": ("acute", "upper", "respiratory", "infection"),
    "copd": ("chronic", "obstructive", "pulmonary", "disease"),
    "gerd": ("gastro", "esophageal", "reflux", "disease"),
    "htn": ("hypertension",),
    "dm": ("diabetes", "mellitus"),
    "t2dm": ("type", "2", "diabetes", "mellitus"),
    "dm2": ("type", "2", "diabetes", "mellitus"),
    "t1dm": ("type", "1", "diabetes", "mellitus"),
    "dm1": ("type", "1", "diabetes", "mellitus"),
    "dvt": ("deep", "vein", "thrombosis"),
    "fx": ("fracture",),
    "pna": ("pneumonia",),
    "afib": ("atrial", "fibrillation"),
    "bph": ("benign", "prostatic", "hyperplasia"),
    "poag": ("primary", "open", "angle", "glaucoma"),
    "cad": ("coronary", "artery", "atherosclerotic", "heart", "disease"),
    "mi": ("myocardial", "infarction"),
    "cva": ("cerebral", "infarction"),
    "tia": ("transient", "cerebral", "ischemic", "attack"),
    "osa": ("obstructive", "sleep", "apnea"),
    "mdd": ("major", "depressive", "disorder"),
    "gad": ("generalized", "anxiety", "disorder"),
    "ptsd": ("post", "traumatic", "stress", "disorder"),
    "adhd": ("attention", "deficit", "hyperactivity", "disorder"),
    "hld": ("hyperlipidemia",),
    "pvd": ("peripheral", "vascular", "disease"),
    "pad": ("peripheral", "vascular", "disease"),
    "ra": ("rheumatoid", "arthritis"),
    "ibs": ("irritable", "bowel", "syndrome"),
    "cts": ("carpal", "tunnel", "syndrome"),
    "hnp": ("intervertebral", "disc", "displacement"),
    "ddd": ("intervertebral", "disc", "degeneration"),
    "lbp": ("low", "back", "pain"),
    # Aminotransferases are the liver transaminases of R74.01.
    "alt": ("liver", "transaminase"),
    "ast": ("liver", "transaminase"),
    "sgpt": ("liver", "transaminase"),
    "sgot": ("liver", "transaminase"),
}
# Abbreviations that are also everyday words ("pad", "alt"): expanded only when written in capitals.
# An abbreviation followed by a number or a score word names an instrument or a lab, not a diagnosis.
_NAMES_A_SCORE = compile_pattern(r"-\s*\d|\s+(?:score|scale|screen|questionnaire|antibod\w*|ab\b)", re.I)
_CAPITALS_ONLY = frozenset({"pad", "alt", "ast", "cts", "gad", "mi", "ra", "om"})


_SPINAL_LEVEL = compile_pattern(r"\b[LCT]\d")
# The first four letters of each phrase's first word: a sentence with none of them (nor a spinal
# level) runs no phrase pattern.
_PHRASE_STARTS = frozenset(g.split()[0][:4] for gate, _, _ in _PHRASE_TERMS for g in gate)
# Each word of a phrase's gate with the phrase's place in _PHRASE_TERMS (no word opens two phrases), and the places
# of the phrases without words (the spinal levels).
_PHRASE_GATE_WORDS = tuple((word, k) for k, (gate, _, _) in enumerate(_PHRASE_TERMS) for word in gate)
_GATE_WORD_PHRASE = dict(_PHRASE_GATE_WORDS)
_GATE_WORDS = tuple(_GATE_WORD_PHRASE)
_LEVEL_PHRASES = [k for k, (gate, _, _) in enumerate(_PHRASE_TERMS) if not gate]


_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5"}
_ROMAN_CONTEXT = {"stage", "type", "grade", "class"}
# Words that :func:`tokens` may change (an abbreviation) or that may change the next word (a Roman numeral).
_SPECIAL_WORDS = frozenset(ABBREVIATIONS) | _ROMAN_CONTEXT
_WORD = r"[^\W_]+(?:'s)?"  # a word of a note (see tokens)


class Token(NamedTuple):
    """One word of a note: the normalised form (lower case, abbreviations expanded
    one token per word) and where the original word stands in the sentence."""

    norm: str
    raw: str
    start: int
    end: int


_new_tuple = tuple.__new__  # builds a Token without NamedTuple.__new__'s Python-level call
_make_token = partial(tuple.__new__, Token)  # the same, mapped over (norm, raw, start, end) tuples in C
_WORD_SPLIT = compile_pattern(f"({_WORD})")  # the words, with the text between them
_WORD_SPLIT_ASCII = compile_pattern(r"([A-Za-z0-9]+(?:'s)?)")  # the same on ASCII text, where it is quicker
_first_four = itemgetter(slice(4))
_first_two = itemgetter(slice(2))
_first = itemgetter(0)
# How a word that may start a spinal level ("L4", "C5-C6") begins, in ASCII (see _with_phrase_terms).
_LEVEL_HEADS = frozenset(letter + digit for letter in "LCT" for digit in "0123456789")
_LEVEL_HEAD = compile_pattern("[LCT][0-9]")  # somewhere in the text, not only at a word's start


def tokens(text: str) -> list[Token]:
    """Words of ``text``, lower-cased, possessives dropped, abbreviations expanded,
    and Roman numerals after stage/type/grade/class turned into digits ("stage IIIb" -> "3b")."""
    if "'" not in text and text.isascii():
        raws, words, starts, ends = _plain_ascii_words(text)
        phrased = not _PHRASE_STARTS.isdisjoint(map(_first_four, words)) or (
            b"L0" in text.encode("ascii").translate(_LEVEL_BYTES) and not _LEVEL_HEADS.isdisjoint(map(_first_two, raws)))
    else:
        # The words and their offsets, worked out in C: re.split keeps the words (odd places) and the text
        # between them, and the running sum of the pieces' lengths gives where each word starts and ends.
        parts, raws, words, phrased = _split_words(text)
        bounds = list(accumulate(map(len, parts)))
        starts = bounds[0:-1:2]
        ends = bounds[1::2]
    if _SPECIAL_WORDS.isdisjoint(words):
        # No abbreviation and no word before a Roman numeral: each word stands as it is.
        out = list(map(_make_token, zip(words, raws, starts, ends)))
    else:
        out = _tokens_expanded(text, words, raws, starts, ends)
    return _with_phrase_terms(text, out) if phrased else out


# On ASCII text without an apostrophe, a word is a run of ASCII letters and digits: every other byte turned into a
# space, the text split at its spaces gives the words as the pieces that are not empty, each piece one longer than
# its text (its space) in the running sum that gives where each stands; and the same in lower case, split at its runs
# of spaces, the words lower-cased. All in C, quicker than sre splitting the text around its words.
_RAW_WORD_BYTES = bytes(c if 65 <= c <= 90 or 97 <= c <= 122 or 48 <= c <= 57 else 32 for c in range(256))
_LOWER_WORD_BYTES = bytes(c | 0x20 if 65 <= c <= 90 else c if 97 <= c <= 122 or 48 <= c <= 57 else 32
                          for c in range(256))
# L, C and T as "L", ASCII digits as "0", every other byte a space: "L0" stands in ASCII text so translated exactly
# where _LEVEL_HEAD matches it.
_LEVEL_BYTES = bytes(76 if c in b"LCT" else 48 if 48 <= c <= 57 else 32 for c in range(256))


def _plain_ascii_words(text: str) -> tuple[list[str], list[str], list[int], list[int]]:
    """The words of ASCII text without an apostrophe (as :func:`_split_words` reads them), lower-cased, and where
    each starts and ends."""
    encoded = text.encode("ascii")
    pieces = encoded.translate(_RAW_WORD_BYTES).decode("ascii").split(" ")
    raws = list(filter(None, pieces))
    words = encoded.translate(_LOWER_WORD_BYTES).decode("ascii").split()
    starts = list(compress(accumulate(map(add, map(len, pieces), repeat(1)), initial=0), pieces))
    ends = list(map(add, starts, map(len, raws)))
    return raws, words, starts, ends


def plain_tokens(text: str, norms: list[str]) -> list[Token]:
    """:func:`tokens` of an ASCII text without an apostrophe whose words, lower-cased, are ``norms`` and stand as
    they are there (see :func:`vma.checks.support.notes.sentence_norms.sentence_norms`)."""
    encoded = text.encode("ascii")
    pieces = encoded.translate(_RAW_WORD_BYTES).decode("ascii").split(" ")
    starts = list(compress(accumulate(map(add, map(len, pieces), repeat(1)), initial=0), pieces))
    raws = list(filter(None, pieces))
    return list(map(_make_token, zip(norms, raws, starts, map(add, starts, map(len, raws)))))


def token_norms(text: str) -> list[str] | None:
    """The ``norm`` of each of :func:`tokens`' words when each is the text's own word lower-cased (no
    abbreviation, Roman numeral or phrase term to work out), without building the tokens; else None."""
    _, _, words, phrased = _split_words(text)
    return None if phrased or not _SPECIAL_WORDS.isdisjoint(words) else words


def _split_words(text: str) -> tuple[list[str], list[str], list[str], bool]:
    """The text split around its words, the words as written and lower-cased (possessives dropped), and
    whether a phrase of _PHRASE_TERMS or a spinal level may stand in it."""
    plain = text.isascii()
    parts = (_WORD_SPLIT_ASCII if plain else _WORD_SPLIT).split(text)
    raws = parts[1::2]
    if plain and raws:
        # Lower-cased in one pass over the words joined: ASCII lower-casing maps each character onto one, and
        # no word holds the separator.
        words = "\x00".join(raws).lower().split("\x00")
    else:
        words = list(map(str.lower, raws))
    if "'" in text:
        words = [w[:-2] if w[-2:] == "'s" else w for w in words]
    phrased = not _PHRASE_STARTS.isdisjoint(map(_first_four, words)) or (
        # A word starts with a level only where L, C or T stands before an ASCII digit somewhere in the text.
        _LEVEL_HEAD.search(text) is not None and not _LEVEL_HEADS.isdisjoint(map(_first_two, raws)) if plain
        else any(r[:1] in "LCT" and r[1:2].isdigit() for r in raws))
    return parts, raws, words, phrased


def _tokens_expanded(text: str, words: list[str], raws: list[str], starts: list[int],
                     ends: list[int]) -> list[Token]:
    """The words of :func:`tokens` for a sentence with an abbreviation or a stage/type/grade/class."""
    out: list[Token] = []
    append = out.append
    previous = ""
    for word, raw, start, end in zip(words, raws, starts, ends):
        if previous in _ROMAN_CONTEXT and word[0] in "iv":
            roman = re.fullmatch(r"(i{1,3}|iv|v)([abc]?)", word)
            if roman:
                word = _ROMAN[roman.group(1)] + roman.group(2)
        expansion = ABBREVIATIONS.get(word)
        if expansion is not None and (_NAMES_A_SCORE.match(text, end) or previous in ("on", "room")):
            expansion = None  # "GAD-7 score 14" is a screening score, "on RA" is room air
        if expansion is not None and (raw.isupper() or len(word) > 2 and word not in _CAPITALS_ONLY):
            for part in expansion:
                append(_new_tuple(Token, (part, raw, start, end)))
            previous = expansion[-1]
        else:
            append(_new_tuple(Token, (word, raw, start, end)))
            previous = word
    return out


def _with_phrase_terms(text: str, words: list[Token]) -> list[Token]:
    """``words`` with the tabular's words for each phrase of :data:`_PHRASE_TERMS` placed right
    after the phrase ("herniated disc" -> ... disc, intervertebral, disc, displacement)."""
    extra: list[tuple[int, Token]] = []
    # The phrases whose words stand in the text, each word looked for in C (a phrase is read only where one of its
    # words stands in the lower-cased text), in their order.
    low = text.lower()
    reading = {_GATE_WORD_PHRASE[word] for word in compress(_GATE_WORDS, map(contains, repeat(low), _GATE_WORDS))}
    # A level needs L, C or T before a digit: on ASCII text, looked for in its bytes translated first.
    if (not text.isascii() or b"L0" in text.encode("ascii").translate(_LEVEL_BYTES)) and _SPINAL_LEVEL.search(text):
        reading.update(_LEVEL_PHRASES)
    if not reading:
        return words
    # Where lower-casing keeps every place and folds nothing onto an ASCII letter, the gate words stand in the
    # lower-cased text where the case-insensitive patterns read them, and no match starts before the lead of its
    # phrase's first gate word (see _PHRASE_LEADS); a pattern whose matches start with one is tried there only.
    placed = len(low) == len(text) and not _folds_onto_ascii(text)
    for k in sorted(reading):
        gate, rx, terms = _PHRASE_TERMS[k]
        lead = _PHRASE_LEADS[k]
        if lead is None or not placed:
            matches = rx.finditer(text)
        elif lead:
            matches = rx.finditer(text, max(0, min(at for at in map(low.find, gate) if at >= 0) - lead))
        else:
            matches = _matches_at_words(rx, text, low, gate)
        for m in matches:
            start, end = m.span()
            if is_past_or_planned(text, start):
                continue  # "previously poorly controlled, now at goal" says nothing of today
            found = terms(m) if callable(terms) else terms
            extra.extend((end, _new_tuple(Token, (t, m.group(), start, end))) for t in found)
    if not extra:
        return words
    # Each phrase's words go before the first word that starts at or after the phrase's end (words stand in
    # the order they start).
    out: list[Token] = []
    starts = [w[2] for w in words]
    at = 0
    for end, token in sorted(extra, key=_first):
        upto = bisect_left(starts, end, at)
        out += words[at:upto]
        out.append(token)
        at = upto
    out += words[at:]
    return out


def _matches_at_words(rx, text: str, low: str, words: tuple[str, ...]) -> list[re.Match[str]]:
    """What ``rx.finditer(text)`` gives, for a pattern each of whose matches starts where one of ``words`` stands in
    ``low`` (the text lower-cased, each character in its place): the pattern is tried at those places only, each
    after the end of the match before it."""
    places = []
    for word in words:
        at = low.find(word)
        while at >= 0:
            places.append(at)
            at = low.find(word, at + 1)
    found = []
    reached = 0
    for at in sorted(places):
        if at >= reached and (m := rx.match(text, at)) is not None:
            found.append(m)
            reached = m.end()
    return found


# A clause ends at punctuation, "but" or "however": "[,;:()]|\bbut\b|\bhowever\b" with re.I, written to start with
# the characters a break starts with, so that sre skips to them instead of trying every character (the letters
# of the two words fold onto no other letters than their capitals).
_CLAUSE_BREAK = compile_pattern(r"[,;:()bBhH](?:(?<=[,;:()])|(?<=\b[bB])[uU][tT]\b|(?<=\b[hH])[oO][wW][eE][vV][eE][rR]\b)")
_NEGATION_WORD = compile_pattern(r"[a-z/]+")


def clause_bounds(sentence: str, pos: int) -> tuple[int, int]:
    """The clause around ``pos``: bounded by commas, semicolons, colons, parentheses and "but"."""
    start = 0
    for m in _CLAUSE_BREAK.finditer(sentence, 0, pos):
        start = m.end()
    after = _CLAUSE_BREAK.search(sentence, pos)
    end = after.start() if after else len(sentence)
    return start, end


_NON_PREFIX = compile_pattern(r"\bnon[- ]?$", re.I)


# What ends a negation's reach (the NegEx/ConText termination terms): a contrast, a new clause, a
# verb that asserts something present. A list after the cue ("no vomiting, melena or bleeding") does not.
_NEGATION_END = compile_pattern(r"[;:()]|\b(?:but|however|although|though|except|aside from|which|who|reports?|reported|"
                           r"endorses?|endorsed|complains?|has|have|had|is|are|was|were|with|presents?|positive for|"
                           r"notes?|states?)\b", re.I)
# "No change(s) to her diabetes medications", "no new ..." deny the change, not the condition named after it.
_NOT_DENYING = frozenset({"change", "changes", "new", "longer", "further", "other", "additional", "more",
                          "significant", "interval", "need", "needs", "plans"})
# A denial written after the term: "orthostatic hypotension was ruled out", "the rash has resolved".
_NEGATED_AFTER = compile_pattern(r"^(?:\s+[\w-]+){0,3}?\s+(?:(?:was|has been|is|were|have been)\s+)?(?:ruled out|"
                            r"excluded|resolved|not present|absent|unlikely|doubtful|not likely|not suspected|not favored)\b", re.I)
# ... unless the term is then said to be there: "no fever, cough present".
_PRESENT_AFTER = compile_pattern(r"^(?:\s+[\w-]+)?\s+(?:is |was |are |were )?(?:present|noted|seen|reported|positive)\b", re.I)


_TERM_WORD = compile_pattern(r"[\w'-]*")  # the word at the place, maybe none
_NEGATED_AFTER_FAST = lower_case_pattern(_NEGATED_AFTER)
_NEGATION_END_FAST = lower_case_pattern(_NEGATION_END)
_LIST_SPLIT = compile_pattern(r",|\bor\b|\band\b|\bnor\b")


def is_negated_at(sentence: str, pos: int, window: int = 6) -> bool:
    """True when the word at ``pos`` is denied: a negation cue stands before it within ``window``
    words of its clause, or reaches it through a list ("denies fever, chills, or dysuria"); or
    the word itself carries "non-" ("non-pulsatile"; "non-pitting edema" negates only "pitting");
    or the denial follows it ("... was ruled out", "... has resolved")."""
    # "non" stands (in any case) in the four characters before the word wherever the pattern matches there.
    if "non" in sentence[max(0, pos - 4):pos].lower() and _NON_PREFIX.search(sentence, max(0, pos - 4), pos):
        return True
    # The case-insensitive patterns run without re.I on the lower-cased sentence where lower-casing keeps positions
    # and folds nothing onto an ASCII letter (see LowerCasePattern): re.I makes them several times slower.
    text, lowered = sentence, None  # each pattern's form is taken where it runs, by whether ``text`` is ``lowered``
    if not _folds_onto_ascii(sentence):
        lowered = _lowered(sentence)
        if len(lowered) == len(sentence):
            text = lowered
    after = text[pos:pos + 80]
    # Each denial the pattern reads after the word ("ruled out", "not present") holds one of these (its gate's words
    # are they, "not " standing for four): looked for by str in the lower-cased 80 characters, not by sre.
    negated_after = _NEGATED_AFTER if text is not lowered else _NEGATED_AFTER_FAST.lower if (
        "not " in after or "resolved" in after or "ruled out" in after or "absent" in after or "unlikely" in after
        or "excluded" in after or "doubtful" in after) else None
    rest = None  # what follows the word's own letters in ``after``, worked out when read
    if negated_after is not None:
        rest = after[_TERM_WORD.match(after).end():]
        if negated_after.match(rest.split(",")[0].split(".")[0]):
            return True
    # No cue's first word stands as a word before the word (most words): neither its clause nor a list reaching it
    # holds a cue, their words being the lower-cased words before it (runs of ASCII letters and "/", told apart in C).
    if text is lowered and _CUE_FIRST_BYTES.isdisjoint(
            lowered[:pos].encode("ascii", "replace").translate(_CUE_WORD_BYTES).split()):
        return False
    start = 0  # where the clause starts (clause_bounds)
    for m in _CLAUSE_BREAK.finditer(sentence, 0, pos):
        start = m.end()
    words = _NEGATION_WORD.findall(sentence[start:pos].lower())[-window:]
    if _cue_in(words):
        return True
    last_comma = sentence.rfind(",", 0, pos)
    if last_comma < 0:
        return False  # no list before the word (see below)
    # Across commas: a list after the cue ("no vomiting, melena or bleeding"), up to where it ends. An end after the
    # last comma leaves no list (no end holds a comma, so a scan from that comma finds what one from the start
    # would); else the list reaches back to the last end before the comma.
    rest = after[_TERM_WORD.match(after).end():] if rest is None else rest
    negation_end = _NEGATION_END_FAST.lower if text is lowered else _NEGATION_END
    if negation_end.search(text, last_comma + 1, pos) or _PRESENT_AFTER.match(rest):
        return False
    stretch_start = 0
    for end in negation_end.finditer(text, 0, last_comma):
        stretch_start = end.end()
    stretch = sentence[stretch_start:pos]
    segments = _LIST_SPLIT.split(stretch.lower())
    for k in range(len(segments) - 1, -1, -1):
        seg_words = _NEGATION_WORD.findall(segments[k])
        if k < len(segments) - 1 and len(seg_words) > 4:
            return False  # not a list of findings any more
        if _cue_in(seg_words):
            return True
    return False


def _cue_in(words: list[str]) -> bool:
    if _CUE_FIRST_WORDS.isdisjoint(words):
        return False  # a cue stands between spaces in the words joined, so its first word is one of them
    joined = f" {' '.join(words)} "
    # Every place a cue stands, in one search; where cues share a start the longest is read, so a bare "no"
    # (which "no change" does not make a denial) is read only where no longer cue stands.
    for m in _CUE_AT.finditer(joined):
        if m.group(1) != "no" or joined[m.end() + 3:].split(" ", 1)[0] not in _NOT_DENYING:
            return True
    return False


_CUE_FIRST_WORDS = frozenset(c.split()[0] for c in NEGATION_CUES)
_CUE_FIRST_BYTES = frozenset(w.encode("ascii") for w in _CUE_FIRST_WORDS)
# ASCII small letters and "/" kept, every other byte a space: the words of _NEGATION_WORD in lower-cased text.
_CUE_WORD_BYTES = bytes(c if 97 <= c <= 122 or c == 47 else 32 for c in range(256))
_CUE_AT = compile_pattern(" (?=(" + "|".join(re.escape(c) for c in sorted(NEGATION_CUES, key=len, reverse=True)) + ") )")


# Wording that puts what follows in the past, or makes it a plan or a possibility rather than
# today's condition: "hospitalized last month for a CHF exacerbation", "status post exacerbation in
# March", "warning signs of an exacerbation", "to prevent exacerbations", "previously poorly controlled".
_NOT_NOW = compile_pattern(
    r"\b(?:last (?:week|month|year|winter|spring|summer|fall|autumn)|this (?:past )?year|earlier this year"
    r"|in (?:january|february|march|april|june|july|august|september|october|november|december|(?:19|20)\d\d)"
    r"|(?:\d+|one|two|three|four|five|six|a few|several|a couple of) (?:weeks?|months?|years?) ago"
    r"|previous(?:ly)?|prior|formerly|initially|originally|at first|history of|hx of|status post|s/p|was (?:hospitalized|admitted|seen|treated)"
    r"|had (?:\w+ ){0,2}(?:exacerbations?|episodes?|flares?|admissions?)|has had|had been|used to"
    r"|now (?:compensated|at (?:baseline|goal|dry weight)|stable|controlled|resolved|euvolemic)"
    r"|back to (?:her|his|their) baseline|prevent\w*|to avoid|risk of|signs of|warning signs|symptoms of"
    r"|action plan|in case|return precautions|should (?:she|he|they) (?:develop|have))\b", re.I)


def is_past_or_planned(sentence: str, pos: int) -> bool:
    """True when the clause holding ``pos`` tells of an earlier episode, a plan to prevent one, or
    warning signs to watch for: a code describes the condition at this encounter."""
    start, end = clause_bounds(sentence, pos)
    # The pattern's literal gate first (see LowerCasePattern), on the lower-cased clause, where lower-casing keeps
    # positions and re.I folds no other character onto an ASCII letter: most clauses have none of its words.
    fast = _NOT_NOW_FAST.lower  # (each of the pattern's properties read once a call)
    if fast is not None and not _folds_onto_ascii(sentence):
        lowered = _lowered(sentence)
        if len(lowered) == len(sentence):
            gate = _NOT_NOW_FAST.gate
            if gate is not None and gate.search(lowered, start, end) is None:
                return False
            # The same clause through the pattern without re.I, on the lower-cased sentence (half the time).
            return fast.search(lowered, start, end) is not None
    return _NOT_NOW.search(sentence, start, end) is not None


_NOT_NOW_FAST = lower_case_pattern(_NOT_NOW)


def is_uncertain_at(sentence: str, pos: int) -> bool:
    """True when the clause holding ``pos`` states a diagnosis as uncertain ("likely OA",
    "rule out fracture"); such diagnoses are not coded in outpatient settings (Guideline IV.H)."""
    start, end = clause_bounds(sentence, pos)
    return is_uncertain(sentence[start:end])
