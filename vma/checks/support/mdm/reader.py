"""The MDM estimate of a note: the level two of the three elements reach."""

from __future__ import annotations

from itertools import chain

from vma.checks.support.mdm.data_and_risk import (
    RiskScan,
    _interpreted,
    _read_in_office,
    data_level,
    data_sentences_matching,
    discussion_sentences,
    interpretation_sentences,
    unique_tests,
)
from vma.checks.support.mdm.problems import (
    MdmEstimate,
    ProblemItem,
    classify,
    graver_than_acute,
    problem_items,
    problems_level,
)
from vma.checks.support.mdm.wording import (
    _DISCUSSION,
    _EXTERNAL_NOTES,
    _HISTORIAN,
    _MINOR,
    _TIME_LINE,
    CHRONIC,
    LOW,
    MODERATE,
    _first_unnegated,
)
from vma.checks.support.notes.document import NoteDoc
from vma.checks.support.once import once

# -- the estimate -------------------------------------------------------------

def estimate_mdm(note: NoteDoc, coded_problems: list[str] | tuple[str, ...] = (),
                 tests_reported: bool = True) -> MdmEstimate:
    """The generous MDM estimate of a note.

    ``coded_problems`` names the distinct problems coded on the chart (e.g.
    "I10", diagnoses outside the Z chapter); when the assessment names fewer
    items than that, the extra coded problems count as addressed stable ones.
    ``tests_reported``: see :class:`MdmReader`.
    """
    return MdmReader(note, coded_problems, tests_reported).estimate()


class MdmReader:
    """Reads the three MDM elements of a note one at a time, each only when asked for.

    A check that only needs to know whether MDM reaches a level can stop once two
    elements decide it (the level is the one two of three reach), which spares the
    costlier readings on most notes.
    """

    def __init__(self, note: NoteDoc, coded_problems: list[str] | tuple[str, ...] = (),
                 tests_reported: bool = True):
        """``tests_reported``: whether the claim reports a test of its own (an imaging or tracing code). The AMA
        does not count the interpretation of a test the same physician reports; when the claim reports none, the
        note's own reading of a study done at the visit is an independent interpretation."""
        self.note = note
        self.coded_problems = coded_problems
        self.tests_reported = tests_reported

    @once
    def _items(self) -> list[ProblemItem]:
        return problem_items(self.note)

    @once
    def problems(self) -> list[ProblemItem]:
        items = [classify(item, self.note) for item in self._items]
        items += [ProblemItem(label, kind=CHRONIC) for label in self.coded_problems[len(items):]]
        return items

    def _problems_reach(self, rank: int) -> bool:
        """Whether the problems addressed reach ``rank``, classifying items only until they do (most
        notes reach the billed level early; classifying every item costs most of the reading)."""
        if "problems" in self.__dict__:
            return self.problems_level >= rank
        items = self._items
        coded = [ProblemItem(label, kind=CHRONIC) for label in self.coded_problems[len(items):]]
        if rank <= LOW and (len(items) + len(coded) >= 2 or coded or (items and not _MINOR.search(items[0].label))):
            # Low needs one problem that is not a lone minor one, and an item is minor only by its label's
            # wording: two problems, or one whose label has none, reach it whatever their kinds.
            return True
        if rank == MODERATE:
            # Two problems of a chronic kind or graver reach it, whatever their kinds (coded ones are chronic).
            graver = chain(coded, (item for item in items if graver_than_acute(item, self.note)))
            if next(graver, None) is not None and next(graver, None) is not None:
                return True
        done: list[ProblemItem] = []
        for item in items:
            done.append(classify(item, self.note))
            if problems_level(done + coded) >= rank:
                return True
        self.__dict__["problems"] = done + coded  # every item read: keep them for the estimate
        return self.problems_level >= rank

    @once
    def problems_level(self) -> int:
        return problems_level(self.problems)

    @once
    def data(self) -> tuple[list[str], int, bool, bool, bool]:
        """(unique tests, external notes, historian, interpretation, discussion)."""
        note = self.note
        tests = unique_tests(note)
        # Only the data sentences a pattern's gate lets through can match it (support/scan).
        # "I spent 25 minutes ..., including reviewing his records" lists what the time was spent on (the
        # patient's own chart), not records from an external source.
        external = sum(1 for s in data_sentences_matching(note, _EXTERNAL_NOTES)
                       if _first_unnegated(_EXTERNAL_NOTES, s.text) and not _TIME_LINE.search(s.text))
        historian = any(_first_unnegated(_HISTORIAN, s.text) for s in data_sentences_matching(note, _HISTORIAN))
        interpretation = any(_interpreted(s.text) for s in interpretation_sentences(note)) \
            or (not self.tests_reported and _read_in_office(note))
        discussion = any(_first_unnegated(_DISCUSSION, s.text) for s in discussion_sentences(note))
        return tests, external, historian, interpretation, discussion

    @once
    def data_level(self) -> int:
        return data_level(*self.data)

    @once
    def _risk_scan(self) -> RiskScan:
        return RiskScan(self.note)

    def _risk_reaches(self, rank: int) -> bool:
        """Whether the risk reaches ``rank``, reading the plan only until it does (the first prescription
        usually settles a moderate level; the full reading, with every reason, is needed only for the estimate)."""
        if "risk" in self.__dict__:
            return self.risk[0] >= rank
        if rank <= LOW and any(item.body for item in self._items):
            return True  # a documented plan for a problem is low risk (see ``risk``)
        # Otherwise only the plan's wording raises the risk to ``rank`` (the documented plan raises it to low).
        return self._risk_scan.reaches(rank)

    @once
    def risk(self) -> tuple[int, list[str]]:
        risk, reasons = self._risk_scan.result()
        if risk < LOW and any(item.body for item in self.problems):
            # The MDM table's low risk is broad ("low risk of morbidity from additional diagnostic testing or
            # treatment"); any documented plan for a problem is read as reaching it.
            risk = LOW
            reasons.append("a documented treatment plan")
        return risk, reasons

    def reaches(self, rank: int) -> bool:
        """Whether the MDM level is at least ``rank``: two of the three elements reach it."""
        reached = self._problems_reach(rank) + self._risk_reaches(rank)
        if reached != 1:
            return reached == 2
        return self.data_level >= rank

    def estimate(self) -> MdmEstimate:
        tests, external, historian, interpretation, discussion = self.data
        risk, reasons = self.risk
        return MdmEstimate(
            problems=self.problems,
            problems_level=self.problems_level,
            tests=tests,
            external_notes=external,
            independent_historian=historian,
            independent_interpretation=interpretation,
            external_discussion=discussion,
            data_level=self.data_level,
            risk_level=risk,
            risk_reasons=reasons,
        )
