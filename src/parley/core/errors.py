"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error a client sees has a stable ``type`` it can branch on, a human ``title`` and a
``detail`` that says what was wrong; validation errors add ``errors`` with one entry per field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy.exc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from parley.core.openapi import allowed_methods

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:parley:problem:"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

_DEFAULT_TYPES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    410: "gone",
    413: "too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "rate-limited",
    500: "internal",
    503: "unavailable",
}


class ProblemError(Exception):
    """Raise from anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = type or _DEFAULT_TYPES.get(status, "error")
        self.title = title or _TITLES.get(status, "Error")
        self.headers = headers
        self.extra = extra or {}


def problem_body(
    status: int, detail: str, type: str | None = None, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + (type or _DEFAULT_TYPES.get(status, "error")),
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    return body


def problem_response(
    status: int,
    detail: str,
    *,
    type: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, detail, type, title, **extra),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_CONTENT_TYPE,
    )


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        errors.append({"loc": location, "msg": error.get("msg", ""), "type": error.get("type")})
    return errors


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status,
        exc.detail,
        type=exc.type,
        title=exc.title,
        headers=exc.headers,
        **exc.extra,
    )


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
    headers = exc.headers
    if exc.status_code == 405:
        # Starlette names the methods of the first route at this path only.
        allowed = allowed_methods(request.app, request.url.path)
        if allowed:
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    return problem_response(exc.status_code, detail, headers=headers)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    if any(error["type"] == "json_invalid" for error in errors):
        return problem_response(
            400, "The request body is not valid JSON.", type="malformed-json", errors=errors
        )
    summary = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem_response(422, f"Invalid request: {summary}", errors=errors)


def _database_error_fields(exc: sqlalchemy.exc.SQLAlchemyError) -> dict[str, Any]:
    """What a log may say about a database error: its kind and the SQL, never the values.

    The engine hides parameters (``hide_parameters``), but drivers put values in their own
    messages too (asyncpg: ``invalid input for query argument $2: '...'``), so neither the
    message nor the traceback text is logged."""
    orig = getattr(exc, "orig", None)
    fields: dict[str, Any] = {"error": type(exc).__name__}
    if orig is not None:
        fields["driver_error"] = type(orig).__name__
        code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if code:
            fields["sqlstate"] = str(code)
    statement = getattr(exc, "statement", None)
    if statement:
        fields["statement"] = str(statement)[:500]
    return fields


async def _on_dependency_down(request: Request, exc: Exception) -> JSONResponse:
    """A store we depend on is unreachable: the client may retry; nothing was half-written
    because each request's transaction is rolled back with its session."""
    log = structlog.get_logger("parley.errors")
    if isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
        log.error("dependency_unavailable", path=request.url.path, **_database_error_fields(exc))
    else:
        log.error(
            "dependency_unavailable", path=request.url.path, error=f"{type(exc).__name__}: {exc}"
        )
    return problem_response(
        503,
        "A storage service is unavailable; try again shortly.",
        type="dependency-unavailable",
        headers={"Retry-After": "5"},
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log = structlog.get_logger("parley.errors")
    if isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
        log.error("unhandled_error", path=request.url.path, **_database_error_fields(exc))
    else:
        log.exception("unhandled_error", path=request.url.path)
    return problem_response(500, "An unexpected error occurred; it has been logged.")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(RedisError, _on_dependency_down)
    app.add_exception_handler(OSError, _on_dependency_down)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, _on_dependency_down)
    app.add_exception_handler(sqlalchemy.exc.InterfaceError, _on_dependency_down)
    app.add_exception_handler(Exception, _on_unexpected)
