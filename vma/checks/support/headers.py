"""The billable codes beneath a non-billable header, and those whose added words the note states with the condition (read the same way by non-billable-code and invalid-code)."""

from __future__ import annotations

from vma.checks import CheckContext
from vma.checks.support.axes.evidence import condition_mentions, phrase_in
from vma.checks.support.axes.index import AxisIndex
from vma.checks.support.axes.words import OPEN, RESIDUAL, same_word
from vma.checks.support.notes.words import is_negated_at, is_uncertain_at

_CONNECTIVES = frozenset({"with", "due", "in", "of"})
def billable_bases(index: AxisIndex, code: str) -> list[str]:
    """Codes beneath the header a provider can choose: billable, or billable once a 7th character is added."""
    return list(index.base_descendants(code))  # cached per release, and spares the walk under 7th-character codes


def _phrase(index: AxisIndex, header: str, code: str) -> tuple[str, ...] | None:
    """The words a code adds to its header, in its own order; None for residual and unspecified codes."""
    own = index.words(code)
    head = set(index.words(header))
    if OPEN in own or set(own) & RESIDUAL:
        return None
    phrase = tuple(w for w in dict.fromkeys(own) if w not in head and w not in _CONNECTIVES)
    return phrase or None


def documented_codes(ctx: CheckContext, index: AxisIndex, header: str, candidates: list[str]):
    """Candidates whose added words the note states with the condition, the most specific kept."""
    mentions = [m for m in condition_mentions(ctx.note, index, header, ctx.outpatient) if m.counts]
    hits: list[tuple[str, tuple[str, ...]]] = []
    cited = []
    for code in candidates:
        phrase = _phrase(index, header, code)
        if not phrase:
            continue
        for m in mentions:
            if not phrase_in(m.words, phrase):
                continue
            if "without" not in phrase:
                at = [t.start for t in m.words if any(same_word(t.norm, w) for w in phrase)]
                if any(is_negated_at(m.sentence.text, p) or ctx.outpatient and is_uncertain_at(m.sentence.text, p)
                       for p in at):
                    continue
            hits.append((code, phrase))
            if m.sentence not in cited:
                cited.append(m.sentence)
            break
    best = [c for c, p in hits if not any(set(p) < set(q) for _, q in hits)]
    return best, mentions, cited
