"""The manager's App Home: the query loop now, against seeded queries (``tests/app_home/seed.py``).

A manager opens the tab (a signed ``app_home_opened`` to the real app over HTTP); the view published
to the Slack stand-in must show the hand-worked numbers of the seeded week, and the very same
numbers as the daily digest built at the same moment (one definition). A coder's App Home keeps
its own content and shows none of it; neither carries a patient's name or birth date.
"""

from __future__ import annotations

import re

import pytest

from tests.app_home.seed import (BIRTH_DATE, CHIEF, CODER, DIRECTORY_CSV, NOW, PATIENT_NAME, seed)
from tests.shared import ServedApp
from vma.config import Settings
from vma.integrations.slack.standin import SignedSlackSender, SlackStandIn

SECRET = "app-home-secret"


@pytest.fixture
def world(tmp_path, database_url):
    from vma.conversations.service import ChartService
    from vma.directory import Directory
    from vma.integrations.slack.notifier import notifier_from_settings
    from vma.store.db import Store
    from vma.web import create_app

    directory = tmp_path / "directory.csv"
    directory.write_text(DIRECTORY_CSV)
    with SlackStandIn() as slack:
        settings = Settings(slack_bot_token="xoxb-home", slack_signing_secret=SECRET, slack_api_url=slack.api_url,
                            vma_database_url=database_url, vma_provider_directory=str(directory),
                            vma_business_hours="Mon-Fri 08:00-18:00", vma_timezone="America/New_York")
        store = Store(database_url)
        store.migrate()
        seed(store)
        service = ChartService(store, notifier_from_settings(settings, backoff=0.01), settings,
                               Directory.load(str(directory)), clock=lambda: NOW)
        served = ServedApp(create_app(settings, service, start_scheduler=False, migrate=False,
                                      resume_pending=False)).start()
        sender = SignedSlackSender(served.url + "/slack/events", SECRET, slack)
        try:
            yield slack, sender, settings, service
        finally:
            sender.close()
            served.stop()
            store.dispose()


def _open_home(slack, sender, user: str) -> str:
    response = sender.event({"type": "app_home_opened", "user": user, "channel": "D0HOME001", "tab": "home"})
    assert response.status_code == 200
    view = slack.wait_for(lambda: slack.published.get(user), timeout=20)
    texts = []
    for block in view["blocks"]:
        for part in [block.get("text")] + list(block.get("fields") or []) + list(block.get("elements") or []):
            if isinstance(part, dict) and part.get("text"):
                texts.append(part["text"])
    return "\n".join(texts)


def test_the_manager_sees_the_query_loop_with_the_digests_numbers(world):
    from vma.conversations.digest import _hours, _share, build_from_settings, render_text

    slack, sender, settings, service = world
    home = _open_home(slack, sender, CHIEF)

    # The hand-worked numbers of the seeded week.
    assert "*Open queries*\n4 (+1 not delivered)" in home
    assert "*Charts on hold*\n5 " in home
    assert "*Response rate this week*\n60% (last week 50%)" in home
    assert "*Median time to answer*\n4.0 h (last week 24.0 h)" in home
    assert "under 24 h: *1*  ·  24-48 h: *1*  ·  48-72 h: *1*  ·  72 h or more: *1*" in home
    assert "• laterality: 33% (1 of 3 answers changed a code)" in home
    assert "• specificity: 100% (1 of 1 answers changed a code)" in home
    # The bottleneck first: providers by their oldest open query; a provider outside the
    # directory is named from the chart, not by NPI.
    picture = re.search(r"```(.*?)```", home, re.S).group(1)
    assert picture.index("Priya Patel, MD") < picture.index("Sam Chen, DO") < picture.index("Maria Lopez, MD")
    assert "1 open, oldest" in picture.splitlines()[0]
    assert "NPI" not in home

    # And they are the digest's numbers at that moment, one for one.
    digest = build_from_settings(settings, service.store, now=NOW, directory=service.directory)
    assert (digest.open_total, digest.not_delivered_total, digest.charts_on_hold) == (4, 1, 5)
    assert (digest.this_week.response_rate, digest.last_week.response_rate) == (pytest.approx(0.6), 0.5)
    assert f"{_share(digest.this_week.response_rate)} (last week {_share(digest.last_week.response_rate)})" in home
    assert f"{_hours(digest.this_week.median_hours_to_answer)} (last week " in home
    for provider in digest.providers:
        assert f"• {provider.name}: {provider.open} open ({' / '.join(map(str, provider.buckets))})" in home
    for query in digest.oldest:
        assert f"chart {query.chart_id} · {query.provider} · {query.check}" in home
        assert f"open {_hours(query.age_business_hours)}" in home
    for check in digest.yields:
        assert f"• {check.check}: {_share(check.share)} ({check.changed} of {check.answered} " in home
    text = render_text(digest)
    assert "response rate                   60%        50%" in text
    assert "laterality            33%  (1 of 3 answered)" in text

    assert PATIENT_NAME not in home and BIRTH_DATE not in home
    assert slack.violations == []


def test_a_coder_does_not_get_the_managers_view(world):
    slack, sender, _, _ = world
    home = _open_home(slack, sender, CODER)
    assert "The query loop now" not in home and "Response rate" not in home
    assert "Waiting for the provider" in home
    assert PATIENT_NAME not in home and BIRTH_DATE not in home
    assert slack.violations == []
