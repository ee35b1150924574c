"""invalid-npi and unsigned on fixture charts."""

from __future__ import annotations

import pytest

from tests.checking import check_findings, engine
from vma.checks.invalid_npi import is_valid_npi, luhn_check_digit, npi_problem
from vma.findings import OTHER, UNDETERMINED

# -- invalid-npi ---------------------------------------------------------------------------------


@pytest.mark.parametrize("npi", ["1234567893", "1558598797", "1245319599", "2000000002"])
def test_valid_npis_pass(npi):
    assert is_valid_npi(npi)


def test_check_digit_uses_the_80840_prefix():
    # Luhn over the nine digits alone gives a different digit than with the health-industry prefix.
    assert luhn_check_digit("80840123456789") == 3
    assert luhn_check_digit("123456789") != 3


@pytest.mark.parametrize("npi,why", [
    ("1234567890", "check digit"),
    ("1234567894", "check digit"),
    ("12345", "5 digits"),
    ("123456789012", "12 digits"),
    ("12345678A3", "other than digits"),
    ("3234567893", "start with 1 or 2"),
    ("0234567893", "start with 1 or 2"),
])
def test_invalid_npis_are_found_with_the_reason(ref, npi, why):
    assert why in npi_problem(npi)
    found = check_findings(ref, "invalid-npi", provider={"npi": npi})
    assert len(found) == 1
    f = found[0]
    assert f.check == "invalid-npi" and f.action == "correct" and f.severity == "error"
    assert npi in f.message and why in f.message and "NPPES" in f.message
    assert f.question is None and f.options == []


def test_valid_npi_gives_no_finding(ref):
    assert check_findings(ref, "invalid-npi") == []


def test_missing_npi_is_not_an_invalid_npi(ref):
    assert check_findings(ref, "invalid-npi", provider={"npi": None}) == []
    assert check_findings(ref, "invalid-npi", provider={"npi": "  "}) == []


def test_npi_with_surrounding_spaces_is_judged_on_its_digits(ref):
    assert check_findings(ref, "invalid-npi", provider={"npi": " 1234567893 "}) == []


def test_invalid_npi_holds_the_chart_for_correction_not_a_physician_query(ref):
    report = engine(ref, provider={"npi": "1234567890"})
    assert report.status == "needs_correction"
    assert [f.check for f in report.findings] == ["invalid-npi"]


# -- unsigned ------------------------------------------------------------------------------------


def test_signed_chart_is_clear(ref):
    assert check_findings(ref, "unsigned") == []


def test_null_signature_is_unsigned(ref):
    found = check_findings(ref, "unsigned", signature=None)
    assert len(found) == 1
    f = found[0]
    assert f.check == "unsigned" and f.action == "query"
    assert "no signature" in f.message
    assert f.options == ["Authenticated now", "Not my note", OTHER, UNDETERMINED]
    assert "authenticate" in f.question


def test_signature_without_signer_or_time(ref):
    f, = check_findings(ref, "unsigned", signature={"signed_by": "", "signed_at": "2026-11-16T17:00:00-05:00"})
    assert "names no signer" in f.message
    f, = check_findings(ref, "unsigned", signature={"signed_by": "Maria Lopez, MD", "signed_at": None})
    assert "no signing time" in f.message
    f, = check_findings(ref, "unsigned", signature={"signed_by": None, "signed_at": None})
    assert "names no signer" in f.message and "no signing time" in f.message


@pytest.mark.parametrize("status", ["DO", "IP", "PA", "di", "IN"])
def test_completion_status_other_than_authenticated(ref, status):
    f, = check_findings(ref, "unsigned", completion_status=status)
    assert f"completion status is {status.upper()}" in f.message


@pytest.mark.parametrize("status", ["AU", "LA", "au"])
def test_authenticated_completion_status_is_clear(ref, status):
    assert check_findings(ref, "unsigned", completion_status=status) == []


def test_completion_status_on_the_signature_counts(ref):
    f, = check_findings(ref, "unsigned", signature={"signed_by": "Maria Lopez, MD",
                                             "signed_at": "2026-11-16T17:00:00-05:00", "completion_status": "DO"})
    assert "DO (documented)" in f.message


@pytest.mark.parametrize("flag", [False, "false", "no"])
def test_authenticated_false(ref, flag):
    f, = check_findings(ref, "unsigned", authenticated=flag)
    assert "not authenticated" in f.message


def test_authenticated_true_is_clear(ref):
    assert check_findings(ref, "unsigned", authenticated=True) == []


def test_unsigned_and_draft_together_give_one_finding(ref):
    found = check_findings(ref, "unsigned", signature=None, completion_status="IP")
    assert len(found) == 1
    assert "no signature" in found[0].message and "IP" in found[0].message


def test_unsigned_chart_status_is_needs_query(ref):
    report = engine(ref, signature=None)
    assert report.status == "needs_query"
    assert "unsigned" in [f.check for f in report.findings]
