"""Shared pieces of the claim edits (invalid procedure code, modifier, NCCI PTP, MUE, place of service).

Not a check itself (no ``register``): the modifier families, how a service
line is named in a message, and what the note says about sides.
"""

from __future__ import annotations

import re

from vma.chart import Procedure
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.notes.words import is_negated_at
from vma.compiled_patterns import compile_pattern

# NCCI Policy Manual ch. I, E.1 and the "NCCI-associated modifiers" list (CMS NCCI PTP FAQ).
DISTINCT_SERVICE = frozenset({"59", "XE", "XS", "XP", "XU"})
ANATOMIC = frozenset({"RT", "LT", "E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8",
                      "F9", "TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "LC", "LD", "LM", "RC", "RI"})
EM_SAME_DAY = frozenset({"25", "57"})
GLOBAL_PERIOD = frozenset({"24", "58", "78", "79", "27", "91"})
TELEHEALTH = frozenset({"95", "93", "GT", "FQ"})
SIDE_MODIFIERS = {"right": "RT", "left": "LT", "bilateral": "50"}
SIDE_OF_MODIFIER = {v: k for k, v in SIDE_MODIFIERS.items()}


def line_name(index: int, proc: Procedure) -> str:
    mods = "-".join(proc.modifiers)
    return f"line {index + 1} ({proc.code}{'-' + mods if mods else ''})"


def target(index: int) -> str:
    return f"procedure:{index}"


_SIDE_WORDS = compile_pattern(r"\b(right|left|bilateral(?:ly)?|both|r|l)\b(?!\s*(?:lower|upper)\s+quadrant)", re.I)
_SIDE_OF = {"right": "right", "r": "right", "left": "left", "l": "left", "bilateral": "bilateral",
            "bilaterally": "bilateral", "both": "bilateral"}


def sides_in(text: str) -> set[str]:
    """Sides named in the text, skipping negated mentions ("no left-sided pain")."""
    found: set[str] = set()
    for m in _SIDE_WORDS.finditer(text):
        word = m.group(1).lower()
        if word in ("r", "l") and not re.match(r"[rl]\s+(?:knee|shoulder|hip|ankle|wrist|elbow|ear|eye|hand|foot)", text[m.start():], re.I):
            continue  # single letters count only directly before a body part
        if word == "both" and not re.match(r"both\s+(?:knees|shoulders|hips|ankles|wrists|elbows|ears|eyes|hands|feet|sides)", text[m.start():], re.I):
            continue
        if is_negated_at(text, m.start()):
            continue
        found.add(_SIDE_OF[word])
    return found


def documented_side(note: NoteDoc) -> tuple[str | None, str]:
    """The one side the procedure documentation names, with the sentence that says it.

    The procedure section is read first; without one, the assessment and plan.
    Both sides named (and not "bilateral") gives no answer: the note must say
    which line is which.
    """
    for sections in (("procedure",), ("assessment", "plan")):
        sentences = [s for s in note.sentences if s.section in sections]
        sides: set[str] = set()
        first = ""
        for s in sentences:
            found = sides_in(s.text)
            if found and not first:
                first = s.text
            sides |= found
        if sides:
            if "bilateral" in sides or sides == {"right", "left"}:
                return ("bilateral" if "bilateral" in sides else None), first
            return next(iter(sides)), first
    return None, ""


def description_side(description: str) -> str | None:
    low = description.lower()
    if "bilateral" in low:
        return "bilateral"
    has_r, has_l = bool(re.search(r"\bright\b", low)), bool(re.search(r"\bleft\b", low))
    if has_r and not has_l:
        return "right"
    if has_l and not has_r:
        return "left"
    return None
