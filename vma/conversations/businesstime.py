"""Business-time arithmetic: the reminder clock only runs inside business hours.

``VMA_BUSINESS_HOURS`` (contract section 3) is a comma- or semicolon-separated
list of ``DAYS HH:MM-HH:MM`` windows in ``VMA_TIMEZONE``::

    Mon-Fri 08:00-18:00
    Mon-Thu 07:00-17:00, Fri 07:00-12:00
    Mon-Fri 08:00-12:00, Mon-Fri 13:00-17:00     (a lunch break)
    Mon/Wed/Fri 09:00-13:00; Sat 09:00-12:00
    always                                       (the clock never stops)

``DAYS`` is a day name, a range (``Mon-Fri``; wrapping ranges such as
``Fri-Mon`` too) or a ``/``-separated list of those, since ``,`` separates
windows. ``24:00`` ends a window at midnight; overlapping windows are merged.

Holidays (``VMA_HOLIDAYS``): the days a clinic is closed have no window at
all, so the reminder clock, the escalation clock and the digest's ages all
skip them. The value is a country or subdivision known to the ``holidays``
package (``US``, ``US-CA``, ``CA-ON``; its observed days included, such as
Friday 24 December when Christmas falls on a Saturday), optionally followed by
``:path`` of a file of the clinic's own closed dates; the path may also stand
alone. The file has one date (``2026-12-24``) or range
(``2026-12-24..2026-12-31``) per line, optionally followed by a name; ``#``
starts a comment. ``always`` business hours stay plain arithmetic: holidays
only close days that have business hours.

DST: windows are wall-clock times in the zone; every computation converts
each window to UTC instants first and measures real elapsed time between
them, so a window that crosses a DST change counts the hours that actually
passed, and a wall-clock time that does not exist (02:30 on the spring-forward
night) is read as the instant the zone maps it to (zoneinfo ``fold=0``).
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DAY_NAMES = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}
_WINDOW = re.compile(r"^\s*(?P<days>[A-Za-z/\-]+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")


class BusinessHoursError(ValueError):
    """VMA_BUSINESS_HOURS, VMA_TIMEZONE or VMA_HOLIDAYS could not be read; the message names the variable."""


_REGION = re.compile(r"^(?P<country>[A-Za-z]{2,3})(?:-(?P<subdiv>[A-Za-z0-9]{1,10}))?$")
_CLOSED_LINE = re.compile(r"^(?P<first>\d{4}-\d{2}-\d{2})(?:\s*\.\.\s*(?P<last>\d{4}-\d{2}-\d{2}))?(?:\s+.*)?$")
# A closed-dates range longer than this is a typo (a wrong year), not a closure.
_LONGEST_CLOSURE = timedelta(days=366)


class ClosedDays:
    """The days a clinic is closed: a ``holidays`` calendar and/or the clinic's own dates.

    Public holidays are computed per year on first use and kept (a year is a few
    dozen dates), so a membership test is one set look-up; the lock makes the
    first computation of a year safe from several scheduler and request threads.
    """

    def __init__(self, spec: str, country: str | None, subdiv: str | None, own: frozenset[date]):
        self.spec = spec
        self.country = country
        self.subdiv = subdiv
        self.own = own
        self._years: dict[int, frozenset[date]] = {}
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str | None) -> "ClosedDays | None":
        """``US``, ``US-CA``, ``US-CA:/etc/vma/closed.txt``, ``:/path`` or ``/path``; None for an empty value."""
        text = (spec or "").strip()
        if not text:
            return None
        region, path = text, None
        if text.startswith(("/", ".", "~")):
            region, path = "", text
        elif ":" in text:
            region, path = (part.strip() for part in text.split(":", 1))
        country = subdiv = None
        if region:
            match = _REGION.match(region)
            if not match:
                raise BusinessHoursError(
                    f"VMA_HOLIDAYS: {region!r} is not a country or subdivision code (use e.g. US, US-CA, "
                    "optionally followed by :path of a file of closed dates)")
            country = match["country"].upper()
            subdiv = match["subdiv"].upper() if match["subdiv"] else None
            _public_holidays(country, subdiv, date.today().year)  # fails now, naming the code, if unknown
        own = _read_closed_dates(Path(path).expanduser()) if path else frozenset()
        return cls(text, country, subdiv, own)

    def __contains__(self, day: date) -> bool:
        if day in self.own:
            return True
        if self.country is None:
            return False
        year = self._years.get(day.year)
        if year is None:
            with self._lock:
                year = self._years.get(day.year)
                if year is None:
                    year = self._years[day.year] = _public_holidays(self.country, self.subdiv, day.year)
        return day in year

    def name_of(self, day: date) -> str | None:
        """What the day is closed for (for messages and the docs' examples); None on an open day."""
        if day in self.own:
            return "closed (clinic's own dates)"
        if self.country is not None and day in self:
            import holidays

            return holidays.country_holidays(self.country, subdiv=self.subdiv, years=day.year).get(day)
        return None


def _public_holidays(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    try:
        import holidays
    except ImportError as exc:  # a dependency of vma; only a broken install lacks it
        raise BusinessHoursError(f"VMA_HOLIDAYS needs the 'holidays' package: {exc}") from None
    try:
        calendar = holidays.country_holidays(country, subdiv=subdiv, years=year)
    except NotImplementedError as exc:
        where = f"{country}-{subdiv}" if subdiv else country
        raise BusinessHoursError(f"VMA_HOLIDAYS: {where!r} is not a calendar the holidays package knows ({exc})") from None
    return frozenset(calendar.keys())


def _read_closed_dates(path: Path) -> frozenset[date]:
    """The clinic's own closed dates; errors name VMA_HOLIDAYS, the file and the line."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BusinessHoursError(f"VMA_HOLIDAYS: cannot read the closed-dates file {path}: {exc}") from None
    days: set[date] = set()
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _CLOSED_LINE.match(line)
        try:
            first = date.fromisoformat(match["first"]) if match else None
            last = date.fromisoformat(match["last"]) if match and match["last"] else first
        except ValueError:
            first = last = None
        if first is None or last is None or last < first or last - first > _LONGEST_CLOSURE:
            raise BusinessHoursError(
                f"VMA_HOLIDAYS: {path} line {number}: {raw.strip()!r} is not a date or range "
                "(YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, optionally followed by a name)")
        day = first
        while day <= last:
            days.add(day)
            day += timedelta(days=1)
    return frozenset(days)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("business-time arithmetic needs timezone-aware datetimes")
    return moment.astimezone(UTC)


def _parse_clock(text: str, *, spec: str) -> timedelta:
    hours, minutes = (int(part) for part in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise BusinessHoursError(f"VMA_BUSINESS_HOURS: {text!r} is not a time of day in {spec!r}")
    return timedelta(hours=hours, minutes=minutes)


def _parse_days(text: str, *, spec: str) -> list[int]:
    days: list[int] = []
    for part in text.lower().split("/"):
        ends = part.split("-")
        if len(ends) > 2 or any(end not in _DAY_NAMES for end in ends):
            raise BusinessHoursError(
                f"VMA_BUSINESS_HOURS: {part!r} is not a day or day range (use Mon-Fri, Sat, Mon/Wed) in {spec!r}"
            )
        first, last = _DAY_NAMES[ends[0]], _DAY_NAMES[ends[-1]]
        span = (last - first) % 7
        days.extend((first + offset) % 7 for offset in range(span + 1))
    return days


@dataclass(frozen=True)
class BusinessCalendar:
    """Business hours in one time zone; ``windows[weekday]`` lists (start, end) offsets from local midnight."""

    zone: ZoneInfo
    windows: tuple[tuple[tuple[timedelta, timedelta], ...], ...] | None  # None: always open
    closed: ClosedDays | None = field(default=None, compare=False)  # holidays: days without any window

    @classmethod
    def parse(cls, spec: str, timezone: str = "America/New_York", holidays: str | None = None) -> "BusinessCalendar":
        closed = ClosedDays.parse(holidays)
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise BusinessHoursError(f"VMA_TIMEZONE: {timezone!r} is not an IANA time zone") from exc
        text = (spec or "").strip()
        if text.lower() in ("always", "24/7", "off", "none"):
            return cls(zone=zone, windows=None, closed=closed)
        per_day: list[list[tuple[timedelta, timedelta]]] = [[] for _ in range(7)]
        pieces = [p for p in re.split(r"[;,]", text) if p.strip()]
        if not pieces:
            raise BusinessHoursError("VMA_BUSINESS_HOURS is empty (use e.g. 'Mon-Fri 08:00-18:00' or 'always')")
        for piece in pieces:
            match = _WINDOW.match(piece)
            if not match:
                raise BusinessHoursError(
                    f"VMA_BUSINESS_HOURS: {piece.strip()!r} is not 'DAYS HH:MM-HH:MM' (e.g. 'Mon-Fri 08:00-18:00')"
                )
            start = _parse_clock(match["start"], spec=text)
            end = _parse_clock(match["end"], spec=text)
            if end <= start:
                raise BusinessHoursError(
                    f"VMA_BUSINESS_HOURS: window {piece.strip()!r} ends before it starts (overnight windows: split at 24:00)"
                )
            for weekday in _parse_days(match["days"], spec=text):
                per_day[weekday].append((start, end))
        merged = tuple(_merge(day) for day in per_day)
        return cls(zone=zone, windows=merged, closed=closed)

    @classmethod
    def from_settings(cls, settings) -> "BusinessCalendar":
        """The calendar of these settings; built once per distinct configuration (every tick asks)."""
        holidays = getattr(settings, "vma_holidays", None)
        return _cached_calendar(settings.vma_business_hours, settings.vma_timezone, holidays,
                                _closed_file_stamp(holidays))

    @property
    def always(self) -> bool:
        return self.windows is None

    # -- the windows as UTC instants ---------------------------------------------------------

    def _day_windows(self, day: date) -> list[tuple[datetime, datetime]]:
        assert self.windows is not None
        if self.closed is not None and day in self.closed:
            return []  # a holiday: the clinic has no business hours that day
        midnight = datetime.combine(day, time(0))
        spans = []
        for start, end in self.windows[day.weekday()]:
            spans.append((self._instant(midnight + start), self._instant(midnight + end)))
        return spans

    def _instant(self, local_naive: datetime) -> datetime:
        return local_naive.replace(tzinfo=self.zone).astimezone(UTC)

    def _windows_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Windows in time order, starting with the local day of ``moment``."""
        day = moment.astimezone(self.zone).date()
        # parse() guarantees at least one window a week and a year has finitely many holidays and
        # closed dates, so every walk ends.
        while True:
            yield from self._day_windows(day)
            day += timedelta(days=1)

    def _windows_back_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Windows in reverse time order, starting with the local day of ``moment``."""
        day = moment.astimezone(self.zone).date()
        while True:
            yield from reversed(self._day_windows(day))
            day -= timedelta(days=1)

    # -- public arithmetic -------------------------------------------------------------------

    def add_business(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when ``duration`` of business time has run since ``start`` (UTC).

        A start outside business hours waits for the next window: Friday 16:00
        plus 4 business hours with Mon-Fri 08:00-18:00 is Monday 10:00.
        """
        start = _aware(start)
        if duration <= timedelta(0):
            return start
        if self.always:
            return start + duration
        remaining = duration
        for window_start, window_end in self._windows_from(start):
            if window_end <= start:
                continue
            begin = max(window_start, start)
            available = window_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("the window walk is endless")

    def subtract_business(self, end: datetime, duration: timedelta) -> datetime:
        """The latest instant ``t`` with ``business_elapsed(t, end) == duration``.

        Every ``t' <= t`` has at least ``duration`` of business time before
        ``end`` and every later one has less, so ``sent_at <= t`` is an exact
        SQL test for "at least this old in business time".
        """
        end = _aware(end)
        if duration <= timedelta(0):
            return end
        if self.always:
            return end - duration
        remaining = duration
        for window_start, window_end in self._windows_back_from(end):
            if window_start >= end:
                continue
            finish = min(window_end, end)
            available = finish - window_start
            if remaining <= available:
                return finish - remaining
            remaining -= available
        raise AssertionError("the window walk is endless")

    def business_elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants (zero when ``end`` is not after ``start``)."""
        start, end = _aware(start), _aware(end)
        if end <= start:
            return timedelta(0)
        if self.always:
            return end - start
        total = timedelta(0)
        for window_start, window_end in self._windows_from(start):
            if window_start >= end:
                break
            overlap = min(window_end, end) - max(window_start, start)
            if overlap > timedelta(0):
                total += overlap
        return total

    def business_day_of(self, moment: datetime) -> date:
        """The local business day a moment counts toward.

        Inside or before a day's last window it is that local date; after
        the day's last window (or on a closed day) it is the next day that has
        a window, so a Friday-evening reminder and a Monday-morning one share
        a day and the one-per-day cap holds across nights and weekends.
        With ``always`` it is simply the local date.
        """
        moment = _aware(moment)
        if self.always:
            return moment.astimezone(self.zone).date()
        for window_start, window_end in self._windows_from(moment):
            if window_end > moment:
                return window_start.astimezone(self.zone).date()
        raise AssertionError("the window walk is endless")

    def next_business_day_start(self, moment: datetime) -> datetime:
        """The start of the first window on a business day after ``business_day_of(moment)``."""
        moment = _aware(moment)
        current = self.business_day_of(moment)
        if self.always:
            following = current + timedelta(days=1)
            return datetime.combine(following, time(0)).replace(tzinfo=self.zone).astimezone(UTC)
        for window_start, _ in self._windows_from(moment):
            if window_start.astimezone(self.zone).date() > current:
                return window_start
        raise AssertionError("the window walk is endless")

    def is_open(self, moment: datetime) -> bool:
        moment = _aware(moment)
        if self.always:
            return True
        return any(start <= moment < end for start, end in self._day_windows(moment.astimezone(self.zone).date()))


def _closed_file_stamp(holidays: str | None) -> float | None:
    """The closed-dates file's modification time: an edited file is read again without a restart."""
    text = (holidays or "").strip()
    path = text if text.startswith(("/", ".", "~")) else (text.split(":", 1)[1].strip() if ":" in text else "")
    if not path:
        return None
    try:
        return os.stat(Path(path).expanduser()).st_mtime
    except OSError:
        return None  # parse() names the file when it cannot be read


@lru_cache(maxsize=16)
def _cached_calendar(spec: str, timezone: str, holidays: str | None, stamp: float | None) -> BusinessCalendar:
    return BusinessCalendar.parse(spec, timezone, holidays)


def _merge(spans: list[tuple[timedelta, timedelta]]) -> tuple[tuple[timedelta, timedelta], ...]:
    """Sort a day's windows and join overlapping ones, so no minute is counted twice."""
    merged: list[tuple[timedelta, timedelta]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)

