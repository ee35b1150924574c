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
