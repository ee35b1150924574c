"""The query loop over a real database: intake, one DM per chart, answers, clearing, versions, restarts."""

from __future__ import annotations

import json

import pytest

from tests.shared import (KNEE_AND_SHOULDER_NOTE, LEFT_KNEE_NOTE, UNKNOWN_NPI, Clock, RecordingNotifier,
                          SimulatedCrash, chart, make_settings, raw)
from vma.integrations.slack.render import answer_notice, checkchart_text


class World:
    def __init__(self, tmp_path, url, ref, **settings):
        self.settings = make_settings(tmp_path, url, **settings)
        self.ref = ref
        self.clock = Clock()
        self.notifier = RecordingNotifier()
        self.stores = []
        self.restart()

    def restart(self, notifier=None):
        """A new process: new engine, new directory, new service; only the database carries over."""
        from vma.conversations.service import ChartService
        from vma.directory import Directory
        from vma.store.db import Store

        self.store = Store(self.settings.vma_database_url)
        self.stores.append(self.store)
        self.store.migrate()
        if notifier is not None:
            self.notifier = notifier
        self.service = ChartService(self.store, self.notifier, self.settings,
                                    Directory.load(self.settings.vma_provider_directory), ref=self.ref,
                                    clock=self.clock)
        return self.service

    def submit(self, data, source="test"):
        result = self.service.intake(raw(data), source)
        if result.outcome == "stored":
            self.service.process(result.record_id)
        return result

    def rows(self, model, *where):
        from sqlalchemy import select

        with self.store.session() as session:
            return session.execute(select(model).where(*where).order_by(model.id)).scalars().all()

    def queries(self, chart_id=None):
        from vma.store.models import Query

        return self.rows(Query, *([Query.chart_id == chart_id] if chart_id else []))

    def audit_actions(self):
        from vma.store.models import AuditEvent

        return [e.action for e in self.rows(AuditEvent)]

    def close(self):
        for store in self.stores:
            store.dispose()


@pytest.fixture
def world(tmp_path, database_url, ref):
    w = World(tmp_path, database_url, ref)
    yield w
    w.close()


def option_index(query, code_list):
    return next(i for i, c in enumerate(query.choices) if c.get("codes") == code_list)


# -- intake ------------------------------------------------------------------------------------------


def test_intake_stores_then_duplicate_is_200_and_invalid_is_400_with_raw_kept(world):
    from vma.store.models import ChartRecord, IntakeRejection

    data = chart("ENC-I-1")
    first = world.service.intake(raw(data), "http")
    assert (first.outcome, first.chart_id, first.status, first.duplicate) == ("stored", "ENC-I-1", "received", False)
    again = world.service.intake(raw(data), "http")
    assert (again.outcome, again.duplicate, again.record_id) == ("duplicate", True, first.record_id)
    records = world.rows(ChartRecord)
    assert len(records) == 1 and json.loads(records[0].raw) == data and records[0].doc_key == "DOC-ENC-I-1#1"

    bad = chart("ENC-I-2")
    bad["encounter"]["total_time_minutes"] = "forty"
    del bad["patient"]
    result = world.service.intake(raw(bad), "http")
    assert result.outcome == "invalid" and result.record_id is None
    fields = {e["field"] for e in result.errors}
    assert "patient" in fields and "encounter.total_time_minutes" in fields
    assert all(e["message"] for e in result.errors)

    not_utf8 = b'{"chart_id": "\xff\xfe"}'
    broken = world.service.intake(not_utf8, "mllp")
    assert broken.outcome == "invalid" and broken.errors[0]["field"] == "(input)" and "UTF-8" in broken.errors[0]["message"]
    rejections = world.rows(IntakeRejection)
    assert [r.source for r in rejections] == ["http", "mllp"]
    assert json.loads(rejections[0].raw) == bad and "\\xff" in rejections[1].raw
    assert world.audit_actions().count("intake_rejected") == 2
    # Nothing was sent for any of it: intake does not check.
    assert world.notifier.calls == []


def test_duplicate_intake_after_processing_sends_no_second_dm(world):
    data = chart("ENC-D-1")
    world.submit(data)
    duplicate = world.submit(data)
    assert duplicate.outcome == "duplicate" and duplicate.status == "needs_query"
    world.service.process_pending()
    assert len(world.notifier.of("send_query_dm")) == 1


# -- asking --------------------------------------------------------------------------------------------


def test_one_dm_per_chart_batches_its_queries(world):
    world.submit(chart("ENC-B-1", note=KNEE_AND_SHOULDER_NOTE, codes=("M25.569", "M25.519")))
    dms = world.notifier.of("send_query_dm")
    assert len(dms) == 1
    user, summary, queries = dms[0]
    assert user == "U_LOPEZ" and summary.chart_id == "ENC-B-1"
    assert sorted(q.code for q in queries) == ["M25.519", "M25.569"]
    labels = [o.label for o in queries[0].options]
    assert "Pain in left knee (M25.562)" in labels and labels[-2:] == ["Other", "Clinically undetermined"]
    stored = world.queries("ENC-B-1")
    assert all(q.sent_at is not None and q.next_due_at is not None and q.dm_channel == "DU_LOPEZ" for q in stored)
    assert len({q.dm_ts for q in stored}) == 1
    assert world.audit_actions().count("ask") == 2
    assert world.notifier.of("post_cleared") == []


def test_clean_chart_goes_straight_to_the_coders_without_a_dm(world):
    from tests.conftest import base_chart

    world.submit(base_chart(chart_id="ENC-C-1"))
    assert world.notifier.of("send_query_dm") == []
    (channel, cleared), = world.notifier.of("post_cleared")
    assert channel == "C_CODERS" and cleared.summary.chart_id == "ENC-C-1"
    assert [(c.code, c.kind) for c in cleared.codes] == [("I10", "diagnosis"), ("99213", "procedure")]
    assert cleared.codes[0].description == "Essential (primary) hypertension"
    assert cleared.codes[1].description and cleared.changes == []
    assert cleared.signed_to_clear is not None
    assert "post" in world.audit_actions()


def test_supported_correction_is_a_suggestion_for_the_coder(world):
    world.submit(chart("ENC-K-1", note=LEFT_KNEE_NOTE))
    assert world.notifier.of("send_query_dm") == []
    (_, cleared), = world.notifier.of("post_cleared")
    assert cleared.codes[0].code == "M25.562"
    change, = cleared.changes
    assert (change.before, change.after, change.source, change.needs_coder_confirmation) == (
        "M25.569", ["M25.562"], "correction", True)


# -- answering ------------------------------------------------------------------------------------------


def test_wrong_user_is_refused_then_provider_answer_clears_with_the_corrected_code(world):
    world.submit(chart("ENC-A-1"))
    query, = world.queries("ENC-A-1")
    left = option_index(query, ["M25.562"])

    refused = world.service.answer(query.id, "U_OTHERDOC", left)
    assert refused.refused and not refused.ok and refused.query is None
    assert world.queries("ENC-A-1")[0].status == "open"
    assert world.notifier.of("post_cleared") == []

    result = world.service.answer(query.id, "U_LOPEZ", left)
    assert result.ok and result.query.status == "answered" and result.query.answer_label == "Pain in left knee (M25.562)"
    stored, = world.queries("ENC-A-1")
    assert (stored.status, stored.answered_by, stored.answer_index, stored.next_due_at) == ("answered", "U_LOPEZ", left, None)
    (message, _, shown), = world.notifier.of("update_query_dm")
    assert message.channel == "DU_LOPEZ" and shown[0].status == "answered"
    (channel, cleared), = world.notifier.of("post_cleared")
    assert [c.code for c in cleared.codes] == ["M25.562", "99213"]
    assert cleared.codes[0].description == "Pain in left knee"
    change, = cleared.changes
    assert change.source == "answer" and change.before == "M25.569" and change.after == ["M25.562"]
    assert "Maria Lopez MD" in change.reason
    actions = world.audit_actions()
    assert actions.index("answer_refused") < actions.index("answer") < actions.index("post")

    again = world.service.answer(query.id, "U_LOPEZ", 0)
    assert again.ok and again.already_answered and again.query.answer_label == "Pain in left knee (M25.562)"
    assert len(world.notifier.of("post_cleared")) == 1 and len(world.notifier.of("update_query_dm")) == 1


def test_an_answer_that_beats_the_dm_s_record_still_updates_the_dm(world):
    """The provider clicks between Slack's reply to the DM and the commit that records it (Socket Mode
    delivers clicks fast): the answer finds no DM to update then, so recording the DM queues it."""
    notifier = world.notifier
    plain_send = notifier.send_query_dm

    def send_and_answer_at_once(user_id, summary, queries, idem_key=None):
        sent = plain_send(user_id, summary, queries, idem_key)
        query, = world.queries("ENC-A-9")
        assert query.dm_ts is None  # the DM is in Slack but not yet recorded
        assert world.service.answer(query.id, "U_LOPEZ", option_index(query, ["M25.562"])).ok
        assert notifier.of("update_query_dm") == []  # nothing to update yet
        return sent

    notifier.send_query_dm = send_and_answer_at_once
    world.submit(chart("ENC-A-9"))
    stored, = world.queries("ENC-A-9")
    assert stored.status == "answered" and stored.dm_ts is not None and stored.next_due_at is None
    (message, _, shown), = notifier.of("update_query_dm")
    assert (message.channel, message.ts) == (stored.dm_channel, stored.dm_ts) and shown[0].status == "answered"
    assert len(notifier.of("post_cleared")) == 1


def test_an_answer_and_the_dm_s_record_that_crossed_still_update_the_dm(world):
    """Each committed without seeing the other: the answer found no DM, the record found the query open.
    The next sweep of pending work queues and sends the DM update."""
    from sqlalchemy import update

    from vma.store.models import Query

    world.notifier.fail_on.add("send_query_dm")  # the DM is sent later; the answer comes first
    world.submit(chart("ENC-A-10"))
    query, = world.queries("ENC-A-10")
    assert query.dm_ts is None and world.service.answer(query.id, "U_LOPEZ", option_index(query, ["M25.562"])).ok
    assert world.notifier.of("update_query_dm") == []
    with world.store.session() as session, session.begin():  # the DM's record, written as if the query were open
        session.execute(update(Query).where(Query.id == query.id).values(dm_channel="DU_LOPEZ", dm_ts="1800000000.9"))
    world.service.process_pending()
    (message, _, shown), = world.notifier.of("update_query_dm")
    assert (message.channel, message.ts) == ("DU_LOPEZ", "1800000000.9") and shown[0].status == "answered"
    world.service.process_pending()
    assert len(world.notifier.of("update_query_dm")) == 1  # queued once, sent once


def test_delegate_may_answer_and_two_codes_keep_the_pointers(world):
    world.submit(chart("ENC-A-2"))
    query, = world.queries("ENC-A-2")
    both = option_index(query, ["M25.561", "M25.562"])
    assert world.service.answer(query.id, "U_SCRIBE", both).ok
    (_, cleared), = world.notifier.of("post_cleared")
    assert [c.code for c in cleared.codes] == ["M25.561", "M25.562", "99213"]
    assert cleared.codes[2].pointers == [1]


@pytest.mark.parametrize("kind", ["other", "undetermined"])
def test_other_text_and_undetermined_route_the_chart_to_the_coder(world, kind):
    world.submit(chart("ENC-O-1"))
    query, = world.queries("ENC-O-1")
    index = next(i for i, c in enumerate(query.choices) if c["kind"] == kind)
    if kind == "other":
        missing = world.service.answer(query.id, "U_LOPEZ", index)
        assert not missing.ok and "free-text" in answer_notice(missing)
        assert world.queries("ENC-O-1")[0].status == "open"
    result = world.service.answer(query.id, "U_LOPEZ", index, "patellofemoral syndrome, left" if kind == "other" else None)
    assert result.ok
    (_, cleared), = world.notifier.of("post_cleared")
    assert cleared.codes[0].code == "M25.569"  # unchanged: the coder decides
    note, = cleared.coder_notes
    assert ("Other: patellofemoral syndrome, left" if kind == "other" else "Clinically undetermined") in note
    assert cleared.changes[0].source == "coder-review" and cleared.changes[0].needs_coder_confirmation


def test_bad_option_and_unknown_query_are_clear_errors(world):
    world.submit(chart("ENC-E-1"))
    query, = world.queries("ENC-E-1")
    assert not world.service.answer(query.id, "U_LOPEZ", 99).ok
    missing = world.service.answer(999_999, "U_LOPEZ", 0)
    assert not missing.ok and not missing.refused


# -- versions ------------------------------------------------------------------------------------------


def test_new_version_withdraws_the_query_it_makes_moot(world):
    world.submit(chart("ENC-V-1", note=KNEE_AND_SHOULDER_NOTE, codes=("M25.569", "M25.519")))
    knee, shoulder = sorted(world.queries("ENC-V-1"), key=lambda q: q.code)[::-1]
    assert (knee.code, shoulder.code) == ("M25.569", "M25.519")
    # The addendum codes the left knee; the shoulder is still unspecified.
    amended = chart("ENC-V-1", note=KNEE_AND_SHOULDER_NOTE, codes=("M25.562", "M25.519"), version=2)
    result = world.submit(amended)
    assert result.outcome == "stored"
    by_id = {q.id: q for q in world.queries("ENC-V-1")}
    assert by_id[knee.id].status == "withdrawn" and by_id[shoulder.id].status == "open"
    assert by_id[shoulder.id].chart_record_id == result.record_id  # carried over: same DM, same clock
    assert len(by_id) == 2  # the shoulder question was not asked again
    assert len(world.notifier.of("send_query_dm")) == 1
    (message, _, withdrawn, reason), = world.notifier.of("send_withdrawn")
    assert [q.query_id for q in withdrawn] == [knee.id] and "version 2" in reason
    assert world.service.answer(knee.id, "U_LOPEZ", 0).ok is False
    assert world.service.answer(shoulder.id, "U_LOPEZ", option_index(by_id[shoulder.id], ["M25.512"])).ok
    (_, cleared), = world.notifier.of("post_cleared")
    assert cleared.summary.version == 2 and [c.code for c in cleared.codes] == ["M25.562", "M25.512", "99213"]


def test_late_older_version_is_kept_but_not_checked(world):
    world.submit(chart("ENC-V-2", version=2))
    late = world.submit(chart("ENC-V-2", version=1))
    assert late.outcome == "stored" and late.status == "superseded"
    assert len(world.notifier.of("send_query_dm")) == 1


def test_cancel_withdraws_every_open_query(world):
    world.submit(chart("ENC-X-1", note=KNEE_AND_SHOULDER_NOTE, codes=("M25.569", "M25.519")))
    cancel = chart("ENC-X-1", version=2, cancelled=True)
    result = world.submit(cancel)
    assert result.outcome == "stored"
    assert {q.status for q in world.queries("ENC-X-1")} == {"withdrawn"}
    (_, _, withdrawn, reason), = world.notifier.of("send_withdrawn")
    assert len(withdrawn) == 2 and "cancelled" in reason
    assert world.notifier.of("post_cleared") == []
    assert "cancel" in world.audit_actions()


# -- routing --------------------------------------------------------------------------------------------


def test_unreachable_provider_goes_to_the_manager_channel_and_is_held(world):
    from vma.store.models import ChartRecord

    world.submit(chart("ENC-U-1", npi=UNKNOWN_NPI, provider={"npi": UNKNOWN_NPI, "name": "Nobody MD",
                                                             "email": "nobody@example.org"}))
    assert world.notifier.of("resolve_user") == [("nobody@example.org",)]
    (channel, summary, queries, reason), = world.notifier.of("post_unroutable")
    assert channel == "C_MANAGERS" and summary.chart_id == "ENC-U-1" and len(queries) == 1
    assert "nobody@example.org" in reason
    record, = world.rows(ChartRecord, ChartRecord.chart_id == "ENC-U-1")
    assert record.status == "on_hold"
    query, = world.queries("ENC-U-1")
    assert query.status == "open" and query.sent_at is None and query.next_due_at is None
    world.service.process_pending()
    assert len(world.notifier.of("post_unroutable")) == 1 and world.notifier.of("send_query_dm") == []


def test_provider_found_by_email_when_not_in_the_directory(world):
    world.notifier.users_by_email["someone@example.org"] = "U_SOMEONE"
    world.submit(chart("ENC-U-2", npi=UNKNOWN_NPI, provider={"npi": UNKNOWN_NPI, "name": "Some One MD",
                                                             "email": "someone@example.org"}))
    (user, _, _), = world.notifier.of("send_query_dm")
    assert user == "U_SOMEONE"
    query, = world.queries("ENC-U-2")
    assert world.service.answer(query.id, "U_LOPEZ", 0).refused
    assert world.service.answer(query.id, "U_SOMEONE", 0).ok


# -- crash and restart ------------------------------------------------------------------------------------


def test_restart_after_ack_before_checks_resumes(world):
    result = world.service.intake(raw(chart("ENC-R-1")), "http")  # acked; the process dies before process()
    service = world.restart()
    service.process_pending()
    assert len(world.notifier.of("send_query_dm")) == 1
    service.process_pending()
    assert len(world.notifier.of("send_query_dm")) == 1
    assert world.queries("ENC-R-1")[0].chart_record_id == result.record_id


def test_crash_between_recording_and_sending_the_dm_sends_it_once_after_restart(world):
    from vma.store.models import OutboundMessage

    world.notifier.crash_on.add("send_query_dm")
    with pytest.raises(SimulatedCrash):
        world.submit(chart("ENC-R-2"))
    outbound, = world.rows(OutboundMessage)
    assert outbound.idem_key.startswith("query_dm:") and outbound.state == "pending" and outbound.attempts == 1
    assert world.notifier.of("send_query_dm") == []

    service = world.restart()
    service.process_pending()  # the dead worker's claim has not lapsed: nothing yet
    assert world.notifier.of("send_query_dm") == []
    world.clock.advance(minutes=3)
    service.process_pending()
    service.process_pending()
    assert len(world.notifier.of("send_query_dm")) == 1

    service = world.restart()
    service.process_pending()
    assert len(world.notifier.of("send_query_dm")) == 1
    query, = world.queries("ENC-R-2")
    assert query.sent_at is not None
    result = service.answer(query.id, "U_LOPEZ", option_index(query, ["M25.561"]))
    assert result.ok
    (_, cleared), = world.notifier.of("post_cleared")
    assert cleared.codes[0].code == "M25.561"


def test_restart_mid_conversation_open_query_still_answerable_and_posted_once(world):
    world.submit(chart("ENC-R-3"))
    query, = world.queries("ENC-R-3")
    world.notifier.crash_on.add("post_cleared")
    with pytest.raises(SimulatedCrash):
        world.service.answer(query.id, "U_LOPEZ", option_index(query, ["M25.562"]))
    assert world.notifier.of("post_cleared") == []
    service = world.restart()
    world.clock.advance(minutes=3)
    service.process_pending()
    service.process_pending()
    assert len(world.notifier.of("post_cleared")) == 1
    assert world.notifier.of("post_cleared")[0][1].codes[0].code == "M25.562"
    world.restart().process_pending()
    assert len(world.notifier.of("post_cleared")) == 1
    assert len(world.notifier.of("send_query_dm")) == 1


def test_slack_failure_is_retried_not_lost(world):
    world.notifier.fail_on.add("send_query_dm")
    world.submit(chart("ENC-R-4"))
    assert world.notifier.of("send_query_dm") == []
    assert world.queries("ENC-R-4")[0].sent_at is None
    world.service.process_pending()
    assert len(world.notifier.of("send_query_dm")) == 1
    assert world.queries("ENC-R-4")[0].sent_at is not None


# -- /checkchart, App Home, PHI ------------------------------------------------------------------------------


def test_checkchart_access_control(world):
    world.submit(chart("ENC-CC-1"))
    for user in ("U_LOPEZ", "U_SCRIBE", "U_CODER", "U_CHIEF"):
        result = world.service.checkchart("ENC-CC-1", user)
        assert result.allowed, user
        text = checkchart_text(result)
        assert "ENC-CC-1" in text and "M25.569" in text and "laterality" in text
        assert result.report.status == "needs_query"
    for user in ("U_OTHERDOC", "U_STRANGER", ""):
        result = world.service.checkchart("ENC-CC-1", user)
        assert not result.allowed and result.summary is None and result.report is None
        text = checkchart_text(result)
        assert "M25.569" not in text and "7120" not in text and "laterality" not in text
    stranger_missing = world.service.checkchart("ENC-NOPE", "U_STRANGER")
    assert not stranger_missing.allowed
    assert world.audit_actions().count("checkchart_refused") == 4


def test_minimal_phi_summary_has_no_name_or_birth_date(world):
    world.submit(chart("ENC-P-1"))
    (_, summary, queries), = world.notifier.of("send_query_dm")
    text = repr(summary)
    assert summary.patient_label == "***7120"
    assert "Ana Testcase" not in text and "1968-03-14" not in text and "MRN-77120" not in text
    world.service.answer(queries[0].query_id, "U_LOPEZ", 0)
    (_, cleared), = world.notifier.of("post_cleared")
    assert "Ana Testcase" not in repr(cleared) and "1968-03-14" not in repr(cleared)
    assert "gardening" not in repr(cleared)  # no note text in the channel post


def test_full_phi_mode_names_the_patient(tmp_path, database_url, ref):
    w = World(tmp_path, database_url, ref, vma_phi_mode="full")
    try:
        w.submit(chart("ENC-P-2"))
        (_, summary, _), = w.notifier.of("send_query_dm")
        assert summary.patient_label == "Ana Testcase (MRN-77120)"
    finally:
        w.close()


def test_home_shows_providers_their_queries_and_coders_the_charts(world):
    from tests.conftest import base_chart

    world.submit(chart("ENC-H-1"))
    world.submit(base_chart(chart_id="ENC-H-2"))
    provider = world.service.home("U_LOPEZ")
    assert [s.chart_id for s, _ in provider.open_queries] == ["ENC-H-1"] and provider.role == "provider"
    assert world.service.home("U_SCRIBE").open_queries[0][0].chart_id == "ENC-H-1"
    assert world.service.home("U_OTHERDOC").open_queries == []
    coder = world.service.home("U_CODER")
    assert [c.summary.chart_id for c in coder.ready_charts] == ["ENC-H-2"]
    assert [(s.chart_id, n) for s, n in coder.waiting_charts] == [("ENC-H-1", 1)]
    assert world.service.home("U_OTHERDOC").ready_charts == []


def test_check_adhoc_tells_icd_from_cpt_and_stores_nothing(world):
    from vma.store.models import ChartRecord

    report = world.service.check_adhoc(
        "ASSESSMENT AND PLAN\n\nKnee pain for two weeks. Ibuprofen as needed.", "m25.569, 99213")
    assert report.chart_id == "ADHOC"
    finding = next(f for f in report.findings if f.check == "laterality")
    assert finding.code == "M25.569" and finding.action == "query"
    assert not any(f.check in ("unsigned", "missing-element") for f in report.findings)
    assert world.rows(ChartRecord) == []


def test_new_version_does_not_ask_again_what_was_already_answered(world):
    from tests.conftest import base_chart

    world.submit(chart("ENC-V-3"))
    query, = world.queries("ENC-V-3")
    world.service.answer(query.id, "U_LOPEZ", option_index(query, ["M25.562"]))
    assert len(world.notifier.of("post_cleared")) == 1
    # An addendum that leaves the knee code alone (the EHR resent the same codes).
    result = world.submit(chart("ENC-V-3", version=2, note=chart()["note"]["text"] + "\n\nAddendum: labs reviewed."))
    assert result.outcome == "stored"
    assert len(world.notifier.of("send_query_dm")) == 1
    carried = [q for q in world.queries("ENC-V-3") if q.chart_record_id == result.record_id]
    assert len(carried) == 1 and carried[0].status == "answered" and carried[0].answer_json["codes"] == ["M25.562"]
    (_, second), = world.notifier.of("post_cleared")[1:]
    assert second.summary.version == 2 and second.codes[0].code == "M25.562"


def test_nul_characters_and_hostile_fields_never_fail_intake(world):
    from vma.store.models import ChartRecord, IntakeRejection

    data = chart("ENC-N-1\u0000", note="ASSESSMENT AND PLAN\n\nKnee pain\u0000 for two weeks.")
    data["patient"]["name"] = "A\u0000B"
    data["extra\u0000field"] = {"x": "\u0000"}
    result = world.submit(data)
    assert result.outcome == "stored"
    record, = world.rows(ChartRecord)
    assert "\x00" not in record.chart_json["note"]["text"] and "\\u0000" in record.raw
    assert record.chart_id == "ENC-N-1\ufffd"
    bad = {"chart_id": "\u0000", "patient": "\u0000"}
    rejected = world.service.intake(raw(bad), "http")
    assert rejected.outcome == "invalid" and rejected.errors
    assert len(world.rows(IntakeRejection)) == 1
