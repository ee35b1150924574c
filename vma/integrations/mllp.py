"""HL7 v2 over MLLP: the listener an interface engine sends signed notes to.

Every frame gets an HL7 ACK; the connection is never dropped for bad content:
- ``AA`` once the message is stored (a duplicate also gets ``AA`` and changes nothing),
- ``AE`` with an ERR segment and a readable reason for a message that cannot be used,
- ``AR`` for a message that must not be taken (a type this listener does not handle), and,
  as HL7 table 0008 has it, when the message could not be stored for a reason unrelated to
  its content (the database is down): interface engines resend on ``AR``.

The raw message is stored (by ``ChartService.intake``) before the ACK is
written, so an ACK always means "kept"; checks run after the ACK in a
background worker, and charts stored but not yet processed are picked up again
on restart (``ChartService.process_pending``).

Peers: with ``VMA_MLLP_ALLOW`` (addresses or CIDR ranges) only those peers are
heard. Any other peer's frames are answered ``AR`` ("not allowed") and never
stored or parsed, so a stranger who reaches the port can neither fill the store
nor make the bot write to a physician.

Framing is read by hand rather than with python-hl7's ``readblock``: that one
throws a frame away when bytes precede its start block, and an interface
engine's stray keep-alive bytes or a half-written earlier frame must not cost
the next message. Bytes before the last start block of a frame are skipped.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import logging
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Callable

from hl7.mllp import start_hl7_server

from vma.intake import error_lines
from vma.integrations.hl7_ack import build_ack
from vma.store.status import IntakeOutcome

log = logging.getLogger(__name__)

# MDM document notifications this listener takes, plus ORU^R01 for sites that send notes that way.
ACCEPTED_EVENTS = {
    ("MDM", "T02"), ("MDM", "T04"), ("MDM", "T06"), ("MDM", "T08"), ("MDM", "T10"), ("MDM", "T11"),
    ("MDM", "T01"), ("MDM", "T03"), ("MDM", "T05"), ("MDM", "T07"), ("MDM", "T09"),
    ("ORU", "R01"),
}
MAX_FRAME = 2_000_000
START_BLOCK = b"\x0b"
FRAME_END = b"\x1c\r"


async def read_frame(reader: asyncio.StreamReader, limit: int = MAX_FRAME) -> tuple[bytes | None, str | None]:
    """The next frame's content, or ``(None, reason)`` for a frame that cannot be used.

    Raises ``asyncio.IncompleteReadError`` when the peer closes before a frame ends.
    """
    oversize = False
    while True:
        try:
            data = await reader.readuntil(FRAME_END)
            break
        except asyncio.LimitOverrunError as exc:
            # Drop what cannot be kept and go on reading to this frame's end, so the next frame is intact.
            oversize = True
            await reader.readexactly(max(exc.consumed, 1))
    if oversize:
        return None, f"message over {limit} bytes; split it or send the note by reference"
    start = data.rfind(START_BLOCK)
    if start < 0:
        return None, "unreadable MLLP frame: no start block <VT> before the end block"
    return data[start + 1:-len(FRAME_END)], None


def msh_line(text: str) -> str:
    """The first segment of a message (the MSH when it is HL7), without framing bytes."""
    for line in re.split(r"\r\n|\r|\n", text.replace("\ufeff", "").replace("\x0b", "")):
        if line.strip():
            return line.lstrip()
    return ""


def msh_fields(text: str) -> list[str] | None:
    """``fields[n]`` is MSH-n; None when the text does not open with a readable MSH.

    Cheap on purpose: the ACK and the message type need only the MSH, and a full
    python-hl7 parse of a whole note costs milliseconds.
    """
    line = msh_line(text)
    if not line.startswith("MSH") or len(line) < 8:
        return None
    sep = line[3]
    if sep.isalnum() or sep.isspace():
        return None
    return ["MSH", sep] + line.split(sep)[1:]


def _event(fields: list[str]) -> tuple[str, str]:
    comp = fields[2][:1] if len(fields) > 2 and fields[2] else "^"
    parts = (fields[9] if len(fields) > 9 else "").split(comp)
    return parts[0].strip().upper(), (parts[1].strip().upper() if len(parts) > 1 else "")


def ack_for(text: str, code: str, reason: str | None) -> str:
    """The ACK, built from the MSH alone (``build_ack`` reads nothing else; a whole parse is not needed)."""
    return build_ack(msh_line(text) + "\r" if msh_fields(text) is not None else text, code, reason)


def peer_allowed(address: str | None, allow: list | None) -> bool:
    """Whether the peer ``address`` is in the allow-list (None: everyone is)."""
    if allow is None:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # a dual-stack socket shows an IPv4 peer as ::ffff:a.b.c.d
    return any(ip.version == network.version and ip in network for network in allow)


class MllpListener:
    """Receives frames, stores them through ``handle``, answers with an ACK.

    ``handle(text) -> (ack_code, reason)`` does the storing; it is the seam the
    tests and the service plug into (``service_handler``). A handler that takes a
    ``peer`` keyword is given the sender's address (recorded in the audit log).
    ``allow``: the peers heard (``ip_network`` objects; None for everyone).
    """

    def __init__(self, handle: Callable[[str], tuple[str, str | None]], host: str = "127.0.0.1", port: int = 2575,
                 workers: int = 4, max_frame: int = MAX_FRAME, allow: list | None = None):
        self.handle = handle
        self.host = host
        self.port = port
        self.max_frame = max_frame
        self.allow = allow
        self.refused = 0  # frames answered AR because their peer is not allowed
        try:
            self._handle_takes_peer = "peer" in inspect.signature(handle).parameters
        except (TypeError, ValueError):
            self._handle_takes_peer = False
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mllp")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    async def _client(self, reader, writer) -> None:
        peername = writer.get_extra_info("peername")
        peer = peername[0] if isinstance(peername, (tuple, list)) and peername else None
        allowed = peer_allowed(peer, self.allow)
        if not allowed:
            log.warning("MLLP connection from %s refused: not in VMA_MLLP_ALLOW", peer or "unknown")
        try:
            while not reader.at_eof():
                try:
                    block, problem = await read_frame(reader, self.max_frame)
                except asyncio.IncompleteReadError:
                    break  # peer closed mid-frame: nothing complete to acknowledge
                if not allowed:
                    # Answered (an interface engine waits for an ACK) but never stored, parsed or checked.
                    self.refused += 1
                    text = block.decode("utf-8", errors="replace") if block is not None else ""
                    try:
                        ack = ack_for(text, "AR", "this sender is not allowed to send here (VMA_MLLP_ALLOW)")
                    except Exception:
                        ack = build_ack("", "AR", "this sender is not allowed to send here (VMA_MLLP_ALLOW)")
                    writer.write(START_BLOCK + ack.encode("utf-8") + FRAME_END)
                    await writer.drain()
                    continue
                if block is None:
                    writer.write(START_BLOCK + build_ack("", "AE", problem).encode("utf-8") + FRAME_END)
                    await writer.drain()
                    continue
                text = block.decode("utf-8", errors="replace")
                loop = asyncio.get_running_loop()
                try:
                    if self._handle_takes_peer:
                        code, reason = await loop.run_in_executor(self._executor,
                                                                  lambda: self.handle(text, peer=peer))
                    else:
                        code, reason = await loop.run_in_executor(self._executor, self.handle, text)
                except Exception:  # storage failed: the sender must resend, so never AA
                    log.exception("MLLP message could not be stored")
                    code, reason = "AR", "the message could not be stored just now (internal error); please resend"
                try:
                    ack = ack_for(text, code, reason)
                except Exception:  # an ACK must go out whatever the message looked like
                    log.exception("building the ACK failed")
                    ack = build_ack("", code, reason)
                writer.write(START_BLOCK + ack.encode("utf-8") + FRAME_END)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def start_async(self) -> None:
        # The stream limit is the frame cap: readuntil gives up (and read_frame skips the frame) past it.
        self._server = await start_hl7_server(self._client, self.host, self.port, limit=self.max_frame)
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]

    def start(self) -> "MllpListener":
        """Run the listener on its own event loop in a daemon thread."""
        failure: list[BaseException] = []

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self.start_async())
            except BaseException as exc:  # e.g. the port is taken: tell start(), do not hang it
                failure.append(exc)
                self._ready.set()
                return
            self._ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="mllp-listener", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("MLLP listener did not start")
        if failure:
            raise RuntimeError(f"MLLP listener could not listen on {self.host}:{self.port}: {failure[0]}")
        return self

    def stop(self) -> None:
        if self._loop and self._server and self._loop.is_running():
            async def close() -> None:
                self._server.close()
                await self._server.wait_closed()

            try:
                asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
            except Exception:  # open client connections may hold wait_closed; the loop stops anyway
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(5)
        self._server = None
        self._executor.shutdown(wait=False)


class ServiceHandler:
    """``ChartService.intake`` behind the listener: classify, store, map the outcome to an ACK code.

    After a message is stored its checks are started in a background worker
    (``process=False`` leaves them to ``ChartService.process_pending``, as a
    crash right after the ACK would).
    """

    def __init__(self, service, process: bool = True, workers: int = 2):
        self.service = service
        self._workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mllp-process") if process else None
        self._running: set[Future] = set()
        self._lock = threading.Lock()

    def __call__(self, text: str, peer: str | None = None) -> tuple[str, str | None]:
        sender = f"peer:{peer}" if peer else None
        header = msh_fields(text)
        if header is None:
            if text.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
                # JSON would be taken by intake as a chart: over MLLP only HL7 v2 is taken
                return "AE", "(input): not an HL7 v2 message; MLLP takes HL7 v2 only (send JSON to POST /charts)"
        else:
            event = _event(header)
            if event[0] and event not in ACCEPTED_EVENTS:
                self.service.intake(text.encode("utf-8"), source="mllp", sender=sender)  # kept for review, as a rejection
                return "AR", (f"message type {event[0]}^{event[1] or '?'} is not accepted here "
                              "(MDM^T01-T11 or ORU^R01 only)")
        # One full parse, inside intake: it names the field of anything wrong (MSH included).
        result = self.service.intake(text.encode("utf-8"), source="mllp", sender=sender)
        if result.outcome in (IntakeOutcome.STORED, IntakeOutcome.DUPLICATE):
            if result.outcome == IntakeOutcome.STORED and result.record_id is not None:
                self._start_checks(result.record_id)
            return "AA", None
        return "AE", "; ".join(error_lines(result.errors)) or "the message could not be used"

    def _start_checks(self, record_id: int) -> None:
        if self._workers is None:
            return
        try:
            future = self._workers.submit(self._process, record_id)
        except RuntimeError:  # shutting down: the record stays "received" and process_pending takes it
            return
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._finished)

    def _finished(self, future: Future) -> None:
        with self._lock:
            self._running.discard(future)

    def drain(self, timeout: float = 60) -> None:
        """Wait for the checks started so far (tests, and a clean shutdown)."""
        with self._lock:
            running = list(self._running)
        wait(running, timeout=timeout)

    def _process(self, record_id: int) -> None:
        try:
            self.service.process(record_id)
        except Exception:  # stays stored; process_pending retries it
            log.exception("processing chart record %s failed", record_id)

    def close(self) -> None:
        if self._workers is not None:
            self._workers.shutdown(wait=True)


def service_handler(service, process: bool = True) -> ServiceHandler:
    """The listener's ``handle`` for a ``ChartService`` (kept as the name ``vma.web.serve`` calls)."""
    return ServiceHandler(service, process=process)
