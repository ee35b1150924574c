"""kill -9 of a real ``vma serve`` at every stage of the loop, then restart: nothing lost, nothing doubled.

The hardest window is a kill while Slack holds the message: Slack posted it, the
database never learned so. The restarted server finds that copy by the outbox key
it carries in its metadata (``conversations.history``) instead of posting again.
"""

from __future__ import annotations

import os

from tests.crash.scenario import QUERY_TEMPLATES, STAGES, CrashScenario, summary

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

    # no chart posted twice to the coders, one DM per chart that needs one and none for the others: a message
    # Slack took while the process died is found again by its outbox key (message metadata), not re-sent
    assert set(outcome.cleared) == set(outcome.charts)
    assert {c: len(p) for c, p in outcome.cleared.items() if len(p) != 1} == {}, report
    for chart_id, template in outcome.charts.items():
        assert len(outcome.dms.get(chart_id, [])) == (1 if template in QUERY_TEMPLATES else 0), (chart_id, report)
    # the kills did land inside Slack calls whose answer the process never saw
    assert outcome.recovered >= 1, report
    # A message never marked sent is only a query DM that Slack took as the process died and that the
    # provider then answered from: it reached the provider once, and sending it again would be the duplicate.
    for key, (kind, chart_id) in outcome.unsent.items():
        assert kind == "query_dm", key
        assert len(outcome.dms.get(chart_id, [])) == 1, (key, chart_id)
    assert outcome.violations == []
