"""The query-aging digest: how long provider queries wait, per provider, week on week.

Every number is one SQL aggregate over the ``query`` table (a handful of
statements in all), so the build time does not grow with the number of
answered queries kept for the record. Age in business time cannot be computed
row by row in SQL, so the four age cut-offs are computed once in Python with
the business calendar and the database only compares ``sent_at`` with them,
which is exact (see ``BusinessCalendar.subtract_business``).

Every number is defined once, in the README section "The query-aging
digest"; this module computes exactly those definitions (the comments below
say how, not what). Withdrawn queries count only in "open at week end".
The manager's App Home shows the same ``Digest`` object, built by the same
``build_digest``, so the two can never disagree.
"""

from __future__ import annotations

import logging
import statistics
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Text, and_, case, cast, delete, func, literal, or_, select, text, tuple_, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from vma.clock import as_utc
from vma.conversations.businesstime import BusinessCalendar
from vma.conversations.digest_model import (ANSWER_TARGET, BUCKET_EDGES, BUCKET_LABELS, OLDEST_SHOWN, WEEK,
                                            YIELD_WINDOW, CheckYield, Digest, OldestOpen, ProviderLine, WeekStats)
from vma.conversations.digest_render import (_hours, _share, charted_providers, render_png, render_text,
                                             render_text_picture)
from vma.store.models import QUERY_STATUSES, ChartRecord, FindingRecord, OutboundMessage, Query

# What callers import from here; the digest's figures and its rendering live beside this module.
__all__ = ["BUCKET_LABELS", "CheckYield", "Digest", "OldestOpen", "ProviderLine", "WeekStats", "_hours", "_share",
           "build_digest", "build_from_settings", "charted_providers", "for_app_home", "post_digest",
           "post_digest_once", "render_png", "render_text", "render_text_picture"]

log = logging.getLogger(__name__)


def _bucket_cutoffs(calendar: BusinessCalendar, now: datetime) -> list[datetime]:
    """``sent_at <= cutoffs[i]`` exactly when a query is at least ``BUCKET_EDGES[i]`` old in business time."""
    return [calendar.subtract_business(now, edge) for edge in BUCKET_EDGES]


def _hours_between(later, earlier, dialect: str):
    """SQL expression: calendar hours from ``earlier`` to ``later``."""
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def build_digest(session: Session, now: datetime, calendar: BusinessCalendar, *,
                 business_hours: str, directory=None) -> Digest:
    """Compute every digest number at ``now`` (timezone-aware)."""
    now = now.astimezone(UTC)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # These statements run in tens of milliseconds; compiling them with JIT costs more than it saves.
        session.execute(text("SET LOCAL jit = off"))
    c24, c48, c72 = _bucket_cutoffs(calendar, now)
    this_start, last_start = now - WEEK, now - 2 * WEEK

    providers: dict[str | None, ProviderLine] = {}

    def line(npi: str | None) -> ProviderLine:
        if npi not in providers:
            providers[npi] = ProviderLine(npi=npi, name="")  # named once every line is known (step 6)
        return providers[npi]

    # 1. Open queries by provider and age bucket: one GROUP BY over the open rows.
    bucket = case(
        (Query.sent_at.is_(None), literal(-1)),
        (Query.sent_at > c24, literal(0)),
        (Query.sent_at > c48, literal(1)),
        (Query.sent_at > c72, literal(2)),
        else_=literal(3),
    ).label("bucket")
    rows = session.execute(
        select(Query.provider_npi, bucket, func.count(), func.min(Query.sent_at)).where(Query.status == "open")
        .group_by(Query.provider_npi, bucket)
    ).all()
    totals = [0, 0, 0, 0]
    not_delivered_total = 0
    for npi, index, count, oldest in rows:
        entry = line(npi)
        if index < 0:
            entry.not_delivered += count
            not_delivered_total += count
        else:
            entry.buckets[index] += count
            entry.open += count
            totals[index] += count
            oldest = as_utc(oldest)
            if entry.oldest_sent_at is None or oldest < entry.oldest_sent_at:
                entry.oldest_sent_at = oldest

    # 2. Answers of this week and last week, per provider and per week.
    hours = _hours_between(Query.answered_at, Query.sent_at, dialect)
    week_of_answer = case((Query.answered_at > this_start, literal(0)), else_=literal(1)).label("week")
    answered_window = and_(Query.status == "answered", Query.answered_at > last_start,
                           Query.answered_at <= now, Query.sent_at.is_not(None))
    weeks = [WeekStats("this week", this_start, now), WeekStats("last week", last_start, this_start)]
    medians_by_provider: dict[str | None, float | None] = {}
    if dialect == "postgresql":
        # One pass over the two weeks' answers: GROUPING SETS gives the per-provider lines of each
        # week and the week totals (whose median is not derivable from the providers' medians).
        answers = select(Query.provider_npi.label("npi"), week_of_answer, hours.label("hours")) \
            .where(answered_window).subquery()
        median = func.percentile_cont(0.5).within_group(answers.c.hours)
        within = func.sum(case((answers.c.hours <= ANSWER_TARGET.total_seconds() / 3600, 1), else_=0))
        for npi, week, week_total, count, in_time, med in session.execute(
            select(answers.c.npi, answers.c.week, func.grouping(answers.c.npi), func.count(), within, median)
            .group_by(func.grouping_sets(tuple_(answers.c.npi, answers.c.week), answers.c.week))
        ):
            if week_total:
                weeks[week].answered = count
                weeks[week].answered_within_72h = in_time / count
                weeks[week].median_hours_to_answer = float(med)
            elif week == 0:
                entry = line(npi)
                entry.answered, entry.answered_within_72h = count, in_time / count
                medians_by_provider[npi] = float(med)
    else:
        # No percentile aggregate in SQLite: fetch the two weeks' answer times (a small slice).
        per_provider: dict[str | None, list[float]] = {}
        per_week: list[list[float]] = [[], []]
        for npi, week, value in session.execute(select(Query.provider_npi, week_of_answer, hours).where(answered_window)):
            per_week[week].append(float(value))
            if week == 0:
                per_provider.setdefault(npi, []).append(float(value))
        target = ANSWER_TARGET.total_seconds() / 3600
        for npi, values in per_provider.items():
            entry = line(npi)
            entry.answered = len(values)
            entry.answered_within_72h = sum(v <= target for v in values) / len(values)
            medians_by_provider[npi] = statistics.median(values)
        for week, values in enumerate(per_week):
            weeks[week].answered = len(values)
            if values:
                weeks[week].answered_within_72h = sum(v <= target for v in values) / len(values)
                weeks[week].median_hours_to_answer = statistics.median(values)
    for npi, value in medians_by_provider.items():
        providers[npi].median_hours_to_answer = value

    # 3. Sent per week, the response rate, and open at each week's end. Every statement leads with
    # ``status`` so the (status, sent_at) and (status, answered_at) indexes bound it; the status list is
    # all of them. A week's end is now for this week and this_start for last week.
    sent_week = case((Query.sent_at > this_start, literal(0)), else_=literal(1)).label("week")
    in_this_week = Query.sent_at > this_start
    answered_by_end = and_(Query.status == "answered", or_(
        and_(in_this_week, Query.answered_at <= now), and_(~in_this_week, Query.answered_at <= this_start)))
    withdrawn_by_end = and_(Query.status == "withdrawn", or_(
        and_(in_this_week, Query.withdrawn_at <= now), and_(~in_this_week, Query.withdrawn_at <= this_start)))
    for week, count, answered_count, withdrawn_count in session.execute(
        select(sent_week, func.count(), func.sum(case((answered_by_end, 1), else_=0)),
               func.sum(case((withdrawn_by_end, 1), else_=0)))
        .where(Query.status.in_(QUERY_STATUSES), Query.sent_at > last_start, Query.sent_at <= now)
        .group_by(sent_week)
    ):
        weeks[week].sent = count
        asked = count - int(withdrawn_count or 0)
        weeks[week].response_rate = int(answered_count or 0) / asked if asked else None
    weeks[0].open_at_end = sum(totals)
    # Open at last week's end: sent by then and still open, or answered or withdrawn after it.
    still_open = select(func.count()).where(Query.status == "open", Query.sent_at <= this_start)
    answered_later = select(func.count()).where(Query.status == "answered", Query.answered_at > this_start,
                                                Query.sent_at <= this_start)
    withdrawn_later = select(func.count()).where(Query.status == "withdrawn", Query.sent_at <= this_start,
                                                 Query.withdrawn_at > this_start)
    weeks[1].open_at_end = sum(session.execute(
        union_all(still_open, answered_later, withdrawn_later)).scalars())

    # 3b. Clean claim rate: the week's chart versions posted to the coders, and those that got there with
    # no query and no correction on any version of the chart (info findings hold nothing, so they count
    # as clean). The (posted_at) index bounds the scan to the two weeks' posts.
    _clean_claims(session, weeks, now, this_start, last_start)

    # 4. The oldest open queries.
    oldest_rows = session.execute(
        select(Query.id, Query.chart_id, Query.provider_npi, Query.check, Query.code, Query.sent_at)
        .where(Query.status == "open", Query.sent_at.is_not(None))
        .order_by(Query.sent_at, Query.id).limit(OLDEST_SHOWN)
    ).all()

    # 5. Charts on hold and their hold time since the first DM of any of their queries. A correlated
    # MIN per held chart walks the chart_record_id index for the few held charts only, instead of
    # joining them against the whole table. A chart whose queries were never delivered counts as
    # held but adds no hold time.
    held = select(Query.chart_record_id).where(Query.status == "open").distinct().subquery()
    sibling = aliased(Query)
    first_sent = select(func.min(sibling.sent_at)).where(sibling.chart_record_id == held.c.chart_record_id) \
        .scalar_subquery()
    charts_on_hold, hold_hours = session.execute(
        select(func.count(), func.coalesce(func.sum(_hours_between(literal(now), first_sent, dialect)), 0.0))
        .select_from(held)
    ).one()

    # 6. Names: the directory's, else the name on the provider's latest chart, else the NPI.
    names = _provider_names(session, set(providers) | {row[2] for row in oldest_rows}, directory)
    for npi, entry in providers.items():
        entry.name = names[npi]
        if entry.oldest_sent_at is not None:
            entry.oldest_age_business_hours = calendar.business_elapsed(entry.oldest_sent_at, now).total_seconds() / 3600
    oldest = [
        OldestOpen(query_id=qid, chart_id=chart_id, provider=names[npi], check=check, code=code,
                   sent_at=as_utc(sent_at),
                   age_business_hours=calendar.business_elapsed(as_utc(sent_at), now).total_seconds() / 3600)
        for qid, chart_id, npi, check, code, sent_at in oldest_rows
    ]

    # The bottleneck on top: providers by their oldest open query, then the ones with none open.
    never = datetime.max.replace(tzinfo=UTC)
    ordered = sorted(providers.values(), key=lambda p: (p.oldest_sent_at or never, -(p.open + p.not_delivered),
                                                        p.name))
    return Digest(
        generated_at=now, timezone=calendar.zone.key, business_hours=business_hours,
        open_total=sum(totals), not_delivered_total=not_delivered_total, buckets=totals,
        providers=ordered, oldest=oldest, charts_on_hold=charts_on_hold,
        total_hold_days=float(hold_hours) / 24.0, this_week=weeks[0], last_week=weeks[1],
        yields=_query_yield(session, now, dialect),
    )


def _clean_claims(session: Session, weeks: list[WeekStats], now: datetime, this_start: datetime,
                  last_start: datetime) -> None:
    version = aliased(ChartRecord)
    held_back = select(FindingRecord.id).join(version, version.id == FindingRecord.chart_record_id).where(
        version.chart_id == ChartRecord.chart_id, version.id <= ChartRecord.id,
        FindingRecord.action.in_(("query", "correct"))).exists()
    week_of_post = case((ChartRecord.posted_at > this_start, literal(0)), else_=literal(1)).label("week")
    for week, posted, clean in session.execute(
        select(week_of_post, func.count(), func.sum(case((held_back, 0), else_=1)))
        .where(ChartRecord.posted_at > last_start, ChartRecord.posted_at <= now)
        .group_by(week_of_post)
    ):
        weeks[week].posted, weeks[week].clean = int(posted), int(clean or 0)


def _provider_names(session: Session, npis: set, directory) -> dict:
    """One name per NPI, looked up once: the directory, the latest chart's ``provider.name``, the NPI."""
    names: dict = {}
    unknown = []
    for npi in npis:
        person = directory.by_npi(npi) if (directory is not None and npi) else None
        if person is not None and person.name:
            names[npi] = person.name
        elif npi:
            unknown.append(npi)
        else:
            names[npi] = "(no NPI)"
    if unknown:
        latest = select(func.max(ChartRecord.id)).where(ChartRecord.provider_npi.in_(unknown)) \
            .group_by(ChartRecord.provider_npi)
        for npi, chart in session.execute(
            select(ChartRecord.provider_npi, ChartRecord.chart_json).where(ChartRecord.id.in_(latest))
        ):
            provider = (chart or {}).get("provider") if isinstance(chart, dict) else None
            name = provider.get("name") if isinstance(provider, dict) else None
            if isinstance(name, str) and name.strip():
                names[npi] = name.strip()[:80]
    for npi in unknown:
        names.setdefault(npi, f"NPI {npi}")
    return names


def _query_yield(session: Session, now: datetime, dialect: str) -> list[CheckYield]:
    """Per check, the answers of the last ``YIELD_WINDOW`` and those that changed a code.

    An answer changed a code when the provider chose a code answer whose codes differ from the
    code queried (``["M25.562"]`` for ``M25.569``); "Other", "Clinically undetermined", a POA
    indicator or a confirmation of the code as billed change none. An answer carried over from an
    earlier version of the chart is not counted again.
    """
    kind = Query.answer_json["kind"].as_string()
    carried = Query.answer_json["carried_from_query"].as_string()
    if dialect == "postgresql":
        codes = cast(Query.answer_json.op("->")("codes"), Text)
        queried = cast(func.jsonb_build_array(Query.code), Text)
    else:
        codes, queried = func.json_extract(Query.answer_json, "$.codes"), func.json_array(Query.code)
    changed = and_(kind == "code", codes.is_not(None), codes != "[]", codes != queried)
    rows = session.execute(
        select(Query.check, func.count(), func.sum(case((changed, 1), else_=0)))
        .where(Query.status == "answered", Query.answered_at > now - YIELD_WINDOW, Query.answered_at <= now,
               carried.is_(None))
        .group_by(Query.check)
    ).all()
    yields = [CheckYield(check=check, answered=count, changed=int(changed_count or 0))
              for check, count, changed_count in rows]
    # The questions most worth pruning first: lowest yield, then the most asked.
    return sorted(yields, key=lambda y: (y.share if y.share is not None else 1.0, -y.answered, y.check))


# -- the command -------------------------------------------------------------------------------


def build_from_settings(settings, store, now: datetime | None = None, directory=None) -> Digest:
    calendar = BusinessCalendar.from_settings(settings)
    with store.session() as session:
        return build_digest(session, now or datetime.now(UTC), calendar,
                            business_hours=settings.vma_business_hours, directory=directory)


def for_app_home(settings, store, directory=None, now: datetime | None = None) -> tuple[Digest, str]:
    """The manager's App Home: this digest, built now, and its picture as text bars."""
    digest = build_from_settings(settings, store, now=now, directory=directory)
    return digest, render_text_picture(digest)


def post_digest(settings, store, notifier, directory=None, now: datetime | None = None) -> Digest:
    """Build the digest and post it (text plus PNG) to ``VMA_MANAGER_CHANNEL``."""
    if not settings.vma_manager_channel:
        raise ValueError("VMA_MANAGER_CHANNEL is not set: nowhere to post the digest")
    digest = build_from_settings(settings, store, now=now, directory=directory)
    notifier.post_digest(settings.vma_manager_channel, render_text(digest), render_png(digest))
    return digest


def post_digest_once(settings, store, notifier, directory=None, now: datetime | None = None) -> bool:
    """The scheduled daily post: the outbox row ``digest:<local date>`` makes it once per day across workers.

    Returns False when today's digest was already posted (or is being posted) elsewhere.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    day = now.astimezone(ZoneInfo(settings.vma_timezone)).date()
    key = f"digest:{day.isoformat()}"
    with store.session() as session, session.begin():
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        claimed = session.execute(
            insert(OutboundMessage).values(idem_key=key, kind="digest", channel=settings.vma_manager_channel,
                                           state="pending", attempts=1, created_at=now)
            .on_conflict_do_nothing(index_elements=["idem_key"]).returning(OutboundMessage.id)
        ).first() is not None
    if not claimed:
        return False
    try:
        post_digest(settings, store, notifier, directory=directory, now=now)
    except Exception:
        with store.session() as session, session.begin():
            # Forget the claim so the next scheduled run (or `vma digest`) can post it.
            session.execute(delete(OutboundMessage).where(OutboundMessage.idem_key == key))
        raise
    with store.session() as session, session.begin():
        session.execute(update(OutboundMessage).where(OutboundMessage.idem_key == key)
                        .values(state="sent", sent_at=datetime.now(UTC)))
    return True
