"""The seventh-character findings of a chart: the episode of care (A, D, S) and the other 7th-character values (stage, eye, trimester) the note settles or leaves to the physician."""

from __future__ import annotations

from typing import Iterator

from vma.checks import CheckContext
from vma.checks.support.axes.evidence import condition_mentions
from vma.checks.support.axes.index import AxisIndex, axis_index
from vma.checks.support.axes.wording import cite_all, code_label, condition_name
from vma.checks.support.episode import (
    ACTIVE,
    EVENT,
    FIRST_SEEN,
    INITIAL,
    LONG_AGO,
    PRIOR,
    SEQUELA,
    SUBSEQUENT,
    TREATMENT,
    WORKUP,
    EpisodeEvidence,
    episode_evidence,
    is_episode_definition,
    may_leave_initial,
    seventh_for,
)
from vma.checks.support.seventh_values import ValueReading, read_value
from vma.findings import Choice, Finding, query_choices

CHECK = "seventh-character"
# How each kind of episode statement is named in a question's clinical indicators.
_INDICATOR = {INITIAL: "onset", FIRST_SEEN: "first evaluation", EVENT: "injury", ACTIVE: "treatment",
              WORKUP: "work-up", TREATMENT: "treatment begun", PRIOR: "earlier care",
              SUBSEQUENT: "follow-up care", SEQUELA: "late effect", LONG_AGO: "onset"}
# The statements a question on the episode cites, in the order a coder reads them.
_QUERY_KINDS = (INITIAL, LONG_AGO, FIRST_SEEN, ACTIVE, TREATMENT, PRIOR, SUBSEQUENT, SEQUELA)
# What a non-episode 7th character tells, by the noun of the definition's own wording.
_AXIS_QUESTION = {"stage": "the stage of the {c}", "eye": "the eye affected by the {c}",
                  "fetus": "the fetus to which the {c} applies", "time": "when the {c} score was recorded"}


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


def _short(words: list[str], limit: int = 3) -> str:
    return "; ".join(w if len(w) <= 60 else w[:57].rsplit(" ", 1)[0] + " ..." for w in words[:limit])


# Where a statement of this encounter's care reads best: findings first, then the plan.
_SECTION_RANK = {name: i for i, name in enumerate(("results", "exam", "procedure", "plan", "assessment", "instructions"))}


def _pairs(ev: EpisodeEvidence, kind: str):
    return sorted(ev.cues.get(kind, ()), key=lambda p: _SECTION_RANK.get(p[0].section, len(_SECTION_RANK)))


def _words(ev: EpisodeEvidence, kind: str) -> list[str]:
    return list(dict.fromkeys(w for _, w in _pairs(ev, kind)))


def _why(episode: str, ev: EpisodeEvidence) -> str:
    if episode == INITIAL:
        active = _words(ev, ACTIVE)
        if ev.has(INITIAL) and active:
            return (f"The note describes a new injury ({_short(_words(ev, INITIAL))}) with active treatment "
                    f"({_short(active)})")
        if active:
            return f"The note describes active treatment ({_short(active)})"
        if ev.has(INITIAL):
            return f"The note describes a new injury ({_short(_words(ev, INITIAL))})"
        return (f"The note documents the injury's evaluation at this encounter with diagnostic work-up "
                f"({_short(_words(ev, WORKUP), 2)}) and treatment begun ({_short(_words(ev, TREATMENT), 2)}), "
                "and no earlier or completed treatment: active treatment (Guideline I.C.19.a)")
    if episode == SUBSEQUENT:
        return (f"The note describes routine care while the injury heals after treatment "
                f"({_short(_words(ev, SUBSEQUENT))})")
    return f"The note describes a sequela (late effect) of the injury ({_short(_words(ev, SEQUELA))})"


def _episode_evidence_text(ev: EpisodeEvidence, episode: str | None) -> str:
    """One sentence per part of the reasoning: for A the onset or first evaluation, the active
    treatment or work-up, the treatment begun; otherwise the statements of that episode."""
    if episode == INITIAL:
        # the onset told with the injury event reads best ("began 1 week ago after ... an accident")
        story = ev.sentences(INITIAL, FIRST_SEEN)
        events = ev.sentences(EVENT)
        chosen = [next((s for s in story if s in events), (story or events or [None])[0])]
        for kinds in ((ACTIVE, WORKUP), (TREATMENT,) if not ev.has(ACTIVE) else ()):
            pairs = [p for kind in kinds for p in _pairs(ev, kind)]
            if pairs and pairs[0][0] not in chosen:
                chosen.append(pairs[0][0])
        return cite_all([s for s in chosen if s is not None])
    if episode is None:  # a query: one sentence for each kind of statement, in the order a coder reads them
        chosen: list = []
        for kind in _QUERY_KINDS:
            first = next((s for s in ev.sentences(kind) if s not in chosen), None)
            if first is not None and len(chosen) < 3:
                chosen.append(first)
        return cite_all(chosen)
    return cite_all(ev.sentences(SUBSEQUENT if episode == SUBSEQUENT else SEQUELA))


def _choices(index: AxisIndex, base: str, definition: dict[str, str]) -> list[Choice]:
    return [Choice(label=code_label(index, index.release.with_seventh(base, c)),
                   codes=[index.release.with_seventh(base, c)]) for c in definition]


def _episode_query(index: AxisIndex, position: int, code: str, base: str, definition: dict[str, str],
                   ev: EpisodeEvidence, problem: str) -> Finding:
    condition = condition_name(index.release.description(base) or base)
    found = [f"{_INDICATOR[kind]} " + ", ".join(f'"{w}"' for w in _short(_words(ev, kind)).split("; "))
             for kind in _QUERY_KINDS if ev.has(kind)]
    indicators = ("The note records " + "; ".join(found) + "." if found
                  else "The note does not describe when the injury happened or what care preceded this visit.")
    return Finding(check=CHECK, action="query", code=code,
                   message=f"{code} ({index.release.description(base)}) {problem}, and the note does not "
                           f"settle which one applies ({_list_chars(definition)}).",
                   evidence=_episode_evidence_text(ev, None), question=(
                       f"{condition[0].upper()}{condition[1:]} is documented. {indicators} Which of the "
                       f"following describes this encounter for the {condition}?"),
                   choices=query_choices(_choices(index, base, definition)), target=f"diagnosis:{position}")


def _episode_findings(ctx: CheckContext, index: AxisIndex, position: int, code: str, base: str,
                      seventh: str | None, problem: str, definition: dict[str, str]) -> Iterator[Finding]:
    # A listed code changes only to another episode the note firmly states; an initial encounter's can be
    # another only where the note tells of routine care or a sequela, looked for first (most notes have none).
    if not problem and _episode_of(definition.get(seventh or "", "")) == INITIAL and not may_leave_initial(ctx.note):
        return
    ev = episode_evidence(ctx.note).about(index.release.description(base) or "")
    episode = ev.episode()
    char = seventh_for(definition, episode, ev) if episode else None
    description = index.release.description(base)
    target = f"diagnosis:{position}"
    if problem:
        if char is None:
            yield _episode_query(index, position, code, base, definition, ev, problem)
            return
        fixed = index.release.with_seventh(base, char)
        yield Finding(check=CHECK, action="correct", code=code,
                      message=(f"{code} ({description}) {problem} ({_list_chars(definition)}). "
                               f"{_why(episode, ev)}, so {char} applies: {fixed}."),
                      evidence=_episode_evidence_text(ev, episode), suggested_codes=[fixed], target=target)
        return
    # A listed 7th-character code: change the episode only when the note firmly says another.
    coded_episode = _episode_of(definition.get(seventh or "", ""))
    if coded_episode and episode and episode != coded_episode and char and ev.firm(episode, coded_episode):
        fixed = index.release.with_seventh(base, char)
        yield Finding(check=CHECK, action="correct", code=code,
                      message=(f"{code} ({index.release.description(code)}) is coded with 7th character {seventh} "
                               f"({definition[seventh]}). {_why(episode, ev)}, so {char} applies: {fixed}."),
                      evidence=_episode_evidence_text(ev, episode), suggested_codes=[fixed], target=target)


def _value_evidence(reading: ValueReading, char: str | None) -> str:
    """The first sentence of each distinct word the reading rests on (up to three)."""
    pairs = reading.documented.get(char, []) if char is not None else reading.hints
    chosen: list = []
    for word in dict.fromkeys(w for _, w in pairs):
        sentence = next(s for s, w in pairs if w == word)
        if sentence not in chosen:
            chosen.append(sentence)
    return cite_all(chosen[:3])


def _axis_phrase(reading: ValueReading, condition: str) -> str:
    return _AXIS_QUESTION.get(reading.axis, "the {c}").format(c=condition)


def _value_findings(ctx: CheckContext, index: AxisIndex, position: int, code: str, base: str,
                    seventh: str | None, problem: str, definition: dict[str, str]) -> Iterator[Finding]:
    description = index.release.description(base) or base
    mentions = condition_mentions(ctx.note, index, base, ctx.outpatient)
    reading = read_value(ctx.note, definition, description, mentions)
    char = reading.settled()
    condition = condition_name(description)
    about = _axis_phrase(reading, condition)
    target = f"diagnosis:{position}"
    if problem:
        if char is None:
            hinted = _short(reading.words(), 4)
            indicators = (f"The note records: {hinted}." if hinted else f"The note does not state {about}.")
            yield Finding(check=CHECK, action="query", code=code,
                          message=(f"{code} ({description}) {problem}, and the note does not settle which one "
                                   f"applies ({_list_chars(definition)})."),
                          evidence=cite_all(reading.sentences() or [m.sentence for m in mentions if m.counts]),
                          question=(f"{condition[0].upper()}{condition[1:]} is documented. {indicators} Which of "
                                    f"the following describes {about}?"),
                          choices=query_choices(_choices(index, base, definition)), target=target)
            return
        fixed = index.release.with_seventh(base, char)
        if char in reading.documented:
            why = f"The note documents '{definition[char]}' ({_short(reading.words(char), 4)})"
            evidence = _value_evidence(reading, char)
        else:  # the condition as the note states it, without the value
            why = f"The note does not document {about}"
            evidence = cite_all([m.sentence for m in mentions if m.counts])
        yield Finding(check=CHECK, action="correct", code=code,
                      message=(f"{code} ({description}) {problem} ({_list_chars(definition)}). "
                               f"{why}, so {char} applies: {fixed}."),
                      evidence=evidence, suggested_codes=[fixed], target=target)
        return
    # A listed code: a value the note documents replaces "unspecified" or a value it contradicts.
    if char is None or char == seventh or char not in reading.documented or seventh in reading.documented:
        return
    fixed = index.release.with_seventh(base, char)
    yield Finding(check=CHECK, action="correct", code=code,
                  message=(f"{code} ({index.release.description(code)}) is coded with 7th character {seventh} "
                           f"({definition.get(seventh, '')}). The note documents '{definition[char]}' "
                           f"({_short(reading.words(char), 4)}), so {char} applies: {fixed}."),
                  evidence=_value_evidence(reading, char), suggested_codes=[fixed], target=target)


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    index = axis_index(ctx.icd)
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
        if not definition:
            continue
        if problem.startswith("lacks the placeholder"):
            fixed = index.release.with_seventh(base, seventh)
            yield Finding(check=CHECK, action="correct", code=code,
                          message=(f"{code} ({index.release.description(base)}, {definition[seventh]}) {problem}: "
                                   f"{fixed}."),
                          suggested_codes=[fixed], target=f"diagnosis:{position}")
            continue
        reader = _episode_findings if is_episode_definition(definition) else _value_findings
        yield from reader(ctx, index, position, code, base, seventh, problem, definition)


def seventh_character_findings(ctx: CheckContext) -> list[Finding]:
    """The seventh-character findings of a chart, computed once: the check reports them, and ``non-billable-code``
    leaves a header they already report to them."""
    return ctx.shared(CHECK, _findings)
