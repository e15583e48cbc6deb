"""JSON logs (structlog) and Prometheus metrics for every service.

Logs are one JSON object per line with ``service``, ``level``, ``request_id`` (bound per request
through contextvars) and, when tracing is on, ``trace_id``/``span_id``, so Loki can index them
and Grafana can jump from a line to its trace. The standard library's loggers (uvicorn, alembic)
are routed through the same renderer.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import orjson
import structlog
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

HTTP_REQUESTS = Counter(
    "parley_http_requests_total",
    "HTTP requests by route template, method and status.",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "parley_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_IN_FLIGHT = Gauge("parley_http_requests_in_flight", "HTTP requests being served.", ["service"])

_configured = False

_SECRET_QUERY = re.compile(r"(?i)(\b(?:token|ticket|access)=)[^&\s\"'#]+")
"""Query parameters that carry credentials: access tokens and signaling tickets (``?token=``,
``?ticket=``) and signed content links (``?access=``)."""


def redact_secrets(text: str) -> str:
    """``text`` with the values of credential-carrying query parameters replaced."""
    return _SECRET_QUERY.sub(r"\1[redacted]", text)


def _redact_event(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog's half of the redaction: string values that carry a credential in a query
    (e.g. a job's media URL with ``?access=``) are scrubbed."""
    for key, value in event.items():
        if isinstance(value, str) and "=" in value:
            event[key] = redact_secrets(value)
    return event


class RedactSecrets(logging.Filter):
    """Scrubs credentials from every standard-library log record before it is written: uvicorn
    logs WebSocket requests with their query string (``"WebSocket /ws/signaling?token=..."``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


def configure_logging(service: str, level: str = "info", json: bool = True) -> None:
    """Set up structlog and the standard library's logging once per process."""
    global _configured
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_id,
        _redact_event,
    ]
    # structlog's own events go out as orjson bytes (one access line per request: it must be
    # cheap); the standard library's go through a str renderer.
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    fast_renderer: Any = (
        structlog.processors.JSONRenderer(serializer=orjson.dumps)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            _add_service(service),
            fast_renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.BytesLoggerFactory(sys.stdout.buffer)
        if json
        else structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, _add_service(service)],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    if _configured:
        for old in list(root.handlers):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("alembic").setLevel(max(numeric, logging.WARNING))
    # httpx logs every request at INFO: services call each other (and Janus long-polls) all
    # the time, and each call already has its own access line on the side that answers.
    logging.getLogger("httpx").setLevel(max(numeric, logging.WARNING))
    _configured = True


def _add_trace_id(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """The active OpenTelemetry trace and span ids, so a log line leads to its trace."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event


def _add_service(service: str) -> Any:
    def processor(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("service", service)
        return event

    return processor


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
