"""The benchmark's throughput figure is the best of its runs, with their median beside it: each run a real
`vma check` process over the copied charts."""

from __future__ import annotations

from bench.engine import sample_charts, throughput


def test_throughput_reports_the_best_of_its_runs_and_their_median():
    charts = sample_charts()[:3]
    out = throughput(charts, 7, repeat=3)
    assert out["n"] == 7
    assert out["runs"] == 3
    assert out["seconds"] > 0
    assert out["rate"] == out["n"] / out["seconds"]
    # the best run is at least as fast as the median one
    assert out["rate"] >= out["rate_median"] > 0
    assert out["rss"] > 0


def test_a_single_run_is_its_own_best_and_median():
    out = throughput(sample_charts()[:2], 2)
    assert out["runs"] == 1
    assert out["rate"] == out["rate_median"]


def test_the_first_sight_run_codes_each_copy_with_codes_no_other_copy_carries(tmp_path):
    import json

    from bench.engine import charts_of_distinct_codes, drawn_codes
    from vma.reference import default_reference

    charts = sample_charts()[:2]
    n = charts_of_distinct_codes(charts, 5, tmp_path)
    assert n == 5
    coded = [[d["code"] for d in json.loads((tmp_path / f"chart-{i:05d}.json").read_text())["diagnoses"]]
             for i in range(n)]
    assert all(len(codes) == 3 for codes in coded)
    every = [c for codes in coded for c in codes]
    assert len(set(every)) == 15  # no code on two copies
    release = default_reference().icd_catalog.releases[-1]
    assert all(release.is_billable(c) and "A" <= c[0] <= "R" for c in every)
    # the same draw on every run, so that two runs (or two versions) check the same backlog
    assert drawn_codes(15, 7) == every
    assert drawn_codes(15, 8) != every


def test_the_first_sight_run_is_a_real_check_of_those_charts():
    from bench.engine import charts_of_distinct_codes

    out = throughput(sample_charts()[:2], 4, make=charts_of_distinct_codes, parallel=False)
    assert out["n"] == 4
    assert out["rate"] == out["n"] / out["seconds"] > 0
    assert "rate_jobs" not in out
