"""Wording shared by the axis checks: code labels, quotes of the note, condition names."""

from __future__ import annotations

import re

from vma.checks.support.axes.index import AxisIndex
from vma.checks.support.notes.document import Sentence, cite
from vma.checks.support.notes.words import ASSESSMENT_SECTIONS
from vma.compiled_patterns import compile_pattern

# -- wording shared by the axis checks ---------------------------------------------------------------------

def with_seventh(index: AxisIndex, base: str, seventh: str | None) -> str:
    """The sibling code to suggest: the proposed code's 7th character kept where the sibling allows it."""
    if seventh is None or not index.needs_seventh(base):
        return base
    allowed = index.release.seventh_character_definition(base) or {}
    return index.release.with_seventh(base, seventh) if seventh in allowed else base


def code_label(index: AxisIndex, code: str) -> str:
    """ "Pain in left knee (M25.562)": the label style of contract section 6."""
    return f"{index.release.description(code) or code} ({code})"


def cite_all(sentences: list[Sentence], limit: int = 3) -> str:
    """Evidence: the cited sentences, assessment first, as ``Section: "quote"`` joined by "; "."""

    ordered = sorted(sentences, key=lambda s: (s.section not in ASSESSMENT_SECTIONS, s.start))
    chosen = sorted(ordered[:limit], key=lambda s: s.start)
    return "; ".join(cite(s) for s in chosen)


_UNCERTAIN_CLAUSE = compile_pattern(r"[^,;:.]*\b(?:likely|probable|possible|suspected|questionable|rule out|r/o|"
                               r"concern for|presumed)\b[^,;:.]*", re.I)
# The words the clause needs, as they stand in lower-cased ASCII text. The clause's pattern starts anywhere
# and scans to the next break, which is slow on a long sentence; one without these words is passed over.
# Only for ASCII text: under re.I, "k" and "s" also match non-ASCII letters ("\u212a", "\u017f").
_UNCERTAIN_WORDS = ("likely", "probable", "possible", "suspected", "questionable", "rule out", "r/o",
                    "concern for", "presumed")


def _may_be_uncertain(text: str) -> bool:
    """False only where _UNCERTAIN_CLAUSE cannot match: ASCII text with none of its words."""
    if not text.isascii():
        return True
    lowered = text.lower()
    return any(w in lowered for w in _UNCERTAIN_WORDS)


def uncertain_remark(sentences: list[Sentence]) -> str:
    """ " 'Likely rotator cuff tendinopathy' is an uncertain diagnosis ..." for an assessment
    that states another diagnosis as uncertain next to the coded one (Guideline IV.H)."""
    for s in sentences:
        if s.section not in ASSESSMENT_SECTIONS:
            continue
        if not _may_be_uncertain(s.text):
            continue
        m = _UNCERTAIN_CLAUSE.search(s.text)
        if m and m.group(0).strip():
            clause = m.group(0).strip()
            return (f" '{clause[0].upper()}{clause[1:]}' is an uncertain diagnosis and is not coded in the "
                    "outpatient setting.")
    return ""


def condition_name(description: str, without_acuity: bool = False) -> str:
    """The condition part of a description, for questions: "Primary osteoarthritis,
    unspecified elbow" -> "primary osteoarthritis"; "Pain in unspecified shoulder" -> "pain";
    "Unspecified systolic (congestive) heart failure" -> "systolic heart failure" (nonessential
    modifiers dropped, Guideline I.A.7). ``without_acuity`` also drops "acute"/"chronic", for a
    question about the acuity itself ("acute on chronic chronic ..." must never be written)."""
    text = re.sub(r"\s*\([^)]*\)", "", description)
    text = re.sub(r"^unspecified\s+|,?\s*not specified as acute or chronic", "", text, flags=re.I)
    text = re.sub(r",?\s*(?:(?:of|in)\s+)?unspecified\b[^,]*", "", text)
    text = re.sub(r",?\s*\b(?:right|left|bilateral)\b[^,]*", "", text)
    text = re.sub(r",\s*uncomplicated\b", "", text)
    text = re.sub(r"\s+(?:of|in|at|of the)\s*$", "", text)  # "Pain in [right shoulder]" -> "Pain"
    if without_acuity:
        text = re.sub(r"\b(?:acute on chronic|acute|chronic|subacute)\s+", "", text, flags=re.I)
    text = " ".join(text.split()).strip(" ,") or description
    return text[0].lower() + text[1:] if not text[:2].isupper() else text
