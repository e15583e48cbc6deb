"""The OpenAPI document says what the server really answers, and the router answers what the
document says.

FastAPI documents a 422 ``application/json`` validation body and nothing else, while every
Parley error is ``application/problem+json`` (see :mod:`parley.core.errors`); clients
generated from the document, and the schema fuzzer in the suite, would take the real answers
for contract breaches. Two fixes, applied once when an app is built:

- every operation documents ``4XX`` (and its 422) as problem+json with one ``Problem`` schema;
- a 405 lists in ``Allow`` every method of every route at that path, not only the first
  route's (Starlette stops at the first route whose path matches).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from starlette.routing import compile_path

PROBLEM_MEDIA_TYPE = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `type` is stable, `detail` is for people.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "urn:parley:problem:<name>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "validation errors (422): where and what",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                    "type": {"type": ["string", "null"]},
                },
            },
        },
    },
    "additionalProperties": True,
}
_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAM = re.compile(r"{([^{}:]+)}")


def _document_problems(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for path_item in document.get("paths", {}).values():
        for method in _HTTP_METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status.startswith("4") or status.startswith("5"):
                    response["content"] = dict(_PROBLEM_CONTENT)
            responses.setdefault(
                "4XX", {"description": "Refused: a problem document", "content": _PROBLEM_CONTENT}
            )
    # FastAPI's own validation-error schemas are no longer referenced.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    return document


def describe_problems(app: FastAPI) -> None:
    """Make ``app.openapi()`` document every error as problem+json."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document_problems(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _path_regex(path: str, parameters: list[dict[str, Any]]) -> re.Pattern[str]:
    """The regex a documented path matches, a UUID parameter matching UUIDs only (the routers
    declare those ``{name:uuid}``)."""
    uuids = {
        p["name"]
        for p in parameters
        if p.get("in") == "path" and p.get("schema", {}).get("format") == "uuid"
    }

    def convert(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"{{{name}:uuid}}" if name in uuids else match.group(0)

    regex, _, _ = compile_path(_PARAM.sub(convert, path))
    return regex


def _documented_methods(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    cached: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        app.state, "documented_methods", None
    )
    if cached is None:
        cached = []
        for path, item in app.openapi().get("paths", {}).items():
            methods = [m for m in _HTTP_METHODS if m in item]
            parameters = [p for m in methods for p in item[m].get("parameters", [])]
            if methods:
                cached.append(
                    (_path_regex(path, parameters), frozenset(m.upper() for m in methods))
                )
        app.state.documented_methods = cached
    return cached


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every documented method of every operation at this path (for ``Allow`` on a 405).

    Starlette answers a 405 with the methods of the first route whose path matches; the
    document knows them all. Empty when the path is not documented (pages, probes)."""
    methods: set[str] = set()
    for regex, documented in _documented_methods(app):
        if regex.match(path):
            methods |= documented
    if "GET" in methods:
        methods.add("HEAD")  # Starlette answers HEAD wherever it answers GET
    return sorted(methods)
