"""HL7 v2 over MLLP: the listener an interface engine sends signed notes to.

Every frame gets an HL7 ACK; the connection is never dropped for bad content:
- ``AA`` once the message is stored (a duplicate also gets ``AA`` and changes nothing),
- ``AE`` with an ERR segment and a readable reason for a message that cannot be used,
- ``AR`` for a message that must not be taken (a type this listener does not handle).

The raw message is stored (by ``ChartService.intake``) before the ACK is
written, so an ACK always means "kept"; checks run after the ACK, and charts
stored but not yet processed are picked up again on restart.

Built on python-hl7's asyncio MLLP streams; storage is synchronous, so it runs
in the default executor to keep the event loop answering other connections.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from hl7.mllp import InvalidBlockError, start_hl7_server

log = logging.getLogger(__name__)

# MDM document notifications this listener takes, plus ORU^R01 for sites that send notes that way.
ACCEPTED_EVENTS = {
    ("MDM", "T02"), ("MDM", "T04"), ("MDM", "T06"), ("MDM", "T08"), ("MDM", "T10"), ("MDM", "T11"),
    ("MDM", "T01"), ("MDM", "T03"), ("MDM", "T05"), ("MDM", "T07"), ("MDM", "T09"),
    ("ORU", "R01"),
}
MAX_FRAME = 2_000_000


class MllpListener:
    """Receives frames, stores them through ``handle``, answers with an ACK.

    ``handle(text) -> (ack_code, reason)`` does the storing; it is the seam the
    tests and the service plug into.
    """

    def __init__(self, handle: Callable[[str], tuple[str, str | None]], host: str = "0.0.0.0", port: int = 2575,
                 workers: int = 4):
        self.handle = handle
        self.host = host
        self.port = port
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mllp")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    async def _client(self, reader, writer) -> None:
        from vma.integrations.hl7 import build_ack

        try:
            while not reader.at_eof():
                try:
                    block = await reader.readblock()
                except asyncio.IncompleteReadError:
                    break  # peer closed mid-frame: nothing complete to acknowledge
                except (InvalidBlockError, ValueError) as exc:
                    # Garbage before a start block, or an oversize frame: say so, keep the connection.
                    writer.writeblock(build_ack("", "AE", f"unreadable MLLP frame: {exc}").encode())
                    await writer.drain()
                    continue
                text = block.decode("utf-8", errors="replace")
                loop = asyncio.get_running_loop()
                try:
                    code, reason = await loop.run_in_executor(self._executor, self.handle, text)
                except Exception:  # storage failed: the sender must retry, so no AA
                    log.exception("MLLP message could not be stored")
                    code, reason = "AE", "internal error while storing the message; please resend"
                writer.writeblock(build_ack(text, code, reason).encode("utf-8"))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def start_async(self) -> None:
        self._server = await start_hl7_server(self._client, self.host, self.port, limit=MAX_FRAME)
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]

    def start(self) -> "MllpListener":
        """Run the listener on its own event loop in a daemon thread."""

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self.start_async())
            self._ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="mllp-listener", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("MLLP listener did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._server:
            async def close() -> None:
                self._server.close()
                await self._server.wait_closed()

            asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(5)
        self._executor.shutdown(wait=False)


def service_handler(service) -> Callable[[str], tuple[str, str | None]]:
    """Adapt ``ChartService.intake`` to the listener: classify, store, map the outcome to an ACK code."""
    from vma.chart import ChartInputError
    from vma.integrations.hl7 import hl7_message_info
    from vma.intake import error_lines

    def handle(text: str) -> tuple[str, str | None]:
        try:
            info = hl7_message_info(text)
        except ChartInputError as exc:
            service.intake(text.encode("utf-8"), source="mllp")  # keep the raw message for review
            return getattr(exc, "ack_code", "AE"), str(exc)
        if (info.message_type, info.trigger_event) not in ACCEPTED_EVENTS:
            service.intake(text.encode("utf-8"), source="mllp")
            return "AR", f"message type {info.message_type}^{info.trigger_event} is not accepted here (MDM or ORU^R01 only)"
        result = service.intake(text.encode("utf-8"), source="mllp")
        if result.http_status in (200, 202):
            return "AA", None
        reason = "; ".join(error_lines(result.errors)) or "message could not be used"
        return "AE", reason

    return handle
