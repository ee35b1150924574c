"""Answers: a provider's click on a query, checked, stored once, and the chart moved on.

The stored answer, its DM update and (for the last answer) the EHR write-back are written in one
transaction; clearing follows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from vma.conversations import views
from vma.conversations.common import ServiceCore, json_safe
from vma.conversations.ports import QueryView
from vma.store.models import Query
from vma.store.status import QueryStatus

MAX_OTHER_TEXT = 2000


@dataclass
class AnswerResult:
    """What became of a click; the Slack adapter words a problem (templates/answer_notice.txt.j2).

    ``problem``: "missing" (no such query), "refused" (not the provider or a delegate), "withdrawn",
    "no_option" (``option_index`` is not one of the query's), "needs_text" ('Other' without text),
    "not_open" (another click changed it first)."""

    ok: bool
    refused: bool = False
    problem: str | None = None
    already_answered: bool = False
    query: QueryView | None = None
    option_index: int | None = None



class Answers(ServiceCore):
    # -- answers -------------------------------------------------------------------------------

    def may_answer(self, user_id: str | None, query) -> bool:
        if not user_id:
            return False
        return user_id == query.provider_user_id or self.directory.may_answer(user_id, query.provider_npi)

    def answer(self, query_id: int, user_id: str, option_index: int, other_text: str | None = None) -> AnswerResult:
        with self.store.session() as session:
            query = session.get(Query, query_id)
            if query is None:
                return AnswerResult(ok=False, problem="missing")
            if not self.may_answer(user_id, query):
                self._audit_alone("answer_refused", actor=user_id, chart_id=query.chart_id, query_id=query_id,
                                  detail={"option_index": option_index})
                return AnswerResult(ok=False, refused=True, problem="refused")
            if query.status == QueryStatus.ANSWERED:
                return AnswerResult(ok=True, already_answered=True, query=views.query_view(query))
            if query.status == QueryStatus.WITHDRAWN:
                return AnswerResult(ok=False, problem="withdrawn", query=views.query_view(query))
            choices = query.choices or []
            if not isinstance(option_index, int) or not 0 <= option_index < len(choices):
                return AnswerResult(ok=False, problem="no_option", option_index=option_index,
                                    query=views.query_view(query))
            choice = choices[option_index]
            text = json_safe((other_text or "").strip()[:MAX_OTHER_TEXT]) or None
            if choice.get("kind") == "other" and not text:
                return AnswerResult(ok=False, problem="needs_text", query=views.query_view(query))
            answer_json = {"label": choice.get("label"), "kind": choice.get("kind", "code"),
                           "codes": list(choice.get("codes") or []), "poa": choice.get("poa"),
                           "value": choice.get("value"), "other_text": text if choice.get("kind") == "other" else None}
            record_id = query.chart_record_id
        now = self._now()
        with self.store.session() as session, session.begin():
            won = session.execute(
                update(Query).where(Query.id == query_id, Query.status == QueryStatus.OPEN)
                .values(status=QueryStatus.ANSWERED, answered_at=now, answered_by=user_id, answer_index=option_index,
                        answer_json=answer_json, next_due_at=None)
            ).rowcount == 1
            if won:
                self._audit(session, "answer", actor=user_id, chart_id=query.chart_id, query_id=query_id,
                            detail={"option_index": option_index, **answer_json})
                # Where the DM is, read again under this update's lock: the DM may have been recorded since
                # the query was read above. One recorded after this commit queues its own update (flows).
                dm_channel, dm_ts = session.execute(
                    select(Query.dm_channel, Query.dm_ts).where(Query.id == query_id)).one()
                if dm_channel and dm_ts:
                    self._outbox(session, f"dm_update:{query_id}", "dm_update", dm_channel,
                                 {"query_id": query_id, "channel": dm_channel, "ts": dm_ts})
                # The last answer of the chart version queues its write-back to the EHR in this very
                # transaction: a crash after the commit cannot forget it.
                self._queue_writeback(session, record_id)
        with self.store.session() as session:
            fresh = session.get(Query, query_id)
            view = views.query_view(fresh)
        if not won:  # a second click raced the first; the first one counts
            answered = fresh.status == QueryStatus.ANSWERED
            return AnswerResult(ok=answered, already_answered=answered, problem=None if answered else "not_open",
                                query=view)
        self._dispatch_pending_notices()
        self._maybe_clear(record_id)
        self.dispatch_writebacks()
        return AnswerResult(ok=True, query=view)

