"""`vma check` over a folder in one process prints, chart after chart, exactly what checking each chart
alone prints, and leaves the collector's settings as it found them (the run tunes them while it works)."""

from __future__ import annotations

import gc
import io
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from vma.check_files import _check_one, check_files

EVALSET = Path(__file__).resolve().parents[1] / "evalset" / "cases"


def test_a_folder_prints_what_each_chart_prints_alone(tmp_path):
    for path in sorted(EVALSET.glob("*.json"))[:25]:
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "broken.json").write_text('{"chart_id": "X"}')
    expected_out, expected_err = [], []
    for path in sorted(tmp_path.glob("*.json")):
        lines, _status = _check_one(str(path), str(path), None, True)
        for stream, text in lines:
            (expected_out if stream == 1 else expected_err).append(text + "\n")
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = check_files([str(tmp_path)], as_json=True, jobs=1)
    assert status == 2
    assert out.getvalue() == "".join(expected_out)
    assert err.getvalue() == "".join(expected_err)
    assert out.getvalue().count("\n") == 26
    assert (gc.get_threshold(), gc.isenabled()) == (threshold, enabled)
