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
