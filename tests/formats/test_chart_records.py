"""The chart and report records read input as the contract's chart always has been read: strings
stripped, numbers that arrived as whole floats or digit strings taken, every problem named with its
dotted field, unknown fields kept; and they print the findings JSON unchanged."""

from __future__ import annotations

import json

import pytest

from vma.chart import Chart, ChartInputError, chart_from_dict, chart_json_schema
from vma.findings import ChartReport, Choice, Finding, query_choices


def _chart(**over):
    data = {"chart_id": "C1", "patient": {"name": " Pat "}, "encounter": {"date_of_service": "2024-01-02"},
            "provider": {"npi": "1234567893"}, "note": {"text": " note "}}
    data.update(over)
    return data


def _problems(data) -> list[str]:
    with pytest.raises(ChartInputError) as caught:
        chart_from_dict(data)
    return [str(e) for e in caught.value.errors]


@pytest.mark.parametrize(("value", "read"), [
    (3, 3), (3.0, 3), (True, 1), ("12", 12), (" 12 ", 12), ("+5", 5), ("12.0", 12), ("1_0", 10), ("007", 7),
])
def test_an_integer_may_arrive_as_a_whole_float_or_digits(value, read):
    assert chart_from_dict(_chart(version=value)).version == read


@pytest.mark.parametrize(("value", "message"), [
    (1.5, "Input should be a valid integer, got a number with a fractional part"),
    ("12.5", "Input should be a valid integer, unable to parse string as an integer"),
    ("\u0663", "Input should be a valid integer, unable to parse string as an integer"),  # not an ASCII digit
    (float("nan"), "Input should be a finite number"),
    (None, "Input should be a valid integer"),
    ([1], "Input should be a valid integer"),
])
def test_an_integer_that_is_not_one_is_named(value, message):
    assert _problems(_chart(version=value)) == [f"version: {message}"]


def test_every_problem_is_reported_at_once_in_field_order_with_its_place():
    data = {"chart_id": "  ", "patient": None, "note": 5,
            "encounter": {"setting": " office ", "total_time_minutes": -1},
            "diagnoses": [{}, {"code": None}], "procedures": [{"code": "99213", "modifiers": [" 25 ", 5]}, "x"]}
    assert _problems(data) == [
        "chart_id: String should have at least 1 character",
        "patient: Input should be a valid dictionary or instance of Patient",
        "encounter.setting: Input should be 'office', 'telehealth', 'outpatient-hospital', 'emergency' or 'inpatient'",
        "encounter.total_time_minutes: Input should be greater than or equal to 0",
        "provider: Field required",
        "note: Input should be a valid dictionary or instance of Note",
        "diagnoses.0.code: Field required",
        "diagnoses.1.code: Input should be a valid string",
        "procedures.0.modifiers.1: Input should be a valid string",
        "procedures.1: Input should be a valid dictionary or instance of Procedure",
    ]


def test_values_are_normalised_and_unknown_fields_kept():
    chart = chart_from_dict(_chart(
        encounter={"place_of_service": 2, "patient_status": "new", "visit_kind": "annual"},
        diagnoses=[{"code": " m25561 ", "poa": " y "}, {"code": "I10", "poa": 1}],
        procedures=[{"code": " 99213 ", "modifiers": [" lt ", "", "rt"], "diagnosis_pointers": ["1", 2.0]}],
        coverage={"payer_id": 60054}, note={"sections": {" HPI ": " knee pain "}}, authenticated=False))
    assert chart.patient.name == "Pat" and chart.encounter.place_of_service == "02"
    assert [(d.code, d.poa) for d in chart.diagnoses] == [("M25.561", "Y"), ("I10", "1")]
    procedure, = chart.procedures
    assert (procedure.code, procedure.modifiers, procedure.diagnosis_pointers, procedure.units) == (
        "99213", ["LT", "RT"], [1, 2], 1)
    assert chart.coverage.payer_id == "60054" and chart.note.sections == {"HPI": "knee pain"}
    assert chart.model_extra == {"authenticated": False} and chart.encounter.model_extra == {"visit_kind": "annual"}
    again = Chart.model_validate(json.loads(json.dumps(chart.model_dump(mode="json"))))
    assert again == chart and again.model_extra == chart.model_extra


def test_a_chart_that_is_not_an_object_is_refused():
    assert _problems([]) == ["(chart): expected a JSON object"]


def test_the_schema_names_every_field_and_what_is_required():
    schema = chart_json_schema()
    assert schema["required"] == ["chart_id", "patient", "encounter", "provider", "note"]
    assert schema["properties"]["version"] == {"default": 1, "title": "Version", "type": "integer"}
    assert schema["$defs"]["Encounter"]["properties"]["total_time_minutes"]["anyOf"][0] == {
        "minimum": 0, "type": "integer"}
    assert schema["$defs"]["Diagnosis"]["required"] == ["code"] and schema["additionalProperties"] is True


def test_a_finding_prints_the_contract_fields_only_and_compact_utf8():
    finding = Finding(check="laterality", action="query", code="M25.569", message="Which knee? \u2014 both",
                      choices=query_choices([Choice(label="Right knee", codes=["M25.561"])]), target="diagnosis:0")
    assert finding.options == ["Right knee", "Other", "Clinically undetermined"]
    line = ChartReport.from_findings("C1", [finding]).model_dump_json()
    assert line == ('{"chart_id":"C1","status":"needs_query","findings":[{"check":"laterality","action":"query",'
                    '"severity":"error","code":"M25.569","message":"Which knee? \u2014 both","evidence":"",'
                    '"suggested_codes":[],"question":null,"options":["Right knee","Other",'
                    '"Clinically undetermined"]}]}')
    stored = ChartReport.model_validate(json.loads(line))
    assert stored.findings[0].options == finding.options and stored.findings[0].choices == []
    payer = Finding(check="payer-rule", action="info", message="m", rule_id="R1", payer_id="60054", references=["p"])
    assert json.loads(payer.model_dump_json())["rule_id"] == "R1"


def test_a_finding_with_a_wrong_action_is_refused():
    with pytest.raises(ValueError, match="action: Input should be 'query', 'correct' or 'info'"):
        Finding(check="x", action="ask", message="m")


def test_a_copy_changes_only_what_it_is_given():
    finding = Finding(check="x", action="info", message="m", suggested_codes=["A"])
    copy = finding.model_copy(update={"message": "n"})
    assert (copy.message, copy.suggested_codes, finding.message) == ("n", ["A"], "m")


@pytest.mark.parametrize(("over", "problem"), [
    ({"chart_id": "C\ud800"}, "chart_id: Input should be a valid string, unable to parse raw data as a unicode string"),
    ({"version": "1" * 5000}, "version: Unable to parse input string as an integer, exceeded maximum size"),
    ({"version": 1e19}, "version: Unable to parse input string as an integer, exceeded maximum size"),
    ({"version": "1."}, "version: Input should be a valid integer, unable to parse string as an integer"),
    ({"version": "5\x1f"}, "version: Input should be a valid integer, unable to parse string as an integer"),
    ({"note": {"sections": {"A\ud800": "x"}}},
     "note.sections.A\\ud800.[key]: Input should be a valid string, unable to parse raw data as a unicode string"),
])
def test_input_that_could_not_be_written_out_or_counted_is_refused_by_field(over, problem):
    assert _problems(_chart(**over)) == [problem]


def test_only_unicode_white_space_is_stripped_not_the_information_separators():
    chart = chart_from_dict(_chart(patient={"name": "\u00a0Pat\x1c\u2028"},
                                   note={"sections": {"A": "1", "A\x1c": "2"}}))
    assert chart.patient.name == "Pat\x1c" and chart.note.sections == {"A": "1", "A\x1c": "2"}


def test_a_finding_with_a_bad_field_reports_it_rather_than_failing_to_derive_its_options():
    with pytest.raises(ValueError, match="choices: Input should be a valid list"):
        Finding.model_validate({"check": "x", "action": "info", "message": "m", "choices": "x"})


def test_a_dump_and_a_copy_are_the_caller_s_own_and_json_has_no_nan():
    chart = chart_from_dict(_chart(tags={"a": [1]}, score=float("nan")))
    dumped = chart.model_dump()
    dumped["tags"]["a"].append(2)
    assert chart.model_extra["tags"] == {"a": [1]} and chart.model_dump(mode="json")["score"] is None
    copy = chart.model_copy(update={"revision_kind": "addendum"})
    assert copy.model_extra["revision_kind"] == "addendum" and "revision_kind" not in chart.model_extra
    schema = chart_json_schema()
    schema["$defs"]["Note"]["properties"]["sections"]["anyOf"][0]["additionalProperties"]["type"] = "changed"
    assert chart_json_schema()["$defs"]["Note"]["properties"]["sections"]["anyOf"][0]["additionalProperties"] == {
        "type": "string"}
