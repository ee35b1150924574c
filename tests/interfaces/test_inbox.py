"""The drop folder: files in, stored and checked, moved to done/ or rejected/ with the reason beside them."""

from __future__ import annotations

import json
import os
import time

from tests.formats.fhir_resources import full_bundle
from tests.formats.hl7_messages import mdm
from tests.interfaces.conftest import CODERS, LOPEZ
from tests.shared import chart
from vma.integrations.inbox import Inbox, run_inbox_sweep
from vma.store.models import ChartRecord, IntakeRejection


def drop(folder, name: str, content: bytes | str, age: float = 60) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    when = time.time() - age
    os.utime(path, (when, when))


def test_canonical_fhir_and_hl7_files_are_stored_checked_and_moved_to_done(world, tmp_path):
    folder = tmp_path / "inbox"
    inbox = Inbox(folder, world.service)
    drop(folder, "visit-1.json", json.dumps(chart("ENC-IN-1")))  # knee, side unspecified: a query
    drop(folder, "bundle.fhir.json", json.dumps(full_bundle()))
    drop(folder, "note.hl7", mdm(doc_id="DOC-IN-3-1", visit="ENC-IN-3", sep="\n"))
    report = inbox.sweep()
    assert sorted(report.stored) == ["bundle.fhir.json", "note.hl7", "visit-1.json"]
    assert report.rejected == [] and report.duplicates == []
    assert sorted(p.name for p in (folder / "done").iterdir()) == ["bundle.fhir.json", "note.hl7", "visit-1.json"]
    assert [p.name for p in folder.iterdir() if p.is_file()] == []
    records = {r.chart_id: r for r in world.rows(ChartRecord)}
    assert {r.fmt for r in records.values()} == {"chart", "fhir", "hl7"}
    assert records["ENC-IN-1"].source == "inbox:visit-1.json" and records["ENC-IN-1"].status == "needs_query"
    assert len(world.dms(LOPEZ)) == 1
    assert [m for m in world.slack.messages_in(CODERS) if "ENC-5501" in (m.text or "")]  # the clean FHIR note


def test_a_bad_file_goes_to_rejected_with_an_error_file_naming_the_field(world, tmp_path):
    folder = tmp_path / "inbox"
    bad = chart("ENC-IN-4")
    bad["encounter"]["date_of_service"] = 20261116
    drop(folder, "bad.json", json.dumps(bad))
    drop(folder, "no-status.hl7", mdm(status=""))
    drop(folder, "notes.txt", "just some text")
    report = Inbox(folder, world.service).sweep()
    assert sorted(report.rejected) == ["bad.json", "no-status.hl7", "notes.txt"]
    rejected = folder / "rejected"
    assert "encounter.date_of_service" in (rejected / "bad.json.error.txt").read_text()
    assert "TXA-17" in (rejected / "no-status.hl7.error.txt").read_text()
    assert "(input)" in (rejected / "notes.txt.error.txt").read_text()
    assert (rejected / "bad.json").read_text() == json.dumps(bad)  # moved as it was
    assert len(world.rows(IntakeRejection)) == 3 and world.rows(ChartRecord) == []


def test_a_file_still_being_written_is_left_alone(world, tmp_path):
    folder = tmp_path / "inbox"
    inbox = Inbox(folder, world.service, settle_seconds=5)
    drop(folder, "fresh.json", json.dumps(chart("ENC-IN-5"))[:50], age=0)  # the exporter is mid-write
    drop(folder, "upload.json.part", "{", age=600)
    report = inbox.sweep()
    assert report.waiting == ["fresh.json"] and report.stored == report.rejected == []
    assert (folder / "fresh.json").exists() and (folder / "upload.json.part").exists()
    assert world.rows(IntakeRejection) == [] and world.rows(ChartRecord) == []
    # the exporter finishes; once the file has settled it is taken
    drop(folder, "fresh.json", json.dumps(chart("ENC-IN-5")), age=60)
    assert inbox.sweep().stored == ["fresh.json"]


def test_a_duplicate_file_goes_to_done_without_a_second_dm(world, tmp_path):
    folder = tmp_path / "inbox"
    inbox = Inbox(folder, world.service)
    drop(folder, "visit.json", json.dumps(chart("ENC-IN-6")))
    assert inbox.sweep().stored == ["visit.json"]
    drop(folder, "visit.json", json.dumps(chart("ENC-IN-6")))  # re-exported under the same name
    report = inbox.sweep()
    assert report.duplicates == ["visit.json"] and report.stored == []
    assert len(list((folder / "done").iterdir())) == 2  # both kept, neither overwritten
    assert len(world.rows(ChartRecord)) == 1 and len(world.dms(LOPEZ)) == 1


def test_run_inbox_sweep_is_the_scheduler_entry(world, tmp_path):
    assert run_inbox_sweep(world.service, world.settings) is None  # VMA_INBOX unset: nothing to do
    folder = tmp_path / "drop"
    settings = world.settings.model_copy(update={"vma_inbox": str(folder)})
    assert run_inbox_sweep(world.service, settings).stored == []  # creates the folders
    drop(folder, "a.json", json.dumps(chart("ENC-IN-7")), age=60)
    assert run_inbox_sweep(world.service, settings).stored == ["a.json"]
    assert (folder / "done" / "a.json").exists()


def test_a_crash_between_store_and_move_only_repeats_harmlessly(world, tmp_path):
    folder = tmp_path / "inbox"
    drop(folder, "visit.json", json.dumps(chart("ENC-IN-8")))
    world.service.intake((folder / "visit.json").read_bytes(), "inbox:visit.json")  # stored, then the crash
    report = Inbox(folder, world.service, process=False).sweep()
    assert report.duplicates == ["visit.json"]
    assert len(world.rows(ChartRecord)) == 1
    world.restart().process_pending()  # the checks the crash skipped
    assert len(world.dms(LOPEZ)) == 1
