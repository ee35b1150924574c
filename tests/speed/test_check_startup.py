"""A one-chart `vma check` loads only what it uses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SPEC_EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "examples"
DEMO = Path(__file__).resolve().parents[2] / "vma" / "demo"


def _a_chart() -> Path:
    found = sorted(SPEC_EXAMPLES.glob("laterality-query-elbow.json")) or sorted(DEMO.glob("*.json"))
    return found[0]


def test_a_one_chart_check_imports_no_validation_or_settings_library_and_no_metadata_reader(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith(("vma_", "slack_"))}
    probe = ("import sys\n"
             "from vma.cli import main\n"
             f"rc = main(['check', '--json', {str(_a_chart())!r}])\n"
             "print('LOADED', sorted(m for m in ('pydantic', 'pydantic_settings', 'asyncio', 'vma.config') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout
