"""Request bodies: every one is counted as it arrives and refused past its limit.

A body is never trusted by its headers. ``Content-Length`` may be absent (chunked), or say one
thing while the type says another; a limit that applied only to JSON bodies let a chunked
``text/plain`` body of hundreds of MiB be buffered by a JSON route. So :class:`BodyLimitMiddleware`
wraps ``receive`` for *every* HTTP request: a declared length over the limit is answered 413
before anything is read, and a streamed body is cut off with 413 the moment it passes the limit,
whatever its headers say. The limit is 1 MiB unless a service declares a larger one for a path
prefix and content type (uploads: ``ServiceSpec.body_limits``), so service routers need not
repeat the rule.

The same layer adds the other half: a route that reads a JSON body answers 415 to a body of any
other type (``Content-Type`` missing included) instead of reading it to find out that it does
not validate.
"""

from __future__ import annotations

import email.message
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from fastapi import params
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.core.errors import PROBLEM_CONTENT_TYPE, problem_body

_DISCONNECT: Message = {"type": "http.disconnect"}


@dataclass(frozen=True, slots=True)
class BodyLimit:
    """Bodies sent to paths under ``prefix`` with one of ``content_types`` (media types without
    parameters; empty: any type) may be up to ``max_bytes``."""

    prefix: str
    max_bytes: int
    content_types: tuple[str, ...] = ()

    def applies(self, path: str, media_type: str) -> bool:
        if not path.startswith(self.prefix):
            return False
        return not self.content_types or media_type in self.content_types


class BodyTooLarge(HTTPException):
    """An HTTP 413 raised from ``receive``: routes reading the body turn it into a problem
    response through the usual exception handlers."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The request body is limited to {max_bytes} bytes.")


def media_type_of(scope: Scope) -> str:
    """The request's media type, lower-case and without parameters ("" when none is given)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type: str = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return media_type
    return ""


async def _send_problem(send: Send, status: int, detail: str) -> None:
    body = orjson.dumps(problem_body(status, detail))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is not read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for any request body over its limit, declared or found while streaming."""

    def __init__(self, app: ASGIApp, default_max_bytes: int, limits: Sequence[BodyLimit]) -> None:
        self.app = app
        self.default_max_bytes = default_max_bytes
        # Longest prefix first, so the most specific rule wins.
        self.limits = sorted(limits, key=lambda limit: len(limit.prefix), reverse=True)

    def limit_for(self, scope: Scope) -> int:
        path = scope["path"]
        media_type: str | None = None  # looked up only when a prefix matches (uploads)
        for limit in self.limits:
            if path.startswith(limit.prefix):
                if media_type is None:
                    media_type = media_type_of(scope)
                if limit.applies(path, media_type):
                    return limit.max_bytes
        return self.default_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope)
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0  # the server rejects such a request itself
                if declared > max_bytes:
                    await _send_problem(
                        send, 413, f"The request body is limited to {max_bytes} bytes."
                    )
                    return
                break
        received = 0
        over = False
        first = True
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, over, first
            if over:
                # The body was refused: nothing more is read from the client.
                return _DISCONNECT
            if first:
                first = False
                # Routing is done by the time a route reads its body: a JSON route refuses
                # another type before a byte of it is read.
                if _reads_json(scope.get("route")) and _has_body(scope):
                    media_type = media_type_of(scope)
                    if not is_json_media_type(media_type):
                        over = True
                        raise UnsupportedBody(media_type)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    over = True
                    raise BodyTooLarge(max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                if over:  # the rest of the body is not read: the connection cannot be reused
                    message["headers"] = [*message.get("headers", ()), (b"connection", b"close")]
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except (BodyTooLarge, UnsupportedBody) as exc:
            if response_started:
                raise
            await _send_problem(send, exc.status_code, exc.detail)


def is_json_media_type(media_type: str) -> bool:
    message = email.message.Message()
    message["content-type"] = media_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


def _reads_json(route: object) -> bool:
    """Whether ``route`` (``scope["route"]`` once routing is done) parses a JSON body."""
    if not isinstance(route, APIRoute):
        return False
    body = route.body_field
    return body is not None and not isinstance(body.field_info, params.Form)


class UnsupportedBody(HTTPException):
    """An HTTP 415: a JSON route was sent a body of another type."""

    def __init__(self, media_type: str) -> None:
        super().__init__(
            415,
            f"This endpoint reads application/json, not {media_type or 'an untyped body'}.",
        )
