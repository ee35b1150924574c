"""`make demo` shows the reminder, the escalation and the digest on a clock moved forward, with charts
dated relative to the day it runs."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from vma.demo import DEMO_DIR, ZONE, dated_relative_to_today, run_demo


def test_demo_charts_are_dated_yesterday_whatever_day_it_is():
    chart = json.loads((DEMO_DIR / "ENC-D2002.json").read_text())
    moved = dated_relative_to_today(chart, today=date(2031, 3, 1))
    assert moved["encounter"]["date_of_service"] == "2031-02-28"
    assert moved["signature"]["signed_at"] == "2031-02-28T16:40:00-05:00"
    assert chart["encounter"]["date_of_service"] != "2031-02-28"  # the bundled file is left as it is


def test_the_demo_reminds_escalates_and_posts_the_digest():
    out = io.StringIO()
    assert run_demo(out=out) == 0, out.getvalue()[-2000:]
    text = out.getvalue()
    yesterday = datetime.now(ZoneInfo(ZONE)).date() - timedelta(days=1)
    assert f"Chart ENC-D2002 (seen {yesterday.isoformat()})" in text
    reminder = text[text.index("4 hours later"):text.index("2 days later")]
    assert "Maria Lopez, MD's DM: new message" in reminder and "waiting 4.0 business h" in reminder
    escalation = text[text.index("2 days later"):text.index("query-aging digest in the managers")]
    assert "Pat Chief's DM: new message" in escalation and "#coding-managers channel: new message" in escalation
    assert "ENC-D2002" in escalation and "open 48.0 business h" in escalation
    digest = text[text.index("query-aging digest in the managers"):]
    assert "Query-aging digest" in digest and "a picture is attached" in digest
    assert "Maria Lopez, MD ▆" in digest  # the picture, as text bars
    assert "THE QUERY LOOP NOW" in text and "0 Block Kit violations" in text  # the manager's App Home
    assert "MRN-D2" not in text
