"""The bolt app: Slack's requests in, the domain service called, answers rendered.

Every listener acknowledges first (Slack wants the HTTP answer within 3 s) and
then does the work; with ``process_before_response=False`` bolt returns the
acknowledgement as soon as ``ack()`` is called and runs the rest in its thread
pool. Request signatures are verified by bolt (``SLACK_SIGNING_SECRET``;
bad or missing signature, or a timestamp more than five minutes off: 401).

Action IDs: ``vma_answer_<query>_<option>`` (buttons), ``vma_answer_select_<query>``
(the select for long option lists), ``vma_other_<query>_<option>`` (opens the
free-text modal, callback ``vma_other``); the value is always ``"<query>:<option>"``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from vma.integrations.slack.render import answer_notice, checkchart_text, cut, render_blocks, render_view

log = logging.getLogger(__name__)

ANSWER_ACTION = re.compile(r"^vma_answer_")
OTHER_ACTION = re.compile(r"^vma_other_")
# /checkchart answers in the HTTP response when the lookup is this quick, else right after.
CHECKCHART_INLINE_BUDGET = 2.0
# Lookups at once: measured on 2 cores with 50 /checkchart at a time, 4 beat 2, 6 and 8 (more only
# contend for the GIL and PostgreSQL's CPU) and stay well inside the database pool's 10 connections.
CHECKCHART_LOOKUP_THREADS = 4
# Bolt's listener threads (default 5) run the button, modal and Socket Mode listeners; a request's ack
# waits for one of them to be free, so there are enough for a burst of clicks.
LISTENER_THREADS = 24
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{1,30}")
# Row ids are 32-bit on PostgreSQL: a larger one in a forged value would fail the lookup, not find nothing.
MAX_ROW_ID = 2**31 - 1
LOOKUP_FAILED = "vma could not look that chart up just now; please try again in a minute."
# Directory roles whose App Home opens with the query loop's numbers (the digest, live).
MANAGER_ROLES = ("manager", "admin")


def parse_value(value: str | None) -> tuple[int, int] | None:
    """``"<query>:<option>"`` from a button or select; None for anything else."""
    match = re.fullmatch(r"([0-9]{1,12}):([0-9]{1,4})", (value or "").strip())
    if not match or int(match.group(1)) > MAX_ROW_ID:
        return None
    return int(match.group(1)), int(match.group(2))


def _action_value(action: dict) -> str | None:
    action = _dict(action)
    if action.get("selected_option"):
        return _text(_dict(action["selected_option"]).get("value"))
    return _text(action.get("value"))


def _dict(value) -> dict:
    """Slack's payloads are trusted for their signature, not their shape: a missing or odd part reads as empty."""
    return value if isinstance(value, dict) else {}


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _user_id(value) -> str | None:
    """A Slack user ID ("U..." or "W..."), or None: anything else cannot be anyone in the directory."""
    text = _text(value)
    return text if text and SLACK_USER_ID.fullmatch(text) else None


def _user_of(body: dict) -> str | None:
    return _user_id(_dict(_dict(body).get("user")).get("id"))


def _channel_of(body: dict) -> str | None:
    body = _dict(body)
    return _text(_dict(body.get("channel")).get("id")) or _text(_dict(body.get("container")).get("channel_id"))


def _input_value(view: dict, block_id: str, action_id: str) -> str | None:
    values = _dict(_dict(_dict(view).get("state")).get("values"))
    return _text(_dict(_dict(values.get(block_id)).get(action_id)).get("value"))


class CheckchartAccess:
    """Who may use /checkchart: people in the directory, or members of VMA_CHECKCHART_USERGROUP."""

    def __init__(self, service, settings, client: WebClient, ttl: float = 300.0):
        self.service = service
        self.settings = settings
        self.client = client
        self.ttl = ttl
        self._members: set[str] = set()
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def _group_members(self) -> set[str]:
        group = getattr(self.settings, "vma_checkchart_usergroup", None)
        if not group:
            return set()
        with self._lock:
            if time.monotonic() - self._loaded_at > self.ttl:
                try:
                    self._members = set(self.client.usergroups_users_list(usergroup=group).get("users") or [])
                except SlackApiError as exc:
                    log.warning("cannot read user group %s: %s", group, exc)
                self._loaded_at = time.monotonic()
            return self._members

    def allowed(self, user_id: str) -> bool:
        directory = self.service.directory
        return bool(directory and directory.is_member(user_id)) or user_id in self._group_members()


def build_app(service, settings, client: WebClient, socket_mode: bool = False) -> App:
    """The listeners. Over HTTP every request is verified with the signing secret; in Socket Mode
    requests arrive over the connection vma opened with its app token, and no secret is needed."""
    if not socket_mode and not settings.slack_signing_secret:
        raise ValueError("SLACK_SIGNING_SECRET is required: every request to /slack/events is verified with it "
                         "(or run with --socket-mode and SLACK_APP_TOKEN)")
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=True,
        token_verification_enabled=False,  # no auth.test at start-up: the app starts without Slack
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="bolt-listener"),
    )
    access = CheckchartAccess(service, settings, client)
    lookups = ThreadPoolExecutor(max_workers=CHECKCHART_LOOKUP_THREADS, thread_name_prefix="checkchart")

    def ephemeral(channel: str | None, user: str, text: str, blocks: list | None = None) -> None:
        if not channel:
            log.info("no channel for an ephemeral reply to %s: %s", user, text)
            return
        client.chat_postEphemeral(channel=channel, user=user, text=cut(text, 3000), blocks=blocks)

    def refresh_home(user: str) -> None:
        try:
            context = {"home": service.home(user)}
            if service.directory.role_of(user) in MANAGER_ROLES:
                # The query loop now, from the same build as the daily digest (one definition of each number).
                from vma.conversations.digest import for_app_home

                context["manager"], context["picture"] = for_app_home(settings, service.store, service.directory,
                                                                      now=service.clock())
            client.views_publish(user_id=user, view=render_view("home.json.j2", **context))
        except Exception:  # App Home is a convenience; the answer itself is stored
            log.exception("App Home refresh for %s failed", user)

    def after_answer(body: dict, user: str, result) -> None:
        if result.refused or result.already_answered or not result.ok:
            ephemeral(_channel_of(body), user, answer_notice(result))
        if _dict(body.get("container")).get("type") == "view":
            refresh_home(user)

    @app.action(ANSWER_ACTION)
    def on_answer(ack, body, action):
        ack()
        user = _user_of(body)
        if user is None:
            return
        parsed = parse_value(_action_value(action))
        if parsed is None:
            ephemeral(_channel_of(body), user, "That button is not one of vma's answers.")
            return
        result = service.answer(parsed[0], user, parsed[1])
        after_answer(body, user, result)

    @app.action(OTHER_ACTION)
    def on_other(ack, body, action):
        ack()
        user = _user_of(body)
        parsed = parse_value(_action_value(action))
        if parsed is None or user is None:
            return
        # Asking the service without text refuses a stranger (audited) and tells an open query apart
        # from an answered or withdrawn one, before any modal opens.
        probe = service.answer(parsed[0], user, parsed[1], other_text=None)
        if probe.refused or probe.query is None or probe.query.status != "open":
            after_answer(body, user, probe)
            return
        view = render_view("other_modal.json.j2", query_id=parsed[0], option_index=parsed[1],
                           chart_id=probe.query.chart_id, question=probe.query.question)
        view["private_metadata"] = f"{parsed[0]}:{parsed[1]}:{_channel_of(body) or ''}"
        trigger = _text(body.get("trigger_id"))
        if trigger is None:
            return
        client.views_open(trigger_id=trigger, view=view)

    @app.view("vma_other")
    def on_other_submitted(ack, body, view):
        text = _input_value(view, "vma_other_text", "text")
        if not (text or "").strip():
            ack(response_action="errors", errors={"vma_other_text": "Write a short answer, or close and choose another option."})
            return
        ack()
        user = _user_of(body)
        query_part, option_part, channel = ((_text(_dict(view).get("private_metadata")) or "") + "::").split(":", 2)
        parsed = parse_value(f"{query_part}:{option_part}")
        if parsed is None or user is None:
            return
        channel = channel.rstrip(":")
        result = service.answer(parsed[0], user, parsed[1], other_text=text)
        after_answer({"channel": {"id": channel or None}, "container": {}}, user, result)

    def on_checkchart(ack, command, respond):
        user = _user_id(command.get("user_id")) or ""
        chart_id = (_text(command.get("text")) or "").strip().split(" ")[0][:200]
        if not chart_id:
            if not user or not access.allowed(user):
                ack(response_type="ephemeral", text="/checkchart is for the people listed in vma's directory.")
                return
            ack()
            client.views_open(trigger_id=command.get("trigger_id"), view=render_view("checkchart_modal.json.j2"))
            return
        if not user:
            ack(response_type="ephemeral", text=f"Chart {cut(chart_id, 60)} is not available to you.")
            return
        future = lookups.submit(_checkchart_reply, service, chart_id, user)
        try:
            text, blocks = future.result(timeout=CHECKCHART_INLINE_BUDGET)
        except FutureTimeout:
            ack(response_type="ephemeral", text=f"Looking up chart {cut(chart_id, 60)}…")

            def answer_late(done) -> None:
                try:
                    late_text, late_blocks = done.result()
                except Exception:
                    log.exception("/checkchart lookup for %s failed", user)
                    late_text, late_blocks = LOOKUP_FAILED, None
                try:
                    respond(text=late_text, blocks=late_blocks, response_type="ephemeral", replace_original=False)
                except Exception:
                    log.exception("/checkchart late answer to %s failed", user)

            # The listener returns now; the answer follows through response_url when the lookup ends.
            future.add_done_callback(answer_late)
            return
        except Exception:  # the database is down, say: a polite answer, not Slack's "dispatch_failed"
            log.exception("/checkchart lookup for %s failed", user)
            text, blocks = LOOKUP_FAILED, None
        ack(response_type="ephemeral", text=text, blocks=blocks)

    app.command("/checkchart")(on_checkchart)
    # "/checkchart <chart>" over HTTP: the listener runs in the request's own thread and its ack is the
    # HTTP answer, without bolt's listener pool and its 10 ms polling for the ack (issue 7: p99 under
    # load). Only this listener is safe there: it never does slow work before acking.
    inline = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=True,
        token_verification_enabled=False,
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )
    inline.command("/checkchart")(on_checkchart)
    app.vma_checkchart_app = inline

    @app.view("vma_checkchart")
    def on_checkchart_submitted(ack, body, view):
        user = _user_of(body)
        if user is None or not access.allowed(user):
            ack(response_action="errors", errors={"vma_note": "/checkchart is for the people listed in vma's directory."})
            return
        note = _input_value(view, "vma_note", "note") or ""
        codes = _input_value(view, "vma_codes", "codes") or ""
        report = service.check_adhoc(note, codes)
        ack(response_action="update", view=render_view("checkchart_result.json.j2", report=report, codes=[]))

    @app.event("app_home_opened")
    def on_home_opened(event):
        user = _user_id(_dict(event).get("user"))
        if user and _dict(event).get("tab", "home") == "home":
            refresh_home(user)

    return app


def _checkchart_reply(service, chart_id: str, user: str) -> tuple[str, list | None]:
    result = service.checkchart(chart_id, user)
    text = checkchart_text(result)
    if not result.allowed or result.summary is None:
        return text, None
    sections = _chunks(text, 2900)
    blocks = render_blocks("checkchart_report.json.j2", summary=result.summary, report=result.report,
                           sections=sections)
    return cut(text, 3000), blocks


def _chunks(text: str, size: int) -> list[str]:
    """Splits at line ends into pieces a section block takes."""
    pieces, current = [], ""
    for line in text.splitlines():
        line = cut(line, size)
        if current and len(current) + 1 + len(line) > size:
            pieces.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        pieces.append(current)
    return pieces[:40]
