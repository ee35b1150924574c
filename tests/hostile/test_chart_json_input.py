"""Hostile input to the canonical chart reader: no crash, a clear error naming a field."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conftest import base_chart
from vma.chart import ChartInputError
from vma.checks import run_checks
from vma.intake import parse_chart

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
CHART_PATHS = [
    ("chart_id",), ("version",), ("patient",), ("patient", "birth_date"), ("patient", "sex"),
    ("encounter",), ("encounter", "date_of_service"), ("encounter", "setting"),
    ("encounter", "total_time_minutes"), ("encounter", "place_of_service"), ("provider", "npi"),
    ("signature",), ("signature", "signed_at"), ("note",), ("note", "text"), ("note", "sections"),
    ("diagnoses",), ("procedures",),
]


def _set(doc: dict, path: tuple[str, ...], value) -> None:
    cur = doc
    for key in path[:-1]:
        if not isinstance(cur.get(key), dict):
            cur[key] = {}
        cur = cur[key]
    cur[path[-1]] = value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(CHART_PATHS), value=json_values)
def test_any_value_in_any_field_is_a_chart_or_a_named_error(path, value, ref):
    doc = base_chart()
    _set(doc, path, value)
    try:
        chart, _ = parse_chart(json.dumps(doc).encode())
    except ChartInputError as exc:
        assert exc.errors and all(e.field and e.message for e in exc.errors)
        return
    report = run_checks(chart, ref)  # whatever parsed must also check without crashing
    assert report.status in ("clear", "needs_query", "needs_correction")


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(raw):
    try:
        parse_chart(raw)
    except ChartInputError as exc:
        assert exc.errors


def test_invalid_utf8_names_the_byte():
    try:
        parse_chart(b'{"chart_id": "\xff"}')
    except ChartInputError as exc:
        assert "UTF-8" in str(exc)
    else:
        raise AssertionError("invalid UTF-8 accepted")
