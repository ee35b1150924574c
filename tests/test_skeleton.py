import json
import subprocess
import sys

from vma.chart import chart_from_dict, normalize_icd, ChartInputError
from vma.config import parse_duration
from tests.conftest import base_chart


def test_codes_are_normalised():
    assert normalize_icd(" m25569 ") == "M25.569"
    assert normalize_icd("i10") == "I10"
    assert normalize_icd("s93.402a") == "S93.402A"


def test_missing_required_field_names_the_field():
    data = base_chart()
    del data["patient"]
    try:
        chart_from_dict(data)
    except ChartInputError as exc:
        assert any(e.field == "patient" for e in exc.errors)
    else:
        raise AssertionError("missing patient accepted")


def test_wrong_type_names_the_field():
    data = base_chart()
    data["procedures"][0]["units"] = "many"
    try:
        chart_from_dict(data)
    except ChartInputError as exc:
        assert any(e.field == "procedures.0.units" for e in exc.errors)
    else:
        raise AssertionError("bad units accepted")


def test_unknown_fields_are_kept():
    data = base_chart(source={"dataset": "synthetic"})
    chart = chart_from_dict(data)
    assert chart.model_dump()["source"] == {"dataset": "synthetic"}


def test_durations():
    assert parse_duration("90s").total_seconds() == 90
    assert parse_duration("4h").total_seconds() == 4 * 3600
    assert parse_duration("2d").days == 2
    assert parse_duration("PT4H").total_seconds() == 4 * 3600


def test_schema_command_prints_json_schema():
    out = subprocess.run([sys.executable, "-m", "vma.cli", "schema", "chart"], capture_output=True, text=True, check=True)
    schema = json.loads(out.stdout)
    assert "chart_id" in schema["properties"]
