"""Check-engine speed: cold start of `vma check` on one chart, and charts per second in one process.

Goals (issue 2): a process that checks one chart answers in well under half a
second once the ICD-10-CM index is cached; one process checks at least 500
typical charts per second.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "spec" / "examples"
DEMO = Path(__file__).resolve().parent.parent / "vma" / "demo"


def sample_charts() -> list[Path]:
    found = [p for p in sorted(EXAMPLES.glob("*.json")) if not p.name.endswith(".expected.json")]
    if not found:
        found = sorted(DEMO.glob("*.json"))
    return [p for p in found if "directory" not in p.name]


def cold_start(paths: list[Path], runs: int = 5) -> list[float]:
    vma = Path(sys.executable).with_name("vma")
    subprocess.run([str(vma), "check", str(paths[0])], capture_output=True)  # warm the index cache
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([str(vma), "check", "--json", str(paths[0])], capture_output=True)
        times.append(time.perf_counter() - t)
    return times


def throughput(paths: list[Path], total: int = 3000) -> tuple[float, int]:
    from vma.chart import chart_from_dict
    from vma.checks import run_checks
    from vma.reference import default_reference

    ref = default_reference()
    charts = [chart_from_dict(json.loads(p.read_text())) for p in paths]
    run_checks(charts[0], ref)  # load reference data outside the timing
    for c in charts:
        run_checks(c, ref)
    # Fresh chart objects, made before the clock starts: caches keyed by chart would flatter
    # the figure, and copying is not checking.
    fresh = [charts[i % len(charts)].model_copy(deep=True) for i in range(total)]
    started = time.perf_counter()
    for chart in fresh:
        run_checks(chart, ref)
    elapsed = time.perf_counter() - started
    return total / elapsed, total


def main() -> int:
    paths = sample_charts()
    if not paths:
        print("no sample charts found")
        return 1
    cold = cold_start(paths)
    print(f"cold start `vma check` (1 chart, cached index): median {statistics.median(cold)*1000:.0f} ms, "
          f"max {max(cold)*1000:.0f} ms over {len(cold)} runs")
    rate, n = throughput(paths)
    print(f"throughput: {rate:.0f} charts/s over {n} checks of {len(paths)} sample charts")
    ok = statistics.median(cold) < 0.5 and rate >= 500
    print("goals (<500 ms cold, >=500 charts/s):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
