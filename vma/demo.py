"""``vma demo``: the whole loop on embedded defaults, with no Slack workspace.

A temporary SQLite database, the local Slack stand-in, the bundled synthetic
charts (``vma/demo/``) and directory, and the real web app served by uvicorn
on a free local port. Charts go in through ``POST /charts``; the providers'
scripted clicks go in as signed ``block_actions`` over HTTP, exactly as Slack
would send them. The transcript shows what each person saw, in order.

The charts are dated yesterday (whatever day the demo runs), and the clock is
then moved forward for the reminder, the escalation and the daily digest: the
reminder tick and the digest are run for "4 hours later" and "2 days later",
as the scheduler of ``vma serve`` would run them when that time comes.
"""

from __future__ import annotations

import json
import secrets
import socket
import sys
import tempfile
import textwrap
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from vma.integrations.slack.transcript import Transcript

DEMO_DIR = Path(__file__).resolve().parent / "demo"
CODERS, MANAGERS = "C0CODERS1", "C0MANAGE1"
WIDTH = 96
ZONE = "America/New_York"
REMINDER_AFTER, ESCALATE_AFTER = timedelta(hours=4), timedelta(hours=48)


def dated_relative_to_today(chart: dict, today: date | None = None) -> dict:
    """The chart seen yesterday and signed that afternoon, in the clinic's time zone, whatever today is."""
    zone = ZoneInfo(ZONE)
    today = today or datetime.now(zone).date()
    seen = today - timedelta(days=1)
    chart = json.loads(json.dumps(chart))
    (chart.get("encounter") or {})["date_of_service"] = seen.isoformat()
    if chart.get("signature"):
        chart["signature"]["signed_at"] = datetime.combine(seen, clock_time(16, 40), tzinfo=zone).isoformat()
    return chart


class DemoFailure(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



def _elements(blocks: list[dict]) -> list[dict]:
    return [{**e, "block_id": b.get("block_id", "b")} for b in blocks or [] if b.get("type") == "actions"
            for e in b.get("elements", [])]


def _wait(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise DemoFailure(f"timed out waiting for {what}")


def run_demo(out=None) -> int:
    out = out or sys.stdout
    try:
        return _run(out)
    except DemoFailure as exc:
        print(f"\nvma demo failed: {exc}", file=out)
        return 1


def _run(out) -> int:
    import logging

    import uvicorn

    from vma.config import Settings
    from vma.directory import Directory
    from vma.integrations.ehr_standin import MllpEhrStandIn
    from vma.integrations.slack.standin import SignedSlackSender, SlackStandIn, find_element
    from vma.integrations.slack.transcript import Transcript
    from vma.web import create_app

    logging.basicConfig(level=logging.ERROR)
    charts = sorted(DEMO_DIR.glob("ENC-*.json"))
    directory_path = DEMO_DIR / "directory.csv"
    directory = Directory.load(str(directory_path))
    people = {p.slack_user_id: p.name for p in directory.people if p.slack_user_id} \
        if hasattr(directory, "people") else {}
    lopez, chen, coder = "U0LOPEZ01", "U0CHEN001", "U0CODER01"
    people.setdefault(lopez, "Maria Lopez, MD")
    people.setdefault(chen, "Sam Chen, DO")
    people.setdefault(coder, "Cora Coder")

    with tempfile.TemporaryDirectory(prefix="vma-demo-") as tmp, \
            SlackStandIn(users={"mlopez@example.org": lopez, "schen@example.org": chen}) as slack, \
            MllpEhrStandIn() as ehr:
        secret = secrets.token_hex(16)
        settings = Settings(
            slack_bot_token="xoxb-demo", slack_signing_secret=secret, slack_api_url=slack.api_url,
            vma_database_url=f"sqlite:///{Path(tmp) / 'vma.db'}", vma_coder_channel=CODERS,
            vma_manager_channel=MANAGERS, vma_provider_directory=str(directory_path),
            vma_business_hours="always", vma_timezone=ZONE, vma_phi_mode="minimal",
            vma_reminder_after=REMINDER_AFTER, vma_escalate_after=ESCALATE_AFTER,
            # The example payer rule pack (an invented payer, not a real policy) and the local EHR stand-in.
            vma_rules_dir=str(DEMO_DIR / "rules"), vma_ehr_mllp=ehr.address)
        app = create_app(settings, start_scheduler=False)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        thread = threading.Thread(target=server.run, name="vma-demo-server", daemon=True)
        thread.start()
        _wait(lambda: server.started, "the web app to start")
        base = f"http://127.0.0.1:{port}"
        sender = SignedSlackSender(base + "/slack/events", secret, slack)
        t = Transcript(slack, people, {CODERS: "#coders channel", MANAGERS: "#coding-managers channel"}, WIDTH, out)
        shown_ehr = [0]

        def ehr_flush(chart_id: str) -> None:
            """What the EHR's interface received back: the answered queries, filed beside the note."""
            from vma.integrations.ehr_standin import field_of, obx_lines

            _wait(lambda: any(chart_id in m for m in ehr.received[shown_ehr[0]:]), f"the write-back of {chart_id}")
            for message in ehr.received[shown_ehr[0]:]:
                shown_ehr[0] += 1
                t.say(f"   → the EHR (MLLP stand-in at {ehr.address}): {field_of(message, 'MSH', 9)}, document "
                      f"{field_of(message, 'TXA', 12)} appended to {field_of(message, 'TXA', 13)} "
                      f"(TXA-2 {field_of(message, 'TXA', 2)}, TXA-17 {field_of(message, 'TXA', 17)}), answered AA")
                for line in obx_lines(message):
                    for wrapped in textwrap.wrap(line.replace("\\F\\", "|"), WIDTH - 8) or [""]:
                        t.say("   ┆ " + wrapped)

        try:
            t.say("vma demo: synthetic charts, a local Slack stand-in, the real web app on " + base)
            t.say(f"Slack Web API stand-in: {slack.api_url}   database: temporary SQLite")
            t.say(f"EHR stand-in (HL7 v2 over MLLP, for the write-back of answers): {ehr.address}   payer rule "
                  "pack: the bundled example (an invented payer, not a real policy)")
            for path in charts:
                chart = dated_relative_to_today(json.loads(path.read_text()))
                story = chart.get("demo", {}).get("story", "")
                t.heading(f"Chart {path.stem} (seen {chart['encounter']['date_of_service']}) is signed and sent "
                          "to POST /charts")
                t.note(story)
                response = sender.http.post(base + "/charts", content=json.dumps(chart).encode(),
                                            headers={"Content-Type": "application/json"})
                t.say(f"   HTTP {response.status_code} {response.text}")
                _wait(lambda: any(path.stem in (c.params.get("text") or "") for c in slack.calls
                                  if c.method == "chat.postMessage"), f"Slack messages for {path.stem}")
                t.flush()

            def dm(user):
                return _wait(lambda: slack.messages_in(slack.dm_channel(user)), f"a DM to {people[user]}")

            def message_for(user, chart_id):
                return _wait(lambda: [m for m in slack.messages_in(slack.dm_channel(user))
                                      if chart_id in (m.text or "")], f"the {chart_id} DM")[-1]

            def button(message, starts):
                element = find_element(message.blocks, lambda e: e.get("type") == "button"
                                       and e["text"]["text"].startswith(starts))
                if element is None:
                    raise DemoFailure(f"no button starting {starts!r}")
                return element

            def coder_post(chart_id):
                return _wait(lambda: [m for m in slack.messages_in(CODERS) if chart_id in (m.text or "")],
                             f"{chart_id} in the coders' channel")

            dm(lopez)
            m2003 = message_for(chen, "ENC-D2003")
            # The buttons as first sent; the message is updated in place after each answer.
            ankle_initial = button(m2003, "Sprain of unspecified ligament of left ankle, initial")
            knee_other = [e for e in _elements(m2003.blocks) if e["action_id"].startswith("vma_other_")][-1]
            t.heading(f"{people[lopez]} clicks an answer on a question meant for {people[chen]}")
            sender.click(lopez, m2003.channel, m2003.ts, ankle_initial)
            _wait(lambda: slack.ephemeral_for(lopez), "the refusal")
            t.flush()
            t.note("The query stays open; nothing is recorded as an answer.")

            _time_passes(t, app.state.service, settings)

            m2002 = message_for(lopez, "ENC-D2002")
            t.heading(f"{people[lopez]} answers her question: left knee")
            sender.click(lopez, m2002.channel, m2002.ts, button(m2002, "Pain in left knee"))
            coder_post("ENC-D2002")
            time.sleep(0.2)
            t.flush()
            ehr_flush("ENC-D2002")
            t.note("Every query of the chart is answered, so the question, the options offered, the answer, who "
                   "answered and when go back to the EHR as a document appended to the note (VMA_EHR_MLLP).")

            t.heading(f"{people[chen]} answers the ankle question: initial encounter")
            sender.click(chen, m2003.channel, m2003.ts, ankle_initial)
            _wait(lambda: (slack.message(m2003.channel, m2003.ts).updates or 0) >= 1, "the DM update")
            time.sleep(0.2)
            t.flush()

            t.heading(f"{people[chen]} answers the knee question with \"Other\" and writes the answer")
            sender.click(chen, m2003.channel, m2003.ts, knee_other)
            modal = _wait(lambda: [v for v in slack.views if v.get("callback_id") == "vma_other"], "the Other window")[-1]
            t.flush()
            sender.submit_view(chen, modal, {"vma_other_text": {"text": "Both knees, worse on the left; see addendum"}})
            coder_post("ENC-D2003")
            time.sleep(0.2)
            t.flush()
            ehr_flush("ENC-D2003")

            t.heading(f"{people[coder]} runs /checkchart ENC-D2005 (the chart on hold)")
            started = time.monotonic()
            reply = sender.slash(coder, "/checkchart", "ENC-D2005")
            elapsed = time.monotonic() - started
            t.say(f"   HTTP {reply.status_code} in {elapsed:.2f} s, answered in the response:")
            body = reply.json() if reply.headers.get("content-type", "").startswith("application/json") else {}
            t.say("\n".join(t.blocks_text(body.get("blocks")) or ["   │ " + t._mrkdwn(body.get("text", reply.text))]))
            t.flush()

            t.heading(f"{people[coder]} opens the vma App Home")
            sender.event({"type": "app_home_opened", "user": coder, "channel": "D0CODER01", "tab": "home"})
            _wait(lambda: slack.published.get(coder), "the App Home")
            t.flush()

            chief = next((p.slack_user_id for p in directory.people if p.role == "manager"), None)
            if chief:
                t.heading(f"{people.get(chief, chief)} (manager) opens the vma App Home: the query loop now")
                sender.event({"type": "app_home_opened", "user": chief, "channel": "D0CHIEF01", "tab": "home"})
                _wait(lambda: slack.published.get(chief), "the manager's App Home")
                t.flush()

            t.heading("Summary")
            posted = [m for m in slack.messages_in(CODERS)]
            t.note(f"{len(charts)} charts in; {len(posted)} posted to the coders' channel; "
                   f"{len(slack.messages_in(MANAGERS))} messages in the managers' channel (a chart on hold, "
                   "escalations, the digest); "
                   f"{len(slack.calls_to('chat.postMessage'))} messages and "
                   f"{len(slack.calls_to('chat.update'))} in-place updates sent.")
            t.note(f"{len(ehr.documents)} document(s) of answered queries written back to the EHR stand-in, "
                   f"{len(ehr.received)} message(s) sent to it.")
            t.note(f"{len(slack.violations)} Block Kit violations.")
            if slack.violations:
                raise DemoFailure(f"Block Kit violations: {slack.violations}")
        finally:
            sender.close()
            server.should_exit = True
            thread.join(timeout=10)
    return 0


def _time_passes(t: Transcript, service, settings) -> None:
    """The reminder, the escalation and the digest, on a clock moved forward (what the scheduler does)."""
    from vma.conversations import digest, reminders

    started = datetime.now(UTC)
    later = started + REMINDER_AFTER + timedelta(minutes=1)
    t.heading("4 hours later, nobody has answered: the reminder tick runs")
    t.note("The demo moves the clock forward. In a clinic the tick runs every few seconds and counts business "
           "hours only (VMA_BUSINESS_HOURS, VMA_HOLIDAYS); each provider gets at most one reminder a day.")
    report = reminders.tick(later, service.store, service.notifier, settings, service.directory)
    t.flush()
    t.note(f"{report.reminders_sent} reminder message(s) for {report.queries_reminded} open question(s).")

    later = started + ESCALATE_AFTER + timedelta(minutes=1)
    t.heading("2 days later, still unanswered: escalation to the supervisor and the managers")
    report = reminders.tick(later, service.store, service.notifier, settings, service.directory)
    t.flush()
    t.note(f"{report.escalations_sent} escalation(s) for {report.queries_escalated} question(s).")

    t.heading("That morning's query-aging digest in the managers' channel (VMA_DIGEST_AT)")
    built = digest.post_digest(settings, service.store, service.notifier, service.directory, now=later)
    t.flush()
    picture = digest.render_text_picture(built)
    if picture:
        t.say("   The picture, as text (providers by their oldest open query, the bottleneck on top):")
        t.say("\n".join("   │ " + line for line in picture.splitlines()))
    png = digest.render_png(built)
    if png:
        saved = Path(tempfile.gettempdir()) / "vma-demo-digest.png"
        saved.write_bytes(png)
        t.note(f"The picture posted with it is saved at {saved} to look at.")
