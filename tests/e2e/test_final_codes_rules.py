"""The rules the final code list is built by (ChartService.final_codes), case by case on the
tabular: how answers and corrections compose, "code first" sequencing, and pointer remapping."""

from __future__ import annotations

import pytest

from vma.conversations.service import (MAX_POINTERS, _FinalDiagnoses, _final_pointers, _sequence_diagnoses,
                                       _target_index, code_first_order)


@pytest.fixture
def icd(ref):
    return ref.icd_for(None)


def build(codes: list[str], *edits: tuple[tuple[int, ...], list[str]]):
    dx = _FinalDiagnoses([{"code": c, "poa": None} for c in codes])
    applied = [dx.apply(positions, suggested) for positions, suggested in edits]
    final, new_position = dx.build()
    return [d["code"] for d in final], new_position, applied


def test_targets_name_one_or_several_positions():
    assert _target_index("diagnosis:3") == ("diagnosis", (3,))
    assert _target_index("diagnosis:3,5") == ("diagnosis", (3, 5))
    assert _target_index("diagnosis:3, 5,3") == ("diagnosis", (3, 5))
    assert _target_index("procedure:0") == ("procedure", (0,))
    for bad in (None, "", "chart", "element:provider.npi", "diagnosis:", "diagnosis:x", "procedure:0,1"):
        assert _target_index(bad) is None


def test_a_pair_target_keeps_the_codes_kept_and_drops_the_other():
    codes, new_position, applied = build(["I10", "E10.9", "E11.9"], ((1, 2), ["E11.9"]))
    assert applied == [True] and codes == ["I10", "E11.9"]
    assert new_position == {1: 1, 2: 2, 3: 2}  # the pointer to E10.9 goes to E11.9, which replaced it


def test_a_pair_answer_keeping_both_changes_nothing():
    codes, new_position, _ = build(["E10.9", "E11.9"], ((0, 1), ["E10.9", "E11.9"]))
    assert codes == ["E10.9", "E11.9"] and new_position == {1: 1, 2: 2}


def test_a_pair_target_with_a_new_code_puts_it_where_the_first_dropped_code_was():
    codes, new_position, _ = build(["I10", "E11.9", "G63"], ((1, 2), ["E11.42"]))
    assert codes == ["I10", "E11.42"] and new_position == {1: 1, 2: 2, 3: 2}


def test_keep_and_add_composes_with_a_replacement_in_either_order():
    for edits in ([((0,), ["E11.621"]), ((0,), ["E11.9", "Z79.4"])],
                  [((0,), ["E11.9", "Z79.4"]), ((0,), ["E11.621"])]):
        codes, _, applied = build(["E11.9", "L97.519"], *edits)
        assert applied == [True, True] and codes == ["E11.621", "Z79.4", "L97.519"]


def test_an_added_code_survives_when_its_code_is_dropped_by_a_pair():
    codes, _, _ = build(["E11.9", "R73.09"], ((0,), ["E11.9", "Z79.84"]), ((0, 1), ["R73.09"]))
    assert codes == ["R73.09", "Z79.84"]


def test_the_first_replacement_stands_and_a_later_conflicting_one_is_refused():
    codes, _, applied = build(["M25.569"], ((0,), ["M25.561"]), ((0,), ["M25.562"]))
    assert applied == [True, False] and codes == ["M25.561"]
    _, _, applied = build(["E10.9", "E11.9"], ((0, 1), ["E11.9"]), ((0,), ["E10.65"]))
    assert applied == [True, False]  # E10.9 is gone already


def test_positions_outside_the_chart_are_refused():
    _, _, applied = build(["I10"], ((3,), ["I11.9"]), ((0, 7), ["I10"]))
    assert applied == [False, False]


def test_a_code_reached_twice_is_listed_once():
    codes, new_position, _ = build(["E11.9", "E11.65"], ((0,), ["E11.65"]))
    assert codes == ["E11.65"] and new_position == {1: 1, 2: 1}


@pytest.mark.parametrize("codes, ordered", [
    (["I50.22", "I11.0"], ["I11.0", "I50.22"]),  # I50 "code first ... (I11.0)"
    (["Z00.00", "I50.22", "E78.5", "I11.0"], ["Z00.00", "I11.0", "I50.22", "E78.5"]),  # moves just before
    (["N18.32", "I12.9", "E11.22"], ["I12.9", "E11.22", "N18.32"]),  # N18 names I12.- and E11.22
    (["L97.519", "E11.621", "Z79.4"], ["E11.621", "L97.519", "Z79.4"]),  # L97 "code first" diabetic ulcers
    (["G63", "E85.4"], ["E85.4", "G63"]),  # a manifestation after its underlying disease (I.A.13)
    (["I11.0", "I50.22"], ["I11.0", "I50.22"]),  # already in order
    (["E11.9", "I10", "J45.909"], ["E11.9", "I10", "J45.909"]),  # nothing to do
])
def test_code_first_notes_order_the_list(icd, codes, ordered):
    order, _ = code_first_order(icd, codes)
    assert [codes[i] for i in order] == ordered


def test_poisoning_is_not_moved_behind_its_manifestation(icd):
    # T36-T50 "code first, for adverse effects, the nature of the adverse effect": adverse effects only;
    # a poisoning comes before its manifestations (Guideline I.C.19.e.5.b).
    assert code_first_order(icd, ["T39.011A", "K29.70"])[0] == [0, 1]
    assert code_first_order(icd, ["T39.015A", "K29.70"])[0] == [1, 0]


def test_sequencing_remaps_positions_and_reports_what_moved(icd):
    final = [{"code": c, "poa": None} for c in ["E78.5", "I50.22", "I11.0"]]
    ordered, new_position, moved = _sequence_diagnoses(icd, final, {1: 1, 2: 2, 3: 3})
    assert [d["code"] for d in ordered] == ["E78.5", "I11.0", "I50.22"]
    assert new_position == {1: 1, 2: 3, 3: 2}
    assert moved == [("I11.0", "I50.22", "I50")]


def test_pointers_are_remapped_deduplicated_ordered_and_capped(icd):
    final = ["I11.0", "I50.22", "E78.5", "E11.9", "Z79.84", "J45.909", "K21.9"]
    # chart positions 1..8 -> final positions (8 is a code that was dropped with no replacement)
    new_position = {1: 2, 2: 1, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 9: 4}
    pointers, lost = _final_pointers([1, 2, 2, 8, 9, 3, 5, 6, 7], new_position, final, icd)
    assert pointers == [1, 2, 4, 3]  # I11.0 before I50.22; 9 -> 4 once; 8 left off
    assert len(pointers) == MAX_POINTERS == 4
    assert lost == [8, 5, 6, 7]
