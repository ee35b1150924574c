"""`vma check -j N` prints what a serial run prints, in the same order, with the same exit status."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vma.check_files import _EXIT_RANK
from vma.cli import build_parser

EVALSET = Path(__file__).resolve().parents[1] / "evalset" / "cases"


def _vma(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vma.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def charts(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("charts")
    for path in sorted(EVALSET.glob("*.json"))[:40]:
        shutil.copy(path, folder / path.name)
    (folder / "broken.json").write_text('{"chart_id": "X"}')  # invalid: errors on stderr, exit 2
    return folder


@pytest.mark.parametrize("as_json", [True, False])
def test_parallel_output_is_the_serial_output(charts, as_json):
    flags = ["--json"] if as_json else []
    serial = _vma("check", *flags, "-j", "1", str(charts))
    parallel = _vma("check", *flags, "-j", "3", str(charts))
    assert serial.returncode == parallel.returncode == 2
    assert serial.stdout == parallel.stdout
    assert serial.stderr == parallel.stderr
    assert serial.stdout.count("\n") >= 41


def test_parallel_exit_status_without_bad_input_is_the_findings_one(charts, tmp_path):
    good = [str(p) for p in sorted(charts.glob("*.json")) if p.name != "broken.json"]
    serial = _vma("check", "--json", "-j", "1", *good)
    parallel = _vma("check", "--json", "-j", "2", *good)
    assert serial.returncode == parallel.returncode == 1
    assert serial.stdout == parallel.stdout


def test_jobs_must_be_a_positive_number():
    parser = build_parser()
    assert parser.parse_args(["check", "-j", "4", "x.json"]).jobs == 4
    assert parser.parse_args(["check", "x.json"]).jobs is None  # the machine's cores
    for bad in ("0", "-1", "two"):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(["check", "-j", bad, "x.json"])
        assert exc.value.code == 2


def test_the_strongest_status_wins_as_the_contract_orders_them():
    order = sorted(_EXIT_RANK, key=_EXIT_RANK.get)
    assert order == [0, 1, 3, 2]  # clear < findings < a check failed < unreadable input


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_reader_that_stops_early_ends_the_check_quietly(charts, jobs):
    # `vma check dir | head -1`: more output than a pipe holds, and the reader goes after one line.
    chart = str(sorted(charts.glob("*.json"))[0])
    proc = subprocess.Popen([sys.executable, "-m", "vma.cli", "check", "--json", "-j", jobs, *[chart] * 400],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=300)
    assert first.startswith(b'{"chart_id"')
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
    assert proc.returncode == 128 + signal.SIGPIPE


def test_a_reader_that_stops_early_ends_any_printing_command_quietly():
    # `vma schema chart | head -c 0`: the reader has gone before the schema is written (the pipe's only reading
    # end closed at once), so its first write meets a broken pipe whatever the timing.
    proc = subprocess.Popen([sys.executable, "-m", "vma.cli", "schema", "chart"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
    assert proc.returncode == 128 + signal.SIGPIPE
