"""invalid-code on service lines: shape, presence in the loaded code set, and dates in force."""

from __future__ import annotations

from pathlib import Path

from tests.checking import claim_chart, claim_findings, line, of
from vma.reference import ReferenceData
from vma.config import Settings

HCPCS_2020 = Path("/work/shared/reference/HCPC2020_ANWEB_w_disclaimer.txt")


def test_current_codes_are_clean(ref):
    data = claim_chart([line("99213", "25"), line("20610", "RT"), line("J3301", units=4), line("G2211")],
                       note="PROCEDURE\n\nRight knee injection with triamcinolone.\n\nASSESSMENT AND PLAN\n\nRight knee osteoarthritis.",
                       diagnoses=["M17.11"])
    assert of(claim_findings(data, ref, {"invalid-code"}), "invalid-code") == []


def test_retired_cpt_code_is_corrected_to_its_successor(ref):
    (f,) = of(claim_findings(claim_chart([line("99201")]), ref, {"invalid-code"}), "invalid-code")
    assert f.action == "correct" and f.code == "99201" and f.suggested_codes == ["99202"]
    assert "rejects" in f.message and "2020-12-31" in f.message


def test_retired_code_is_valid_before_its_retirement(ref):
    data = claim_chart([line("99201")], date_of_service="2020-06-01")
    assert of(claim_findings(data, ref, {"invalid-code"}), "invalid-code") == []


def test_code_not_yet_in_force_on_the_date_of_service(ref):
    # 98000-98015 (telemedicine visits) took effect 2025-01-01.
    early = claim_chart([line("98005", "95")], date_of_service="2024-10-01", place_of_service="10", setting="telehealth")
    (f,) = of(claim_findings(early, ref, {"invalid-code"}), "invalid-code")
    assert f.action == "correct" and "takes effect on 2025-01-01" in f.message
    later = claim_chart([line("98005", "95")], date_of_service="2025-02-03", place_of_service="10", setting="telehealth")
    assert of(claim_findings(later, ref, {"invalid-code"}), "invalid-code") == []


def test_malformed_code_is_rejected(ref):
    (f,) = of(claim_findings(claim_chart([line("M17.11")]), ref, {"invalid-code"}), "invalid-code")
    assert f.action == "correct" and "neither a CPT code" in f.message


def test_code_outside_the_bundled_sample_is_only_advice(ref):
    (f,) = of(claim_findings(claim_chart([line("99499")]), ref, {"invalid-code"}), "invalid-code")
    assert f.action == "info"


def test_hcpcs_terminated_code_by_cms_dates(ref):
    # G0434 was terminated after 2015-12-31 in the CMS file.
    (f,) = of(claim_findings(claim_chart([line("G0434")]), ref, {"invalid-code"}), "invalid-code")
    assert f.action == "correct" and "2015-12-31" in f.message
    assert of(claim_findings(claim_chart([line("G0434")], date_of_service="2015-06-01"), ref, {"invalid-code"}), "invalid-code") == []


def test_hcpcs_added_after_the_date_of_service(ref):
    (f,) = of(claim_findings(claim_chart([line("G2212")], date_of_service="2020-12-15"), ref, {"invalid-code"}), "invalid-code")
    assert "takes effect on 2021-01-01" in f.message


def test_a_given_hcpcs_file_replaces_the_subset(tmp_path, monkeypatch):
    monkeypatch.setenv("VMA_CACHE_DIR", str(tmp_path))
    full = ReferenceData(Settings(vma_hcpcs_file=str(HCPCS_2020)))
    assert full.hcpcs.complete and len(full.hcpcs.codes) == 6710 and len(full.hcpcs.modifiers) == 369
    # G2212 is in the bundled subset but not in the 2020 file: the file given is the code set now.
    (f,) = of(claim_findings(claim_chart([line("G2212")]), full, {"invalid-code"}), "invalid-code")
    assert f.action == "correct" and "not a HCPCS Level II code in the loaded CMS file" in f.message
    # and an unknown code is an error, not advice, once the full set is loaded
    (g,) = of(claim_findings(claim_chart([line("J0000")]), full, {"invalid-code"}), "invalid-code")
    assert g.action == "correct"


def test_a_licensed_cpt_file_replaces_the_sample(tmp_path):
    licensed = tmp_path / "cpt.csv"
    licensed.write_text("code,description\n99213,Licensed descriptor text A\n99499,Licensed descriptor text B\n")
    full = ReferenceData(Settings(vma_cpt_file=str(licensed)))
    assert full.cpt.describe("99213") == "Licensed descriptor text A"
    assert of(claim_findings(claim_chart([line("99499")]), full, {"invalid-code"}), "invalid-code") == []
    (f,) = of(claim_findings(claim_chart([line("99214")]), full, {"invalid-code"}), "invalid-code")
    assert f.action == "correct" and "not a CPT code in the loaded code set" in f.message


def test_bad_reference_files_name_the_variable(tmp_path):
    import pytest

    from vma.reference.cpt import CptFileError, load_cpt
    from vma.reference.hcpcs import HcpcsFileError, load_hcpcs
    from vma.reference.mue import MueFileError, load_mue
    from vma.reference.ncci import PtpFileError, load_ncci

    missing = str(tmp_path / "nope.txt")
    for loader, err, var in ((load_cpt, CptFileError, "VMA_CPT_FILE"), (load_hcpcs, HcpcsFileError, "VMA_HCPCS_FILE"),
                             (load_mue, MueFileError, "VMA_MUE_FILE"), (load_ncci, PtpFileError, "VMA_NCCI_PTP_FILES")):
        with pytest.raises(err, match=var):
            loader(missing)
    junk = tmp_path / "junk.csv"
    junk.write_text("hello,world\nnot,a code\n")
    with pytest.raises(CptFileError, match="line 2"):
        load_cpt(str(junk))
