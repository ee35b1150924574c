"""Holidays (VMA_HOLIDAYS): days the clinic is closed stop the reminder clock, the escalation clock and
the digest's ages, across Thanksgiving and New Year, under a frozen clock (freezegun).

US federal calendar: Thanksgiving Thursday 2026-11-26, Christmas Friday 2026-12-25, New Year's Day
Friday 2027-01-01. California adds the day after Thanksgiving (Friday 2026-11-27).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import text

from tests.shared import ReminderNotifier, add_chart, add_query, make_reminder_settings
from vma.conversations.businesstime import BusinessCalendar, BusinessHoursError, ClosedDays

NY = ZoneInfo("America/New_York")
HOURS = "Mon-Fri 08:00-18:00"


def ny(y, mo, d, h=0, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=NY)


def calendar(holidays: str | None) -> BusinessCalendar:
    return BusinessCalendar.parse(HOURS, "America/New_York", holidays)


def test_thanksgiving_and_the_day_after_in_california_are_not_working_days():
    wednesday = ny(2026, 11, 25, 16)
    assert calendar(None).add_business(wednesday, timedelta(hours=4)) == ny(2026, 11, 26, 10).astimezone(UTC)
    assert calendar("US").add_business(wednesday, timedelta(hours=4)) == ny(2026, 11, 27, 10).astimezone(UTC)
    assert calendar("US-CA").add_business(wednesday, timedelta(hours=4)) == ny(2026, 11, 30, 10).astimezone(UTC)
    us = calendar("US")
    assert not us.is_open(ny(2026, 11, 26, 10)) and us.is_open(ny(2026, 11, 27, 10))
    assert us.business_elapsed(ny(2026, 11, 25, 8), ny(2026, 11, 30, 8)) == timedelta(hours=20)
    assert us.closed.name_of(date(2026, 11, 26)) == "Thanksgiving Day"


def test_christmas_and_new_year_including_observed_days():
    us = calendar("us")  # any case
    assert us.add_business(ny(2026, 12, 24, 17), timedelta(hours=2)) == ny(2026, 12, 28, 9).astimezone(UTC)
    assert us.add_business(ny(2026, 12, 31, 17), timedelta(hours=2)) == ny(2027, 1, 4, 9).astimezone(UTC)
    # 2027: Christmas and New Year's Day fall on Saturdays; the Fridays before are observed.
    assert not us.is_open(ny(2027, 12, 24, 10)) and not us.is_open(ny(2027, 12, 31, 10))
    assert us.subtract_business(ny(2027, 1, 4, 9), timedelta(hours=2)) == ny(2026, 12, 31, 17).astimezone(UTC)
    # The one-reminder-a-day cap counts a holiday evening toward the next open day.
    assert us.business_day_of(ny(2026, 12, 31, 19)) == date(2027, 1, 4)


def test_the_clinics_own_closed_dates_from_a_file(tmp_path):
    closed = tmp_path / "closed.txt"
    closed.write_text("# winter closure\n2026-12-28..2026-12-30  staff training\n\n2027-01-04 inventory # again\n")
    own = calendar(f"US:{closed}")
    # Christmas (US), then the clinic's own Dec 28-30, Dec 31 open, Jan 1 (US), Jan 4 (the clinic's).
    assert own.add_business(ny(2026, 12, 24, 17), timedelta(hours=2)) == ny(2026, 12, 31, 9).astimezone(UTC)
    assert own.add_business(ny(2026, 12, 31, 17), timedelta(hours=2)) == ny(2027, 1, 5, 9).astimezone(UTC)
    alone = calendar(str(closed))  # a file without a country: only the clinic's dates
    assert alone.is_open(ny(2026, 12, 25, 10)) and not alone.is_open(ny(2026, 12, 29, 10))


def test_bad_holiday_settings_name_the_variable_the_file_and_the_line(tmp_path):
    with pytest.raises(BusinessHoursError, match="VMA_HOLIDAYS: 'XX'"):
        ClosedDays.parse("XX")
    with pytest.raises(BusinessHoursError, match="VMA_HOLIDAYS: 'US-ZZ'"):
        ClosedDays.parse("US-ZZ")
    bad = tmp_path / "closed.txt"
    bad.write_text("2026-12-24\nChristmas Eve 2026\n")
    with pytest.raises(BusinessHoursError, match=r"closed.txt line 2: 'Christmas Eve 2026'"):
        ClosedDays.parse(f"US:{bad}")
    with pytest.raises(BusinessHoursError, match="cannot read the closed-dates file"):
        ClosedDays.parse(f"US:{tmp_path / 'missing.txt'}")
    from vma.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="VMA_HOLIDAYS"):
        load_settings(vma_holidays="Atlantis")


def _store(settings):
    from vma.store.db import Store

    store = Store(settings.vma_database_url)
    store.migrate()
    return store


def _tick_at(moment: datetime, store, notifier, settings):
    from vma.conversations import reminders
    from vma.directory import Directory

    with freeze_time(moment):
        return reminders.tick(datetime.now(UTC), store, notifier, settings, Directory.load(settings.vma_provider_directory))


def test_no_reminder_on_thanksgiving_it_comes_the_next_working_morning(tmp_path, database_url):
    settings = make_reminder_settings(tmp_path, database_url, vma_holidays="US", vma_reminder_after="4h")
    store = _store(settings)
    with freeze_time(ny(2026, 11, 25, 15)), store.session() as session:  # the DM goes out Wednesday 15:00
        add_query(session, add_chart(session, "ENC-TG1"), sent_at=datetime.now(UTC), settings=settings)
        session.commit()
    notifier = ReminderNotifier()
    # Wednesday 15:00 + 3 business hours is Wednesday 18:00; Thursday is Thanksgiving.
    for moment in (ny(2026, 11, 25, 17, 59), ny(2026, 11, 26, 10), ny(2026, 11, 26, 17), ny(2026, 11, 27, 8, 59)):
        assert _tick_at(moment, store, notifier, settings).reminders_sent == 0, moment
    assert _tick_at(ny(2026, 11, 27, 9), store, notifier, settings).reminders_sent == 1
    assert notifier.reminders == [("U_LOPEZ", [1])]
    store.dispose()


def test_escalation_across_new_year_waits_out_the_holiday(tmp_path, database_url):
    settings = make_reminder_settings(tmp_path, database_url, vma_holidays="US", vma_reminder_after="4h",
                             vma_escalate_after="48h")
    store = _store(settings)
    with freeze_time(ny(2026, 12, 29, 9)), store.session() as session:  # Tuesday 09:00
        add_query(session, add_chart(session, "ENC-NY1"), sent_at=datetime.now(UTC), settings=settings)
        session.commit()
    notifier = ReminderNotifier()
    _tick_at(ny(2026, 12, 29, 13), store, notifier, settings)  # the reminder, 4 business hours in
    assert len(notifier.reminders) == 1
    # Tue 9 h + Wed 10 h + Thu 10 h = 29 h; Friday is New Year's Day; Mon 10 h = 39 h; 48 h on Tuesday 17:00.
    # Without the holiday the 48 h would be reached on Monday at 17:00.
    assert _tick_at(ny(2027, 1, 4, 17, 30), store, notifier, settings).escalations_sent == 0
    assert _tick_at(ny(2027, 1, 5, 17), store, notifier, settings).escalations_sent == 1
    (target, _, ids, ages), = [e for e in notifier.escalations if e[0] == "U_CHIEF"]
    assert ids == [1] and ages == [pytest.approx(48.0)]
    store.dispose()


def test_the_digest_ages_skip_the_holidays(tmp_path, database_url):
    from vma.conversations.digest import build_from_settings, render_text
    from vma.directory import Directory

    for holidays, age, bucket in ((None, 40.0, 1), ("US", 30.0, 1), ("US-CA", 20.0, 0)):
        settings = make_reminder_settings(tmp_path, database_url, vma_holidays=holidays)
        store = _store(settings)
        with store.session() as session:
            session.execute(text("DELETE FROM query"))  # one query at a time: the loop reuses the database
            add_query(session, add_chart(session, f"ENC-AGE-{bucket}-{int(age)}"),
                      sent_at=ny(2026, 11, 24, 8).astimezone(UTC), settings=settings)
            session.commit()
        with freeze_time(ny(2026, 11, 30, 8)):  # Monday after Thanksgiving, the digest hour
            digest = build_from_settings(settings, store, directory=Directory.load(settings.vma_provider_directory))
        assert digest.oldest[0].age_business_hours == pytest.approx(age), holidays
        assert digest.buckets[bucket] == 1, holidays
        assert f"open {age:.1f} h (business)" in render_text(digest)
        store.dispose()
