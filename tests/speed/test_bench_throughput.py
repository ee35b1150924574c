"""The benchmark's throughput figure is the best of its runs, with their median beside it: each run a real
`vma check` process over the copied charts."""

from __future__ import annotations

from pathlib import Path

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


def test_a_warm_charts_cost_is_what_the_charts_after_the_first_took_each():
    from bench.engine import warm_chart_budget

    # 2,000 charts in 2.85 s, the first 50 (start-up included) in 0.25 s: the 1,950 others took 2.6 s
    cost = warm_chart_budget({"n": 2000, "seconds": 2.85}, {"n": 50, "seconds": 0.25}, rate_goal=1000.0)
    assert abs(cost["warm"] - 2.6 / 1950) < 1e-12
    # 1,000/s over 2,000 charts leaves 2.0 - 0.25 s for the 1,950
    assert abs(cost["budget"] - 1.75 / 1950) < 1e-12
    assert abs(cost["speedup"] - 2.6 / 1.75) < 1e-12


def test_a_warm_charts_budget_is_none_left_when_start_up_alone_misses_the_goal():
    from bench.engine import warm_chart_budget

    cost = warm_chart_budget({"n": 100, "seconds": 0.5}, {"n": 50, "seconds": 0.2}, rate_goal=1000.0)
    assert cost["budget"] == 0.0 and cost["speedup"] == float("inf")


def test_runs_that_say_nothing_of_a_warm_chart_give_no_budget():
    from bench.engine import warm_chart_budget

    assert warm_chart_budget({"n": 50, "seconds": 0.3}, {"n": 50, "seconds": 0.2}) is None
    assert warm_chart_budget({"n": 100, "seconds": 0.2}, {"n": 50, "seconds": 0.2}) is None


def test_the_benchmark_prints_a_warm_charts_cost_beside_its_budget(monkeypatch, capsys):
    from bench import engine

    # The runs' figures are given, so that the line's arithmetic is what is tested: the runs themselves are
    # real processes in the tests above, and their times vary with the machine's load.
    charts = [Path(f"/charts/ENC-{i:05d}.json") for i in range(50)]
    monkeypatch.setattr(engine, "sample_charts", lambda: charts)
    monkeypatch.setattr(engine, "cold_start", lambda paths, imports, repeat: {
        "charts": {p.name: 0.1 for p in paths}, "rss": [30.0], "imports": [1.5]})

    def runs(paths, total, repeat=1, *, make=engine.many_charts, parallel=True):
        seconds = {2000: 2.85, len(charts): 0.25}[total]
        return {"n": total, "seconds": seconds, "rate": total / seconds, "rss": 40.0, "runs": repeat,
                "rate_median": total / seconds}

    monkeypatch.setattr(engine, "throughput", runs)
    engine.main(["--repeat", "1", "--distinct-charts", "0"])
    out = capsys.readouterr().out
    assert ("a chart after the first 50: 1.33 ms (the first 50, start-up included: 0.25 s); "
            "1000 charts/s over 2000 needs 0.90 ms, 1.49x faster") in out
