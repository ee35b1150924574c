"""A check that raises never lets a chart pass (outside strict mode, as in production).

The chart is stored ``incomplete``: no query goes to the provider, nothing to the coders; the manager
channel is told which check failed on which chart (IDs only), once; the chart is checked again after a
restart or by a worker of another release, and goes its normal way once the check runs through.
"""

from __future__ import annotations

import pytest

from tests.shared import break_check, chart
from tests.store.test_service import World

SECRET_WORDS = ("Ana Testcase", "left knee", "gardening")


@pytest.fixture
def world(tmp_path, database_url, ref):
    w = World(tmp_path, database_url, ref)
    yield w
    w.close()


def _record(world, chart_id):
    from vma.store.models import ChartRecord

    record, = world.rows(ChartRecord, ChartRecord.chart_id == chart_id)
    return record


def test_a_failed_check_holds_the_chart_and_tells_the_managers_once(world, monkeypatch, caplog):
    import logging

    from vma.store.models import AuditEvent, FindingRecord, Query

    break_check(monkeypatch, "laterality")
    with caplog.at_level(logging.INFO):
        world.submit(chart("ENC-CF-1"))  # unspecified knee: laterality would ask the provider
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "check laterality failed on chart ENC-CF-1 with KeyError" in logged and "in broken" in logged
    assert not any(word in logged for word in SECRET_WORDS)  # where it failed, not what the error quoted

    record = _record(world, "ENC-CF-1")
    assert record.status == "incomplete" and record.posted_at is None and record.claimed_by is None
    assert record.report_json["status"] == "incomplete"
    failed = [f for f in record.report_json["findings"] if f["check"] == "check-failed"]
    assert [f["failed_check"] for f in failed] == ["laterality"]
    assert "laterality" in failed[0]["message"] and "KeyError" in failed[0]["message"]
    assert not any(word in str(record.report_json) for word in SECRET_WORDS)
    # held whole: no query, no DM, no coder post, no finding rows to clean up later
    assert world.rows(Query) == [] and world.rows(FindingRecord) == []
    assert world.notifier.of("send_query_dm") == [] and world.notifier.of("post_cleared") == []
    assert world.notifier.of("post_check_failed") == [("C_MANAGERS", "ENC-CF-1", 1, ["laterality"])]
    assert "check_failed" in world.audit_actions()

    for _ in range(2):  # the ticks that follow neither re-run it nor tell the managers again
        world.service.process_pending()
    assert len(world.notifier.of("post_check_failed")) == 1
    assert _record(world, "ENC-CF-1").status == "incomplete"
    detail, = [e.detail for e in world.rows(AuditEvent, AuditEvent.action == "check_failed")]
    assert detail["checks"] == ["laterality"]


def test_a_restart_checks_it_again_and_once_fixed_it_goes_its_normal_way(world, monkeypatch):
    break_check(monkeypatch, "laterality")
    world.submit(chart("ENC-CF-2"))
    assert _record(world, "ENC-CF-2").status == "incomplete"

    world.restart().resume()  # restarted without a fix: checked again, still held, managers not told twice
    assert _record(world, "ENC-CF-2").status == "incomplete"
    assert len(world.notifier.of("post_check_failed")) == 1

    monkeypatch.undo()  # the fix is deployed
    monkeypatch.setenv("VMA_STRICT_CHECKS", "1")
    world.restart().resume()
    assert _record(world, "ENC-CF-2").status == "needs_query"
    (_, summary, queries), = world.notifier.of("send_query_dm")
    assert summary.chart_id == "ENC-CF-2" and [q.check for q in queries] == ["laterality"]
    assert world.notifier.of("post_cleared") == []


def test_a_worker_of_a_new_release_checks_it_again_without_a_restart(world, monkeypatch):
    import vma.conversations.flows as flows

    break_check(monkeypatch, "acuity")
    world.submit(chart("ENC-CF-3"))
    assert _record(world, "ENC-CF-3").report_json["release"] == flows._release()
    world.service.process_pending()
    assert _record(world, "ENC-CF-3").status == "incomplete"

    monkeypatch.setattr(flows, "_release", lambda: "99.0-fixed")
    world.service.process_pending()  # another release: the chart is checked again at once
    record = _record(world, "ENC-CF-3")
    assert record.status == "incomplete" and record.report_json["release"] == "99.0-fixed"
    # a new release that fails too says so again: the managers learn the fix did not hold
    assert [c[3] for c in world.notifier.of("post_check_failed")] == [["acuity"], ["acuity"]]


def test_the_other_checks_still_run_and_a_clean_chart_is_not_posted(world, monkeypatch):
    clean = chart("ENC-CF-4", note="CHIEF COMPLAINT\n\nFollow-up.\n\nASSESSMENT AND PLAN\n\nEssential hypertension, "
                  "well controlled. Continue lisinopril 10 mg daily.\n\nI spent 25 minutes with the patient today.",
                  codes=("I10",))
    break_check(monkeypatch, "em-level")
    world.submit(clean)
    record = _record(world, "ENC-CF-4")
    assert record.status == "incomplete"
    assert world.notifier.of("post_cleared") == []  # a chart the checks found nothing on is still not clear
    assert {f["check"] for f in record.report_json["findings"]} == {"check-failed"}


def test_without_a_manager_channel_the_chart_is_still_held(tmp_path, database_url, ref, monkeypatch):
    world = World(tmp_path, database_url, ref, vma_manager_channel=None)
    try:
        break_check(monkeypatch, "laterality")
        world.submit(chart("ENC-CF-5"))
        assert _record(world, "ENC-CF-5").status == "incomplete"
        assert world.notifier.of("post_check_failed") == [] and world.notifier.of("post_cleared") == []
    finally:
        world.close()


def test_strict_mode_still_raises_for_the_test_suite(world, monkeypatch):
    from vma.chart import Chart
    from vma.checks import run_checks

    break_check(monkeypatch, "laterality")
    monkeypatch.setenv("VMA_STRICT_CHECKS", "1")
    with pytest.raises(KeyError):
        run_checks(Chart.model_validate(chart("ENC-CF-6")), world.ref)
