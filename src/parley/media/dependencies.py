"""Request dependencies of media-service."""

from __future__ import annotations

from fastapi import Request

from parley.core.auth import Principal, optional_principal
from parley.core.errors import ProblemError
from parley.media.service import MediaRuntime, runtime, user_is_gone


async def media_runtime(request: Request) -> MediaRuntime:
    return runtime(request.app)


async def caller_auth(request: Request) -> dict[str, str]:
    """The caller's credentials, passed on when media-service asks meeting-service on their
    behalf (so meeting-service applies its own rules to the same person)."""
    header = request.headers.get("authorization")
    return {"Authorization": header} if header else {}


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(
        401, detail, type="invalid-token", headers={"WWW-Authenticate": 'Bearer realm="parley"'}
    )


async def media_optional_principal(request: Request) -> Principal | None:
    """The bearer caller, unless users-service marked the account disabled or deleted: an
    access token stays valid for minutes after that, and media (uploads, downloads, links)
    must stop at once, whatever the token path does about revocations."""
    principal = await optional_principal(request)
    if principal is not None and await user_is_gone(request.app, principal.user_id):
        raise _unauthorized("This account is disabled or deleted.")
    return principal


async def media_principal(request: Request) -> Principal:
    principal = await media_optional_principal(request)
    if principal is None:
        raise _unauthorized("A bearer access token is required.")
    return principal
