"""Local stand-ins for an EHR's inbound interfaces: the write-back target of ``vma demo`` and the tests.

- ``MllpEhrStandIn``: python-hl7's asyncio MLLP server on loopback. It files each ``MDM^T02`` it
  acknowledges ``AA`` by its document ID (``TXA-12``), as an EHR's document store does, so a second
  copy of one document (an ACK lost to a crash) is filed once. Its answers can be scripted (``AE``
  then ``AA``), delayed (a kill lands while the EHR holds the message), and it can go down and come
  back on the same port.
- ``FhirEhrStandIn``: a FHIR server's ``POST /DocumentReference``: checks the bearer token, validates
  the body with ``fhir.resources`` (R4B) and answers 201, or 400 with an OperationOutcome; honours
  ``If-None-Exist`` (conditional create); can be told to fail the next requests (503).

Nothing here is used by ``vma serve``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _fields(message: str, segment: str) -> list[str]:
    for line in message.replace("\n", "\r").split("\r"):
        if line.startswith(segment + "|"):
            return line.split("|")
    return []


def field_of(message: str, segment: str, number: int) -> str:
    """``segment-number`` of an ER7 message (MSH counts its field separator as MSH-1)."""
    parts = _fields(message, segment)
    index = number - 1 if segment == "MSH" else number
    return parts[index] if 0 <= index < len(parts) else ""


def obx_lines(message: str) -> list[str]:
    out = []
    for line in message.replace("\n", "\r").split("\r"):
        if line.startswith("OBX|"):
            parts = line.split("|")
            out.append(parts[5] if len(parts) > 5 else "")
    return out


@dataclass
class Filed:
    document_id: str
    parent_document_id: str
    message: str
    copies: int = 1


class MllpEhrStandIn:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self.received: list[str] = []  # every message, in order, whatever the answer
        self.documents: dict[str, Filed] = {}  # filed by TXA-12 (only those acknowledged AA)
        self.script: list[str] = []  # the next answers ("AE", "AR", "AA"); AA when empty
        self.delay = 0.0  # seconds before answering
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def answer_next(self, *codes: str) -> None:
        with self._lock:
            self.script.extend(codes)

    def _ack(self, message: str, code: str) -> str:
        control = field_of(message, "MSH", 10)
        now = time.strftime("%Y%m%d%H%M%S")
        segments = [f"MSH|^~\\&|EHR|EHR|VMA|VMA|{now}||ACK^T02^ACK|ACK{control}|P|2.5.1",
                    f"MSA|{code}|{control}" + ("" if code == "AA" else "|Document rejected by the EHR stand-in")]
        if code != "AA":
            segments.append("ERR||TXA^1^12|207^Application internal error^HL70357|E||||Scripted refusal")
        return "\r".join(segments)

    async def _client(self, reader, writer) -> None:
        try:
            while not writer.is_closing():
                try:
                    message = await reader.readmessage()
                except asyncio.IncompleteReadError:
                    return
                text = str(message)
                with self._lock:
                    self.received.append(text)
                    code = self.script.pop(0) if self.script else "AA"
                    delay = self.delay
                if delay:
                    await asyncio.sleep(delay)
                if code == "AA":
                    doc_id = field_of(text, "TXA", 12)
                    with self._lock:
                        if doc_id in self.documents:
                            self.documents[doc_id].copies += 1
                        else:
                            self.documents[doc_id] = Filed(doc_id, field_of(text, "TXA", 13), text)
                writer.writemessage(self._ack(text, code))
                await writer.drain()
        except (ConnectionError, OSError):
            return
        finally:
            writer.close()

    def start(self) -> "MllpEhrStandIn":
        from hl7.mllp import start_hl7_server

        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)

            async def boot() -> None:
                self._server = await start_hl7_server(self._client, self.host, self.port)
                self.port = self._server.sockets[0].getsockname()[1]

            try:
                loop.run_until_complete(boot())
            except BaseException as exc:  # surfaced to the caller of start()
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="ehr-mllp-standin", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        """Down: the port refuses connections until ``start()`` again (on the same port)."""
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return

        async def close() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = self._server = None

    def __enter__(self) -> "MllpEhrStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class FhirEhrStandIn:
    token: str | None = None
    host: str = "127.0.0.1"
    created: list[dict] = field(default_factory=list)
    requests: list[tuple[int, dict | None]] = field(default_factory=list)  # (status answered, body)
    _failures: list[int] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}/fhir"

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        self._failures.extend([status] * times)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        from fhir.resources.R4B.documentreference import DocumentReference
        from pydantic import ValidationError

        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None

        def reply(status: int, payload: dict, location: str | None = None) -> None:
            self.requests.append((status, body))
            data = json.dumps(payload).encode()
            request.send_response(status)
            request.send_header("Content-Type", "application/fhir+json")
            request.send_header("Content-Length", str(len(data)))
            if location:
                request.send_header("Location", location)
            request.end_headers()
            request.wfile.write(data)

        def outcome(status: int, code: str, text: str) -> None:
            reply(status, {"resourceType": "OperationOutcome",
                           "issue": [{"severity": "error", "code": code, "diagnostics": text}]})

        if request.path.rstrip("/") != "/fhir/DocumentReference":
            return outcome(404, "not-found", f"no endpoint {request.path}")
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return outcome(401, "login", "bearer token missing or wrong")
        if self._failures:
            return outcome(self._failures.pop(0), "transient", "the server is busy, try again later")
        if not isinstance(body, dict) or body.get("resourceType") != "DocumentReference":
            return outcome(400, "invalid", "expected a DocumentReference")
        try:
            DocumentReference.model_validate(body)
        except ValidationError as exc:
            return outcome(400, "invalid", str(exc)[:500])
        from urllib.parse import unquote

        wanted = unquote((request.headers.get("If-None-Exist") or "").removeprefix("identifier="))
        for existing in self.created:
            for ident in existing.get("identifier") or []:
                if wanted and f"{ident.get('system')}|{ident.get('value')}" == wanted:
                    return reply(200, existing, f"DocumentReference/{existing['id']}")
        stored = {**body, "id": f"dr-{len(self.created) + 1}"}
        self.created.append(stored)
        return reply(201, stored, f"DocumentReference/{stored['id']}")

    def start(self) -> "FhirEhrStandIn":
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet: the requests are recorded instead
                pass

            def do_POST(self):
                standin._handle(self)

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, name="ehr-fhir-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FhirEhrStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
