"""Reading a request body under the intake cap, without ever buffering more than the cap."""

from __future__ import annotations

from starlette.requests import Request

from vma.intake import MAX_BODY


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
