"""The HTTP face of vma: Slack at ``/slack/events``, chart intake, health.

Starlette routes beside bolt's Starlette adapter, served by uvicorn. Intake
stores the raw body and answers at once (202/200/400/413, contract section 6);
the checks and the Slack messages follow in a worker thread, and whatever a
crash interrupted is resumed at start-up (``ChartService.resume``).

Intake is guarded (``IntakeGuard``): with ``VMA_INTAKE_TOKENS`` every request to
``/charts`` and ``/fhir`` needs ``Authorization: Bearer <token>`` (401 with a
``WWW-Authenticate`` challenge otherwise, tokens compared in constant time), and
each source (token name, or peer address when intake is open) is held to
``VMA_INTAKE_RATE_LIMIT`` (429 with ``Retry-After``). Both are decided before a
byte of the body is read. ``vma serve`` listens on 127.0.0.1 unless told
otherwise, and will not listen elsewhere without tokens unless
``--allow-open-intake`` says so.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import hmac
import ipaddress
import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vma.config import parse_intake_tokens, parse_rate_limit
from vma.conversations.service import ChartService
from vma.directory import Directory
from vma.intake import MAX_BODY
from vma.integrations.body import BodyTooLarge, read_capped
from vma.integrations.ehr import writeback_from_settings
from vma.integrations.slack.app import build_app
from vma.integrations.slack.http import events_endpoint
from vma.integrations.slack.notifier import SlackNotifier, notifier_from_settings, web_client
from vma.store.db import Store
from vma.store.status import IntakeOutcome

log = logging.getLogger(__name__)

INTAKE_REALM = "vma-intake"
# Contract section 6: a new version is accepted for checking, an exact duplicate is fine, bad input is the sender's.
INTAKE_STATUS = {IntakeOutcome.STORED: 202, IntakeOutcome.DUPLICATE: 200, IntakeOutcome.INVALID: 400}
# Buckets of sources idle long enough to be full again are dropped past this many (open intake keys them by
# peer address, which a flood could vary).
MAX_BUCKETS = 10_000


class IntakeGuard:
    """Who may post charts, and how fast: bearer tokens and a per-source token bucket.

    ``check(authorization, peer)`` answers ``(source, None)`` to go on, or ``(None, refusal)`` with
    the refusal's reason (``missing_token``, ``invalid_token``, ``rate_limited``) and, for the rate
    limit, the seconds to wait. ``refused`` counts refusals by reason.
    """

    def __init__(self, settings, clock=time.monotonic):
        # Hashes, so every comparison is over 32 bytes whatever the length presented.
        self._tokens = [(t.source, hashlib.sha256(t.token.encode()).digest())
                        for t in parse_intake_tokens(settings.vma_intake_tokens)]
        self.limit = parse_rate_limit(settings.vma_intake_rate_limit)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self.refused: Counter = Counter()

    @property
    def open(self) -> bool:
        return not self._tokens

    def authenticate(self, authorization: str | None) -> tuple[str | None, str | None]:
        """(token source, None) for a valid token; (None, None) when intake is open; else (None, reason)."""
        if not self._tokens:
            return None, None
        scheme, _, presented = (authorization or "").strip().partition(" ")
        presented = presented.strip()
        if scheme.lower() != "bearer" or not presented:
            return None, "missing_token"
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found = None
        for source, expected in self._tokens:  # no early exit: the time taken does not say which token matched
            if hmac.compare_digest(digest, expected):
                found = source
        return (found, None) if found is not None else (None, "invalid_token")

    def admit(self, key: str) -> float | None:
        """None when ``key`` may send now; else the seconds until it may."""
        if self.limit is None:
            return None
        capacity, period = self.limit
        rate = capacity / period
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(capacity), now))
            tokens = min(float(capacity), tokens + (now - last) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                if len(self._buckets) > MAX_BUCKETS:
                    self._prune(now, capacity, rate)
                return None
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / rate

    def _prune(self, now: float, capacity: int, rate: float) -> None:
        for key, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * rate >= capacity:
                del self._buckets[key]

    def refuse(self, reason: str, peer: str | None, path: str) -> None:
        with self._lock:
            self.refused[reason] += 1
            count = self.refused[reason]
        if count & (count - 1) == 0:  # 1st, 2nd, 4th, 8th...: a flood does not flood the log
            log.warning("intake refused on %s from %s: %s (%d so far)", path, peer or "unknown", reason, count)


def is_loopback(host: str | None) -> bool:
    """Whether listening on ``host`` keeps the port on this machine."""
    name = (host or "").strip().strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def build_service(settings):
    """The production wiring: the store, the Slack notifier, the directory and the EHR write-back from settings."""
    return ChartService(Store(settings.vma_database_url), notifier_from_settings(settings), settings,
                        Directory.load(settings.vma_provider_directory), ehr=writeback_from_settings(settings))


def _operation_outcome(status: int, issues: list[dict]) -> JSONResponse:
    return JSONResponse({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": issue.get("code", "invalid"),
                   "diagnostics": issue.get("message", ""),
                   **({"expression": [issue["field"]]} if issue.get("field") else {})} for issue in issues],
    }, status_code=status, media_type="application/fhir+json")


def create_app(settings, service=None, *, start_scheduler: bool = True, migrate: bool = True,
               resume_pending: bool = True, socket_mode: bool = False) -> Starlette:
    """The ASGI app. ``service`` defaults to ``build_service(settings)``.

    ``socket_mode``: Slack's requests come over Socket Mode (``app.state.bolt`` serves them), so no
    signing secret is needed; without one, ``/slack/events`` over HTTP refuses every request."""
    if not settings.slack_signing_secret and not socket_mode:
        raise ValueError("SLACK_SIGNING_SECRET is required: every request to /slack/events is verified with it "
                         "(or run with --socket-mode and SLACK_APP_TOKEN)")
    service = service or build_service(settings)
    notifier = service.notifier
    client = notifier.client if isinstance(notifier, SlackNotifier) else web_client(settings)
    bolt = build_app(service, settings, client, socket_mode=socket_mode)
    slack_events = events_endpoint(settings.slack_signing_secret, bolt)
    workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vma-process")
    state: dict[str, Any] = {}
    guard = IntakeGuard(settings)

    def process_in_background(record_id: int) -> None:
        def run() -> None:
            try:
                service.process(record_id)
            except Exception:  # stays stored as received; process_pending retries it
                log.exception("processing chart record %s failed", record_id)
        workers.submit(run)

    def _refusal(fhir: bool, status: int, code: str, message: str, headers: dict) -> Response:
        if fhir:
            response = _operation_outcome(status, [{"code": code, "message": message}])
            response.headers.update(headers)
            return response
        return JSONResponse({"status": "unauthorized" if status == 401 else "rate_limited",
                             "errors": [{"field": "Authorization" if status == 401 else "(request)",
                                         "message": message}]}, status_code=status, headers=headers)

    async def intake(request: Request, source: str, fhir: bool) -> Response:
        # Who and how fast, before a byte of the body is read.
        peer = request.client.host if request.client else None
        sender, problem = guard.authenticate(request.headers.get("authorization"))
        if problem is not None:
            guard.refuse(problem, peer, request.url.path)
            challenge = f'Bearer realm="{INTAKE_REALM}"' + (', error="invalid_token"' if problem == "invalid_token" else "")
            message = ("a valid intake token is required: Authorization: Bearer <token>" if problem == "missing_token"
                       else "the intake token is not valid")
            return _refusal(fhir, 401, "login", message, {"WWW-Authenticate": challenge})
        sender = sender or f"peer:{peer or 'unknown'}"
        wait = guard.admit(sender)
        if wait is not None:
            guard.refuse("rate_limited", peer, request.url.path)
            capacity, period = guard.limit
            seconds = max(1, int(wait + 0.999))
            return _refusal(fhir, 429, "throttled",
                            f"source {sender} sent more than {capacity} requests in {period:g} s "
                            f"(VMA_INTAKE_RATE_LIMIT); retry after {seconds} s", {"Retry-After": str(seconds)})
        try:
            body = await read_capped(request)
        except BodyTooLarge:
            message = f"body over {MAX_BODY} bytes"
            if fhir:
                return _operation_outcome(413, [{"code": "too-long", "message": message}])
            return JSONResponse({"status": "invalid", "errors": [{"field": "(body)", "message": message}]},
                                status_code=413)
        result = await run_in_threadpool(service.intake, body, source, sender)
        status = INTAKE_STATUS[result.outcome]
        if result.outcome == IntakeOutcome.INVALID:
            if fhir:
                return _operation_outcome(400, result.errors or [{"message": "invalid input"}])
            return JSONResponse({"chart_id": result.chart_id, "status": "invalid", "errors": result.errors},
                                status_code=400)
        if result.outcome == IntakeOutcome.STORED and result.record_id is not None:
            process_in_background(result.record_id)
        return JSONResponse({"chart_id": result.chart_id, "status": result.status,
                             **({"duplicate": True} if result.duplicate else {})}, status_code=status)

    async def charts(request: Request) -> Response:
        return await intake(request, "http:charts", fhir=False)

    async def fhir(request: Request) -> Response:
        return await intake(request, "http:fhir", fhir=True)

    async def healthz(request: Request) -> Response:
        def probe() -> bool:
            from sqlalchemy import text

            with service.store.session() as session:
                session.execute(text("SELECT 1"))
            return True

        try:
            await run_in_threadpool(probe)
        except Exception as exc:
            return JSONResponse({"status": "error", "database": str(exc)[:200]}, status_code=503)
        return JSONResponse({"status": "ok"})

    registry = getattr(service, "workers", None)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        if migrate:
            await run_in_threadpool(service.store.migrate)
        await run_in_threadpool(_warm_connections, service.store)
        if registry is not None:
            # Registered and heartbeating before any claim: a worker started after this one sees it alive.
            await run_in_threadpool(registry.start)
        if start_scheduler:
            from vma import scheduler

            state["scheduler"] = scheduler.start(service, settings)
        if resume_pending:
            threading.Thread(target=_resume, args=(service,), name="vma-resume", daemon=True).start()
        try:
            yield
        finally:
            if state.get("scheduler") is not None:
                state["scheduler"].shutdown(wait=False)
            workers.shutdown(wait=True, cancel_futures=False)
            if registry is not None:
                await run_in_threadpool(registry.stop)

    app = Starlette(routes=[
        Route("/slack/events", slack_events, methods=["POST"]),
        Route("/charts", charts, methods=["POST"]),
        Route("/fhir", fhir, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ], lifespan=lifespan)
    app.state.service = service
    app.state.bolt = bolt
    app.state.intake_guard = guard
    return app


def _warm_connections(store, count: int = 6) -> None:
    """Opens the pool's connections before the first burst, not during it (PostgreSQL only)."""
    engine = getattr(store, "engine", None)
    if engine is None or engine.dialect.name != "postgresql":
        return
    opened = []
    try:
        for _ in range(min(count, engine.pool.size())):
            opened.append(engine.connect())
    except Exception:  # a database that is down now is reported by /healthz, not by start-up
        log.warning("could not open database connections ahead of time", exc_info=True)
    finally:
        for connection in opened:
            connection.close()


def _resume(service) -> None:
    try:
        resume = getattr(service, "resume", None) or service.process_pending
        steps = resume()
        if steps:
            log.info("resumed %s step(s) left from before the restart", steps)
    except Exception:
        log.exception("resuming pending work failed")


def bind_refusal(settings, host: str, allow_open_intake: bool = False) -> str | None:
    """Why ``vma serve`` must not start on ``host`` with these settings (None: it may).

    Off the loopback interface, intake without tokens lets anyone who reaches the port store charts
    and make the bot write to physicians: it takes ``--allow-open-intake`` to say that is intended.
    """
    try:
        tokens = parse_intake_tokens(settings.vma_intake_tokens)
    except ValueError as exc:
        return str(exc)
    if not tokens and not is_loopback(host) and not allow_open_intake:
        return (f"refusing to listen on {host} without VMA_INTAKE_TOKENS: anyone who can reach the port could post "
                "charts to /charts and /fhir. Set VMA_INTAKE_TOKENS, or listen on 127.0.0.1 behind a reverse proxy "
                "that terminates TLS, or pass --allow-open-intake if the network itself is closed.")
    return None


def serve(host: str = "127.0.0.1", port: int = 3000, mllp_port: int | None = None, socket_mode: bool = False,
          allow_open_intake: bool = False) -> int:
    """``vma serve``: uvicorn in front of the app, plus MLLP and Socket Mode when asked."""
    import sys

    import uvicorn
    from pydantic import ValidationError

    from vma.config import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"vma serve: {exc}", file=sys.stderr)
        return 2
    refusal = bind_refusal(settings, host, allow_open_intake)
    if refusal is not None:
        print(f"vma serve: {refusal}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(settings, socket_mode=socket_mode)
    except ValueError as exc:
        print(f"vma serve: {exc}")
        return 2
    service = app.state.service
    listener = None
    if mllp_port:
        from vma.integrations.mllp import MllpListener, service_handler

        if settings.mllp_allow is None and not is_loopback(host):
            log.warning("MLLP on %s:%s takes HL7 from any peer: set VMA_MLLP_ALLOW to the interface engine's "
                        "addresses", host, mllp_port)
        listener = MllpListener(service_handler(service), host=host, port=mllp_port,
                                allow=settings.mllp_allow).start()
    socket_handler = None
    if socket_mode:
        from vma.integrations.slack import socket_mode as slack_socket

        try:  # Slack over a websocket; /charts and /healthz still over HTTP
            slack_socket.check_app_token(settings.slack_app_token)
            # Requests arrive as soon as the socket is open, before uvicorn's start-up: the tables first.
            service.store.migrate()
            socket_handler = slack_socket.start(app.state.bolt, settings)
        except slack_socket.SocketModeError as exc:
            print(f"vma serve: {exc}")
            if listener is not None:
                listener.stop()
            return 2
    # Everything built so far lives as long as the process: out of the collector's sight, a full
    # collection no longer walks it and stalls every request in flight (issue 7: p99 under bursts).
    gc.collect()
    gc.freeze()
    try:
        # log_config=None: uvicorn's lines go through vma's handler (text or JSON), not a format of its own.
        if not is_loopback(host) and app.state.intake_guard.open:
            log.warning("intake on %s:%s is open (--allow-open-intake): no token is asked of /charts and /fhir",
                        host, port)
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True, log_config=None)
    finally:
        if socket_handler is not None:
            socket_handler.close()
        if listener is not None:
            listener.stop()
    return 0


__all__ = ["create_app", "serve", "build_service", "MAX_BODY"]
