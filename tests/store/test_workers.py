"""Two workers over one database resume the same backlog: every chart is asked or posted exactly once."""

from __future__ import annotations

import threading
from collections import Counter

from tests.conftest import base_chart
from tests.shared import Clock, RecordingNotifier, chart, make_settings, raw

CHARTS = 12


def test_two_workers_process_the_backlog_once(tmp_path, database_url, ref):
    from vma.conversations.service import ChartService
    from vma.directory import Directory
    from vma.store.db import Store

    settings = make_settings(tmp_path, database_url)
    directory = Directory.load(settings.vma_provider_directory)
    seed = Store(database_url)
    seed.migrate()
    notifier = RecordingNotifier()
    clock = Clock()
    intake = ChartService(seed, notifier, settings, directory, ref=ref, clock=clock)
    for n in range(CHARTS):  # acked, not yet checked: what a crash after the ACK leaves
        data = chart(f"ENC-W-{n}") if n % 2 else base_chart(chart_id=f"ENC-W-{n}", document_id=f"DOC-W-{n}")
        assert intake.intake(raw(data), "mllp").outcome == "stored"

    start = threading.Barrier(2)
    errors: list[BaseException] = []
    stores = [Store(database_url) for _ in range(2)]

    def worker(store):
        service = ChartService(store, notifier, settings, directory, ref=ref, clock=clock)
        try:
            start.wait()
            for _ in range(3):
                service.process_pending()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    dms = Counter(summary.chart_id for _, summary, _ in notifier.of("send_query_dm"))
    posts = Counter(cleared.summary.chart_id for _, cleared in notifier.of("post_cleared"))
    assert dms == Counter({f"ENC-W-{n}": 1 for n in range(CHARTS) if n % 2})
    assert posts == Counter({f"ENC-W-{n}": 1 for n in range(CHARTS) if not n % 2})
    for store in [seed, *stores]:
        store.dispose()
