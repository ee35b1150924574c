"""Payer rule packs (contract section 7): loading and its errors, the ``payer-rule`` check, the CLI."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

import vma.reference
from vma.chart import chart_from_dict
from vma.checks import run_checks
from vma.cli import main
from vma.reference import ReferenceData
from vma.rules import RulePackError, load_rules, run_pack_tests, shape_problems

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "docs" / "payer-rules"
CHART = json.loads((SAMPLE / "tests" / "em-with-injection-no-25.json").read_text())

ACME = """\
payer_id: "60054"
payer_name: Acme Health
version: "2026-11"
rules:
  - id: ACME-0001
    title: E/M on the day of a joint injection needs modifier 25
    when: >-
      chart.procedures.exists(p, p.code in ["99212", "99213", "99214", "99215"] && !("25" in p.modifiers))
      && chart.procedures.exists(p, p.code == "20610")
    action: correct
    message: Acme denies an E/M billed with 20610 on the same day without modifier 25.
    references: ["Acme CP-0042 section 3"]
"""
EVERY_PAYER = """\
payer_id: "*"
rules:
  - id: CLINIC-0001
    title: Knee injections are reviewed by the lead coder
    when: chart.procedures.exists(p, p.code == "20610") && age >= 18
    action: info
    message: Clinic policy, every payer.
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def rule_ids(report) -> list[tuple[str, str]]:
    return [(f.rule_id, f.payer_id) for f in report.findings if f.check == "payer-rule"]


def ref_with(folder: Path) -> ReferenceData:
    ref = ReferenceData()
    ref.__dict__["payer_rules"] = load_rules(folder)  # the cached property, as the settings would load it
    return ref


def chart(payer_id: str | None = "60054", **changes):
    data = json.loads(json.dumps(CHART))
    data["coverage"] = {"payer_id": payer_id, "payer_name": "x", "plan": None} if payer_id else None
    data.update(changes)
    return chart_from_dict(data)


# ---------------------------------------------------------------- matching


def test_a_pack_applies_to_its_payer_only(tmp_path):
    write(tmp_path, "acme.yaml", ACME)
    ref = ref_with(tmp_path)
    report = run_checks(chart("60054"), ref, only=["payer-rule"])
    assert rule_ids(report) == [("ACME-0001", "60054")]
    finding = report.findings[0]
    assert finding.action == "correct" and "Acme denies" in finding.message
    assert finding.references == ["Acme CP-0042 section 3"]
    dumped = json.loads(report.model_dump_json())["findings"][0]
    assert dumped["rule_id"] == "ACME-0001" and dumped["payer_id"] == "60054"
    assert run_checks(chart("87726"), ref, only=["payer-rule"]).findings == []
    assert run_checks(chart(None), ref, only=["payer-rule"]).findings == []


def test_the_rule_does_not_match_a_chart_that_keeps_the_policy(tmp_path):
    write(tmp_path, "acme.yaml", ACME)
    fixed = chart(procedures=[{"code": "99213", "modifiers": ["25"], "units": 1, "diagnosis_pointers": [1]},
                              {"code": "20610", "modifiers": ["RT"], "units": 1, "diagnosis_pointers": [1]}])
    assert run_checks(fixed, ref_with(tmp_path), only=["payer-rule"]).findings == []


def test_a_star_pack_applies_to_every_payer_and_to_charts_without_coverage(tmp_path):
    write(tmp_path, "acme.yaml", ACME)
    write(tmp_path, "clinic.yml", EVERY_PAYER)
    ref = ref_with(tmp_path)
    assert rule_ids(run_checks(chart("60054"), ref, only=["payer-rule"])) == [("ACME-0001", "60054"),
                                                                              ("CLINIC-0001", "*")]
    assert rule_ids(run_checks(chart(None), ref, only=["payer-rule"])) == [("CLINIC-0001", "*")]


def test_a_rule_that_cannot_be_evaluated_on_a_chart_does_not_match_it(tmp_path):
    write(tmp_path, "clinic.yml", EVERY_PAYER)
    no_birth_date = chart(None)
    no_birth_date.patient.birth_date = None  # age is null: "age >= 18" has no answer, the rule does not apply
    assert run_checks(no_birth_date, ref_with(tmp_path), only=["payer-rule"]).findings == []


def test_no_rules_dir_means_no_payer_rule_findings():
    assert load_rules(None).packs == []
    ref = ReferenceData()
    ref.__dict__["payer_rules"] = load_rules(None)
    assert run_checks(chart(), ref, only=["payer-rule"]).findings == []


# ---------------------------------------------------------------- broken packs name file, rule and field


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(RulePackError) as err:
        load_rules(folder)
    return [str(p) for p in err.value.problems]


def test_a_cel_syntax_error_names_the_file_and_the_rule(tmp_path):
    path = write(tmp_path, "acme.yaml", ACME.replace('p.code == "20610")', 'p.code == "20610"'))
    [problem] = problems_of(tmp_path)
    assert problem.startswith(f"{path}: rule ACME-0001: when: CEL does not compile")


def test_a_field_the_chart_does_not_have_is_refused(tmp_path):
    path = write(tmp_path, "acme.yaml", ACME.replace("p.modifiers", "p.modifier"))
    [problem] = problems_of(tmp_path)
    assert problem.startswith(f"{path}: rule ACME-0001: when: p.modifier: the chart has no such field")
    write(tmp_path, "acme.yaml", ACME.replace("chart.procedures.exists(p, p.code == \"20610\")",
                                              "chart.encounter.pos == \"11\" && payer == \"x\""))
    found = problems_of(tmp_path)
    assert any("chart.encounter.pos: the chart has no such field" in p for p in found)
    assert any("unknown name 'payer'" in p for p in found)


def test_duplicate_rule_ids_across_packs_are_refused(tmp_path):
    write(tmp_path, "a.yaml", ACME)
    second = write(tmp_path, "b.yaml", ACME.replace('"60054"', '"87726"'))
    [problem] = problems_of(tmp_path)
    assert problem == f"{second}: rule ACME-0001: id: duplicate rule ID: also in {tmp_path / 'a.yaml'}"


def test_bad_yaml_missing_fields_and_a_wrong_action(tmp_path):
    write(tmp_path, "broken.yaml", "payer_id: [unclosed\n")
    write(tmp_path, "fields.yaml", """\
        rules:
          - id: X-1
            title: t
            when: "true"
            action: deny
            mesage: typo
        """)
    found = problems_of(tmp_path)
    assert any(p.startswith(f"{tmp_path / 'broken.yaml'}: (yaml): not valid YAML at line") for p in found)
    fields = tmp_path / "fields.yaml"
    assert f"{fields}: payer_id: required: the payer ID the chart's coverage carries, or \"*\"" in found
    assert any(p.startswith(f"{fields}: rule X-1: action: must be one of correct, query, info") for p in found)
    assert any(p.startswith(f"{fields}: rule X-1: mesage: unknown field") for p in found)
    assert f"{fields}: rule X-1: message: required text" in found


def test_a_query_rule_needs_a_compliant_question_with_options(tmp_path):
    write(tmp_path, "q.yaml", """\
        payer_id: "60054"
        rules:
          - id: Q-1
            title: Laterality of the injection
            when: chart.procedures.exists(p, p.code == "20610" && size(p.modifiers) == 0)
            action: query
            message: The payer needs the side.
            question: Please document the side so the payer pays the claim.
            options: ["Right knee", "Left knee"]
        """)
    found = problems_of(tmp_path)
    assert any("rule q-1: question: leading phrase 'please document'" in p.lower() for p in found)
    assert any("money or payment word" in p for p in found)


def test_a_query_rule_asks_the_physician_its_own_question(tmp_path):
    write(tmp_path, "q.yaml", """\
        payer_id: "60054"
        rules:
          - id: Q-1
            title: Side of the injection
            when: chart.procedures.exists(p, p.code == "20610" && size(p.modifiers) == 0)
            action: query
            message: The payer needs RT or LT on 20610.
            question: Which knee was injected?
            options: ["Right knee", "Left knee", "Both knees"]
        """)
    data = chart()
    data.procedures[1].modifiers = []
    [finding] = run_checks(data, ref_with(tmp_path), only=["payer-rule"]).findings
    assert finding.action == "query" and finding.question == "Which knee was injected?"
    assert finding.options == ["Right knee", "Left knee", "Both knees", "Other", "Clinically undetermined"]


def test_the_shape_check_follows_macros_indexes_and_maps():
    assert shape_problems('chart.diagnoses[0].code.startsWith("Z00") && chart.note.sections.exists(k, k == "plan")'
                          ' && chart.procedures.map(p, p.units).exists(u, u > 2) && has(chart.coverage.plan)') == []
    assert shape_problems("chart.procedures.exists(p, p.modifiers.exists(m, m.code == 1))") == [
        "m.code: the chart has no such field (fields here: none: it is a list or a value)"]


# ---------------------------------------------------------------- the command line


@pytest.fixture
def rules_env(monkeypatch):
    """VMA_RULES_DIR for one CLI call: the process-wide reference data is built afresh from it."""
    from vma.config import get_settings

    def set_dir(folder: Path) -> None:
        monkeypatch.setenv("VMA_RULES_DIR", str(folder))
        monkeypatch.setattr(vma.reference, "_default", None)
        get_settings.cache_clear()
    yield set_dir
    get_settings.cache_clear()


def test_vma_check_stops_with_exit_2_on_a_broken_pack(tmp_path, rules_env, capsys):
    write(tmp_path / "rules", "acme.yaml", ACME.replace("p.modifiers", "p.mods"))
    rules_env(tmp_path / "rules")
    assert main(["check", "--json", str(SAMPLE / "tests" / "em-with-injection-no-25.json")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing was checked half-way
    assert "acme.yaml: rule ACME-0001: when: p.mods: the chart has no such field" in captured.err


def test_vma_check_reports_payer_rule_findings(tmp_path, rules_env, capsys):
    rules_env(SAMPLE)
    assert main(["check", "--json", str(SAMPLE / "tests" / "em-with-injection-no-25.json")]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(f["rule_id"], f["payer_id"]) for f in report["findings"] if f["check"] == "payer-rule"] == [
        ("ACME-0001", "60054")]


def test_vma_serve_refuses_a_broken_pack(tmp_path, rules_env, capsys):
    write(tmp_path / "rules", "acme.yaml", "rules: []\n")
    rules_env(tmp_path / "rules")
    assert main(["serve", "--port", "0"]) == 2
    assert "payer_id: required" in capsys.readouterr().err


def test_vma_rules_check_on_the_sample_and_on_a_broken_folder(tmp_path, capsys):
    assert main(["rules", "check", str(SAMPLE)]) == 0
    assert "4 rule(s) OK" in capsys.readouterr().out
    write(tmp_path, "a.yaml", ACME)
    write(tmp_path, "b.yaml", ACME)
    assert main(["rules", "check", str(tmp_path)]) == 2
    assert "b.yaml: rule ACME-0001: id: duplicate rule ID" in capsys.readouterr().err


def test_vma_rules_test_runs_the_sample_packs_examples(capsys):
    assert main(["rules", "test", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "ok    em-with-injection-no-25.json: ACME-0001" in out and "FAIL" not in out
    assert all(r.exit_code == 0 for r in run_pack_tests(SAMPLE))


def test_vma_rules_test_names_a_failing_example(tmp_path, capsys):
    shutil.copytree(SAMPLE, tmp_path / "pack")
    expected = tmp_path / "pack" / "tests" / "expected.yaml"
    expected.write_text(expected.read_text().replace("em-with-injection-25.json: []",
                                                     "em-with-injection-25.json: [ACME-0001]"))
    assert main(["rules", "test", str(tmp_path / "pack")]) == 1
    assert ("FAIL  em-with-injection-25.json: expected ACME-0001, got no rule; missing ACME-0001"
            in capsys.readouterr().out)


def test_hl7_and_fhir_charts_meet_the_pack_of_their_payer(tmp_path):
    from tests.formats.fhir_resources import bundle, claim, document_reference, encounter, patient, practitioner
    from tests.formats.hl7_messages import ft1, mdm, segment
    from vma.integrations.fhir import chart_from_fhir
    from vma.integrations.hl7 import chart_from_hl7

    write(tmp_path, "acme.yaml", ACME)
    ref = ref_with(tmp_path)
    in1 = segment("IN1", {1: "1", 2: "PPO^Acme PPO", 3: "60054", 4: "Acme Health"})
    lines = (ft1(1, "99213", diagnoses="1"), ft1(2, "20610", diagnoses="1", modifiers="RT"))
    hl7_chart = chart_from_hl7(mdm(ft1=lines, extra=(in1,)))
    assert rule_ids(run_checks(hl7_chart, ref, only=["payer-rule"])) == [("ACME-0001", "60054")]
    assert run_checks(chart_from_hl7(mdm(ft1=lines)), ref, only=["payer-rule"]).findings == []  # no IN1

    # The fixture's claim bills 99213-25 with 20610: the same pack is silent; without the 25 it speaks.
    payer = {"identifier": {"value": "60054"}, "display": "Acme Health"}
    fhir_claim = claim(insurance=[{"sequence": 1, "focal": True, "coverage": payer}])
    resources = (patient(), practitioner(), encounter(), document_reference())
    assert run_checks(chart_from_fhir(bundle(*resources, fhir_claim)), ref, only=["payer-rule"]).findings == []
    for item in fhir_claim["item"]:
        item.pop("modifier", None)
    assert rule_ids(run_checks(chart_from_fhir(bundle(*resources, fhir_claim)), ref, only=["payer-rule"])) == [
        ("ACME-0001", "60054")]


def test_vma_rules_check_without_a_folder_or_with_a_missing_one(tmp_path, rules_env, capsys, monkeypatch):
    from vma.config import get_settings

    monkeypatch.delenv("VMA_RULES_DIR", raising=False)
    get_settings.cache_clear()
    assert main(["rules", "check"]) == 2
    assert "no folder given and VMA_RULES_DIR is not set" in capsys.readouterr().err
    assert main(["rules", "check", str(tmp_path / "absent")]) == 2
    assert f"{tmp_path / 'absent'}: VMA_RULES_DIR: not a folder" in capsys.readouterr().err


def test_ehr_settings_are_checked_when_loaded():
    from vma.config import Settings

    assert Settings(vma_ehr_mllp="ehr.clinic.internal:6661").vma_ehr_mllp == "ehr.clinic.internal:6661"
    for bad in ("ehr.clinic.internal", "host:0", "host:port"):
        with pytest.raises(ValueError, match="host:port"):
            Settings(vma_ehr_mllp=bad)
    with pytest.raises(ValueError, match="FHIR base URL"):
        Settings(vma_ehr_fhir_url="ehr.clinic.internal/fhir")
