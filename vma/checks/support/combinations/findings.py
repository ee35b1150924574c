"""The combination findings of a chart: combination codes, "use additional code" and "code first" notes the chart misses."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator

from vma.checks import CheckContext
from vma.checks.support.axes.index import axis_index
from vma.checks.support.combinations.diabetes import (
    DiabetesLink,
    attributed_elsewhere,
    diabetes_category,
    diabetes_link,
    read_link,
)
from vma.checks.support.combinations.picture import (
    _DIABETES,
    _NOT_SMOKING_NOW,
    _SMOKING,
    _SMOKING_STARTS,
    _SMOKING_WORDS,
    CHECK_ID,
    TOBACCO_REFS,
    Documented,
    _affirmed,
    _evidence,
    _hypertension_findings,
    _label,
    _may_state,
    detectors_for,
)
from vma.checks.support.kept_codes import queried_positions, removed_positions
from vma.checks.support.notes.document import Sentence, cite
from vma.checks.support.notes.words import ASSESSMENT_SECTIONS
from vma.checks.support.refine.decide import decide
from vma.checks.support.refine.documented import chart_codes
from vma.findings import Finding
from vma.reference.icd10cm import CodeRef, IcdRelease, note_code_refs, per_release


def _diabetes_findings(ctx: CheckContext, codes: list[str], positions: list[int],
                       handled: set[str]) -> Iterator[Finding]:
    release = ctx.icd
    dm = [i for i, c in enumerate(codes) if diabetes_category(c)]
    categories = {diabetes_category(codes[i]) for i in dm}
    if not dm or len(categories) != 1:
        return  # no diabetes, or two types at once: the type must be settled first (excludes1)
    category = categories.pop()
    links: list[DiabetesLink] = []
    cited: list[Sentence] = []
    for j, code in enumerate(codes):
        link = diabetes_link(release, code, category)
        if link is None or link.combination in codes or any(link.combination == l.combination for l in links):
            continue
        siblings = release.siblings(link.combination)
        if any(c in siblings for c in codes if diabetes_category(c)):
            continue  # the coder chose another code of the same kind: the axis checks judge it
        reading = read_link(ctx, link)
        if reading.elsewhere and not reading.linked:
            continue  # the provider states another cause (I.A.15: "unless ... clearly states ... unrelated")
        if not reading.linked and attributed_elsewhere(ctx, link, reading, codes):
            continue
        links.append(link)
        cited.extend((reading.linked or [s for s in reading.mentions if s.section in ASSESSMENT_SECTIONS]
                      or reading.mentions)[:1])
    if not links:
        return
    targets = [l.combination for l in links]

    # The code to correct: "without complications", "unspecified complications" or a header above
    # the combination code (E11.6 for E11.621) is replaced; a specific diabetes code keeps its place
    # and the combination code is added beside it (Guideline I.C.4.a).
    def less_specific(code: str) -> bool:
        return code in (f"{category}.9", f"{category}.8") or (
            not release.is_billable(code) and any(t.startswith(code) for t in targets))

    at = next((i for i in dm if less_specific(codes[i])), dm[0])
    coded = codes[at]
    replaced = less_specific(coded)
    dropped = [l.other for l in links if l.included]
    handled.update(l.other for l in links)
    suggested = targets if replaced else [coded, *targets]
    where = sorted([positions[at]] + [positions[codes.index(c)] for c in dropped])
    linked_to = " and ".join(_label(release, l.other) for l in links)
    target_labels = " and ".join(_label(release, t) for t in targets)
    message = (f"{_label(release, coded)} is coded with {linked_to}; the classification presumes diabetes and "
               f"{'these conditions' if len(links) > 1 else 'this condition'} are linked (\"with\", "
               f"Guideline I.A.15), so ")
    if replaced:
        message += f"{coded} becomes {target_labels}"
    else:
        message += (f"{coded} stays and {target_labels} is added (Guideline I.C.4.a: as many diabetes codes as "
                    "the complications need)")
    clauses = []
    for l in links:
        if l.included:
            clauses.append(f"{l.other} is dropped, {l.combination} includes it")
        else:
            clauses.append(f"{l.other} stays, sequenced after {l.combination} as its additional code")
    message += "; " + "; ".join(clauses)
    message += " (tabular: " + "; ".join(dict.fromkeys(n for l in links for n in l.notes[:2])) + ")"
    message += ". No change if the provider documents that the condition is due to another cause."
    evidence = _evidence(ctx, codes, _DIABETES)
    extra = [cite(s) for s in dict.fromkeys(cited) if cite(s) not in evidence]
    yield Finding(check=CHECK_ID, action="correct", code=coded, message=message,
                  evidence="; ".join([evidence, *extra]), suggested_codes=suggested,
                  target="diagnosis:" + ",".join(str(p) for p in where))


@dataclass(frozen=True)
class _AdditionalNote:
    """A "use additional code" note over a code, read once per release."""

    where: str  # the code or block it is written on
    note: str
    tobacco: bool  # it names a tobacco code


@per_release
def _additional_notes_held(release: IcdRelease) -> dict[str, tuple[_AdditionalNote, ...]]:
    return {}


def _additional_notes(release: IcdRelease, code: str) -> tuple[_AdditionalNote, ...]:
    """The code's "use additional code" notes that name some code this check reads the note for (tobacco, or a
    detector's), nearest first: a note asking for anything else ("use additional code to identify the organism")
    never comes to a finding here, so the chart's codes are not matched against it."""
    held = _additional_notes_held(release)
    found = held.get(code)
    if found is None:
        notes = (_AdditionalNote(where, note, any(r.covers(t) for r in refs for t in TOBACCO_REFS))
                 for where, note in release.inherited_notes(code, "useAdditionalCode") if (refs := note_code_refs(note)))
        found = held[code] = tuple(n for n in notes if n.tobacco or detectors_for(n.note))
    return found


@lru_cache(maxsize=16384)  # by tabular note and code: reference data and the chart's codes, never its note
def _names(note: str, code: str) -> bool:
    """The tabular note names the code, by itself or in a range."""
    return any(r.covers(code) for r in note_code_refs(note))


def _additional_code_findings(ctx: CheckContext, codes: list[str], positions: list[int],
                              planned: set[str]) -> Iterator[Finding]:
    release = ctx.icd
    documented: dict[str, Documented | None] = {}

    def detect(fn: Callable[[CheckContext], Documented | None]) -> Documented | None:
        if fn.__name__ not in documented:
            documented[fn.__name__] = fn(ctx)
        return documented[fn.__name__]

    added: set[str] = set()
    tobacco_done = False
    smoking: list[Sentence] | None = None  # read when a tobacco note first asks
    for i, code in enumerate(codes):
        wanted: list[tuple[Documented, str, str]] = []
        notes = _additional_notes(release, code)
        for n in notes:
            if any(_names(n.note, c) for c in codes) or any(_names(n.note, c) for c in planned):
                continue
            if not tobacco_done and n.tobacco:
                if smoking is None:
                    smoking = ([s for s in _affirmed(ctx, _SMOKING) if not _NOT_SMOKING_NOW.search(s.text)]
                               if _may_state(ctx.note, _SMOKING_WORDS, _SMOKING_STARTS) else [])
                if smoking and not any(_names(t.note, c) for t in notes if t.tobacco for c in codes):
                    tobacco_done = True
                    yield Finding(check=CHECK_ID, action="info", severity="info", code=code,
                                  message=(f"The tabular at {n.where} asks for an additional code for tobacco "
                                           f"exposure, use or dependence with {code}, and the note documents "
                                           "smoking; add the code the provider's wording supports "
                                           "(tobacco use Z72.0 or dependence F17.-)."),
                                  evidence=cite(smoking[0]), target=f"diagnosis:{positions[i]}")
                continue
            for fn in detectors_for(n.note):  # a detector none of whose codes the note names adds nothing
                doc = detect(fn)
                if doc is None or doc.code in added or doc.code not in release:
                    continue
                if _names(n.note, doc.code):
                    wanted.append((doc, n.where, n.note))
        if not wanted:
            continue
        new_codes = list(dict.fromkeys(doc.code for doc, _, _ in wanted))
        added.update(new_codes)
        notes_cited = "; ".join(dict.fromkeys(f'at {w}: "{n}"' for _, w, n in wanted))
        sentences = list(dict.fromkeys(s for doc, _, _ in wanted for s in doc.sentences[:1]))
        yield Finding(check=CHECK_ID, action="correct", code=code,
                      message=(f"The tabular asks for an additional code with {_label(release, code)} "
                               f"({notes_cited}), and the note documents it: add "
                               f"{', '.join(_label(release, c) for c in new_codes)}."),
                      evidence="; ".join(cite(s) for s in sentences), suggested_codes=[code, *new_codes],
                      target=f"diagnosis:{positions[i]}")


@per_release
def _code_first_held(release: IcdRelease) -> dict[str, tuple[CodeRef, ...]]:
    return {}


def _code_first_refs(release: IcdRelease, code: str) -> tuple[CodeRef, ...]:
    """For a manifestation code (its title or an ancestor's says "in diseases classified elsewhere"), the codes
    its "code first" notes name; nothing for another code."""
    held = _code_first_held(release)
    found = held.get(code)
    if found is None:
        owner_desc = " ".join(release.description(a) or "" for a in (code, *release.ancestors(code)))
        found = held[code] = (tuple(r for _, n in release.inherited_notes(code, "codeFirst") for r in note_code_refs(n))
                              if "in diseases classified elsewhere" in owner_desc.lower() else ())
    return found


def _manifestation_findings(ctx: CheckContext, codes: list[str], positions: list[int],
                            handled: set[str]) -> Iterator[Finding]:
    release = ctx.icd
    for i, code in enumerate(codes):
        if code in handled:
            continue
        refs = _code_first_refs(release, code)
        if not refs:
            continue
        desc = release.description(code) or ""
        underlying = [j for j, c in enumerate(codes) if j != i and any(r.covers(c) for r in refs)]
        if underlying and min(underlying) < i:
            continue
        if underlying:
            message = (f"{code} ({desc}) is a manifestation code; its underlying condition "
                       f"({codes[underlying[0]]}) is sequenced after it, and the tabular says to code it first.")
        else:
            message = (f"{code} ({desc}) is a manifestation code; the tabular says to code the underlying "
                       "disease first, and no code on the chart is one its \"code first\" note names.")
        yield Finding(check=CHECK_ID, action="info", severity="warning", code=code, message=message,
                      evidence=f"diagnoses: {', '.join(codes)}", target=f"diagnosis:{positions[i]}")


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    known = ctx.known_diagnoses()
    if not known:
        return
    codes = [dx.code for _, dx, _ in known]
    positions = [pos for pos, _, _ in known]
    combined = list(_hypertension_findings(ctx, codes, positions))
    handled: set[str] = set()  # codes a combination finding already accounts for
    combined += list(_diabetes_findings(ctx, codes, positions, handled))
    yield from combined
    # Codes a combination finding already brings in satisfy the notes that ask for them.
    planned = {c for f in combined for c in f.suggested_codes}
    yield from _additional_code_findings(ctx, codes, positions, planned)
    yield from _manifestation_findings(ctx, codes, positions, handled)


def _name_the_kept_code(ctx: CheckContext, found: list[Finding]) -> list[Finding]:
    """An additional code goes beside the code the chart keeps: where this check's combination, or the
    axis checks' one-step refinement, replaces the code ("E11.9 becomes E11.22"), the suggestion and the
    message name that code, so applying every correction leaves E11.22 and Z79.84, not E11.9 again."""
    replaced = {f.target: f.suggested_codes[0] for f in found
                if f.action == "correct" and f.target and len(f.suggested_codes) == 1 and f.suggested_codes[0] != f.code}
    out = []
    for f in found:
        if f.action == "correct" and f.target and len(f.suggested_codes) > 1 and f.suggested_codes[0] == f.code:
            kept = replaced.get(f.target)
            if kept is None and f.code:
                d = decide(ctx.note, axis_index(ctx.icd), f.code, ctx.outpatient,
                           chart_codes(dx.code for dx in ctx.chart.diagnoses))
                if d is not None and d.action == "correct" and len(d.targets) == 1 and not d.seventh:
                    kept = d.targets[0]
            if kept and kept != f.code:
                f = f.model_copy(update={
                    "suggested_codes": [kept, *f.suggested_codes[1:]],
                    "message": f"{f.message} {f.code} itself is corrected to {_label(ctx.icd, kept)}; the additional "
                               f"code goes beside it."})
        out.append(f)
    return out


def combination_findings(ctx: CheckContext) -> list[Finding]:
    """The combination findings of a chart, computed once: the check reports them, and a diabetes code
    they link to a coded complication is theirs, not a second finding of ``specificity``."""
    return ctx.shared(CHECK_ID, _kept_findings)


def _kept_findings(ctx: CheckContext) -> list[Finding]:
    found = list(_findings(ctx))
    if not found:
        return found
    # No combination or additional code for a code the record does not keep (dropped by excludes1,
    # replaced by sex-age): E11.9 on a chart whose note states type 1 gets no Z79.4 beside it; nor
    # while the provider is asked which of two codes the patient has (the answer may drop it).
    removed = {f"diagnosis:{i}" for i in removed_positions(ctx) | queried_positions(ctx)}
    return _name_the_kept_code(ctx, [f for f in found if f.target not in removed])
