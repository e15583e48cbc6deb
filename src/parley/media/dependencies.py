"""Request dependencies of media-service, and their ``Annotated`` aliases.

The aliases every service shares (``SettingsDep``, ``SignerDep``, …) are in
:mod:`parley.core.deps`; these are media's own: its :class:`MediaService`, the caller's
credentials to pass on to meeting-service, and a principal that also checks the account is
not gone (stricter than ``core.deps.PrincipalDep``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from parley.core.auth import Principal, optional_principal
from parley.media import errors
from parley.media.access import user_is_gone
from parley.media.runtime import MediaService
from parley.media.runtime import media_service as media_service_of


async def media_service(request: Request) -> MediaService:
    """The app's :class:`MediaService` (made once, on first use)."""
    return media_service_of(request.app)


async def caller_auth(request: Request) -> dict[str, str]:
    """The caller's credentials, passed on when media-service asks meeting-service on their
    behalf (so meeting-service applies its own rules to the same person)."""
    header = request.headers.get("authorization")
    return {"Authorization": header} if header else {}


async def media_optional_principal(request: Request) -> Principal | None:
    """The bearer caller, unless users-service marked the account disabled or deleted: an
    access token stays valid for minutes after that, and media (uploads, downloads, links)
    must stop at once, whatever the token path does about revocations."""
    principal = await optional_principal(request)
    service = media_service_of(request.app)
    if principal is not None and await user_is_gone(service, principal.user_id):
        raise errors.invalid_token("This account is disabled or deleted.")
    return principal


async def media_principal(request: Request) -> Principal:
    principal = await media_optional_principal(request)
    if principal is None:
        raise errors.invalid_token("A bearer access token is required.")
    return principal


MediaDep = Annotated[MediaService, Depends(media_service)]
AuthDep = Annotated[dict[str, str], Depends(caller_auth)]
MediaPrincipalDep = Annotated[Principal, Depends(media_principal)]
OptionalMediaPrincipalDep = Annotated[Principal | None, Depends(media_optional_principal)]
