"""kill -9 of a real ``vma serve`` at every stage of the loop, then restart: nothing lost, nothing doubled.

What may repeat, and only there: a message Slack had accepted when the process died,
before the outbox row was marked sent (the service's documented at-least-once
window). Such a repeat must be a single extra copy, and the kill must have landed
inside that Slack call.
"""

from __future__ import annotations

import os

from tests.crash.scenario import QUERY_TEMPLATES, STAGES, CrashScenario, duplicate_in_window, summary

KILLS = int(os.environ.get("VMA_CRASH_KILLS", "10"))
SEED = int(os.environ.get("VMA_CRASH_SEED", "20261130"))
SLACK_DELAY = 0.2


def test_kill_9_at_random_points_loses_and_doubles_nothing(database_url, tmp_path):
    outcome = CrashScenario(tmp_path, database_url, seed=SEED, slack_delay=SLACK_DELAY).run(kills=KILLS)
    report = summary(outcome)
    print("\ncrash:", database_url.split(":")[0], report)

    assert len(outcome.kills) == KILLS
    # the kills landed where they were aimed at (the stand-in's slowness makes the Slack calls wide targets)
    for stage in STAGES:
        aimed = [k for k in outcome.kills if k.stage == stage]
        assert not aimed or any(k.hit for k in aimed), (stage, [k.detail for k in aimed])
    assert outcome.settled, report

    # every chart stored exactly once, nothing rejected, every chart cleared and posted
    assert outcome.rejections == 0
    assert set(outcome.records) == set(outcome.charts)
    assert {chart_id: statuses for chart_id, statuses in outcome.records.items() if statuses != ["posted"]} == {}
    assert outcome.open_queries == 0

    # no chart posted twice to the coders, but for a kill inside that very Slack call
    assert set(outcome.cleared) == set(outcome.charts)
    for chart_id, posts in outcome.cleared.items():
        assert len(posts) == 1 or duplicate_in_window(posts, outcome.kills, SLACK_DELAY), (chart_id, posts)

    # one DM per chart that needs one, none for the others; a second copy only inside a killed Slack call
    for chart_id, template in outcome.charts.items():
        posts = outcome.dms.get(chart_id, [])
        if template not in QUERY_TEMPLATES:
            assert posts == [], chart_id
        elif len(posts) != 1:
            assert duplicate_in_window(posts, outcome.kills, SLACK_DELAY), (chart_id, posts, outcome.kills)
    # A message never marked sent is only a query DM that Slack took as the process died and that the
    # provider then answered from: it reached the provider once, and sending it again would be the duplicate.
    for key, (kind, chart_id) in outcome.unsent.items():
        assert kind == "query_dm", key
        assert len(outcome.dms.get(chart_id, [])) == 1, (key, chart_id)
    assert outcome.violations == []
