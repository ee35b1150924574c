"""Random and mutated HL7 text: the reader answers with a chart or a ChartInputError, never anything else."""

from __future__ import annotations

import hl7
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.formats.hl7_messages import dg1, ft1, mdm, oru, pr1
from vma.chart import Chart, ChartInputError
from vma.integrations.hl7 import build_ack, chart_from_hl7, hl7_message_info

SEEDS = [
    mdm(),
    mdm("T04", status="DO"),
    mdm("T06", doc_id="DOC-5501-2", parent="DOC-5501-1"),
    mdm("T11", note_lines=(), ft1=(), dg1=()),
    mdm(dg1=(dg1(1, "E87.1", poa="N"),), ft1=(ft1(1, "99232", units="2", diagnoses="1", modifiers="59~XU"),)),
    mdm(ft1=(), extra=(pr1(1, "20610", diagnosis="M25.561", modifiers="RT"),)),
    oru(),
]
HL7_CHARS = st.sampled_from(list("|^~\\&\r\nMSHPIDTXAOBXDG1FT0123456789 .-"))
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def only_chart_or_input_error(text: str) -> None:
    try:
        chart = chart_from_hl7(text)
    except ChartInputError as exc:
        assert exc.errors and all(e.field and e.message for e in exc.errors)
    else:
        assert isinstance(chart, Chart)
    try:
        hl7_message_info(text)
    except ChartInputError as exc:
        assert exc.errors


def ack_is_well_formed(text: str, code: str) -> None:
    ack = build_ack(text, code, "reason with | ^ ~ & \\ and\nnewline")
    parsed = hl7.parse(ack)
    assert str(parsed.segment("MSA")(1)) in {"AA", "AE", "AR"}
    if str(parsed.segment("MSA")(1)) != "AA":
        assert parsed.segment("ERR").extract_field(1, 8) == "reason with | ^ ~ & \\ and newline"


@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "delete", "insert", "drop_segment", "duplicate_segment", "swap"]))
        if op == "truncate" and text:
            text = text[: draw(st.integers(0, len(text)))]
        elif op == "delete" and text:
            start = draw(st.integers(0, len(text) - 1))
            text = text[:start] + text[start + draw(st.integers(1, 40)):]
        elif op == "insert":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.text(HL7_CHARS, min_size=1, max_size=12)) + text[at:]
        else:
            segments = text.split("\r")
            if len(segments) > 1:
                i = draw(st.integers(0, len(segments) - 1))
                j = draw(st.integers(0, len(segments) - 1))
                if op == "drop_segment":
                    del segments[i]
                elif op == "duplicate_segment":
                    segments.insert(j, segments[i])
                else:
                    segments[i], segments[j] = segments[j], segments[i]
                text = "\r".join(segments)
    return text


@PROPERTY_SETTINGS
@given(mutated())
def test_mutated_messages_give_a_chart_or_an_input_error(text):
    only_chart_or_input_error(text)


@PROPERTY_SETTINGS
@given(st.one_of(st.text(max_size=300), st.text(HL7_CHARS, max_size=300).map(lambda t: "MSH|^~\\&|" + t)))
def test_random_text_gives_a_chart_or_an_input_error(text):
    only_chart_or_input_error(text)


@PROPERTY_SETTINGS
@given(st.one_of(mutated(), st.text(max_size=200)), st.sampled_from(["AA", "AE", "AR"]))
def test_ack_is_always_a_parseable_hl7_message(text, code):
    ack_is_well_formed(text, code)
