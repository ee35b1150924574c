"""The code of a newborn condition at any age (sex-age, Guideline I.C.16.a.4) is found from the tabular's Excludes1
notes when the index is compiled, not by scanning every note of the tabular for each chart that codes it: the
same counterpart as that scan, for every Chapter 16 code, and no chart reads the notes."""

from __future__ import annotations

from tests.checking import assessment, note_findings
from vma.checks.support.axes.words import OPEN, description_words
from vma.checks.support.demographics import decide
from vma.reference.icd10cm_load import catalog


def _scanned(release, code):
    """The counterpart as each chart worked it out before it was kept per code."""
    own = set(description_words(release.description(code) or "")) - decide._PERINATAL_WORDS - {OPEN}
    if not own:
        return None
    best = None
    for owner, note, refs in release.excludes1_refs():
        if owner.startswith("P") or not any(ref.covers(code) for ref in refs):
            continue
        if not release.is_billable(owner):
            continue
        words = set(description_words(release.description(owner) or "")) - {OPEN}
        if not own <= words or words - own:
            continue
        best = best or (owner, note)
    return best


def test_every_newborn_codes_counterpart_is_what_the_scan_of_the_excludes1_notes_gives():
    release = catalog().releases[-1]
    release.read_all()
    newborn = [code for code in release.codes() if code.startswith("P") and release.is_billable(code)]
    assert len(newborn) > 300
    found = {code: decide._any_age_counterpart(release, code) for code in newborn}
    assert found == {code: _scanned(release, code) for code in newborn}
    assert found["P59.9"][0] == "R17"
    assert sum(1 for v in found.values() if v is not None) >= 5


def test_a_chart_coding_a_newborn_condition_scans_no_excludes1_note(ref, monkeypatch):
    def adult_jaundice(statement):
        return note_findings(ref, "sex-age", assessment(statement), ["P59.9"],
                             patient={"birth_date": "1968-06-06", "sex": "F"})

    release = catalog().releases[-1]
    # the counterparts were compiled with the index: not even the first chart reads the notes
    monkeypatch.setattr(type(release), "excludes1_refs",
                        lambda self: (_ for _ in ()).throw(AssertionError("the Excludes1 notes were scanned")))
    first = adult_jaundice("Painless jaundice for one week, cause not yet determined. CT abdomen ordered.")
    second = adult_jaundice("Jaundice noted this week, workup pending. Ultrasound ordered.")
    assert [(f["action"], f["suggested_codes"]) for f in first] == [("correct", ["R17"])]
    assert [(f["action"], f["suggested_codes"]) for f in second] == [("correct", ["R17"])]
