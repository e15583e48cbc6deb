"""The app factory every service uses, alone or all mounted together.

It wires what every service must have: ``/health``, ``/health/ready``, ``/metrics``, problem+json
errors, CORS from ``ALLOWED_ORIGINS``, request ids, security headers, JSON logs and the JSON body
limit, plus the shared resources on ``app.state`` (database, key-value store, object storage,
token signer) that live for the app's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from parley import __version__
from parley.config import Settings, prepare
from parley.core.auth import TokenSigner
from parley.core.bodies import BodyLimit, BodyLimitMiddleware
from parley.core.bus import Bus
from parley.core.db import Database
from parley.core.errors import install_problem_handlers, problem_response
from parley.core.kv import create_kv
from parley.core.meetings_client import close_meetings_clients
from parley.core.middleware import RequestContextMiddleware
from parley.core.observability import configure_logging, metrics_endpoint
from parley.core.openapi import describe_problems
from parley.core.registry import register_service
from parley.core.revocation import RevocationList
from parley.core.sessions import LoginSessions
from parley.core.storage import create_storage
from parley.core.tracing import instrument_app

BackgroundTask = Callable[[FastAPI], Coroutine[Any, Any, None]]
SocketHandler = Callable[[FastAPI, WebSocket], Awaitable[None]]
READY_TIMEOUT_S = 2.0
STOP_TIMEOUT_S = 5.0


async def _check(name: str, probe: Callable[[], Awaitable[Any]]) -> str | None:
    try:
        await asyncio.wait_for(probe(), READY_TIMEOUT_S)
    except Exception as exc:
        return f"{name}: {type(exc).__name__}: {exc}".strip()
    return None


def _health_router(service: str) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health")
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "service": service, "version": __version__}

    @router.get("/health/ready", response_model=None)
    async def ready(request: Request) -> JSONResponse | dict[str, Any]:
        """Readiness: the database answers a query on the schema (not only a connection: a
        corrupt SQLite file still connects) and the key-value store answers."""
        state = request.app.state
        database, redis = await asyncio.gather(
            _check("database", state.db.ping), _check("redis", state.kv.ping)
        )
        checks = {"database": database is None, "redis": redis is None}
        if database or redis:
            failed = "; ".join(failure for failure in (database, redis) if failure)
            return problem_response(503, f"Not ready: {failed}", type="not-ready", checks=checks)
        answer: dict[str, Any] = {"status": "ready", "service": service, "checks": checks}
        # What a service adds about its optional parts (media-service: the SFU). They do
        # not decide readiness: without them the service works, in a lesser way.
        reports: dict[str, Callable[[], Awaitable[Any]]] = getattr(state, "ready_reports", {})
        for name, report in reports.items():
            answer[name] = await report()
        return answer

    router.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    return router


class ParleyApp(FastAPI):
    """FastAPI, plus WebSocket endpoints served without the HTTP middleware and routing layers.

    A WebSocket lives for hours, and each layer it passes through stays suspended on its stack
    for all that time: FastAPI's and Starlette's middleware, exception handlers, exit stacks and
    routers hold about 12 KiB per connection, which is a third of what an idle signaling
    connection costs. None of them does anything for a socket after the handshake (CORS, body
    limits, error pages and request ids are HTTP matters), so the sockets named in ``sockets``
    (path → handler) are handed straight to their handler.
    """

    sockets: dict[str, SocketHandler]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            handler = self.sockets.get(scope["path"])
            if handler is not None:
                scope["app"] = self
                await handler(self, WebSocket(scope, receive, send))
                return
        await super().__call__(scope, receive, send)


def create_app(
    service: str,
    settings: Settings,
    routers: Sequence[APIRouter],
    background: Sequence[BackgroundTask] = (),
    sockets: dict[str, SocketHandler] | None = None,
    body_limits: Sequence[BodyLimit] = (),
) -> FastAPI:
    """One service's ASGI app (or the all-in-one app's, with every service's routers).

    ``body_limits`` raise the 1 MiB body limit for uploads under given paths (see
    :mod:`parley.core.bodies`)."""
    prepare(settings)
    configure_logging(service, settings.log_level, settings.log_json)
    log = structlog.get_logger("parley.app")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            from parley.migrate import upgrade

            await asyncio.to_thread(upgrade, settings.sqlalchemy_url)
        app.state.db = Database(settings.sqlalchemy_url)
        app.state.kv = create_kv(settings.redis_url)
        app.state.bus = Bus(app.state.kv)
        app.state.revocations = RevocationList(
            app.state.kv, app.state.bus, LoginSessions(app.state.db)
        )
        await app.state.bus.start()
        app.state.storage = create_storage(settings)
        app.state.signer = TokenSigner(settings.secret(), settings.access_token_ttl_s)
        tasks = [asyncio.create_task(task(app), name=task.__name__) for task in background]
        # Everything made at start-up lives as long as the process: moving it out of the
        # collector's reach keeps full collections (and the latency spikes they cause) short.
        gc.collect()
        gc.freeze()
        # A request allocates hundreds of short-lived objects; the default young-generation
        # threshold (700) would run the collector on nearly every request.
        gc.set_threshold(50_000, 20, 100)
        registration = register_service(service, settings)  # etcd, when configured
        log.info("service_started", database=app.state.db.engine.dialect.name)
        try:
            yield
        finally:
            if registration is not None:  # first: callers stop resolving this node
                await registration.stop()
            for task in tasks:
                task.cancel()
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
                if pending:
                    log.warning("tasks_did_not_stop", tasks=[t.get_name() for t in pending])
            await close_meetings_clients(app)
            await app.state.bus.stop()
            await app.state.kv.aclose()
            await app.state.db.dispose()
            gc.unfreeze()

    app = ParleyApp(
        title=f"Parley {service}",
        version=__version__,
        lifespan=lifespan,
        # FastAPI's built-in OpenTelemetry hooks check for providers on every request; they stay
        # off until tracing is configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.sockets = dict(sockets or {})
    app.state.settings = settings
    install_problem_handlers(app)
    # FastAPI matches routes in order, one by one: the service's own routes go first, the
    # probes (called a few times a minute) last.
    for router in routers:
        app.include_router(router)
    app.include_router(_health_router(service))
    describe_problems(app)

    # Added innermost first: the request-context layer wraps everything so even a 413 or a CORS
    # rejection carries the request id and security headers.
    app.add_middleware(
        BodyLimitMiddleware,
        default_max_bytes=settings.max_json_body_bytes,
        limits=list(body_limits),
    )
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["authorization", "content-type", "x-csrf-token", "x-request-id"],
            expose_headers=["x-request-id", "retry-after"],
        )
    app.add_middleware(RequestContextMiddleware, service=service)
    instrument_app(app, service, settings)  # OpenTelemetry, when configured
    return app
