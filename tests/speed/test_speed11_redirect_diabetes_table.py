"""The diabetes table reads a category's combination codes when a chart first asks for that category: the same rules
as reading every E08-E13 subtree up front, asked in any order, and the same links for every code of the labelled
charts and for codes drawn from the whole release."""

from __future__ import annotations

import random

import pytest

from tests.speed.output_record import chart_files, labelled_release
from vma.checks.support.combinations import diabetes
from vma.intake import parse_chart
from vma.reference.icd10cm import note_code_refs

FILES = {label: path for label, path in chart_files().items() if path.suffix == ".json"}


def _eager(release) -> dict[str, tuple[diabetes.DiabetesRule, ...]]:
    """The table as it was: every category's rules read when it is built."""
    rules = {}
    for category in diabetes.DIABETES_CATEGORIES:
        found = []
        for code in (category, *release.descendants(category)):
            if not diabetes.combination_names_condition(release, code):
                continue
            for note in release.notes(code, "useAdditionalCode"):
                refs = tuple(note_code_refs(note))
                if refs:
                    found.append(diabetes.DiabetesRule(code, refs, note))
        rules[category] = tuple(found)
    return rules


def test_each_category_read_when_asked_holds_the_rules_read_up_front():
    release = labelled_release()
    if release is None:
        pytest.skip("no labelled chart here")
    eager = _eager(release)
    assert sum(map(len, eager.values())) >= 10 and all(eager.values())
    rng = random.Random(5)
    for _ in range(5):
        table = diabetes.DiabetesTable(release)
        asked = [*diabetes.DIABETES_CATEGORIES, "E12", "I10", "E11"]
        rng.shuffle(asked)
        for category in asked:
            assert table.rules(category) == eager.get(category, ()), category


def _links(release, codes) -> list:
    out = []
    for code in codes:
        for category in diabetes.DIABETES_CATEGORIES:
            link = diabetes._diabetes_link(release, code, category)
            out.append(None if link is None else (link.combination, link.other, link.included, link.notes))
    return out


def test_the_links_are_those_of_the_table_read_up_front(monkeypatch):
    release = labelled_release()
    if release is None:
        pytest.skip("no labelled chart here")
    codes = set()
    for path in FILES.values():
        chart, _ = parse_chart(path.read_bytes())
        codes.update(dx.code for dx in chart.diagnoses if dx.code and dx.code in release)
    rng = random.Random(3)
    everything = sorted(release.codes())
    codes.update(rng.sample(everything, 400))
    codes.update(c for c in everything if c.startswith(("L97", "N18", "G63", "E11", "I73", "H36", "M14")))
    codes = sorted(codes)
    lazy = _links(release, codes)
    assert sum(v is not None for v in lazy) > 20
    eager = _eager(release)

    class Eager(diabetes.DiabetesTable):
        def rules(self, category):
            return eager.get(category, ())

    table = Eager(release)
    monkeypatch.setattr(diabetes, "diabetes_table", lambda rel: table)
    assert _links(release, codes) == lazy
