"""Seventh character: a required 7th character is missing or not allowed, or the
episode (A/D/S) contradicts the note.

What it finds
    A diagnosis code whose tabular category carries a 7th-character
    definition (injuries, burns, poisonings, fractures, some pregnancy, eye and
    coma codes) proposed without its 7th character, with a character the
    definition does not allow, without the placeholder X (T21.11A for
    T21.11XA), or with an episode that the note contradicts (D, subsequent
    encounter, for a new injury under active treatment). The allowed
    characters come from the release (``IcdRelease.seventh_character_definition``).

Why it matters
    A code missing its required 7th character is invalid and the claim is
    rejected; the episode character tells initial care from follow-up care and
    sequelae, which payers and registries read.

Example
    S93.402 (Sprain of unspecified ligament of left ankle) on a first visit two
    days after the injury, with an Aircast and crutches: correct to S93.402A.

Resolution (correct or query)
    ``correct`` when the note settles one allowed character: A initial/active
    treatment (new injury, first evaluation, splint, cast, crutches, surgery,
    emergency department), D subsequent (follow-up of the injury, routine
    healing, cast removal), S sequela ("late effect", "sequela", residual
    effects). Fracture-specific characters are read from the definition's own
    wording: closed unless the note says open (Guideline I.C.19.c.1), Gustilo
    type I/II unless type III is stated, routine healing unless delayed
    healing, nonunion or malunion is stated. ``query`` with every allowed
    character, "Other" and "Clinically undetermined" when the note does not
    settle it. A coded episode is changed only on firm evidence.

References
    ICD-10-CM Official Guidelines for Coding and Reporting FY2026: I.B.1 and
    the tabular conventions for 7th characters and the placeholder X,
    I.C.19.a (7th characters A, D, S for injuries), I.C.19.c.1 (fractures: A,
    B, C, D-R, S; a fracture not stated open or closed is coded closed;
    Gustilo type I or II when the type is not given). AHIMA/ACDIS Guidelines
    for Achieving a Compliant Query Practice (2022 update).
"""

from __future__ import annotations

from typing import Iterator

from vma.axes import AxisIndex, axis_index, cite_all, code_label, condition_name
from vma.episode import INITIAL, SEQUELA, SUBSEQUENT, EpisodeEvidence, episode_evidence, seventh_for
from vma.checks import CheckContext, register
from vma.findings import Choice, Finding, query_choices

CHECK = "seventh-character"
_EPISODE_OF = {"A": INITIAL, "D": SUBSEQUENT, "S": SEQUELA}


def _episode_of(definition_text: str) -> str | None:
    text = definition_text.lower()
    return next((e for e in (INITIAL, SUBSEQUENT, SEQUELA) if e in text), None)


def _split(index: AxisIndex, code: str) -> tuple[str, str, bool] | None:
    """(base, 7th character, placeholder missing) for a code carrying a 7th character that the
    release does not list: "S93.402B" -> ("S93.402", "B", False); "T21.11A" -> ("T21.11", "A", True)."""
    bare = code.replace(".", "")
    if len(bare) < 5:
        return None
    base_bare = bare[:-1].rstrip("X") if len(bare) == 7 else bare[:-1]
    base = f"{base_bare[:3]}.{base_bare[3:]}" if len(base_bare) > 3 else base_bare
    if not index.needs_seventh(base):
        return None
    padded = base_bare.ljust(6, "X")
    if len(bare) == 7 and bare[:6] != padded:
        return None
    return base, bare[-1], len(bare) < 7


def _list_chars(definition: dict[str, str]) -> str:
    return ", ".join(f"{c} {d}" for c, d in definition.items())


def _why(episode: str, ev: EpisodeEvidence) -> str:
    if episode == INITIAL:
        active = ev.words("active")
        treatment = f" with active treatment ({', '.join(active)})" if active else ""
        if ev.has(INITIAL):
            return f"The note describes a new injury at its first evaluation{treatment}"
        return f"The note describes active treatment ({', '.join(active)})"
    if episode == SUBSEQUENT:
        return "The note describes a follow-up visit while the injury heals after treatment"
    return "The note describes a sequela (late effect) of the injury"


def _evidence(ev: EpisodeEvidence, episode: str | None) -> str:
    kinds = {INITIAL: (INITIAL, "active"), SUBSEQUENT: (SUBSEQUENT,), SEQUELA: (SEQUELA,)}.get(
        episode or "", (INITIAL, "active", SUBSEQUENT, SEQUELA))
    return cite_all(ev.sentences(*kinds))


def _query(index: AxisIndex, position: int, code: str, base: str, definition: dict[str, str],
           ev: EpisodeEvidence, problem: str) -> Finding:
    condition = condition_name(index.release.description(base) or base)
    found = [f"{kind}: {', '.join(ev.words(kind))}" for kind in (INITIAL, "active", SUBSEQUENT, SEQUELA)
             if ev.has(kind)]
    indicators = ("The note records " + "; ".join(found) + "." if found
                  else "The note does not describe when the injury happened or what care preceded this visit.")
    choices = [Choice(label=code_label(index, index.release.with_seventh(base, c)),
                      codes=[index.release.with_seventh(base, c)]) for c in definition]
    return Finding(check=CHECK, action="query", code=code,
                   message=f"{code} ({index.release.description(base)}) {problem}, and the note does not "
                           f"settle which one applies ({_list_chars(definition)}).",
                   evidence=_evidence(ev, None), question=(
                       f"{condition[0].upper()}{condition[1:]} is documented. {indicators} Which of the "
                       f"following describes this encounter for the {condition}?"),
                   choices=query_choices(choices), target=f"diagnosis:{position}")


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    index = axis_index(ctx.icd)
    ev: EpisodeEvidence | None = None
    for position, dx in enumerate(ctx.chart.diagnoses):
        code = dx.code
        base, seventh, placeholder_missing = code, None, False
        if index.needs_seventh(code):
            problem = "requires a 7th character"
        elif code in index.release:
            base, seventh = index.split_seventh(code)
            if seventh is None:
                continue
            problem = ""
        else:
            split = _split(index, code)
            if split is None:
                continue
            base, seventh, placeholder_missing = split
            problem = ("lacks the placeholder X before its 7th character" if placeholder_missing
                       and seventh in (index.release.seventh_character_definition(base) or {})
                       else f"has 7th character {seventh}, which this code does not allow")
        definition = index.release.seventh_character_definition(base) or {}
        ev = ev or episode_evidence(ctx.note)
        episode = ev.episode()
        char = seventh_for(definition, episode, ev) if episode else None
        description = index.release.description(base)
        target = f"diagnosis:{position}"
        if problem.startswith("lacks the placeholder"):
            fixed = index.release.with_seventh(base, seventh)
            yield Finding(check=CHECK, action="correct", code=code,
                          message=f"{code} ({description}, {definition[seventh]}) {problem}: {fixed}.",
                          suggested_codes=[fixed], target=target)
            continue
        if problem:
            if char is None:
                yield _query(index, position, code, base, definition, ev, problem)
                continue
            yield Finding(check=CHECK, action="correct", code=code,
                          message=(f"{code} ({description}) {problem} ({_list_chars(definition)}). "
                                   f"{_why(episode, ev)}, so {char} applies."),
                          evidence=_evidence(ev, episode), suggested_codes=[index.release.with_seventh(base, char)],
                          target=target)
            continue
        # A listed 7th-character code: change the episode only when the note firmly says another.
        coded_episode = _episode_of(definition.get(seventh, ""))
        if coded_episode and episode and episode != coded_episode and char and ev.firm(episode):
            yield Finding(check=CHECK, action="correct", code=code,
                          message=(f"{code} ({index.release.description(code)}) is coded as a {coded_episode} "
                                   f"encounter. {_why(episode, ev)}, so {char} applies."),
                          evidence=_evidence(ev, episode), suggested_codes=[index.release.with_seventh(base, char)],
                          target=target)


@register("seventh-character")
def check(ctx: CheckContext) -> list[Finding]:
    return list(_findings(ctx))
