"""A chart's report made from its findings, and a clear chart's line, are what reading the fields and the
compact encoder give; reading a list of records inline reads each as a nested record does."""

from __future__ import annotations

import json
import random
from types import SimpleNamespace

import pytest

from vma.chart import Chart, normalize_icd, normalize_procedure
from vma.findings import CHECK_FAILED, ChartReport, Finding, status_of
from vma.records import Record, RecordError

_TEXTS = ["ENC-1", "", " padded ", 'quote " and \\ backslash', "tab\tnew\nline\x00\x1f", "caf\u00e9 \u2014 \U0001f600",
          "\ud800", "\u2028\u2029", "</script>"]


def _findings(rng: random.Random) -> list:
    checks = ["laterality", "poa", CHECK_FAILED, "specificity"]
    return [Finding(check=rng.choice(checks), action=rng.choice(["query", "correct", "info"]), message="m",
                    code=rng.choice([None, "S83.421A"])) for _ in range(rng.randint(0, 3))]


def _by_the_fields(chart_id, findings):
    try:
        return ChartReport(chart_id=chart_id, status=_status_as_written_before(findings), findings=findings)
    except (RecordError, AttributeError) as exc:
        return exc


def _status_as_written_before(findings) -> str:
    if any(f.check == CHECK_FAILED for f in findings):
        return "incomplete"
    actions = {f.action for f in findings}
    return "needs_query" if "query" in actions else "needs_correction" if "correct" in actions else "clear"


@pytest.mark.parametrize("seed", range(5))
def test_a_report_from_findings_is_the_one_its_fields_read_to(seed):
    rng = random.Random(seed)
    for chart_id in [*_TEXTS, 7, None, b"ENC"]:
        findings = _findings(rng)
        for given in (findings, tuple(findings), [*findings, SimpleNamespace(check="x", action="info")]):
            expected = _by_the_fields(chart_id, given)
            try:
                got = ChartReport.from_findings(chart_id, given)
            except (RecordError, AttributeError) as exc:
                assert type(exc) is type(expected) and str(exc) == str(expected)
                continue
            assert list(got.__dict__.items()) == list(expected.__dict__.items())
            assert got.findings is not given and got.model_dump_json() == expected.model_dump_json()


@pytest.mark.parametrize("seed", range(5))
def test_the_status_is_the_strongest_action_or_incomplete(seed):
    rng = random.Random(seed)
    for _ in range(200):
        findings = _findings(rng)
        assert status_of(findings) == _status_as_written_before(findings)


def test_a_clear_chart_s_line_is_what_the_encoder_writes():
    for chart_id in _TEXTS:
        for status in ("clear", "needs_query", "incomplete"):
            report = ChartReport.__new__(ChartReport)
            report.__dict__.update(chart_id=chart_id, status=status, findings=[], model_extra=None)
            assert report.model_dump_json() == Record.model_dump_json(report), repr(chart_id)
    odd = ChartReport.from_findings("ENC-1", []).model_copy(update={"findings": None})
    assert odd.model_dump_json() == Record.model_dump_json(odd) == '{"chart_id":"ENC-1","status":"clear","findings":null}'
    made = ChartReport.from_findings("ENC-1", [Finding(check="poa", action="query", message="m")])
    assert made.model_dump_json() == Record.model_dump_json(made)
    assert json.loads(made.model_dump_json())["findings"][0]["check"] == "poa"


def test_lists_of_records_read_inline_as_nested_records_read():
    data = {"chart_id": "C", "patient": {}, "encounter": {}, "provider": {}, "note": {"text": "x"},
            "diagnoses": [{"code": " m25561 "}, {"code": "I10", "extra": 1}],
            "procedures": [{"code": "99213", "modifiers": ["25"], "units": "2"}]}
    chart = Chart.model_validate(data)
    assert [d.code for d in chart.diagnoses] == ["M25.561", "I10"]
    assert chart.diagnoses[1].model_extra == {"extra": 1} and chart.procedures[0].units == 2
    with pytest.raises(RecordError) as exc:
        Chart.model_validate({**data, "diagnoses": [{"code": "I10"}, {"code": 5}, "x"]})
    assert exc.value.problems == [(("diagnoses", 1, "code"), "Input should be a valid string"),
                                  (("diagnoses", 2), "Input should be a valid dictionary or instance of Diagnosis")]


def test_codes_are_normalised_as_the_uncached_reading_does():
    rng = random.Random(3)
    chars = "aAmM0123456789.xX -\t"
    for _ in range(2000):
        code = "".join(rng.choice(chars) for _ in range(rng.randint(0, 9)))
        for normalize in (normalize_icd, normalize_procedure):
            assert normalize(code) == normalize.__wrapped__(code)
