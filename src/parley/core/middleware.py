"""Pure-ASGI middleware shared by every service app.

Written against the ASGI interface rather than ``BaseHTTPMiddleware`` because each layer runs
on every request and must cost microseconds, and because streamed request bodies (uploads) must
pass through untouched.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.core.errors import problem_body
from parley.core.observability import HTTP_DURATION, HTTP_IN_FLIGHT, HTTP_REQUESTS

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_access_log = structlog.get_logger("parley.access")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), microphone=(self), display-capture=(self)"),
]


class RequestContextMiddleware:
    """Per request: takes ``X-Request-ID`` from the caller (or makes one), returns it, binds it
    to the logs, adds the security headers, writes one access-log line and records the request
    metrics by *route template* (``/users/{id}``, never the raw path, so series stay bounded).

    One layer does all of it because each layer and its ``send`` wrapper costs every request."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self.in_flight = HTTP_IN_FLIGHT.labels(service)
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _series(self, method: str, template: str, status: int) -> tuple[Any, Any]:
        """The labelled metric children for one (method, route, status), looked up once."""
        key = (method, template, status)
        children = self._children.get(key)
        if children is None:
            children = (
                HTTP_REQUESTS.labels(self.service, method, template, str(status)),
                HTTP_DURATION.labels(self.service, method, template),
            )
            self._children[key] = children
        return children

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _REQUEST_ID.match(candidate):
                    request_id = candidate
                break
        if not request_id:
            request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        start = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in SECURITY_HEADERS if item[0] not in present)
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        if scope["type"] != "http":
            await self.app(scope, receive, send_with_headers)
            return
        self.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            self.in_flight.dec()
            elapsed = time.perf_counter() - start
            method = scope["method"]
            template = getattr(scope.get("route"), "path", None) or "unmatched"
            code = status or 500
            counter, histogram = self._series(method, template, code)
            counter.inc()
            histogram.observe(elapsed)
            _access_log.info(
                "request",
                method=method,
                path=scope["path"],
                status=code,
                duration_ms=round(elapsed * 1000, 3),
            )


class BodyTooLarge(HTTPException):
    """An HTTP 413 so that frameworks reading the body turn it into a problem response."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"JSON bodies are limited to {max_bytes} bytes.")


class JsonBodyLimitMiddleware:
    """JSON bodies over the limit get 413 before any handler parses them, whether the size is
    declared (``Content-Length``) or only found while streaming (chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        content_type = b""
        content_length = -1
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.lower()
            elif name == b"content-length":
                try:
                    content_length = int(value)
                except ValueError:
                    content_length = -1
        if b"json" not in content_type:
            await self.app(scope, receive, send)
            return
        if content_length > self.max_bytes:
            await self._reject(send)
            return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        import json

        body = json.dumps(
            problem_body(413, f"JSON bodies are limited to {self.max_bytes} bytes.")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
