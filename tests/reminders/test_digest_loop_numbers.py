"""The digest's new numbers over the hand-worked week of ``tests/app_home/seed.py``, on SQLite and (in
CI's second pass) PostgreSQL: the response rate, the query yield per check, each provider's oldest open
query with names from the directory or the chart, and the order of the bottleneck first."""

from __future__ import annotations

import pytest

from tests.app_home.seed import DIRECTORY_CSV, NOW, seed


def test_response_rate_yield_and_the_bottleneck_first(tmp_path, database_url):
    from vma.conversations.digest import build_from_settings, render_png, render_text, render_text_picture
    from vma.directory import Directory
    from vma.store.db import Store
    from tests.shared import make_reminder_settings

    settings = make_reminder_settings(tmp_path, database_url)
    (tmp_path / "directory.csv").write_text(DIRECTORY_CSV)
    store = Store(database_url)
    store.migrate()
    seed(store)
    digest = build_from_settings(settings, store, now=NOW, directory=Directory.load(str(tmp_path / "directory.csv")))
    store.dispose()

    assert digest.this_week.sent == 6 and digest.this_week.response_rate == pytest.approx(0.6)
    assert digest.last_week.sent == 2 and digest.last_week.response_rate == pytest.approx(0.5)
    assert digest.this_week.median_hours_to_answer == pytest.approx(4.0)
    assert [(y.check, y.changed, y.answered) for y in digest.yields] == [("laterality", 1, 3), ("specificity", 1, 1)]
    assert [p.name for p in digest.providers] == ["Priya Patel, MD", "Sam Chen, DO", "Maria Lopez, MD"]
    patel, chen, lopez = digest.providers
    assert (patel.open, patel.not_delivered, patel.buckets) == (1, 1, [0, 0, 0, 1])
    assert chen.oldest_age_business_hours == pytest.approx(60.0)
    assert lopez.oldest_age_business_hours == pytest.approx(30.0)

    text = render_text(digest)
    # Names, not an NPI repeated: "NPI 1770000010 (NPI 1770000010)" is what a provider outside the
    # directory used to get; the name on the chart is used now.
    assert "Priya Patel, MD (NPI 1770000010): open 1 (0 / 0 / 0 / 1)" in text and "NPI 1770000010 (NPI" not in text
    assert "Sam Chen, DO (NPI 1558598797): open 1 (0 / 0 / 1 / 0), oldest 2.5 d" in text
    assert "laterality            33%  (1 of 3 answered)" in text
    assert render_text_picture(digest).splitlines()[0].startswith("Priya Patel, MD")
    assert render_png(digest).startswith(b"\x89PNG")
