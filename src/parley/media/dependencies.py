"""Request dependencies of media-service."""

from __future__ import annotations

from fastapi import Request

from parley.media.service import MediaRuntime, runtime


async def media_runtime(request: Request) -> MediaRuntime:
    return runtime(request.app)


async def caller_auth(request: Request) -> dict[str, str]:
    """The caller's credentials, passed on when media-service asks meeting-service on their
    behalf (so meeting-service applies its own rules to the same person)."""
    header = request.headers.get("authorization")
    return {"Authorization": header} if header else {}
