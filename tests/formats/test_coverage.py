"""The primary payer on the chart (contract section 4, ``coverage``) from canonical JSON, FHIR and HL7 v2."""

from __future__ import annotations

import pytest

from tests.formats.fhir_resources import bundle, claim, document_reference, encounter, patient, practitioner
from tests.formats.hl7_messages import mdm, segment
from vma.chart import ChartInputError, chart_from_dict
from vma.integrations.fhir import chart_from_fhir
from vma.integrations.hl7 import chart_from_hl7

BASE = {"chart_id": "ENC-1", "patient": {}, "encounter": {}, "provider": {}, "note": {"text": "x"}}


def test_canonical_json_keeps_coverage_and_reads_a_numeric_payer_id_as_text():
    chart = chart_from_dict({**BASE, "coverage": {"payer_id": 60054, "payer_name": "Acme Health", "plan": "PPO"}})
    assert chart.coverage.model_dump() == {"payer_id": "60054", "payer_name": "Acme Health", "plan": "PPO"}
    assert chart_from_dict(BASE).coverage is None


def test_canonical_json_rejects_a_coverage_of_the_wrong_type_naming_the_field():
    with pytest.raises(ChartInputError) as err:
        chart_from_dict({**BASE, "coverage": "Acme"})
    assert [e.field for e in err.value.errors] == ["coverage"]


def organization(oid="org-acme", ident="60054", name="Acme Health"):
    return {"resourceType": "Organization", "id": oid, "name": name,
            "identifier": [{"system": "https://www.cms.gov/payer-id", "value": ident}]}


def coverage(cid="cov-1", payor="Organization/org-acme", order=None, plan="Acme PPO Gold"):
    res = {"resourceType": "Coverage", "id": cid, "status": "active",
           "beneficiary": {"reference": "Patient/pat-5501"}, "payor": [{"reference": payor}],
           "class": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class",
                                           "code": "plan"}]}, "value": "PPO-G", "name": plan}]}
    if order is not None:
        res["order"] = order
    return res


def test_fhir_claim_insurance_points_at_the_coverage_and_its_payor_organization():
    c = claim(insurance=[{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/cov-1"}}])
    chart = chart_from_fhir(bundle(patient(), practitioner(), encounter(), document_reference(), c, coverage(),
                                   organization()))
    assert chart.coverage.model_dump() == {"payer_id": "60054", "payer_name": "Acme Health", "plan": "Acme PPO Gold"}


def test_fhir_focal_insurance_wins_over_array_order():
    c = claim(insurance=[{"sequence": 2, "focal": False, "coverage": {"reference": "Coverage/cov-2"}},
                         {"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/cov-1"}}])
    chart = chart_from_fhir(bundle(patient(), practitioner(), encounter(), document_reference(), c,
                                   coverage("cov-2", "Organization/org-b"), coverage(), organization(),
                                   organization("org-b", "99999", "Other Plan")))
    assert chart.coverage.payer_id == "60054"


def test_fhir_coverage_without_a_claim_takes_the_first_in_order_and_a_payor_identifier_reference():
    cov = coverage(order=2)
    second = coverage("cov-0", order=1)
    second["payor"] = [{"identifier": {"value": "87726"}, "display": "United"}]
    chart = chart_from_fhir(bundle(patient(), practitioner(), encounter(), document_reference(), cov, second,
                                   organization()))
    assert (chart.coverage.payer_id, chart.coverage.payer_name) == ("87726", "United")


def test_fhir_claim_insurance_by_identifier_alone():
    c = claim(insurance=[{"sequence": 1, "focal": True,
                          "coverage": {"identifier": {"value": "60054"}, "display": "Acme Health"}}])
    chart = chart_from_fhir(bundle(patient(), practitioner(), encounter(), document_reference(), c))
    assert (chart.coverage.payer_id, chart.coverage.payer_name) == ("60054", "Acme Health")


def test_fhir_without_insurance_has_no_coverage():
    chart = chart_from_fhir(bundle(patient(), practitioner(), encounter(), document_reference()))
    assert chart.coverage is None


def test_hl7_in1_primary_by_set_id():
    in1_secondary = segment("IN1", {1: "2", 2: "MCD^Medicaid", 3: "77027", 4: "State Medicaid"})
    in1_primary = segment("IN1", {1: "1", 2: "PPO-G^Acme PPO Gold", 3: "60054^^^PAYER", 4: "Acme Health"})
    chart = chart_from_hl7(mdm(extra=(in1_secondary, in1_primary)))
    assert chart.coverage.model_dump() == {"payer_id": "60054", "payer_name": "Acme Health", "plan": "Acme PPO Gold"}


def test_hl7_without_in1_has_no_coverage():
    assert chart_from_hl7(mdm()).coverage is None
