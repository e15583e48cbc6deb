"""OpenTelemetry: one trace follows a request from media-service into meeting-service over real
HTTP (the W3C ``traceparent`` header), and a service's JSON logs carry the trace id."""

from __future__ import annotations

import http.client
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from parley.config import Settings
from parley.core import tracing
from parley.services import SERVICES
from tests.support.api import JWT_SECRET, client_for
from tests.support.deploy import PARLEY, clean_env, wait_http
from tests.support.servers import free_port, serve_app

PASSWORD = "tangerine-Sky-42"


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    settings = Settings(tracing=True, jwt_secret=JWT_SECRET, env="test")
    provider = tracing.configure_tracing("test", settings)
    assert provider is not None
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory
    memory.shutdown()  # later spans of this process go nowhere
    HTTPXClientInstrumentor().uninstrument()  # and the suite's other httpx clients stay plain


@pytest_asyncio.fixture(scope="module")
async def media_and_meetings(
    exporter: InMemorySpanExporter, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, httpx.AsyncClient]]:
    """users, meetings (on a real port) and media (calling meetings over HTTP), one database."""
    data = tmp_path_factory.mktemp("traced")

    def settings(**extra: object) -> Settings:
        return Settings(
            env="test",
            data_dir=data,
            jwt_secret=JWT_SECRET,
            log_level="warning",
            tracing=True,
            **extra,  # type: ignore[arg-type]
        )

    users = SERVICES["users"].create_app(settings())
    meetings = SERVICES["meetings"].create_app(settings())
    async with (
        users.router.lifespan_context(users),
        serve_app(meetings) as meetings_url,
    ):
        media = SERVICES["media"].create_app(settings(media_meetings_url=meetings_url))
        async with (
            media.router.lifespan_context(media),
            client_for(users) as users_http,
            client_for(media) as media_http,
            httpx.AsyncClient(base_url=meetings_url) as meetings_http,
        ):
            yield users_http, meetings_http, media_http


async def test_one_trace_spans_media_and_meeting_service(
    exporter: InMemorySpanExporter,
    media_and_meetings: tuple[httpx.AsyncClient, httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    users, meetings, media = media_and_meetings
    for username in (f"admin{uuid.uuid4().hex[:8]}", f"tr{uuid.uuid4().hex[:8]}"):
        # The first account is the admin, whom media-service need not ask about meetings.
        await users.post(
            "/api/v1/auth/register",
            json={
                "username": username,
                "email": f"{username}@example.com",
                "password": PASSWORD,
                "display_name": "Tracer",
            },
        )
    login = await users.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    meeting = (await meetings.post("/api/v1/meetings", json={"title": "T"}, headers=headers)).json()
    exporter.clear()

    listed = await media.get("/api/v1/media", params={"meeting_id": meeting["id"]}, headers=headers)

    assert listed.status_code == 200, listed.text
    spans: list[ReadableSpan] = list(exporter.get_finished_spans())
    media_server = next(
        s
        for s in spans
        if s.kind == SpanKind.SERVER and (s.attributes or {}).get("parley.service") == "media"
    )
    trace_id = media_server.context.trace_id
    in_trace = [s for s in spans if s.context.trace_id == trace_id]
    meetings_server = next(
        s
        for s in in_trace
        if s.kind == SpanKind.SERVER and (s.attributes or {}).get("parley.service") == "meetings"
    )
    client = next(s for s in in_trace if s.kind == SpanKind.CLIENT)
    assert meetings_server.parent is not None
    assert meetings_server.parent.span_id == client.context.span_id
    assert client.parent is not None and client.parent.span_id == media_server.context.span_id


async def test_probes_make_no_spans(
    exporter: InMemorySpanExporter,
    media_and_meetings: tuple[httpx.AsyncClient, httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    _, meetings, _ = media_and_meetings
    exporter.clear()
    assert (await meetings.get("/health")).status_code == 200
    assert (await meetings.get("/metrics")).status_code == 200
    server_spans = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert server_spans == []


def test_json_logs_carry_the_callers_trace_id(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(
        JWT_SECRET=JWT_SECRET, PARLEY_ENV="test", PARLEY_TRACING="true", PARLEY_LOG_LEVEL="info"
    )
    log = tmp_path / "meetings.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*PARLEY, "serve", "meetings", "--port", str(port), "--data-dir", str(tmp_path / "d")],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 60, process)
        trace_id = uuid.uuid4().hex
        traceparent = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
        # http.client, not httpx: this process's httpx may be instrumented (by the tests above)
        # and would replace the header with a trace of its own.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/api/v1/meetings", headers={"traceparent": traceparent})
        assert connection.getresponse().status == 401
        connection.close()
    finally:
        process.terminate()
        process.wait(20)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("path") == "/api/v1/meetings"]
    assert access, lines
    assert access[0]["trace_id"] == trace_id
    assert access[0]["service"] == "meetings"
    assert access[0]["request_id"]


def test_queued_work_joins_the_trace_that_queued_it(exporter: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("submit") as submitting:
        fields = {"job_id": "42", **tracing.inject()}
    exporter.clear()
    with tracing.traced("ai.batch.job", fields, job_id="42"):
        assert tracing.current_trace_id() == format(submitting.get_span_context().trace_id, "032x")
    (job,) = exporter.get_finished_spans()
    assert job.name == "ai.batch.job"
    assert job.kind == SpanKind.CONSUMER
    assert job.parent is not None
    assert job.parent.span_id == submitting.get_span_context().span_id
    assert (job.attributes or {})["job_id"] == "42"
