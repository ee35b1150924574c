"""Checking chart files for ``vma check`` (contract section 2): reading each file, checking it, and
printing its lines in order, in one process or several."""

from __future__ import annotations

import gc
import json
import os
import sys
from functools import lru_cache
from pathlib import Path

from vma.chart import ChartInputError

# A directory given to `vma check` is read for these files (sorted by name, hidden files skipped).
CHART_SUFFIXES = (".json", ".hl7", ".er7")


def _expand_paths(paths: list[str]) -> list[str]:
    """Each directory becomes the chart files in it; files and '-' stay as given."""
    out: list[str] = []
    for path in paths:
        folder = Path(path) if path != "-" else None
        if folder is not None and folder.is_dir():
            found = sorted(str(f) for f in folder.iterdir()
                           if f.is_file() and f.suffix.lower() in CHART_SUFFIXES and not f.name.startswith("."))
            out.extend(found or [path])  # an empty folder is reported as unreadable input
        else:
            out.append(path)
    return out


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    # os, not pathlib: two Path objects per chart were a visible share of checking a folder of charts
    if os.path.isdir(path or "."):  # pathlib reads "" as "."
        raise OSError(21, f"a directory with no chart files ({', '.join('*' + s for s in CHART_SUFFIXES)})")
    with open(path, "rb") as fh:
        return fh.read()


# What each file's outcome makes the exit status, strongest last (contract section 2): 2 (unreadable or
# invalid input) outranks 3 (a check failed), which outranks 1 (findings).
_EXIT_RANK = {0: 0, 1: 1, 3: 2, 2: 3}


@lru_cache(maxsize=1)
def _engine():
    """What checking a file calls, imported when the first file is checked (with the collector off, see
    check_files) and then held: three import statements per file were a visible share of a small chart."""
    from vma.checks import run_checks
    from vma.intake import parse_chart
    from vma.report import render_text

    return run_checks, parse_chart, render_text


def _check_one(label: str, path: str, raw: bytes | None, as_json: bool) -> tuple[list[tuple[int, str]], int]:
    """Check one file: the lines it prints, in order, each with its stream (1 stdout, 2 stderr), and
    its exit status alone. Printing is left to the caller, so that files checked in other processes
    print exactly as they would one after another."""
    run_checks, parse_chart, render_text = _engine()
    lines: list[tuple[int, str]] = []
    try:
        if raw is None:
            raw = _read(path)
    except OSError as exc:
        lines.append((2, f"{label}: (file): cannot read: {exc.strerror or exc}"))
        if as_json:
            lines.append((1, json.dumps({"chart_id": None, "source": label, "status": "invalid",
                                         "findings": [{"check": "input", "action": "info", "severity": "error",
                                                       "code": None, "message": f"cannot read file: {exc.strerror or exc}",
                                                       "evidence": "", "suggested_codes": [], "question": None,
                                                       "options": []}]})))
        return lines, 2
    try:
        chart, _fmt = parse_chart(raw)
    except ChartInputError as exc:
        for err in exc.errors:
            lines.append((2, f"{label}: {err.field}: {err.message}"))
        if as_json:
            lines.append((1, json.dumps({"chart_id": None, "source": label, "status": "invalid",
                                         "findings": [{"check": "input", "action": "info", "severity": "error",
                                                       "code": None, "message": str(e), "evidence": "",
                                                       "suggested_codes": [], "question": None, "options": []}
                                                      for e in exc.errors]})))
        return lines, 2
    report = run_checks(chart)
    lines.append((1, report.model_dump_json() if as_json else render_text(chart, report)))
    if report.status == "incomplete":
        failed = ", ".join(f.failed_check or "?" for f in report.findings if f.check == "check-failed")
        lines.append((2, f"{label}: check-failed: {failed} failed on chart {chart.chart_id}; it is incomplete"))
        return lines, 3
    return lines, 0 if report.status == "clear" else 1


def _check_job(job: tuple[str, str, bytes | None, bool]) -> tuple[list[tuple[int, str]], int]:
    return _check_one(*job)


def _check_job_in_worker(job: tuple[str, str, bytes | None, bool]) -> tuple[list[tuple[int, str]], int]:
    from vma.compiled_patterns import save_machine_caches

    try:
        return _check_one(*job)
    finally:
        save_machine_caches()  # a pool's worker is ended without its exit handlers


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _prepare_shared_state() -> None:
    """Load what every check needs before worker processes start, so that they share the compiled
    index (and imported modules) with this process instead of each loading its own."""
    from vma.checks import all_checks
    from vma.reference import default_reference

    all_checks()
    for release in default_reference().icd_catalog.releases:
        release.read_all()  # read once here, not once per worker
    gc.freeze()  # the workers' collections then leave the shared pages alone


def check_files(paths: list[str], *, as_json: bool, jobs: int | None) -> int:
    """``vma check``'s work: each chart file (a directory's chart files, ``-`` for stdin) checked and
    printed in the order given, in ``jobs`` processes; the exit status of contract section 2."""
    paths = _expand_paths(paths)
    work = [("<stdin>" if p == "-" else p, p, sys.stdin.buffer.read() if p == "-" else None, as_json)
            for p in paths]
    workers = min(jobs or default_jobs(), len(work))
    # No collections while the first chart loads the modules, patterns and index every chart needs:
    # they make no cycles, and the collector walking the growing heap again and again was a twentieth
    # of a one-chart check. Collections resume before the workers start, or after the first chart.
    collecting = gc.isenabled()
    threshold = gc.get_threshold()
    gc.disable()
    try:
        if workers > 1:
            return _check_in_workers(work, workers, collecting)
        return _print_results(_collecting_after_the_first(map(_check_job, work), collecting))
    finally:
        gc.set_threshold(*threshold)
        # What is left is kept until the process ends; frozen, the collection at exit does not walk it.
        gc.freeze()
        if collecting:
            gc.enable()


def _check_in_workers(work: list[tuple], workers: int, collecting: bool) -> int:
    import multiprocessing

    _prepare_shared_state()
    if collecting:
        gc.enable()  # the workers collect as usual
    sys.stdout.flush()
    sys.stderr.flush()
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    pool = context.Pool(workers)
    try:
        # In order, as a serial run prints; a few files per hand-off keeps the traffic small.
        results = pool.imap(_check_job_in_worker, work, chunksize=max(1, min(16, len(work) // (workers * 8))))
        return _print_results(results)
    finally:
        pool.terminate()
        pool.join()


def _collecting_after_the_first(results, collecting: bool):
    """The results as they come, with the collector running again from the second chart on (a long
    folder of charts needs it), if it ran before."""
    for n, result in enumerate(results):
        yield result
        if n == 0 and collecting:
            # What the first chart loaded (modules, patterns, the index) lives for the whole run: frozen,
            # the collector no longer walks it. A chart's own objects are mostly freed by their counts,
            # so the youngest generation is collected far less often than the default 700 allocations.
            gc.freeze()
            gc.set_threshold(100_000, *gc.get_threshold()[1:])
            gc.enable()


def _print_results(results) -> int:
    worst = 0
    for lines, status in results:
        for stream, text in lines:
            print(text, file=sys.stdout if stream == 1 else sys.stderr)
        if _EXIT_RANK[status] > _EXIT_RANK[worst]:
            worst = status
    return worst
