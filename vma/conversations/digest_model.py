"""What the query-aging digest holds: its age buckets and windows, and the figures per provider, per week
and per check that the text, the PNG and App Home show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


BUCKET_LABELS = ("under 24 h", "24-48 h", "48-72 h", "72 h or more")
BUCKET_EDGES = (timedelta(hours=24), timedelta(hours=48), timedelta(hours=72))
ANSWER_TARGET = timedelta(hours=72)
WEEK = timedelta(days=7)
OLDEST_SHOWN = 10
PROVIDERS_CHARTED = 15
# Query yield is read over four weeks of answers: one week is too few answers per check to prune on.
YIELD_WINDOW = timedelta(days=28)
BUCKET_COLOURS = ("#4caf50", "#ffc107", "#ff7043", "#c62828")


@dataclass
class ProviderLine:
    npi: str | None
    name: str
    open: int = 0
    not_delivered: int = 0
    buckets: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    answered: int = 0
    median_hours_to_answer: float | None = None
    answered_within_72h: float | None = None  # share 0..1; None when nothing was answered
    oldest_sent_at: datetime | None = None  # the provider's oldest open query (delivered)
    oldest_age_business_hours: float | None = None


@dataclass
class WeekStats:
    label: str
    start: datetime
    end: datetime
    sent: int = 0
    answered: int = 0
    median_hours_to_answer: float | None = None
    answered_within_72h: float | None = None
    open_at_end: int = 0
    response_rate: float | None = None  # share of the week's sent queries answered by the week's end
    posted: int = 0  # chart versions posted to the coders in the week
    clean: int = 0  # of those, the ones no version of which had a query or a correction

    @property
    def clean_claim_rate(self) -> float | None:
        return self.clean / self.posted if self.posted else None


@dataclass
class CheckYield:
    """Answered queries of one check over ``YIELD_WINDOW`` and how many changed a code."""

    check: str
    answered: int
    changed: int

    @property
    def share(self) -> float | None:
        return self.changed / self.answered if self.answered else None


@dataclass
class OldestOpen:
    query_id: int
    chart_id: str
    provider: str
    check: str
    code: str | None
    sent_at: datetime
    age_business_hours: float


@dataclass
class Digest:
    generated_at: datetime
    timezone: str
    business_hours: str
    open_total: int
    not_delivered_total: int
    buckets: list[int]
    providers: list[ProviderLine]
    oldest: list[OldestOpen]
    charts_on_hold: int
    total_hold_days: float
    this_week: WeekStats
    last_week: WeekStats
    yields: list[CheckYield] = field(default_factory=list)
    yield_days: int = YIELD_WINDOW.days
    bucket_labels: tuple[str, ...] = BUCKET_LABELS
