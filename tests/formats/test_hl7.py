"""HL7 v2 MDM/ORU messages mapped onto the chart, field positions, and the ACKs."""

from __future__ import annotations

import base64
import json

import hl7
import pytest

from tests.conftest import SPEC_EXAMPLES
from tests.formats.hl7_messages import dg1, ft1, mdm, oru, pr1
from vma.chart import ChartInputError
from vma.integrations.hl7 import HL7Positions, build_ack, chart_from_hl7, hl7_message_info


def error_fields(exc: ChartInputError) -> list[str]:
    return [e.field for e in exc.errors]


# ---------------------------------------------------------------- the spec example


@pytest.mark.skipif(not SPEC_EXAMPLES.is_dir(), reason="shared spec examples not present")
def test_spec_hl7_example_maps_to_its_json_twin():
    chart = chart_from_hl7((SPEC_EXAMPLES / "laterality-correct-shoulder.hl7").read_text())
    twin = json.loads((SPEC_EXAMPLES / "laterality-correct-shoulder.json").read_text())
    assert chart.chart_id == twin["chart_id"]
    assert chart.document_id == twin["document_id"]
    assert chart.version == twin["version"]
    assert [d.model_dump(include={"code", "poa"}) for d in chart.diagnoses] == twin["diagnoses"]
    assert [p.model_dump(include={"code", "modifiers", "units", "diagnosis_pointers"}) for p in chart.procedures] == twin["procedures"]
    for key in ("mrn", "name", "birth_date", "sex"):
        assert getattr(chart.patient, key) == twin["patient"][key]
    for key in ("date_of_service", "place_of_service", "setting", "admission_date"):
        assert getattr(chart.encounter, key) == twin["encounter"][key]
    assert chart.provider.npi == twin["provider"]["npi"] and chart.provider.name == twin["provider"]["name"]
    assert chart.signature.model_dump() == twin["signature"]
    assert chart.note.text == twin["note"]["text"]


def test_separators_cr_lf_crlf_and_mllp_framing_give_the_same_chart():
    base = chart_from_hl7(mdm(sep="\r"))
    for variant in (mdm(sep="\n"), mdm(sep="\r\n"), "\x0b" + mdm() + "\x1c\r", "\n\n" + mdm(sep="\n") + "\n\n"):
        assert chart_from_hl7(variant).model_dump() == base.model_dump()


# ---------------------------------------------------------------- MDM events


def test_t02_maps_every_part_of_the_chart():
    chart = chart_from_hl7(mdm(
        dg1=(dg1(1, "S83.241A"), dg1(2, "W19.XXXA")),
        ft1=(ft1(1, "99214", diagnoses="S83.241A~W19.XXXA", modifiers="25"),
             ft1(2, "20610", diagnoses="S83.241A", modifiers="RT")),
    ))
    assert chart.chart_id == "ENC-5501" and chart.document_id == "DOC-5501-1" and chart.version == 1
    assert chart.patient.mrn == "MRN-5501"  # the MR-typed identifier, not the SSN repetition
    assert chart.patient.name == "Jordan Q Rivera" and chart.patient.birth_date == "1980-04-12" and chart.patient.sex == "F"
    assert chart.provider.npi == "1234567893" and chart.provider.name == "Maria Lopez, MD"
    assert chart.encounter.date_of_service == "2026-11-16"
    assert chart.encounter.place_of_service == "11" and chart.encounter.setting == "office"
    assert chart.encounter.admission_date == "2026-11-15"
    assert chart.signature.signed_by == "Maria Lopez, MD"
    assert chart.signature.signed_at == "2026-11-16T17:00:00-05:00"
    assert chart.note.text == "ASSESSMENT\n\nRight knee pain after a fall.\n\nI spent 25 minutes today."
    assert [d.code for d in chart.diagnoses] == ["S83.241A", "W19.XXXA"]
    assert [(p.code, p.modifiers, p.units, p.diagnosis_pointers) for p in chart.procedures] == [
        ("99214", ["25"], 1, [1, 2]), ("20610", ["RT"], 1, [1])]
    extra = chart.model_extra
    assert extra["completion_status"] == "AU" and extra["authenticated"] is True
    assert extra["cancelled"] is False and extra["revision_kind"] == "new"
    assert extra["message_type"] == "MDM^T02" and extra["control_id"] == "CTL-DOC-5501-1-T02"


def test_inpatient_poa_units_and_repeating_modifiers():
    chart = chart_from_hl7(mdm(
        patient_class="I", location="4WEST^412^A^GENERAL-HOSP^^N",
        dg1=(dg1(1, "E87.1", poa="N"), dg1(2, "Z79.84", poa="1")),
        ft1=(ft1(1, "99232", units="2", diagnoses="1~2", modifiers="59~XU"),),
    ))
    assert chart.encounter.setting == "inpatient" and chart.encounter.place_of_service is None
    assert [(d.code, d.poa) for d in chart.diagnoses] == [("E87.1", "N"), ("Z79.84", "1")]
    line = chart.procedures[0]
    assert line.units == 2 and line.modifiers == ["59", "XU"] and line.diagnosis_pointers == [1, 2]


def test_service_line_diagnosis_not_in_dg1_is_added_and_pointed_at():
    chart = chart_from_hl7(mdm(ft1=(ft1(1, "99213", diagnoses="M25.561~R26.2"),)))
    assert [d.code for d in chart.diagnoses] == ["M25.561", "R26.2"]
    assert chart.procedures[0].diagnosis_pointers == [1, 2]


def test_pr1_used_when_there_are_no_charge_lines():
    chart = chart_from_hl7(mdm(ft1=(), extra=(pr1(1, "20610", diagnosis="M25.561^Pain in right knee^I10C", modifiers="RT"),)))
    assert [(p.code, p.modifiers, p.units, p.diagnosis_pointers) for p in chart.procedures] == [("20610", ["RT"], 1, [1])]


@pytest.mark.parametrize("status", ["DO", "IP", "PA", "DI", "IN"])
def test_t04_not_authenticated_has_no_signature(status):
    chart = chart_from_hl7(mdm("T04", status=status))
    assert chart.signature is None
    assert chart.model_extra["authenticated"] is False and chart.model_extra["completion_status"] == status


def test_legally_authenticated_counts_as_signed():
    chart = chart_from_hl7(mdm(status="LA"))
    assert chart.signature is not None and chart.model_extra["authenticated"] is True


def test_t06_addendum_is_a_new_version_of_the_parent_document():
    original = chart_from_hl7(mdm("T02", doc_id="DOC-5501-1"))
    addendum = chart_from_hl7(mdm("T06", doc_id="DOC-5501-2", parent="DOC-5501-1",
                                  note_lines=("ADDENDUM", "The pain is in the right knee.")))
    assert addendum.document_id == original.document_id == "DOC-5501-1"
    assert addendum.version == 2 and addendum.doc_key != original.doc_key
    assert addendum.chart_id == original.chart_id
    extra = addendum.model_extra
    assert extra["revision_kind"] == "addendum" and extra["revision_document_id"] == "DOC-5501-2"
    assert extra["parent_document_id"] == "DOC-5501-1"


def test_t08_edit_without_a_numbered_id_is_ordered_by_its_change_time():
    first = chart_from_hl7(mdm("T08", doc_id="E-AAA", parent="DOC-5501-1", edit_time="20261117093000"))
    later = chart_from_hl7(mdm("T08", doc_id="E-BBB", parent="DOC-5501-1", edit_time="20261118101500"))
    assert first.document_id == later.document_id == "DOC-5501-1"
    assert first.version == 20261117093000 and later.version > first.version > 1
    assert first.model_extra["revision_kind"] == "edit"


def test_t10_replace_and_explicit_version_position():
    positions = HL7Positions.from_mapping({"version": "ZDV-1"})
    chart = chart_from_hl7(mdm("T10", doc_id="R-9", parent="DOC-5501-1", extra=("ZDV|3",)), positions)
    assert chart.version == 3 and chart.model_extra["revision_kind"] == "replace"
    with pytest.raises(ChartInputError) as exc:
        chart_from_hl7(mdm("T10", doc_id="R-9", parent="DOC-5501-1", extra=("ZDV|three",)), positions)
    assert error_fields(exc.value) == ["ZDV-1"]


def test_t11_cancel_is_flagged_and_never_a_duplicate_of_version_one():
    chart = chart_from_hl7(mdm("T11", doc_id="DOC-5501-1", status="AU", note_lines=(), ft1=(), dg1=()))
    assert chart.model_extra["cancelled"] is True and chart.model_extra["revision_kind"] == "cancel"
    assert chart.document_id == "DOC-5501-1" and chart.version > 1
    assert chart.note.text is None


def test_oru_r01_note():
    chart = chart_from_hl7(oru())
    assert chart.chart_id == "ENC-7702" and chart.document_id == "FIL-88"
    assert chart.note.text == "CHIEF COMPLAINT\nCough for two weeks."  # the numeric OBX is not note text
    assert chart.encounter.date_of_service == "2026-11-17"
    assert chart.signature.signed_at == "2026-11-17T08:55:00"
    assert [d.code for d in chart.diagnoses] == ["R05.2"]
    assert chart.model_extra["completion_status"] == "F" and chart.model_extra["authenticated"] is True
    preliminary = chart_from_hl7(oru("P"))
    assert preliminary.signature is None and preliminary.model_extra["authenticated"] is False


def test_base64_text_note_in_an_ed_observation():
    note = "ASSESSMENT\n\nLeft ankle sprain, initial encounter."
    ed = "OBX|1|ED|11506-3^Progress note^LN||^TEXT^plain^Base64^" + base64.b64encode(note.encode()).decode() + "||||||F"
    chart = chart_from_hl7(mdm(note_lines=(), extra=(ed,)))
    assert chart.note.text == note


def test_hl7_escapes_and_formatted_text_breaks_are_decoded():
    chart = chart_from_hl7(mdm(note_lines=("Knee \\T\\ hip: pain 7\\F\\10\\.br\\Next line",)))
    assert chart.note.text == "Knee & hip: pain 7|10\nNext line"


# ---------------------------------------------------------------- positions


def test_positions_override_where_the_npi_and_dates_sit():
    message = mdm().replace("PV1|1|O|CLINIC", "PV1|1|O|CLINIC")  # same message; the site sends the NPI in TXA-5 only
    lines = message.split("\r")
    lines[3] = "PV1|1|O|CLINIC^^^NORTH-CLINIC^^O^^^Office (POS 11)||||||||||||||||ENC-5501"
    lines[4] = lines[4].replace("TXA|1|PN|TX|20261116|1234567893^Lopez", "TXA|1|PN|TX|20261116|1992753880^Chen")
    text = "\r".join(lines)
    assert chart_from_hl7(text).provider.npi is None
    positions = HL7Positions.from_mapping({"attending": "TXA-5", "poa": ""})
    chart = chart_from_hl7(text, positions)
    assert chart.provider.npi == "1992753880" and chart.provider.name == "Maria Chen, MD"


def test_positions_reject_unknown_names_and_bad_shapes():
    with pytest.raises(ValueError, match="unknown HL7 position"):
        HL7Positions.from_mapping({"npi_field": "PV1-7"})
    with pytest.raises(ValueError, match="SEG-n"):
        HL7Positions.from_mapping({"attending": "PV1.7"})
    assert HL7Positions.from_json('{"attending": "txa-5"}').attending == "TXA-5"
    assert HL7Positions.from_json(None) == HL7Positions()


def test_positions_come_from_settings(monkeypatch):
    from vma.config import get_settings

    monkeypatch.setenv("VMA_HL7_FIELDS", json.dumps({"visit_number": "PV1-50"}))
    get_settings.cache_clear()
    try:
        chart = chart_from_hl7(mdm(extra=()))
        assert chart.chart_id == "DOC-5501-1"  # no PV1-50 here: the document number identifies the chart
    finally:
        monkeypatch.delenv("VMA_HL7_FIELDS")
        get_settings.cache_clear()
    assert chart_from_hl7(mdm()).chart_id == "ENC-5501"


# ---------------------------------------------------------------- bad input names the field


def _drop(message: str, prefix: str) -> str:
    return "\r".join(s for s in message.split("\r") if not s.startswith(prefix))


@pytest.mark.parametrize("text, field", [
    ("", "MSH"),
    ("PID|1||MRN-1", "MSH"),
    ("MSH|^~", "MSH-2"),
    ("MSH|^^^^|EHR", "MSH-2"),
    ("MSH|^~\\&|EHR|X|VMA|Y|20261116||", "MSH-9"),
    (mdm().replace("MDM^T02^MDM_T02", "ADT^A08^ADT_A01"), "MSH-9"),
    (mdm().replace("MDM^T02^MDM_T02", "MDM^T99"), "MSH-9"),
    (_drop(mdm(), "PID"), "PID"),
    (_drop(mdm(), "TXA"), "TXA"),
    (mdm(status=""), "TXA-17"),
    (mdm(status="OK"), "TXA-17"),
    (mdm(dg1=("DG1|1||^Pain^I10C",)), "DG1[1]-3"),
    (mdm(ft1=(ft1(1, "99213", units="two"),)), "FT1[1]-10"),
    (mdm(ft1=(ft1(1, "99213", units="1.5"),)), "FT1[1]-10"),
    (mdm(ft1=(ft1(1, ""),)), "FT1[1]-25"),
    (mdm(note_lines=(), extra=("OBX|1|ED|11506-3^Note^LN||^AP^pdf^Base64^JVBERi0xLjQ=||||||F",)), "OBX-5"),
    (mdm(note_lines=(), extra=("OBX|1|ED|11506-3^Note^LN||^TEXT^plain^Base64^//79||||||F",)), "OBX[1]-5"),
    (mdm("T06", doc_id="", parent=""), "TXA-12"),
    (mdm() + "MSH|^~\\&|EHR|X|VMA|Y|20261116||MDM^T02|C2|P|2.5.1\r", "MSH"),
    (mdm().replace("\rOBX|3", "\r   garbage line"), "segment 8"),
])
def test_malformed_input_names_the_field(text, field):
    with pytest.raises(ChartInputError) as exc:
        chart_from_hl7(text)
    assert field in error_fields(exc.value), str(exc.value)


def test_message_truncated_before_the_document_header():
    text = mdm()
    truncated = text[: text.index("TXA|")]
    with pytest.raises(ChartInputError) as exc:
        chart_from_hl7(truncated)
    assert error_fields(exc.value) == ["TXA"]
    cut_inside_txa = text[: text.index("TXA|") + 30]
    with pytest.raises(ChartInputError) as exc:
        chart_from_hl7(cut_inside_txa)
    assert error_fields(exc.value) == ["TXA-17"]


# ---------------------------------------------------------------- message info and ACKs


def test_message_info():
    info = hl7_message_info(mdm("T06", doc_id="DOC-5501-2", parent="DOC-5501-1"))
    assert (info.message_type, info.trigger_event, info.control_id, info.document_id) == (
        "MDM", "T06", "CTL-DOC-5501-2-T06", "DOC-5501-2")
    assert hl7_message_info(oru()).document_id == "FIL-88"
    for bad in ("", "hello", "MSH", "MSH|^~\\&|EHR|X|VMA|Y|20261116||"):
        with pytest.raises(ChartInputError):
            hl7_message_info(bad)


def _parse_ack(ack: str) -> hl7.Message:
    assert ack.endswith("\r") and "\n" not in ack
    return hl7.parse(ack)


def test_ack_accept_swaps_sender_and_receiver():
    ack = _parse_ack(build_ack(mdm(), "AA"))
    msh, msa = ack.segment("MSH"), ack.segment("MSA")
    assert str(msh(3)) == "VMA" and str(msh(4)) == "CODING" and str(msh(5)) == "EHR" and str(msh(6)) == "NORTH-CLINIC"
    assert str(msh(9)) == "ACK^T02^ACK"
    assert str(msa(1)) == "AA" and str(msa(2)) == "CTL-DOC-5501-1-T02"
    assert str(msh(10)) != "CTL-DOC-5501-1-T02"
    assert not [s for s in ack if str(s[0]) == "ERR"]


def test_ack_error_carries_a_readable_reason_and_the_field_location():
    reason = "TXA-17: document completion status is missing (AU = authenticated) | x^y"
    ack = _parse_ack(build_ack(mdm(status=""), "AE", reason))
    err = ack.segment("ERR")
    assert str(ack.segment("MSA")(1)) == "AE"
    assert ack.segment("ERR").extract_field(1, 8) == reason  # escaped on the wire, readable once unescaped
    assert str(err(2)) == "TXA^1^17" and str(err(3)).startswith("101^") and str(err(4)) == "E"


def test_ack_reject_for_an_unsupported_type():
    ack = _parse_ack(build_ack(mdm().replace("MDM^T02^MDM_T02", "ADT^A08"), "AR", "message type ADT^A08 is not accepted here"))
    assert str(ack.segment("MSA")(1)) == "AR"
    assert str(ack.segment("ERR")(3)).startswith("200^")


@pytest.mark.parametrize("text", [
    "", "garbage", "MSH", "MSH|", "MSH|^~\\&|EHR|NORTH|VMA|CODING|2026",
    "MSH|^~\\&|EHR|NORTH|VMA|CODING|20261116||MDM^T02|CTL-77|P",  # truncated after MSH-11
    "\x0bMSH|^~\\&|EHR\x1c", "MSH#^~\\&#EHR#NORTH#VMA#CODING#20261116##MDM^T02#CTL-88#P#2.3",
])
def test_ack_for_malformed_or_truncated_input(text):
    ack = _parse_ack(build_ack(text, "AE", "unparseable HL7"))
    msa = ack.segment("MSA")
    assert str(msa(1)) == "AE"
    assert ack.segment("ERR").extract_field(1, 8) == "unparseable HL7"
    if "CTL-77" in text:
        assert str(msa(2)) == "CTL-77" and str(ack.segment("MSH")(5)) == "EHR"


def test_ack_uses_the_senders_separators():
    text = "MSH#^~\\&#EHR#NORTH#VMA#CODING#20261116##MDM^T02#CTL-88#P#2.3\rPID#1"
    ack = build_ack(text, "AE", "TXA: missing")
    assert ack.startswith("MSH#^~\\&#VMA#CODING#EHR#NORTH#")
    assert "MSA#AE#CTL-88" in ack


def test_unknown_ack_code_becomes_ae_with_a_reason():
    ack = _parse_ack(build_ack(mdm(), "XX"))
    assert str(ack.segment("MSA")(1)) == "AE" and ack.segment("ERR").extract_field(1, 8)


def test_a_bad_site_configuration_is_named(monkeypatch):
    from vma.config import get_settings

    monkeypatch.setenv("VMA_HL7_FIELDS", json.dumps({"attending": "somewhere"}))
    get_settings.cache_clear()
    try:
        with pytest.raises(ChartInputError) as exc:
            chart_from_hl7(mdm())
        assert error_fields(exc.value) == ["VMA_HL7_FIELDS"]
        assert hl7_message_info(mdm()).control_id  # the ACK path still reads the MSH
    finally:
        monkeypatch.delenv("VMA_HL7_FIELDS")
        get_settings.cache_clear()
