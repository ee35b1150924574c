"""``/slack/events`` over HTTP: the raw body read under the cap, verified, shape-checked, then bolt.

The web app mounts the endpoint this returns; everything Slack-specific about the request stays here.
"""

from __future__ import annotations

import logging

from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from vma.integrations.body import BodyTooLarge, read_capped
from vma.integrations.slack.verify import slack_payload_problem, slack_signature_ok

# The web app's logger: operators read these refusals beside the intake's.
log = logging.getLogger("vma.web")


def events_endpoint(signing_secret: str, bolt):
    """The Starlette handler for Slack's requests, dispatching to ``bolt`` (or its ``/checkchart`` app)."""
    checkchart_app = getattr(bolt, "vma_checkchart_app", None)

    def app_for(body):
        """``/checkchart <chart>`` goes to the app that answers in the request thread; the rest to bolt."""
        if checkchart_app is not None and isinstance(body, dict) and body.get("command") == "/checkchart" \
                and isinstance(body.get("text"), str) and body["text"].strip():
            return checkchart_app
        return bolt

    async def slack_events(request: Request) -> Response:
        try:
            body = await read_capped(request)
        except BodyTooLarge:
            return Response("request too large", status_code=413)
        if not slack_signature_ok(signing_secret, body,
                                  request.headers.get("x-slack-request-timestamp"),
                                  request.headers.get("x-slack-signature")):
            return Response("invalid request signature", status_code=401)
        try:
            bolt_request = to_bolt_request(request, body)
        except Exception as exc:  # signed, but not UTF-8 or not a payload bolt can read (e.g. "payload=null")
            log.warning("Slack request refused: %s (%d bytes)", type(exc).__name__, len(body))
            return Response("malformed Slack request", status_code=400)
        problem = slack_payload_problem(bolt_request.body)
        if problem is not None:
            log.warning("Slack request refused: %s (%d bytes)", problem, len(body))
            return Response(f"malformed Slack request: {problem}", status_code=400)
        # dispatch blocks until ack(); keep it off the event loop so other requests go on
        bolt_response = await run_in_threadpool(app_for(bolt_request.body).dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    return slack_events
