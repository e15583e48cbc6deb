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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

CONTENT_SECURITY_POLICY = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    b"media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    b"form-action 'self'; frame-ancestors 'none'"
)
"""For the pages of the web client: scripts and styles only from files of this origin, so an
injected ``<script>`` or ``onclick=`` never runs. (The client has no inline script or style.)"""

HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
"""Sent on answers to requests that came over TLS: the scheme uvicorn reports is ``https``
directly, or through ``X-Forwarded-Proto`` from a trusted gateway (``forwarded_allow_ips``)."""

# FastAPI's interactive documentation loads its script from a CDN and runs inline script.
_OWN_POLICY_PATHS = ("/docs", "/redoc")


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.startswith(b"text/html")
    return False


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
                if scope.get("scheme") in ("https", "wss") and HSTS[0] not in present:
                    headers.append(HSTS)
                if (
                    b"content-security-policy" not in present
                    and _is_html(headers)
                    and not scope["path"].startswith(_OWN_POLICY_PATHS)
                ):
                    headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY))
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
            route = scope.get("route")
            # path_format: the template without convertors ({id}, not {id:uuid}).
            template = (
                getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"
            )
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
