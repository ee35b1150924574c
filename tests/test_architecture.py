"""The layout keeps its rooms: small modules, Slack only in its adapter, no check running another."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from vma.checks import CHECK_MODULES

VMA = Path(__file__).resolve().parent.parent / "vma"
SLACK_ADAPTER = VMA / "integrations" / "slack"
MAX_LINES = 500


def _sources() -> list[Path]:
    return sorted(p for p in VMA.rglob("*.py") if "__pycache__" not in p.parts)


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_no_module_is_a_building_of_its_own():
    long = {str(p.relative_to(VMA)): n for p in _sources() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_slack_stays_in_its_adapter():
    for path in _sources():
        if SLACK_ADAPTER in path.parents:
            continue
        imported = _imported_modules(path)
        assert not {m for m in imported if m.split(".")[0] in ("slack_sdk", "slack_bolt")}, path
        assert not {m for m in imported if m.startswith("vma.integrations.slack")} or path.parent == VMA, path
        assert not re.search(r"<@\w|<#C|<!here>|<!channel>", path.read_text()), f"Slack markup in {path}"


def test_no_check_runs_another():
    checks = {f"vma.checks.{name}" for name in CHECK_MODULES}
    for name in CHECK_MODULES:
        path = VMA / "checks" / f"{name}.py"
        others = {m for m in _imported_modules(path) if m in checks and m != f"vma.checks.{name}"}
        assert not others, f"{path.name} imports the check(s) {sorted(others)}"
    for path in (VMA / "checks" / "support").rglob("*.py"):
        assert not {m for m in _imported_modules(path) if m in checks}, f"{path} imports a check module"


def test_the_domain_never_imports_an_adapter():
    for room in ("checks", "conversations"):
        for path in (VMA / room).rglob("*.py"):
            adapters = {m for m in _imported_modules(path) if m.startswith(("vma.integrations", "vma.web"))}
            assert not adapters, f"{path.relative_to(VMA)} imports {sorted(adapters)}"


def test_one_module_per_check_id():
    """CHECK_MODULES only orders the run; what is a check is what registers one, one per module."""
    from vma.checks import all_checks

    specs = all_checks()
    modules = sorted(p.stem for p in (VMA / "checks").glob("*.py") if p.stem not in ("__init__", "catalog"))
    assert sorted(CHECK_MODULES) == modules
    assert sorted(s.module.rsplit(".", 1)[-1] for s in specs) == modules
    assert len({s.id for s in specs}) == len(specs)
