import io

from vma.demo import run_demo


def test_demo_runs_the_whole_loop_and_prints_what_each_person_saw():
    out = io.StringIO()
    assert run_demo(out=out) == 0, out.getvalue()[-2000:]
    text = out.getvalue()
    assert "Maria Lopez, MD's DM: new message" in text
    assert "only Maria Lopez, MD sees (ephemeral): Only the provider" in text
    assert "• M25.562 Pain in left knee" in text
    assert "#coding-managers channel: new message" in text
    assert "0 Block Kit violations" in text
    assert "MRN-D2" not in text  # minimal PHI mode: masked MRNs only
    # A payer-rule finding of the bundled example pack reaches the coders, with the chart's coverage.
    assert "payer-rule: E/M on the day of a minor procedure needs modifier 25" in text
    assert "rule ACME-0001" in text and "coverage Acme Health" in text
    # The answered queries arrive at the local EHR stand-in, appended to the original document, once each.
    assert "document DOC-D2002-1-CDIQ-1 appended to DOC-D2002-1 (TXA-2 CDIQ, TXA-17 AU), answered AA" in text
    assert "Answer: Pain in left knee (M25.562)" in text
    assert "Answer: Other: Both knees, worse on the left; see addendum" in text
    assert "2 document(s) of answered queries written back to the EHR stand-in, 2 message(s) sent to it." in text
    assert "Clean claim rate" in text
