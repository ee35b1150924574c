"""MLLP intake under load: 10,000 distinct MDM^T02 messages from a few concurrent connections.

A listener on 127.0.0.1 backed by ``ChartService`` on SQLite (and on
PostgreSQL when ``VMA_TEST_POSTGRES_URL`` is set: a throw-away database).
Each client sends a message, waits for its ACK, and records the latency, as
an interface engine does in original-mode acknowledgement. The ACK path is
intake (parse, store the raw message and the chart) and nothing more: the
checks run after the ACK (``process=False`` here; in ``vma serve`` a background
worker or ``process_pending`` takes them), so these figures are the rate at
which an EHR's queue drains.

Verified after the run: every ACK is ``AA`` for its own control ID, stored rows
equal distinct documents (nothing lost, nothing doubled), and 100 re-sent
duplicates add no row. ``VMA_BENCH_MLLP_MESSAGES`` and
``VMA_BENCH_MLLP_CONNECTIONS`` change the load (defaults 10000 and 4).
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FRAME_END = b"\x1c\r"


def messages(total: int, prefix: str) -> list[tuple[str, str]]:
    """(control id, message) for ``total`` distinct documents."""
    from tests.formats.hl7_messages import mdm

    out = []
    for i in range(total):
        doc = f"DOC-{prefix}{i:06d}-1"
        out.append((f"CTL-{doc}-T02", mdm(doc_id=doc, visit=f"ENC-{prefix}{i:06d}")))
    return out


class Connection:
    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def exchange(self, text: str) -> bytes:
        self.sock.sendall(b"\x0b" + text.encode("utf-8") + FRAME_END)
        while FRAME_END not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the listener closed the connection")
            self.buffer += chunk
        frame, _, self.buffer = self.buffer.partition(FRAME_END)
        return frame[1:]

    def close(self) -> None:
        self.sock.close()


def _msa(ack: bytes) -> tuple[str, str]:
    for segment in ack.decode("utf-8", "replace").split("\r"):
        if segment.startswith("MSA|"):
            parts = segment.split("|")
            return parts[1], parts[2] if len(parts) > 2 else ""
    return "", ""


def blast(port: int, batch: list[tuple[str, str]], connections: int) -> tuple[list[float], list[str], float]:
    """Send ``batch`` spread over ``connections`` clients; (latencies, problems, wall time)."""
    latencies: list[float] = []
    problems: list[str] = []
    lock = threading.Lock()
    shares = [batch[i::connections] for i in range(connections)]

    def client(share):
        conn = Connection(port)
        mine, bad = [], []
        try:
            for control_id, text in share:
                started = time.perf_counter()
                ack = conn.exchange(text)
                mine.append(time.perf_counter() - started)
                code, acked = _msa(ack)
                if code != "AA" or acked != control_id:
                    bad.append(f"{control_id}: {code} for {acked}")
        except Exception as exc:  # a dropped connection is a failure of the run, not of the bench
            bad.append(f"connection failed: {exc}")
        finally:
            conn.close()
        with lock:
            latencies.extend(mine)
            problems.extend(bad)

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, problems, time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(url: str, label: str, total: int, connections: int) -> bool:
    from sqlalchemy import func, select

    from vma.config import Settings
    from vma.conversations.service import ChartService
    from vma.integrations.mllp import MllpListener, service_handler
    from vma.store.db import Store
    from vma.store.models import ChartRecord

    store = Store(url)
    store.migrate()
    settings = Settings(vma_database_url=url, slack_bot_token="xoxb-bench", vma_business_hours="always")
    # The notifier is never called on the ACK path (intake only); checks are deferred.
    service = ChartService(store, notifier=None, settings=settings)
    handler = service_handler(service, process=False)
    listener = MllpListener(handler, host="127.0.0.1", port=0).start()
    try:
        batch = messages(total, uuid.uuid4().hex[:6].upper())
        latencies, problems, wall = blast(listener.port, batch, connections)
        with store.session() as session:
            rows = session.execute(select(func.count()).select_from(ChartRecord)).scalar_one()
            distinct = session.execute(select(func.count(func.distinct(ChartRecord.doc_key)))).scalar_one()
        _, dup_problems, _ = blast(listener.port, batch[:100], min(connections, 4))
        with store.session() as session:
            after_duplicates = session.execute(select(func.count()).select_from(ChartRecord)).scalar_one()
    finally:
        listener.stop()
        store.dispose()
    ok = not problems and not dup_problems and rows == distinct == total and after_duplicates == total
    print(f"   {label}: {total:,} MDM^T02 over {connections} connections in {wall:.1f} s: "
          f"{total / wall:,.0f} ACKs/s; ACK latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {_percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    print(f"   {label}: stored rows {rows:,}, distinct documents {distinct:,}, after 100 re-sent duplicates "
          f"{after_duplicates:,} ({'nothing lost, nothing doubled' if ok else 'MISMATCH'})")
    for problem in (problems + dup_problems)[:10]:
        print(f"   {label}: problem: {problem}")
    return ok


def _postgres_database():
    base = os.environ.get("VMA_TEST_POSTGRES_URL")
    if not base:
        print("   postgresql: skipped (VMA_TEST_POSTGRES_URL is not set)")
        return None, None
    import psycopg

    base = base.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        admin = psycopg.connect(base, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        print(f"   postgresql: skipped (unreachable at VMA_TEST_POSTGRES_URL: {str(exc).strip()})")
        return None, None
    name = f"vma_bench_mllp_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    return admin, (name, base.rsplit("/", 1)[0] + f"/{name}")


def main(total: int | None = None, connections: int | None = None) -> int:
    import logging

    logging.getLogger("vma").setLevel(logging.WARNING)
    total = total or int(os.environ.get("VMA_BENCH_MLLP_MESSAGES", "10000"))
    connections = connections or int(os.environ.get("VMA_BENCH_MLLP_CONNECTIONS", "4"))
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        ok &= run(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite", total, connections)
    admin, database = _postgres_database()
    if admin is not None:
        name, url = database
        try:
            ok &= run(url, "postgresql", total, connections)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
