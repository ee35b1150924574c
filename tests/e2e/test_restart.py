"""Restarting the server in the middle of a conversation loses nothing: the state is in the database."""

from __future__ import annotations

import json

from vma.integrations.slack.standin import find_element

from tests.e2e.conftest import CODERS, LOPEZ, demo_chart


def test_open_query_survives_a_restart_and_the_chart_still_clears(stack):
    assert stack.post_chart(demo_chart("ENC-D2002")).status_code == 202
    dm = stack.dm_of(LOPEZ)
    left = find_element(dm.blocks, lambda e: e.get("type") == "button" and "left knee" in e["text"]["text"])

    stack.restart()  # a new process's worth of objects: new service, new bolt app, same database
    assert stack.http.get(stack.url + "/healthz").status_code == 200

    assert stack.sender.click(LOPEZ, dm.channel, dm.ts, left).status_code == 200
    posted = stack.coder_post("ENC-D2002")
    assert "`M25.562` Pain in left knee" in json.dumps(posted.blocks)
    assert stack.slack.message(dm.channel, dm.ts).updates >= 1  # the DM sent before the restart is updated
    # nothing was sent twice across the restart
    assert len(stack.slack.messages_in(stack.slack.dm_channel(LOPEZ))) == 1


def test_a_chart_stored_but_not_processed_before_a_crash_is_processed_at_start(stack):
    from vma.web import build_service

    stack.stop()
    # the intake answered (the raw chart is stored) and the process died before the checks ran
    service = build_service(stack.settings)
    service.store.migrate()
    result = service.intake(demo_chart("ENC-D2001"), "http:charts")
    assert result.outcome == "stored"
    assert [m for m in stack.slack.messages_in(CODERS)] == []

    stack.start()
    posted = stack.coder_post("ENC-D2001")
    assert "`I10`" in json.dumps(posted.blocks)
