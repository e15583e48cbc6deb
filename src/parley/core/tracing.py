"""OpenTelemetry tracing: spans for every request, context carried across service calls.

Off unless configured (``PARLEY_OTLP_ENDPOINT``, or ``PARLEY_TRACING=true`` for tools and tests
that add their own exporter), because even a sampled-out tracer costs every request something.
When on, one tracer provider per process exports over OTLP/HTTP (Jaeger on 8803 takes it,
``http://jaeger:4318/v1/traces``); incoming requests get a server span (FastAPI instrumentation,
named by route template, the W3C ``traceparent`` header honoured), and every httpx client
(media → meeting-service, AI → meeting-service) sends ``traceparent`` on, so one trace spans the
services a request went through. The logs carry the trace id (see observability).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

from parley import __version__

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider

    from parley.config import Settings

_lock = threading.Lock()
_provider: TracerProvider | None = None
EXCLUDED_URLS = "/health,/health/ready,/metrics"


def enabled(settings: Settings) -> bool:
    return bool(settings.otlp_endpoint or settings.tracing)


def provider() -> TracerProvider | None:
    """The process's tracer provider, once tracing is set up (tests add exporters to it)."""
    return _provider


def configure_tracing(service: str, settings: Settings) -> TracerProvider | None:
    """Set up the process-wide provider and httpx instrumentation once; None when off."""
    global _provider
    if not enabled(settings):
        return None
    with _lock:
        if _provider is not None:
            return _provider
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

        resource = Resource.create(
            {
                "service.name": f"parley-{service}",
                "service.version": __version__,
                "deployment.environment": settings.env,
            }
        )
        made = TracerProvider(
            resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio))
        )
        if settings.otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            made.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(settings.otlp_endpoint)))
        trace.set_tracer_provider(made)
        HTTPXClientInstrumentor().instrument(tracer_provider=made)
        _provider = made
        return made


def instrument_app(app: FastAPI, service: str, settings: Settings) -> None:
    """Server spans for the app's requests (the probes excluded), tagged with the service."""
    tracer_provider = configure_tracing(service, settings)
    if tracer_provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    def tag(span: Any, scope: dict[str, Any]) -> None:
        if span is not None and span.is_recording():
            span.set_attribute("parley.service", service)

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracer_provider,
        excluded_urls=EXCLUDED_URLS,
        server_request_hook=tag,
        exclude_spans=["receive", "send"],  # one span per request, not one per ASGI message
    )


def current_trace_id() -> str | None:
    """The active trace's id as 32 hex digits, or None outside a sampled span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x")


def inject(carrier: dict[str, str] | None = None) -> dict[str, str]:
    """The current context as W3C headers, to store with queued work (batch jobs)."""
    carrier = {} if carrier is None else carrier
    propagate.inject(carrier)
    return carrier


def attach(carrier: Mapping[str, str]) -> object:
    """Make the context stored with a job current (the worker's spans join its trace);
    pass the returned token to :func:`detach` when the job is done."""
    return otel_context.attach(propagate.extract(dict(carrier)))


def detach(token: object) -> None:
    otel_context.detach(token)  # type: ignore[arg-type]


@contextlib.contextmanager
def traced(name: str, carrier: Mapping[str, Any], **attributes: str) -> Iterator[None]:
    """Run queued work in a span of the trace that queued it.

    The producer stores :func:`inject`'s headers with the job (e.g. as extra fields of the
    Redis stream entry); the worker wraps the job in ``with traced("ai.batch.job", fields):``.
    Without tracing configured this costs next to nothing (a no-op span)."""
    headers = {k: str(v) for k, v in carrier.items() if k in ("traceparent", "tracestate")}
    token = otel_context.attach(propagate.extract(headers))
    try:
        tracer = trace.get_tracer("parley")
        with tracer.start_as_current_span(name, kind=trace.SpanKind.CONSUMER) as span:
            for key, value in attributes.items():
                span.set_attribute(key, value)
            yield
    finally:
        otel_context.detach(token)
