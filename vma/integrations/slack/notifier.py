"""The Slack side of the ``Notifier`` port: renders the views and calls the Web API.

Every call goes to ``SLACK_API_URL`` through one ``WebClient`` whose retry
handlers cover rate limits (429, honouring Retry-After), dropped connections
and Slack's 5xx answers. What cannot be delivered raises, so the caller (the
service or the reminder tick) keeps the work pending and tries again; nothing
here swallows an error.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler, RetryIntervalCalculator, RetryState, HttpRequest, HttpResponse
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

from vma.conversations.lint import lint_query
from vma.conversations.ports import (
    ChartSummary,
    ClearedChart,
    QueryView,
    ReminderItem,
    SentMessage,
)
from vma.integrations.slack.render import fallback_text, mention, render_blocks
from vma.logging_setup import log_event

log = logging.getLogger(__name__)

# Queries shown in one DM; with header and footer this stays under 50 blocks.
MAX_QUERIES_PER_DM = 15
OUTBOX_EVENT = "vma_outbox"
# How far before the outbox row's creation to look for an earlier copy (Slack's clock is not ours).
HISTORY_MARGIN = timedelta(minutes=5)
HISTORY_PAGES = 5


class ServerErrorRetryHandler(RetryHandler):
    """Retries Slack's transient 5xx answers (500, 502, 503, 504) with back-off."""

    def __init__(self, max_retry_count: int = 2,
                 interval_calculator: RetryIntervalCalculator = BackoffRetryIntervalCalculator(backoff_factor=0.5)):
        super().__init__(max_retry_count=max_retry_count, interval_calculator=interval_calculator)

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        return response is not None and response.status_code in (500, 502, 503, 504)


def retry_handlers(max_retries: int = 3, backoff: float = 0.5) -> list[RetryHandler]:
    interval = BackoffRetryIntervalCalculator(backoff_factor=backoff)
    return [
        RateLimitErrorRetryHandler(max_retry_count=max_retries),  # waits what Retry-After says
        ConnectionErrorRetryHandler(max_retry_count=max_retries, interval_calculator=interval),
        ServerErrorRetryHandler(max_retry_count=max_retries, interval_calculator=interval),
    ]


# Answers that are an expected "no", not a failure: a provider not in Slack is a chart on hold (logged there).
EXPECTED_ERRORS = {("users.lookupByEmail", "users_not_found"), ("users.lookupByEmail", "user_not_found")}


class LoggedWebClient(WebClient):
    """A ``WebClient`` that writes one ``slack_error`` log line for each failed Web API call.

    Every call of the SDK's methods passes through ``api_call``, after the retry handlers have
    had their tries; the line names the method and Slack's error code, never the message text.
    """

    def api_call(self, api_method: str, **kwargs):
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            response = exc.response
            error = response.get("error") if response is not None else None
            if (api_method, error) not in EXPECTED_ERRORS:
                log_event("slack_error", logging.WARNING, method=api_method, error=error,
                          status=getattr(response, "status_code", None))
            raise
        except Exception as exc:  # network: connection refused, timeout, TLS
            log_event("slack_error", logging.WARNING, method=api_method, error=type(exc).__name__)
            raise


def web_client(settings, token: str | None = None, timeout: int = 10, backoff: float = 0.5) -> WebClient:
    return LoggedWebClient(token=token or settings.slack_bot_token, base_url=settings.slack_api_url,
                           timeout=timeout, retry_handlers=retry_handlers(backoff=backoff))


def _is_user(target: str) -> bool:
    return target[:1] in ("U", "W")


class SlackNotifier:
    """Implements ``vma.conversations.ports.Notifier`` over a ``slack_sdk.WebClient``."""

    def __init__(self, client: WebClient, settings=None):
        self.client = client
        self.settings = settings

    # -- helpers -------------------------------------------------------------------------------

    def _open_dm(self, user_id: str) -> str:
        response = self.client.conversations_open(users=user_id)
        return response["channel"]["id"]

    def _post(self, channel: str, blocks: list[dict], text: str | None = None, idem_key: str | None = None
              ) -> SentMessage:
        # The outbox key rides along as message metadata: find_sent recognises the message by it.
        metadata = {"event_type": OUTBOX_EVENT, "event_payload": {"idem_key": idem_key}} if idem_key else None
        response = self.client.chat_postMessage(channel=channel, blocks=blocks, text=text or fallback_text(blocks),
                                                unfurl_links=False, unfurl_media=False, metadata=metadata)
        return SentMessage(channel=response["channel"], ts=response["ts"])

    def find_sent(self, channel_or_user: str, idem_key: str, since: datetime) -> SentMessage | None:
        """A message vma posted with this outbox key, if Slack has one (needs the *:history scopes).

        Asked only before a second attempt, when the first may have reached Slack unseen.
        """
        channel = self._open_dm(channel_or_user) if _is_user(channel_or_user) else channel_or_user
        oldest = f"{since.timestamp() - HISTORY_MARGIN.total_seconds():.6f}"
        cursor = None
        for _ in range(HISTORY_PAGES):
            response = self.client.conversations_history(channel=channel, oldest=oldest, limit=200, cursor=cursor,
                                                          include_all_metadata=True)
            for message in response.get("messages") or []:
                meta = message.get("metadata") or {}
                if meta.get("event_type") == OUTBOX_EVENT and (meta.get("event_payload") or {}).get("idem_key") == idem_key:
                    return SentMessage(channel=channel, ts=message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor:
                break
        return None

    def _lint(self, queries: list[QueryView]) -> None:
        for q in queries:
            problems = lint_query(q.question, [o.label for o in q.options], q.check)
            if problems:
                # A query that fails the lint is a bug in a check's wording; it still goes out
                # (holding the chart would cost more), but loudly.
                log.error("query %s (%s) fails the query lint: %s", q.query_id, q.check, "; ".join(problems))

    def query_blocks(self, summary: ChartSummary, queries: list[QueryView], withdrawn_reason: str | None = None):
        return render_blocks("query_dm.json.j2", summary=summary, queries=queries,
                             max_queries=MAX_QUERIES_PER_DM, withdrawn_reason=withdrawn_reason)

    # -- Notifier ------------------------------------------------------------------------------

    def mention(self, user_id: str) -> str:
        return mention(user_id)

    def resolve_user(self, email: str) -> str | None:
        if not email:
            return None
        try:
            response = self.client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            if exc.response.get("error") in ("users_not_found", "user_not_found"):
                return None
            raise
        user = response.get("user") or {}
        if user.get("deleted"):
            return None
        return user.get("id")

    def send_query_dm(self, user_id: str, summary: ChartSummary, queries: list[QueryView],
                      idem_key: str | None = None) -> SentMessage:
        self._lint(queries)
        blocks = self.query_blocks(summary, queries)
        channel = self._open_dm(user_id)
        text = f"Coding question on chart {summary.chart_id}: {len(queries)} question(s) for you"
        return self._post(channel, blocks, text, idem_key)

    def update_query_dm(self, message: SentMessage, summary: ChartSummary, queries: list[QueryView]) -> None:
        blocks = self.query_blocks(summary, queries)
        open_count = sum(1 for q in queries if q.status == "open")
        text = (f"Chart {summary.chart_id}: {open_count} question(s) still open" if open_count
                else f"Chart {summary.chart_id}: all questions answered, thank you")
        self.client.chat_update(channel=message.channel, ts=message.ts, blocks=blocks, text=text)

    def post_cleared(self, channel: str, cleared: ClearedChart, idem_key: str | None = None) -> SentMessage:
        blocks = render_blocks("cleared.json.j2", cleared=cleared)
        return self._post(channel, blocks, f"Chart {cleared.summary.chart_id} is ready for coding", idem_key)

    def post_unroutable(self, channel: str, summary: ChartSummary, queries: list[QueryView],
                        reason: str, idem_key: str | None = None) -> SentMessage:
        blocks = render_blocks("unroutable.json.j2", summary=summary, queries=queries, reason=reason)
        return self._post(channel, blocks, f"Query for chart {summary.chart_id} could not be delivered", idem_key)

    def post_check_failed(self, channel: str, chart_id: str, version: int, checks: list[str],
                          idem_key: str | None = None) -> SentMessage:
        """A chart held incomplete because a check raised: which check, on which chart (IDs only)."""
        blocks = render_blocks("check_failed.json.j2", chart_id=chart_id, version=version, checks=checks)
        return self._post(channel, blocks, f"Check {', '.join(checks)} failed on chart {chart_id}: the chart is held",
                          idem_key)

    def post_ehr_held(self, channel: str, chart_id: str, version: int, document_id: str, target: str,
                      outcome: str, idem_key: str | None = None) -> SentMessage:
        """The EHR refused a write-back (IDs and the ACK code or HTTP status only)."""
        blocks = render_blocks("ehr_held.json.j2", chart_id=chart_id, version=version, document_id=document_id,
                               target=target, outcome=outcome)
        return self._post(channel, blocks, f"Write-back to the EHR held for chart {chart_id}", idem_key)

    def send_reminder(self, user_id: str, items: list[ReminderItem]) -> SentMessage:
        blocks = render_blocks("reminder.json.j2", items=items)
        channel = self._open_dm(user_id)
        return self._post(channel, blocks, f"{len(items)} coding question(s) are waiting for your answer")

    def send_escalation(self, target: str, provider_name: str | None, items: list[ReminderItem]) -> SentMessage:
        blocks = render_blocks("escalation.json.j2", items=items, provider_name=provider_name)
        channel = self._open_dm(target) if _is_user(target) else target
        return self._post(channel, blocks, f"Unanswered coding queries: {provider_name or 'unknown provider'}")

    def send_withdrawn(self, message: SentMessage, summary: ChartSummary, queries: list[QueryView],
                       reason: str) -> None:
        blocks = self.query_blocks(summary, queries, withdrawn_reason=reason)
        self.client.chat_update(channel=message.channel, ts=message.ts, blocks=blocks,
                                text=f"Chart {summary.chart_id}: question withdrawn ({reason})")

    def post_digest(self, channel: str, text: str, png: bytes | None) -> None:
        # A code block keeps the digest's columns aligned in Slack's proportional font.
        self.client.chat_postMessage(channel=channel, text=f"```\n{text.rstrip()}\n```", mrkdwn=True)
        if png:
            try:
                self.client.files_upload_v2(channel=channel, content=png, filename="query-aging.png",
                                            title="Query aging", initial_comment="Query aging, week on week")
            except Exception as exc:
                # The text is the digest and it is posted; raising now would post it again on the next run.
                log.warning("digest chart upload to %s failed, text posted alone: %s", channel, exc)


def notifier_from_settings(settings, backoff: float = 0.5) -> SlackNotifier:
    return SlackNotifier(web_client(settings, backoff=backoff), settings)
