"""PHI in minimal mode (the default): every demo chart through the whole loop, then every
Slack surface the stand-in recorded is scanned for the patients' names, birth dates,
MRNs and note sentences.

Channel posts (coder channel, manager channel: cleared charts, unroutable holds,
escalations, the digest) and messages to anyone other than the chart's own
provider carry none of them. The query DM and the App Home of the provider (or
their delegate) may quote the short evidence of that provider's own queries, as
the query needs it, but no name, birth date or raw MRN, and no other note text.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vma.integrations.slack.standin import find_element

from tests.security.conftest import (ADMIN, CHEN, CHIEF, CODER, CODERS, EVERYONE, LOPEZ, MANAGERS, SCRIBE,
                                     SecureStack, demo_chart)

DEMO = Path(__file__).resolve().parents[2] / "vma" / "demo"
DEMO_CHARTS = sorted(p.stem for p in DEMO.glob("ENC-*.json"))
PROVIDER_OF = {"1234567893": {LOPEZ, SCRIBE}, "1558598797": {CHEN}}
MAX_EVIDENCE = 300  # "short evidence": a quote, never the note


def _charts():
    return {name: json.loads((DEMO / f"{name}.json").read_text()) for name in DEMO_CHARTS}


def _sentences(note: str) -> list[str]:
    """The note's sentences worth searching for: four words or more (headings and 'No effusion.' are not PHI)."""
    pieces = re.split(r"(?<=[.!?])\s+|\n+", note)
    return [p.strip().rstrip(".") for p in pieces if len(p.split()) >= 4]


def _phi_markers(chart: dict) -> list[str]:
    patient = chart["patient"]
    born = datetime.fromisoformat(patient["birth_date"])
    name_parts = [part for part in patient["name"].split() if len(part) >= 4]
    return [patient["name"], *name_parts, patient["birth_date"], born.strftime("%m/%d/%Y"),
            born.strftime("%Y%m%d"), patient["mrn"]]


def _surfaces(slack):
    """(kind, audience, text) of everything vma put before someone's eyes."""
    out = []
    for call in slack.calls:
        if not call.ok:
            continue
        p = call.params
        if call.method in ("chat.postMessage", "chat.update"):
            out.append((call.method, p.get("channel"), json.dumps([p.get("text"), p.get("blocks")])))
        elif call.method == "chat.postEphemeral":
            out.append((call.method, p.get("user"), json.dumps([p.get("text"), p.get("blocks")])))
        elif call.method in ("views.publish", "views.open", "views.update", "views.push"):
            out.append((call.method, p.get("user_id") or p.get("trigger_id"), json.dumps(p.get("view"))))
        elif call.method == "files.completeUploadExternal":
            out.append((call.method, p.get("channel_id"), json.dumps([p.get("initial_comment"), p.get("files")])))
    out += [("response_url", "response", json.dumps(r)) for r in slack.responses]
    return out


def _run_every_chart_through_the_loop(stack: SecureStack):
    from vma.conversations.digest import post_digest
    from vma.conversations.reminders import tick

    for name in DEMO_CHARTS:
        assert stack.post_chart(demo_chart(name)).status_code == 202
    lopez_dm, chen_dm = stack.dm_of(LOPEZ), stack.dm_of(CHEN)
    stack.coder_post("ENC-D2001"), stack.coder_post("ENC-D2004")
    stack.slack.wait_for(lambda: [m for m in stack.slack.messages_in(MANAGERS) if "ENC-D2005" in (m.text or "")])

    left = find_element(lopez_dm.blocks, lambda e: e.get("type") == "button" and "left knee" in e["text"]["text"])
    stack.sender.click(CHEN, lopez_dm.channel, lopez_dm.ts, left)  # refused, ephemerally
    stack.slack.wait_for(lambda: stack.slack.ephemeral_for(CHEN))
    stack.sender.click(LOPEZ, lopez_dm.channel, lopez_dm.ts, left)
    stack.coder_post("ENC-D2002")

    # Chen leaves his questions open: reminders, then escalation to his supervisor and the managers
    service = stack.service
    later = datetime.now(UTC)
    for days in (1, 3, 6):
        tick(later + timedelta(days=days), service.store, service.notifier, stack.settings, service.directory)
    stack.slack.wait_for(lambda: [m for m in stack.slack.messages_in(MANAGERS) if "Unanswered" in (m.text or "")])
    post_digest(stack.settings, service.store, service.notifier, service.directory, now=later + timedelta(days=6))

    for user in EVERYONE.values():
        stack.sender.event({"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home"})
    stack.slack.wait_for(lambda: set(EVERYONE.values()) <= set(stack.slack.published))
    for user in (CODER, CHIEF, ADMIN, LOPEZ):
        stack.sender.slash(user, "/checkchart", "ENC-D2003")

    # then Chen answers: one code, one free text through the modal
    initial = find_element(chen_dm.blocks, lambda e: e.get("type") == "button"
                           and e["text"]["text"].startswith("Sprain of unspecified ligament of left ankle, initial"))
    other = [{**e, "block_id": b["block_id"]} for b in chen_dm.blocks if b["type"] == "actions"
             for e in b["elements"] if e["action_id"].startswith("vma_other_")][1]
    stack.sender.click(CHEN, chen_dm.channel, chen_dm.ts, initial)
    stack.sender.click(CHEN, chen_dm.channel, chen_dm.ts, other)
    modal = stack.slack.wait_for(lambda: [v for v in stack.slack.views if v.get("callback_id") == "vma_other"])[-1]
    stack.sender.submit_view(CHEN, modal, {"vma_other_text": {"text": "Right knee, chronic"}})
    stack.coder_post("ENC-D2003")


@pytest.fixture
def phi_flow(secure, caplog):
    caplog.set_level(logging.DEBUG)
    _run_every_chart_through_the_loop(secure)
    return secure


def test_minimal_mode_puts_no_name_birth_date_or_note_text_in_any_channel(phi_flow):
    stack = phi_flow
    charts = _charts()
    evidence = {}
    for name in DEMO_CHARTS:
        for query in stack.queries(name):
            evidence.setdefault(charts[name]["provider"]["npi"], []).append(query.evidence or "")
            assert len(query.evidence or "") <= MAX_EVIDENCE, (name, query.evidence)
    surfaces = _surfaces(stack.slack)
    kinds = {(kind, str(audience)[:1]) for kind, audience, _ in surfaces}
    # the scan covered every kind of surface: channel posts, DMs, App Home, modals, ephemerals, the digest file
    assert {("chat.postMessage", "C"), ("chat.postMessage", "D"), ("chat.update", "D"), ("views.publish", "U"),
            ("chat.postEphemeral", "U"), ("files.completeUploadExternal", "C")} <= kinds, kinds
    channel_texts = [t for k, a, t in surfaces if str(a).startswith("C")]
    assert any("Unanswered" in t for t in channel_texts) and any("Query-aging" in t or "Open queries" in t
                                                                 for t in channel_texts)
    assert any("could not be delivered" in t for t in channel_texts)

    problems = []
    for name, chart in charts.items():
        own_audience = PROVIDER_OF.get(chart["provider"]["npi"], set())
        own_dms = {"D" + u[1:] for u in own_audience}
        allowed_quotes = evidence.get(chart["provider"]["npi"], [])
        for kind, audience, text in surfaces:
            for marker in _phi_markers(chart):
                if re.search(rf"(?<![\w-]){re.escape(marker)}(?![\w-])", text):
                    problems.append(f"{kind} to {audience} names {marker!r} of {name}")
            own = audience in own_audience or audience in own_dms
            for sentence in _sentences(chart["note"]["text"]):
                if sentence in text and not (own and any(sentence in quote for quote in allowed_quotes)):
                    problems.append(f"{kind} to {audience} quotes {name}: {sentence!r}")
    assert problems == []


def test_logs_carry_ids_not_phi(phi_flow, caplog):
    # What `vma serve` logs (INFO and up, every library), and everything vma itself logs, DEBUG included.
    # slack_sdk's own DEBUG records dump whole request bodies (the provider's DM with its evidence quote):
    # DEBUG on slack_sdk is a developer's switch, never a production setting.
    records = [r for r in caplog.get_records("setup") if r.levelno >= logging.INFO or r.name.startswith("vma")]
    logged = "\n".join(r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
                       for r in records)
    assert records, "nothing was logged: the scan would prove nothing"
    problems = []
    for name, chart in _charts().items():
        for marker in _phi_markers(chart):
            if re.search(rf"(?<![\w-]){re.escape(marker)}(?![\w-])", logged):
                problems.append(f"logs name {marker!r} of {name}")
        for sentence in _sentences(chart["note"]["text"]):
            if sentence in logged:
                problems.append(f"logs quote {name}: {sentence!r}")
    assert problems == []


def test_full_mode_names_the_patient(tmp_path, slack_standin, database_url):
    stack = SecureStack(tmp_path, slack_standin, database_url, vma_phi_mode="full").start()
    try:
        stack.post_chart(demo_chart("ENC-D2002"))
        dm = stack.dm_of(LOPEZ)
        assert "Evan Example" in json.dumps(dm.blocks) and "MRN-D20023" in json.dumps(dm.blocks)
        stack.post_chart(demo_chart("ENC-D2001"))
        assert "Dana Synthetic" in json.dumps(stack.coder_post("ENC-D2001").blocks)
    finally:
        stack.stop()


def test_change_reasons_in_the_coders_channel_lose_the_notes_words_in_minimal_mode_only():
    from types import SimpleNamespace

    from vma.conversations.ports import Change
    from vma.conversations.views import NOTE_TEXT_REDACTED, cleared_chart

    note = "ASSESSMENT AND PLAN\n\nGastroesophageal reflux disease without esophagitis, well controlled.\n"
    record = SimpleNamespace(chart_id="ENC-R1", version=1, provider_npi="1234567893",
                             chart_json={"patient": {"mrn": "MRN-55501", "name": "Rae Sample"}, "note": {"text": note}})
    reason = ("The note documents one stable chronic illness (Gastroesophageal reflux disease without "
              "esophagitis, well controlled), with no data reviewed.")
    change = Change(check="em-level", before="99215", after=["99213"], reason=reason, source="correction",
                    needs_coder_confirmation=True)
    answer = Change(check="laterality", before="M25.569", after=["M25.562"],
                    reason="answered by Maria Lopez, MD: Pain in left knee (M25.562)", source="answer")
    minimal = cleared_chart(record, SimpleNamespace(vma_phi_mode="minimal"), [], [change, answer], [reason])
    assert minimal.changes[0].reason == ("The note documents one stable chronic illness (" + NOTE_TEXT_REDACTED
                                         + "), with no data reviewed.")
    assert minimal.coder_notes == [minimal.changes[0].reason]
    assert minimal.changes[1] == answer  # nothing of the note in it: untouched
    assert minimal.summary.patient_label == "***5501"
    full = cleared_chart(record, SimpleNamespace(vma_phi_mode="full"), [], [change], [reason])
    assert full.changes[0].reason == reason and full.summary.patient_label == "Rae Sample (MRN-55501)"
