"""The windows the kill -9 test found, pinned down in-process (a crash is a BaseException the service cannot catch)."""

from __future__ import annotations

import pytest

from tests.shared import KNEE_NOTE, SimulatedCrash, chart
from tests.store.test_service import World


@pytest.fixture
def world(tmp_path, database_url, ref):
    w = World(tmp_path, database_url, ref)
    yield w
    w.close()


def test_a_crash_after_the_answer_is_stored_and_before_the_chart_is_cleared_still_posts_the_chart(world):
    from vma.store.models import ChartRecord

    world.submit(chart("ENC-CR-1", note=KNEE_NOTE, codes=("M25.569",)))
    query = world.queries("ENC-CR-1")[0]
    left = next(i for i, c in enumerate(query.choices) if c.get("codes") == ["M25.562"])

    world.notifier.crash_on.add("update_query_dm")  # dies between the stored answer and the clearing
    with pytest.raises(SimulatedCrash):
        world.service.answer(query.id, "U_LOPEZ", left)
    assert world.queries("ENC-CR-1")[0].status == "answered"
    assert world.notifier.of("post_cleared") == []

    world.clock.advance(minutes=3)  # the dead process's claim on the DM update lapses
    world.restart().process_pending()

    posted = world.notifier.of("post_cleared")
    assert len(posted) == 1 and posted[0][1].summary.chart_id == "ENC-CR-1"
    assert [c.code for c in posted[0][1].codes if c.kind == "diagnosis"] == ["M25.562"]
    assert len(world.notifier.of("update_query_dm")) == 1
    assert world.rows(ChartRecord, ChartRecord.chart_id == "ENC-CR-1")[0].status == "posted"

    world.restart().process_pending()  # and only once
    assert len(world.notifier.of("post_cleared")) == 1
