"""ncci-ptp: pairs in force on the date of service, modifier indicators 0/1/9 and their bypasses,
a given file replacing the sample, the compiled cache, and the full-size load."""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import date

import pytest

from bench.claim_loaders import synthetic_ptp
from tests.checking import claim_chart, claim_findings, line, of
from vma.config import Settings
from vma.reference import ReferenceData
from vma.reference.ncci import load_ncci

ECG_NOTE = "RESULTS\n\nECG: normal sinus rhythm, interpreted by me.\n\nASSESSMENT AND PLAN\n\nPalpitations."
KNEE_NOTE = ("PROCEDURE\n\nRight knee injection with 40 mg triamcinolone.\n\nASSESSMENT AND PLAN\n\n"
             "1. Primary osteoarthritis of right knee. Injection today.\n2. Hypertension, new home readings reviewed, lisinopril increased.")


def ptp(data, ref):
    return of(claim_findings(data, ref, {"ncci-ptp"}), "ncci-ptp")


def test_indicator_0_pair_is_reported_on_the_column_2_line(ref):
    (f,) = ptp(claim_chart([line("93000"), line("93010")], note=ECG_NOTE, diagnoses=["R00.2"]), ref)
    assert f.check == "ncci-ptp" and f.action == "correct" and f.code == "93010" and f.target == "procedure:1"
    assert "denies 93010" in f.message and "Remove 93010" in f.message


@pytest.mark.parametrize("mod", ["59", "XU", "XS"])
def test_indicator_0_is_never_bypassed(ref, mod):
    (f,) = ptp(claim_chart([line("93000"), line("93010", mod)], note=ECG_NOTE, diagnoses=["R00.2"]), ref)
    assert f.code == "93010" and f"modifier {mod}" in f.message and "does not change that" in f.message


def test_indicator_1_without_a_modifier_is_reported(ref):
    (f,) = ptp(claim_chart([line("97530", units=2), line("97140", units=2)], diagnoses=["M54.50"]), ref)
    assert f.code == "97140" and "modifier indicator 1" in f.message and "XU" in f.message


@pytest.mark.parametrize("mod", ["59", "XU", "XE", "XS", "XP"])
def test_indicator_1_with_a_distinct_service_modifier_is_clean(ref, mod):
    assert ptp(claim_chart([line("97530", units=2), line("97140", mod, units=2)], diagnoses=["M54.50"]), ref) == []


def test_indicator_1_modifier_on_the_column_1_line_also_bypasses(ref):
    assert ptp(claim_chart([line("97530", "59"), line("97140")], diagnoses=["M54.50"]), ref) == []


def test_em_with_a_procedure_needs_25_not_59(ref):
    data = claim_chart([line("99213"), line("20610", "RT")], note=KNEE_NOTE, diagnoses=["M17.11", "I10"])
    (f,) = ptp(data, ref)
    assert f.code == "99213" and f.suggested_codes == ["99213-25"]
    with_59 = claim_chart([line("99213", "59"), line("20610", "RT")], note=KNEE_NOTE, diagnoses=["M17.11", "I10"])
    assert [f.code for f in ptp(with_59, ref)] == ["99213"]
    with_25 = claim_chart([line("99213", "25"), line("20610", "RT")], note=KNEE_NOTE, diagnoses=["M17.11", "I10"])
    assert ptp(with_25, ref) == []


def test_different_sides_bypass_an_indicator_1_pair(ref):
    assert ptp(claim_chart([line("69210", "RT"), line("69209", "LT")], diagnoses=["H61.23"]), ref) == []
    (f,) = ptp(claim_chart([line("69210", "RT"), line("69209", "RT")], diagnoses=["H61.23"]), ref)
    assert f.code == "69209"


def test_deleted_edit_applies_only_through_its_deletion_date(ref):
    # 17000/11900 was deleted after 2020-12-31 in the sample.
    before = claim_chart([line("17000"), line("11900")], diagnoses=["L57.0"], date_of_service="2020-12-31")
    after = claim_chart([line("17000"), line("11900")], diagnoses=["L57.0"], date_of_service="2021-01-01")
    assert [f.code for f in ptp(before, ref)] == ["11900"]
    assert ptp(after, ref) == []


def test_edit_applies_from_its_effective_date(ref):
    # 97161/97530 takes effect 2027-01-01 in the sample.
    early = claim_chart([line("97161"), line("97530")], diagnoses=["M54.50"], date_of_service="2026-12-31")
    late = claim_chart([line("97161"), line("97530")], diagnoses=["M54.50"], date_of_service="2027-01-04")
    assert ptp(early, ref) == []
    assert [f.code for f in ptp(late, ref)] == ["97530"]


def test_real_release_rows_keep_their_dates_and_indicator_9_is_no_edit(ref):
    table = ref.ncci
    assert table.edit("0001U", "0029U", date(2026, 6, 30)).modifier_indicator == 1
    assert table.edit("0001U", "0029U", date(2026, 7, 1)) is None
    assert table.edit("0001A", "90473", date(2022, 1, 1)) is None  # indicator 9
    assert table.edit("0029U", "0001U", date(2026, 1, 1)) is None  # pairs are ordered


def test_single_line_and_unrelated_codes_are_clean(ref):
    assert ptp(claim_chart([line("99213")]), ref) == []
    assert ptp(claim_chart([line("99213"), line("36415"), line("85025")]), ref) == []


def test_given_files_replace_the_sample_and_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("VMA_CACHE_DIR", str(tmp_path / "cache"))
    header = open("vma/reference/data/ncci_ptp_sample.txt", encoding="latin-1").read().split("\n")[:6]
    part1, part2 = tmp_path / "ccipra-f1.txt", tmp_path / "ccipra-f2.txt"
    part1.write_text("\n".join(header + ["11042\t97597\t\t20100101\t*\t1\tMutually exclusive procedures"]) + "\n")
    part2.write_text("\n".join(header + ["36415\t36416\t\t20100101\t*\t0\tCPT Manual or CMS manual coding instruction"]) + "\n")
    loaded = ReferenceData(Settings(vma_ncci_ptp_files=f"{part1}:{part2}"))
    assert loaded.ncci.rows == 2
    assert ptp(claim_chart([line("93000"), line("93010")]), loaded) == []  # sample edits are gone
    assert [f.code for f in ptp(claim_chart([line("36415"), line("36416")]), loaded)] == ["36416"]
    assert [f.code for f in ptp(claim_chart([line("11042"), line("97597")]), loaded)] == ["97597"]
    cached = list((tmp_path / "cache").glob("ncci-*.sqlite"))
    assert len(cached) == 1
    # A changed file is a new release: it gets its own compiled index.
    part2.write_text("\n".join(header + ["36415\t36416\t\t20100101\t*\t1\tCPT Manual or CMS manual coding instruction"]) + "\n")
    os.utime(part2, (time.time() + 5, time.time() + 5))
    assert load_ncci(f"{part1}:{part2}").edit("36415", "36416", date(2026, 1, 1)).modifier_indicator == 1
    assert len(list((tmp_path / "cache").glob("ncci-*.sqlite"))) == 2


def test_full_size_release_loads_under_a_minute_and_looks_up_under_a_millisecond(tmp_path, monkeypatch):
    monkeypatch.setenv("VMA_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "ccipra-synthetic-f1.txt"
    pairs = synthetic_ptp(src, rows=1_500_000)
    started = time.perf_counter()
    table = load_ncci(str(src))
    assert time.perf_counter() - started < 60
    assert table.rows == 1_500_000
    rnd = random.Random(1)
    probes = pairs[:300] + [(f"{rnd.randrange(10021, 99499):05d}", f"{rnd.randrange(10021, 99499):05d}") for _ in range(300)]
    timings = []
    for c1, c2 in probes:
        t = time.perf_counter()
        table.history(c1, c2)
        timings.append(time.perf_counter() - t)
    assert statistics.median(timings) < 0.001
    assert all(table.history(c1, c2) for c1, c2 in pairs[:300])
