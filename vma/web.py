"""The HTTP face of vma: Slack at ``/slack/events``, chart intake, health.

Starlette routes beside bolt's Starlette adapter, served by uvicorn. Intake
stores the raw body and answers at once (202/200/400/413, contract section 6);
the checks and the Slack messages follow in a worker thread, and whatever a
crash interrupted is resumed at start-up (``ChartService.process_pending``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # 1 MB: contract section 6 answers 413 above it


class BodyTooLarge(Exception):
    pass


async def read_capped(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, refusing it as soon as it passes ``limit`` (never buffers more)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def build_service(settings):
    """The production wiring: the store, the Slack notifier and the directory from settings."""
    from vma.conversations.service import ChartService
    from vma.directory import Directory
    from vma.integrations.slack.notifier import notifier_from_settings
    from vma.store.db import Store

    return ChartService(Store(settings.vma_database_url), notifier_from_settings(settings), settings,
                        Directory.load(settings.vma_provider_directory))


def _operation_outcome(status: int, issues: list[dict]) -> JSONResponse:
    return JSONResponse({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": issue.get("code", "invalid"),
                   "diagnostics": issue.get("message", ""),
                   **({"expression": [issue["field"]]} if issue.get("field") else {})} for issue in issues],
    }, status_code=status, media_type="application/fhir+json")


def create_app(settings, service=None, *, start_scheduler: bool = True, migrate: bool = True,
               resume_pending: bool = True) -> Starlette:
    """The ASGI app. ``service`` defaults to ``build_service(settings)``."""
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

    from vma.integrations.slack.app import build_app
    from vma.integrations.slack.notifier import SlackNotifier, web_client

    if not settings.slack_signing_secret:
        raise ValueError("SLACK_SIGNING_SECRET is required: every request to /slack/events is verified with it")
    service = service or build_service(settings)
    notifier = service.notifier
    client = notifier.client if isinstance(notifier, SlackNotifier) else web_client(settings)
    bolt = build_app(service, settings, client)
    workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vma-process")
    state: dict[str, Any] = {}

    def process_in_background(record_id: int) -> None:
        def run() -> None:
            try:
                service.process(record_id)
            except Exception:  # stays stored as received; process_pending retries it
                log.exception("processing chart record %s failed", record_id)
        workers.submit(run)

    async def slack_events(request: Request) -> Response:
        try:
            body = await read_capped(request)
        except BodyTooLarge:
            return Response("request too large", status_code=413)
        bolt_request = to_bolt_request(request, body)
        # dispatch blocks until ack(); keep it off the event loop so other requests go on
        bolt_response = await run_in_threadpool(bolt.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    async def intake(request: Request, source: str, fhir: bool) -> Response:
        try:
            body = await read_capped(request)
        except BodyTooLarge:
            message = f"body over {MAX_BODY} bytes"
            if fhir:
                return _operation_outcome(413, [{"code": "too-long", "message": message}])
            return JSONResponse({"status": "invalid", "errors": [{"field": "(body)", "message": message}]},
                                status_code=413)
        result = await run_in_threadpool(service.intake, body, source)
        if result.http_status == 400:
            if fhir:
                return _operation_outcome(400, result.errors or [{"message": "invalid input"}])
            return JSONResponse({"chart_id": result.chart_id, "status": "invalid", "errors": result.errors},
                                status_code=400)
        if result.http_status == 202 and result.record_id is not None:
            process_in_background(result.record_id)
        return JSONResponse({"chart_id": result.chart_id, "status": result.status,
                             **({"duplicate": True} if result.duplicate else {})}, status_code=result.http_status)

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

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        if migrate:
            await run_in_threadpool(service.store.migrate)
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

    app = Starlette(routes=[
        Route("/slack/events", slack_events, methods=["POST"]),
        Route("/charts", charts, methods=["POST"]),
        Route("/fhir", fhir, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ], lifespan=lifespan)
    app.state.service = service
    app.state.bolt = bolt
    return app


def _resume(service) -> None:
    try:
        steps = service.process_pending()
        if steps:
            log.info("resumed %s step(s) left from before the restart", steps)
    except Exception:
        log.exception("resuming pending work failed")


def serve(host: str = "0.0.0.0", port: int = 3000, mllp_port: int | None = None, socket_mode: bool = False) -> int:
    """``vma serve``: uvicorn in front of the app, plus MLLP and Socket Mode when asked."""
    import uvicorn

    from vma.config import get_settings

    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(settings)
    except ValueError as exc:
        print(f"vma serve: {exc}")
        return 2
    service = app.state.service
    listener = None
    if mllp_port:
        from vma.integrations.mllp import MllpListener, service_handler

        listener = MllpListener(service_handler(service), host=host, port=mllp_port).start()
    socket_handler = None
    if socket_mode:
        if not settings.slack_app_token:
            print("vma serve: --socket-mode needs SLACK_APP_TOKEN")
            return 2
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        socket_handler = SocketModeHandler(app.state.bolt, settings.slack_app_token)
        socket_handler.connect()  # Slack over a websocket; /charts and /healthz still over HTTP
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True)
    finally:
        if socket_handler is not None:
            socket_handler.close()
        if listener is not None:
            listener.stop()
    return 0


__all__ = ["create_app", "serve", "build_service", "MAX_BODY"]
