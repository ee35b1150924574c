"""What the check suites share: the fixture charts of ``tests/fixtures/``, chart builders, and a finding's gist.

One module for every check suite (``tests/checks_*``, the spec examples, the fixture runner):

- ``essence`` reduces one finding to what an expectation compares (check, action, code, suggested codes,
  a query's options); ``essences`` reduces a list of findings to tuples of the fields a test names.
- ``fixture_files``/``load_fixture``/``fixture_chart``/``fixture_findings`` read and run the fixture charts
  (the schema is in ``tests/fixtures/README.md``).
- ``line``/``claim_chart``/``claim_findings``/``of``: procedure lines and the claim edits (``CLAIM_CHECKS``).
- ``record_chart``/``check_findings``/``engine``: one check's findings on ``base_chart`` with overrides,
  through the check function itself (so ``today`` can be pinned on the context).
- ``assessment``/``coded_chart``/``note_findings``: a note's assessment and one check on a note and its codes.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any, Iterable

from tests.conftest import FIXTURES, base_chart
from vma.chart import Chart, chart_from_dict
from vma.checks import CheckContext, all_checks, run_checks

__all__ = ["CLAIM_CHECKS", "ESSENCE", "FIXTURES", "assessment", "check_findings", "claim_chart", "claim_findings",
           "coded_chart", "engine", "essence", "essences", "fixture_chart", "fixture_files", "fixture_findings",
           "fixture_reference", "fixture_report", "load_fixture", "line", "note_findings", "of", "record_chart"]


# -- a finding's gist ------------------------------------------------------------------------------

ESSENCE = ("check", "action", "code", "suggested_codes")


def _field(finding: Any, key: str) -> Any:
    return finding.get(key) if isinstance(finding, dict) else getattr(finding, key)


def essence(finding: Any, extra: Iterable[str] = ()) -> dict:
    """What a finding (a dict or a ``Finding``) must keep to match an expected one: check, action, code,
    suggested codes, a query's options, and the ``extra`` fields named (such as ``target``)."""
    out = {k: _field(finding, k) for k in ESSENCE}
    if out["action"] == "query":
        out["options"] = _field(finding, "options")
    for key in extra:
        out[key] = _field(finding, key)
    return out


def essences(findings: Iterable[Any], *fields: str) -> list[tuple]:
    """Each finding as the tuple of ``fields`` (by default check, action, code, suggested codes), in order."""
    fields = fields or ESSENCE
    return [tuple(_field(f, k) for k in fields) for f in findings]


# -- the fixture charts (tests/fixtures/<check-id>/<name>.json) ------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def fixture_files(check_id: str | None = None) -> list[Path]:
    """Every fixture chart, or those of one check's directory, in path order."""
    pattern = f"{check_id}/*.json" if check_id else "*/*.json"
    return sorted(FIXTURES.glob(pattern))


def load_fixture(name: str | Path) -> dict:
    """A fixture by path, or by ``"<check-id>/<name>"`` under tests/fixtures."""
    path = Path(name)
    if not path.is_absolute():
        path = FIXTURES / (name if str(name).endswith(".json") else f"{name}.json")
    return json.loads(path.read_text())


def fixture_chart(data: dict) -> Chart:
    """``base_chart`` with the fixture's ``chart`` overrides, its note, diagnoses and procedures."""
    overrides = dict(data.get("chart", {}))
    if "note" in data:
        overrides["note"] = {"text": data["note"]}
    if "diagnoses" in data:
        overrides["diagnoses"] = [dx if isinstance(dx, dict) else {"code": dx, "poa": None}
                                  for dx in data["diagnoses"]]
    if "procedures" in data:
        overrides["procedures"] = data["procedures"]
    return chart_from_dict(base_chart(**overrides))


def fixture_reference(data: dict, ref):
    """The reference data a fixture runs on: ``ref``, with the payer rule packs of ``rules_dir`` if it names one."""
    if not data.get("rules_dir"):
        return ref
    from vma.rules import load_rules

    with_rules = copy.copy(ref)
    with_rules.__dict__["payer_rules"] = load_rules(ROOT / data["rules_dir"])  # the cached property
    return with_rules


def fixture_report(data: dict, ref):
    """The ``ChartReport`` of the checks the fixture runs (``only``, else all) on its chart."""
    return run_checks(fixture_chart(data), fixture_reference(data, ref), only=data.get("only"))


def fixture_findings(data: dict, report) -> list:
    """The findings of ``report`` the fixture's ``expected`` is compared with: those of the ``compare``
    checks (else all), less those whose action is in ``skip_actions``."""
    compare = data.get("compare")
    skip = set(data.get("skip_actions", ()))
    return [f for f in report.findings if (compare is None or f.check in compare) and f.action not in skip]


# -- claim edits -----------------------------------------------------------------------------------

CLAIM_CHECKS = {"invalid-code", "modifier", "ncci-ptp", "mue", "place-of-service"}


def line(code: str, *modifiers: str, units: int = 1, pointers=(1,)) -> dict:
    return {"code": code, "modifiers": list(modifiers), "units": units, "diagnosis_pointers": list(pointers)}


def claim_chart(procedures: list[dict], note: str | None = None, diagnoses: list[str] | None = None,
                **encounter) -> dict:
    overrides: dict = {"procedures": procedures}
    if note is not None:
        overrides["note"] = {"text": note}
    if diagnoses is not None:
        overrides["diagnoses"] = [{"code": c, "poa": None} for c in diagnoses]
    if encounter:
        overrides["encounter"] = encounter
    return base_chart(**overrides)


def claim_findings(data: dict, ref, checks=None):
    """The findings of the claim edits (or of ``checks``) on a chart dict."""
    report = run_checks(chart_from_dict(data), ref, only=set(checks) if checks else CLAIM_CHECKS)
    return report.findings


def of(found, check_id: str):
    return [f for f in found if f.check == check_id]


# -- record-level checks: one check on base_chart with overrides -----------------------------------

def record_chart(**overrides) -> Chart:
    return Chart.model_validate(base_chart(**overrides))


def check_findings(ref, check_id: str, today: date | None = None, **overrides):
    """The findings of one check on a base chart with overrides, run through the check function itself
    (so ``today`` can be pinned on the context)."""
    ctx = CheckContext(record_chart(**overrides), ref)
    if today is not None:
        ctx.today = today
    (spec,) = [s for s in all_checks() if s.id == check_id]
    return list(spec.fn(ctx))


def engine(ref, **overrides):
    return run_checks(record_chart(**overrides), ref)


# -- tabular checks: a note and its codes ----------------------------------------------------------

def coded_chart(note: str, codes: list[str], **overrides) -> Chart:
    raw = base_chart(note={"text": note}, diagnoses=[{"code": c, "poa": None} for c in codes], **overrides)
    return Chart.model_validate(raw)


def note_findings(ref, check_id: str, note: str, codes: list[str], **overrides) -> list[dict]:
    report = run_checks(coded_chart(note, codes, **overrides), ref, only={check_id})
    return json.loads(report.model_dump_json())["findings"]


def assessment(*lines: str) -> str:
    body = "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))
    return f"CHIEF COMPLAINT\n\nFollow-up.\n\nASSESSMENT AND PLAN\n\n{body}\n\nI spent 25 minutes with the patient today."
