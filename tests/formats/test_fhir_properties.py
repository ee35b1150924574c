"""Random and mutated FHIR JSON: the reader answers with a chart or a ChartInputError, never anything else."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.formats.fhir_resources import document_reference, full_bundle
from vma.chart import Chart, ChartInputError
from vma.integrations.fhir import chart_from_fhir

SEEDS = [full_bundle(), full_bundle("collection", with_claim=False), document_reference()]
PROPERTY_SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False),
                         st.text(max_size=20), st.sampled_from(["", "2026-11-16", "Patient/pat-5501", "current", "final",
                                                                "entered-in-error", "//79", "urn:uuid:x", "DocumentReference"]))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(
        ["resourceType", "id", "code", "coding", "system", "value", "reference", "data", "status", "entry", "resource", "x"]),
        inner, max_size=4)), max_leaves=12)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


@st.composite
def mutated(draw):
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        op = draw(st.sampled_from(["replace", "delete", "duplicate"]))
        if op == "replace":
            parent[last] = draw(json_values)
        elif op == "delete":
            del parent[last]
        elif isinstance(parent, list):
            parent.insert(last, copy.deepcopy(parent[last]))
        else:
            parent[last] = [copy.deepcopy(parent[last])]
    return doc


def only_chart_or_input_error(obj) -> None:
    try:
        chart = chart_from_fhir(obj)
    except ChartInputError as exc:
        assert exc.errors and all(e.field and e.message for e in exc.errors)
    else:
        assert isinstance(chart, Chart)


@PROPERTY_SETTINGS
@given(mutated())
def test_mutated_fhir_gives_a_chart_or_an_input_error(obj):
    only_chart_or_input_error(obj)


@PROPERTY_SETTINGS
@given(st.one_of(json_values, st.dictionaries(st.just("resourceType"), st.sampled_from(["Bundle", "DocumentReference", "Composition"]),
                                              min_size=1).flatmap(lambda head: st.dictionaries(st.text(max_size=12), json_values, max_size=5)
                                                                  .map(lambda rest: {**rest, **head}))))
def test_random_json_gives_a_chart_or_an_input_error(obj):
    only_chart_or_input_error(obj)
