"""Every fixture chart of ``tests/fixtures/<check-id>/`` gives exactly the findings it expects.

One runner for all of them; the schema (and how ``only``, ``compare`` and ``skip_actions`` choose what
is compared) is in ``tests/fixtures/README.md``. Findings are compared in order, each reduced to
check, action, code, suggested codes, a query's options, and any other field the expectation names.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from tests.checking import (ESSENCE, FIXTURES, essence, fixture_files, fixture_findings, fixture_report,
                            load_fixture)
from vma.checks import all_checks

FILES = fixture_files()
KEYS = {"description": str, "note": str, "diagnoses": list, "procedures": list, "chart": dict, "rules_dir": str,
        "only": list, "compare": list, "skip_actions": list, "evidence_contains": list, "message_contains": list,
        "expected": list}
REQUIRED = {"description", "expected"}
ACTIONS = {"correct", "query", "info"}


def check_ids() -> set[str]:
    return {spec.id for spec in all_checks()}


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def extra_fields(expected: list[dict]) -> list[str]:
    """The fields beyond the essence that the expectation names (``target``, ``rule_id`` ...)."""
    named = {k for item in expected for k in item} - set(ESSENCE) - {"options"}
    return sorted(named)


def readable_diff(expected: list[dict], got: list[dict]) -> str:
    want = json.dumps(expected, indent=2).splitlines()
    have = json.dumps(got, indent=2).splitlines()
    return "\n".join(difflib.unified_diff(want, have, "expected", "got", lineterm=""))


@pytest.mark.parametrize("path", FILES, ids=fixture_id)
def test_fixture_gives_exactly_its_expected_findings(path: Path, ref):
    data = load_fixture(path)
    report = fixture_report(data, ref)
    compared = fixture_findings(data, report)
    extra = extra_fields(data["expected"])
    got = [essence(f, extra) for f in compared]
    assert got == data["expected"], f"{fixture_id(path)}: {data['description']}\n{readable_diff(data['expected'], got)}"
    for f in compared:
        for words in data.get("evidence_contains", []):
            assert words in f.evidence, (fixture_id(path), words, f.evidence)
        for words in data.get("message_contains", []):
            assert words in f.message, (fixture_id(path), words, f.message)


def test_every_fixture_keeps_the_schema():
    ids = check_ids()
    problems = []
    for path in FILES:
        data = load_fixture(path)
        name = fixture_id(path)
        if path.parent.name not in ids:
            problems.append(f"{name}: directory {path.parent.name!r} is not a check ID")
        for key, value in data.items():
            if key not in KEYS:
                problems.append(f"{name}: unknown key {key!r}")
            elif not isinstance(value, KEYS[key]):
                problems.append(f"{name}: {key} is not a {KEYS[key].__name__}")
        problems += [f"{name}: no {key}" for key in REQUIRED - set(data)]
        if not data.get("description"):
            problems.append(f"{name}: empty description")
        for key in ("only", "compare"):
            unknown = set(data.get(key, ())) - ids
            if unknown:
                problems.append(f"{name}: {key} names {sorted(unknown)}, not check IDs")
        if "only" in data and path.parent.name not in data["only"]:
            problems.append(f"{name}: only {data['only']} does not run its own check {path.parent.name}")
        if "rules_dir" in data and not (FIXTURES.parent.parent / data["rules_dir"]).is_dir():
            problems.append(f"{name}: rules_dir {data['rules_dir']} is not a folder")
        for item in data.get("expected", []):
            missing = [k for k in ESSENCE if k not in item]
            if missing:
                problems.append(f"{name}: an expected finding lacks {missing}")
            elif item["action"] not in ACTIONS:
                problems.append(f"{name}: action {item['action']!r}")
            elif (item["action"] == "query") != ("options" in item):
                problems.append(f"{name}: a query and only a query names its options")
        checks = {item.get("check") for item in data.get("expected", [])}
        if checks and path.parent.name not in checks:
            problems.append(f"{name}: expects findings of {sorted(checks)}, not of its directory's check")
    assert not problems, "\n".join(problems)



def test_every_check_has_a_fixture_that_expects_its_finding():
    fired: dict[str, int] = {}
    for path in FILES:
        for item in load_fixture(path)["expected"]:
            if item["check"] == path.parent.name:
                fired[item["check"]] = fired.get(item["check"], 0) + 1
    missing = sorted(check_ids() - set(fired))
    assert not missing, f"checks without a fixture chart in tests/fixtures/<check-id>/ that expects their finding: {missing}"
