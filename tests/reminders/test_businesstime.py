"""Business-time arithmetic in America/New_York, including DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings as hyp_settings, strategies as st

from vma.conversations.businesstime import BusinessCalendar, BusinessHoursError

NY = ZoneInfo("America/New_York")
WEEKDAYS = BusinessCalendar.parse("Mon-Fri 08:00-18:00", "America/New_York")


def ny(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=NY)


def test_friday_afternoon_plus_four_hours_lands_monday_ten():
    # 2026-11-20 is a Friday.
    due = WEEKDAYS.add_business(ny(2026, 11, 20, 16), timedelta(hours=4))
    assert due == ny(2026, 11, 23, 10).astimezone(UTC)


def test_start_at_night_waits_for_the_morning():
    assert WEEKDAYS.add_business(ny(2026, 11, 17, 22), timedelta(hours=1)) == ny(2026, 11, 18, 9).astimezone(UTC)
    assert WEEKDAYS.add_business(ny(2026, 11, 21, 12), timedelta(hours=1)) == ny(2026, 11, 23, 9).astimezone(UTC)


def test_forty_eight_business_hours_is_almost_five_working_days():
    due = WEEKDAYS.add_business(ny(2026, 11, 16, 9), timedelta(hours=48))
    assert due == ny(2026, 11, 20, 17).astimezone(UTC)  # Mon 9h + Tue..Thu 30h + Fri 08-17 9h


def test_elapsed_skips_nights_and_weekends():
    assert WEEKDAYS.business_elapsed(ny(2026, 11, 20, 16), ny(2026, 11, 23, 10)) == timedelta(hours=4)
    assert WEEKDAYS.business_elapsed(ny(2026, 11, 21, 9), ny(2026, 11, 22, 17)) == timedelta(0)
    assert WEEKDAYS.business_elapsed(ny(2026, 11, 23, 10), ny(2026, 11, 20, 16)) == timedelta(0)


def test_split_week_and_lunch_break():
    cal = BusinessCalendar.parse("Mon-Thu 07:00-17:00, Fri 07:00-12:00", "America/New_York")
    assert cal.add_business(ny(2026, 11, 20, 11), timedelta(hours=2)) == ny(2026, 11, 23, 8).astimezone(UTC)
    lunch = BusinessCalendar.parse("Mon-Fri 08:00-12:00; Mon-Fri 13:00-17:00", "America/New_York")
    assert lunch.add_business(ny(2026, 11, 16, 11), timedelta(hours=2)) == ny(2026, 11, 16, 14).astimezone(UTC)
    assert lunch.business_elapsed(ny(2026, 11, 16, 8), ny(2026, 11, 16, 17)) == timedelta(hours=8)


def test_always_is_plain_arithmetic():
    cal = BusinessCalendar.parse("always", "America/New_York")
    start = ny(2026, 11, 21, 3)
    assert cal.add_business(start, timedelta(seconds=3)) == start + timedelta(seconds=3)
    assert cal.business_elapsed(start, start + timedelta(days=2)) == timedelta(days=2)


def test_dst_spring_forward_day_counts_real_hours():
    # 2026-03-08: clocks jump 02:00 -> 03:00 in New York; a 00:00-24:00 day is 23 hours long.
    cal = BusinessCalendar.parse("Sun 00:00-24:00", "America/New_York")
    assert cal.business_elapsed(ny(2026, 3, 8), ny(2026, 3, 9)) == timedelta(hours=23)
    # Office hours straddling the change are unaffected in wall-clock terms.
    assert WEEKDAYS.add_business(ny(2026, 3, 6, 16), timedelta(hours=4)) == ny(2026, 3, 9, 10).astimezone(UTC)


def test_dst_fall_back_day_counts_real_hours():
    cal = BusinessCalendar.parse("Sun 00:00-24:00", "America/New_York")
    assert cal.business_elapsed(ny(2026, 11, 1), ny(2026, 11, 2)) == timedelta(hours=25)
    assert WEEKDAYS.add_business(ny(2026, 10, 30, 16), timedelta(hours=4)) == ny(2026, 11, 2, 10).astimezone(UTC)


def test_business_day_of_rolls_evenings_and_weekends_forward():
    assert WEEKDAYS.business_day_of(ny(2026, 11, 20, 10)) == date(2026, 11, 20)
    assert WEEKDAYS.business_day_of(ny(2026, 11, 20, 19)) == date(2026, 11, 23)
    assert WEEKDAYS.business_day_of(ny(2026, 11, 22, 12)) == date(2026, 11, 23)
    assert WEEKDAYS.business_day_of(ny(2026, 11, 23, 6)) == date(2026, 11, 23)
    assert WEEKDAYS.next_business_day_start(ny(2026, 11, 20, 10)) == ny(2026, 11, 23, 8).astimezone(UTC)


@pytest.mark.parametrize("spec,fragment", [
    ("Mon-Fri 8-18", "DAYS HH:MM-HH:MM"),
    ("Mon-Fry 08:00-18:00", "'mon-fry' is not a day"),
    ("Mon-Fri 18:00-08:00", "ends before it starts"),
    ("Mon-Fri 08:00-25:00", "not a time of day"),
    ("", "empty"),
])
def test_bad_business_hours_name_the_variable(spec, fragment):
    with pytest.raises(BusinessHoursError) as err:
        BusinessCalendar.parse(spec, "America/New_York")
    assert "VMA_BUSINESS_HOURS" in str(err.value) and fragment in str(err.value)


def test_bad_zone_names_the_variable():
    with pytest.raises(BusinessHoursError, match="VMA_TIMEZONE"):
        BusinessCalendar.parse("always", "Mars/Olympus")


_instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))


@hyp_settings(max_examples=150, deadline=None)
@given(start=_instants, hours=st.floats(min_value=0, max_value=200))
def test_add_then_measure_round_trips(start, hours):
    duration = timedelta(seconds=round(hours * 3600))
    due = WEEKDAYS.add_business(start, duration)
    assert WEEKDAYS.business_elapsed(start, due) == duration


@hyp_settings(max_examples=150, deadline=None)
@given(end=_instants, hours=st.floats(min_value=0.01, max_value=200), probe=st.floats(min_value=-300, max_value=300))
def test_subtract_gives_the_exact_age_cutoff(end, hours, probe):
    duration = timedelta(seconds=round(hours * 3600))
    cutoff = WEEKDAYS.subtract_business(end, duration)
    assert WEEKDAYS.business_elapsed(cutoff, end) == duration
    other = cutoff + timedelta(hours=probe)
    assert (WEEKDAYS.business_elapsed(other, end) >= duration) == (other <= cutoff)
