"""POA: the present-on-admission indicator is missing or invalid on an inpatient chart.

What it finds
    On an inpatient chart (setting ``inpatient``, or place of service 21 when
    no setting is given), a diagnosis without a POA indicator, or with a value
    other than Y, N, U, W or 1, unless the code is on the POA-exempt list
    (``vma/reference/data/poa_exempt.json``: Z79.84, Z68.41, external-cause
    place and activity codes, sequelae ...). Also the exemption value 1 on a
    disease code that the list does not exempt. Outpatient charts carry no
    POA and are never judged.

Why it matters
    Acute-care hospitals paid under the IPPS must report POA for every
    diagnosis on the inpatient claim; a missing indicator is returned, and a
    condition that developed after admission is treated differently under
    the Hospital-Acquired Conditions program. Only the provider can say
    whether a condition was present when the admission was ordered.

Example
    E87.1 (Hypo-osmolality and hyponatremia) with POA null, sodium 129 on
    hospital day 2 and the emergency department sodium not reported: query
    "was the hyponatremia present at the time the inpatient admission was
    ordered?" with "Present at the time of inpatient admission (POA Y)",
    "Developed after inpatient admission (POA N)", "Other" and "Clinically
    undetermined (POA W)". Z79.84 with POA 1: nothing (exempt).

Resolution (query)
    A POA query is the one kind of query where a yes/no form is compliant:
    present at admission (Y), developed after (N), Other (free text), or
    clinically undetermined (W). U (documentation insufficient) is the
    coder's value when a query cannot be answered, so it is not offered to
    the provider. The question cites the record's timing indicators and
    names no preferred answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from vma.chart import POA_VALUES, normalize_icd
from vma.checks import CheckContext, register
from vma.checks.support.axes.evidence import condition_mentions
from vma.checks.support.axes.index import axis_index
from vma.checks.support.axes.wording import cite_all, condition_name
from vma.checks.support.notes.document import Sentence
from vma.checks.support.notes.patterns import _folds_onto_ascii
from vma.checks.support.notes.words import ASSESSMENT_SECTIONS
from vma.compiled_patterns import compile_pattern
from vma.findings import OTHER, UNDETERMINED, Choice, Finding

CHECK = "poa"
EXEMPT_FILE = Path(__file__).resolve().parent.parent / "reference" / "data" / "poa_exempt.json"
INPATIENT_POS = "21"

# Sentences that tell when a condition began relative to the admission.
_TIMING = compile_pattern(
    r"\b(?:before|prior to|on|at|since|after|upon|following) (?:the )?admission\b|\badmitted\b"
    r"|\bemergency (?:department|room)\b|\b(?:ED|ER)\b|\bhospital day\b|\bpresent on admission\b"
    r"|\bhospital[- ]acquired\b|\bdeveloped\b|\bnew(?:ly)? (?:onset|noted)\b|\bfor \d+ (?:days|weeks)\b", re.I)
# Every match of _TIMING holds one of these as a whole word (a run of letters between non-letters).
_TIMING_WORDS = frozenset({"admission", "admitted", "emergency", "ed", "er", "hospital", "developed", "new", "newly",
                           "days", "weeks"})
_SEP = "\x00"
# ASCII letters lower-cased, the separator kept, every other byte a space (a character outside ASCII encodes to "?").
_LETTER_BYTES = bytes(c | 0x20 if 65 <= c <= 90 else c if 97 <= c <= 122 or c == 0 else 32 for c in range(256))


@dataclass(frozen=True)
class ExemptEntry:
    first: str
    last: str
    seventh: str | None
    excepts: tuple[str, ...]
    title: str

    def covers(self, code: str) -> bool:
        bare = code.replace(".", "")
        if any(bare.startswith(x.replace(".", "")) for x in self.excepts):
            return False
        if self.seventh is not None and (len(bare) != 7 or bare[-1] != self.seventh):
            return False
        lo, hi = self.first.replace(".", ""), self.last.replace(".", "")
        if lo == hi:
            return bare.startswith(lo)
        return lo <= bare[:len(lo)] and bare[:len(hi)] <= hi


@lru_cache(maxsize=4)
def load_exempt(path: str | None = None) -> tuple[ExemptEntry, ...]:
    data = json.loads(Path(path or EXEMPT_FILE).read_text())
    out = []
    for row in data["entries"]:
        first, _, last = row["codes"].partition("-")
        out.append(ExemptEntry(first, last or first, row.get("seventh"), tuple(row.get("except", ())),
                               row.get("title", "")))
    return tuple(out)


@lru_cache(maxsize=4)
def load_cms_exempt_list(path: str) -> frozenset[str]:
    """The CMS POA exempt list as published each year (``POAexemptCodes<year>.txt``:
    tab-separated order number, code without the dot, description; one header line).
    Set with ``VMA_POA_EXEMPT_FILE``; it replaces the bundled Appendix I ranges."""

    codes = set()
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        for line_no, line in enumerate(fh, start=1):
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) < 2 or not re.fullmatch(r"[A-Za-z][0-9][0-9A-Za-z]{1,5}", parts[1].strip()):
                continue  # the header, or a blank line
            codes.add(normalize_icd(parts[1]))
    if not codes:
        raise ValueError(f"VMA_POA_EXEMPT_FILE {path}: no codes found (expected order<TAB>code<TAB>description)")
    return frozenset(codes)


def is_poa_exempt(code: str, exempt_file: str | None = None) -> bool:
    if exempt_file:
        return code in load_cms_exempt_list(exempt_file)
    return _bundled_exempt(code)


@lru_cache(maxsize=10_000)
def _bundled_exempt(code: str) -> bool:
    """Whether the bundled list exempts the code: every entry is tried, so the answer is kept per code."""
    return any(e.covers(code) for e in load_exempt())


def is_inpatient(ctx: CheckContext) -> bool:
    enc = ctx.chart.encounter
    if enc.setting is not None:
        return enc.setting == "inpatient"
    return (enc.place_of_service or "").strip() == INPATIENT_POS


def _condition_words(description: str, note_text: str) -> str:
    """The part of a description the note uses: "Hypo-osmolality and hyponatremia" -> "hyponatremia"."""
    low = note_text.lower()
    parts = [p.strip() for p in re.split(r",| and |;", description) if p.strip()]
    used = [p for p in parts if re.search(rf"\b{re.escape(p.lower())}\b", low)]
    if len(used) == 1 and len(parts) > 1:
        return used[0].lower()
    return condition_name(description)


_COMMON = frozenset({"today", "this", "that", "with", "given", "also", "from", "were", "was", "have", "been",
                     "continue", "likely", "possible", "patient", "morning", "afternoon", "repeat", "ordered",
                     "daily", "hours", "days", "will", "should", "there", "which", "their", "them", "then"})


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _COMMON}


def _assessment_item(ctx: CheckContext, mention_sentences: list[Sentence], follow: int = 2) -> list[Sentence]:
    """The provider's assessment item for the condition: its assessment mentions and the few
    sentences after each, up to the next numbered item."""
    sentences = ctx.note.sentences
    out: list[Sentence] = []
    for i, s in enumerate(sentences):
        if s in mention_sentences and s.section in ASSESSMENT_SECTIONS:
            for t in sentences[i:i + 1 + follow]:
                if t.section != s.section or (t is not s and re.match(r"^\d+[.)]", t.text)):
                    break
                if t not in out:
                    out.append(t)
    return out


def _may_tell_timing(note) -> list[bool]:
    """For each of the note's sentences, whether _TIMING may match it: only where one of _TIMING_WORDS stands as a
    word (a character that is not a word character is not a letter), unless re.I may match a letter of the pattern to
    a character outside ASCII. One pass over the note instead of the pattern tried at every character of each
    sentence."""
    found = note.memo.get("poa.may_tell_timing")
    if found is None:
        texts = [s.text for s in note.sentences]
        joined = _SEP.join(texts)
        runs = joined.encode("ascii", "replace").translate(_LETTER_BYTES).decode("ascii").split(_SEP)
        if len(runs) != len(texts) or _folds_onto_ascii(joined):
            found = [True] * len(texts)
        else:
            found = [not _TIMING_WORDS.isdisjoint(r.split()) for r in runs]
        note.memo["poa.may_tell_timing"] = found
    return found


def _timing_sentences(ctx: CheckContext, code: str, mention_sentences: list[Sentence], limit: int = 2
                      ) -> list[Sentence]:
    """Sentences that tell when the condition began relative to the admission: timing words
    ("before admission", "emergency department", "hospital day") in a sentence that names the
    condition or shares the words of its assessment item (its lab, its cause)."""
    item = _assessment_item(ctx, mention_sentences)
    related = set().union(set(), *(_content_words(s.text) for s in item))
    other_codes = [dx.code for dx in ctx.chart.diagnoses if dx.code != code and dx.code in ctx.icd]
    # Words naming the chart's other conditions relate a sentence to them, not to this one.
    related -= set().union(set(), *(_content_words(ctx.icd.description(c) or "") for c in other_codes))
    scored = []
    may_tell = _may_tell_timing(ctx.note)
    for pos, s in enumerate(ctx.note.sentences):
        if not may_tell[pos] or s in item or s.section == "preamble" or not _TIMING.search(s.text):
            continue
        shared = len(_content_words(s.text) & related) + (2 if s in mention_sentences else 0)
        if shared:
            scored.append((-shared, pos, s))
    return [s for _, pos, s in sorted(sorted(scored)[:limit], key=lambda t: t[1])]


def _query(ctx: CheckContext, position: int, code: str, value: str | None) -> Finding:
    index = axis_index(ctx.icd)
    description = ctx.icd.description(code) or code
    condition = _condition_words(description, ctx.note.text)
    mentions = [m for m in condition_mentions(ctx.note, index, code, False) if not m.negated]
    mention_sentences = [m.sentence for m in mentions]
    timing = _timing_sentences(ctx, code, mention_sentences)
    what = "has no present-on-admission indicator" if value is None else (
        f"has the present-on-admission indicator {value!r}, which is not one of Y, N, U, W or 1" if value != "1"
        else "is marked POA-exempt (1), but the code is not on the POA-exempt list")
    opening = f"{condition[0].upper()}{condition[1:]} is documented"
    opening += " in the assessment." if any(m.in_assessment for m in mentions) else "."
    if timing:
        indicators = " The record notes: " + "; ".join(f'"{s.text.rstrip(".")}"' for s in timing) + "."
    else:
        indicators = " The record does not state when it began relative to the admission."
    return Finding(
        check=CHECK, action="query", severity="error", code=code,
        message=(f"Inpatient chart: {code} ({description}) {what}, and the record does not show whether the "
                 f"{condition} was present when inpatient admission was ordered."),
        evidence=cite_all(timing + mention_sentences[:1]),
        question=(f"{opening}{indicators} Based on your clinical judgment, was the {condition} present at the "
                  "time the inpatient admission was ordered?"),
        choices=[
            Choice(label="Present at the time of inpatient admission (POA Y)", kind="poa", poa="Y"),
            Choice(label="Developed after inpatient admission (POA N)", kind="poa", poa="N"),
            Choice(label=OTHER, kind="other"),
            Choice(label=f"{UNDETERMINED} (POA W)", kind="undetermined", poa="W"),
        ],
        target=f"diagnosis:{position}")


def _exemption_claimable(code: str) -> bool:
    """Codes whose exemption the bundled list may not spell out in full (external causes, factors
    influencing health status, congenital): a 1 on them is taken as given."""
    return code[:1] in "QVWXYZ"


@register(
    "poa",
    actions=("query",),
    references=(
        "ICD-10-CM Official Guidelines for Coding and Reporting FY2026, Appendix I (Present on Admission "
        'Reporting Guidelines: indicators Y, N, U, W and exempt, "the provider ... determines POA"; the list of '
        "categories and codes exempt from POA reporting)",
        "CMS Medicare Claims Processing Manual (Pub. 100-04), chapter 3, section 20.2.1 and the CMS POA exempt "
        "code files",
        "AHIMA/ACDIS Guidelines for Achieving a Compliant Query Practice (2022 update: yes/no queries allowed "
        "for POA)",
    ),
)
def check(ctx: CheckContext) -> list[Finding]:
    if not is_inpatient(ctx):
        return []
    index = axis_index(ctx.icd)
    out: list[Finding] = []
    for position, dx in enumerate(ctx.chart.diagnoses):
        code = dx.code
        if code not in ctx.icd and not index.needs_seventh(code):
            continue  # not a code of the release: invalid-code reports it first
        value = dx.poa
        exempt_file = ctx.ref.settings.vma_poa_exempt_file
        if is_poa_exempt(code, exempt_file) or value in POA_VALUES and value != "1":
            continue
        if value == "1" and not exempt_file and _exemption_claimable(code):
            continue
        out.append(_query(ctx, position, code, value))
    return out
