"""The words of a tabular description as the axis checks compare them: nonessential modifiers dropped, plurals and spellings folded, the axis terms."""

from __future__ import annotations

from functools import lru_cache

from vma.checks.support.axes.similarity import indel_ratio
from vma.compiled_patterns import compile_pattern

LATERALITY, ACUITY, SPECIFICITY = "laterality", "acuity", "specificity"

RIGHT, LEFT, BILATERAL = "right", "left", "bilateral"
SIDE_TERMS = frozenset({RIGHT, LEFT, BILATERAL})
ACUTE, CHRONIC, SUBACUTE, ACUTE_ON_CHRONIC = "acute", "chronic", "subacute", "acute on chronic"
ACUITY_TERMS = frozenset({ACUTE, CHRONIC, SUBACUTE})
OPEN = "unspecified"
# Words that carry no axis: connectives, and "unilateral", which "right"/"left" already say.
STOPWORDS = frozenset({"of", "the", "in", "a", "an", "to", "for", "on", "at", "by", "or", "and", "as", "is",
                       "unilateral"})
# "Other ..." and "... specified" codes hold what is classified nowhere else: never a suggestion by wording.
RESIDUAL = frozenset({"other", "specified", "elsewhere", "classified"})

_PAREN = compile_pattern(r"\([^)]*\)|\[[^\]]*\]")
_OPEN_ACUITY = "not specified as acute or chronic"
_OPEN_PHRASES = compile_pattern(r"not specified as acute or chronic|not otherwise specified|\bnos\b")
_PUNCT = compile_pattern(r"[,.;:()]")
_DESCRIPTION_WORD = compile_pattern(r"[^\W_]+")


def _plain_text(description: str) -> str:
    """The lower-cased description with parenthesised modifiers dropped and "NOS" phrases read as
    "unspecified". Each substitution runs only when its text can be there: most tabular titles have no
    bracket and no "not "/"nos", and the regular expressions would find nothing to replace."""
    text = description.lower()
    if "(" in text or "[" in text:
        text = _PAREN.sub(" ", text)
    if "not " in text or "nos" in text:
        text = _OPEN_PHRASES.sub(" unspecified ", text)
    return text.replace("'s ", " ")


# ASCII letters and digits as they are, every other byte a space: on ASCII text, where _DESCRIPTION_WORD's words are
# its runs of letters and digits, the text so translated splits into the same words.
_WORD_BYTES = bytes(c if 65 <= c <= 90 or 97 <= c <= 122 or 48 <= c <= 57 else 32 for c in range(256))


@lru_cache(maxsize=1 << 16)  # tabular text: a title is read for its words and for its key words
def _text_words(description: str) -> tuple[str, ...]:
    """Every word of the description's plain text (:func:`_plain_text`), in order, stopwords kept."""
    text = _plain_text(description)
    if text.isascii():
        return tuple(text.encode("ascii").translate(_WORD_BYTES).decode("ascii").split())
    return tuple(_DESCRIPTION_WORD.findall(text))


def description_words(description: str) -> tuple[str, ...]:
    """Content words of a tabular description, in order, without parenthesised modifiers."""
    # Plain words: the tabular spells terms out, so no abbreviation expansion is needed here.
    return tuple([w for w in _text_words(description) if w not in STOPWORDS])


@lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """A tabular word without its plural ending ("limbs" -> "limb"), so that "bilateral upper limbs"
    and "unspecified upper limb" compare equal on the site. Applied to both sides of a comparison."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ys")):
        return word[:-3] + "y" if word.endswith("ies") else word[:-1]
    return word


_PARTS = compile_pattern(r"[,;]")


def scoped_words(description: str) -> list[str]:
    """The description's content words in order, those a "without" governs marked "~"."""
    words = _text_words(description)
    if "without" not in words:
        # No "without", nothing governed: the words in order, as the clause walk below gives them ("with"
        # dropped; the clause marks are no word characters, so the parts' words are the whole text's).
        return [w for w in words if w not in STOPWORDS and w != "with"]
    out: list[str] = []
    for part in _PARTS.split(_plain_text(description)):
        absent = False
        for w in _DESCRIPTION_WORD.findall(part):
            if w == "without":
                absent = True
            elif w == "with":
                absent = False
            elif w not in STOPWORDS:
                out.append(("~" if absent else "") + w)
    return out


@lru_cache(maxsize=1 << 16)
def key_words(description: str) -> frozenset[str]:
    """The description's words for comparison: plurals folded, and words a "without" governs marked
    "~" up to the next comma or "with" ("Migraine without aura, not intractable, with status
    migrainosus" -> {migraine, ~aura, not, intractable, status, migrainosus}), so that "with" and
    "without" forms never compare equal."""
    words = _text_words(description)
    if "without" not in words:  # nothing marked (see scoped_words)
        return frozenset(map(fold, [w for w in words if w not in STOPWORDS and w != "with"]))
    return frozenset([("~" + fold(w[1:])) if w[0] == "~" else fold(w) for w in scoped_words(description)])


@lru_cache(maxsize=1 << 16)
def same_word(note_word: str, term: str) -> bool:
    """A note word stands for a tabular word: equal, a plural, or (long words) a close inflection.

    The fuzzy bound is high on purpose: "hypertension"/"hypotension" must not match.
    """
    if note_word == term:
        return True
    if note_word[:1] != term[:1] or any(map(str.isdigit, note_word + term)):
        return False
    if 0 < abs(len(note_word) - len(term)) <= 2:  # a plural ending is one or two letters ("s", "es", "y" -> "ies")
        for longer, shorter in ((note_word, term), (term, note_word)):
            if longer in (shorter + "s", shorter + "es") or (shorter.endswith("y") and longer == shorter[:-1] + "ies"):
                return True
    if min(len(note_word), len(term)) < 8:
        return False
    # Each letter one word has beyond the other's length is an insertion: when that alone puts the ratio
    # under the bound (the ratio falls as the distance grows), the letters need not be compared.
    gap = abs(len(note_word) - len(term))
    if (1.0 - gap / (len(note_word) + len(term))) * 100 < 92:
        return False
    return indel_ratio(note_word, term) >= 92


def acuity_of(words: set[str] | frozenset[str]) -> str | None:
    found = words & ACUITY_TERMS
    if {ACUTE, CHRONIC} <= found:
        return ACUTE_ON_CHRONIC
    if len(found) == 1:
        return next(iter(found))
    return None
