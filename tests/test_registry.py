"""The check registry keeps the contract: every contract ID is served, and every
check module documents itself with the fixed sections."""

from __future__ import annotations

import re
from pathlib import Path

from vma.checks import all_checks

CONTRACT_IDS = {
    "unsigned", "missing-element", "invalid-npi", "invalid-date", "invalid-code", "non-billable-code",
    "seventh-character", "laterality", "acuity", "specificity", "poa", "excludes1", "combination",
    "em-level", "dx-linkage", "modifier", "ncci-ptp", "mue", "place-of-service", "sex-age", "payer-rule",
}
SECTIONS = ("What it finds", "Why it matters", "Example", "Resolution", "References")
TESTS = Path(__file__).resolve().parent


def test_every_contract_id_is_registered():
    assert {spec.id for spec in all_checks()} == CONTRACT_IDS


def test_every_check_module_has_the_fixed_doc_sections():
    for spec in all_checks():
        missing = [s for s in SECTIONS if not re.search(rf"^\s*{s}\b", spec.doc, re.M)]
        assert not missing, f"{spec.module} lacks {missing}"


def test_every_check_has_tests_that_name_it():
    corpus = "\n".join(p.read_text() for p in TESTS.rglob("*.py")) + "\n".join(
        p.read_text() for p in TESTS.rglob("*.json"))
    for spec in all_checks():
        assert f'"{spec.id}"' in corpus or f"'{spec.id}'" in corpus, f"no test names {spec.id}"


def test_readme_checks_table_matches_the_registry():
    from vma.checks.catalog import readme_block

    readme = (TESTS.parent / "README.md").read_text()
    assert readme_block() in readme, "README checks table is stale: run `python -m vma.checks.catalog`"
