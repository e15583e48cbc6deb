"""Content links: short-lived URLs of a file's bytes that need no ``Authorization`` header.

A browser cannot add a header to ``<video src>``, ``<img>`` or a download, and an AI batch job
fetches a recording without the owner's session; both get a link signed for one file and one
user (audience :data:`~parley.core.contracts.MEDIA_LINK_AUDIENCE`, which ai-service checks too).
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt

from parley.core.auth import TokenSigner
from parley.core.contracts import MEDIA_LINK_AUDIENCE
from parley.media import errors

LINK_AUDIENCE = MEDIA_LINK_AUDIENCE
LINK_TTL_S = 6 * 3600


def issue(signer: TokenSigner, user_id: str, media_id: uuid.UUID) -> str:
    """An ``?access=`` token for ``user_id`` to read ``media_id`` for :data:`LINK_TTL_S`."""
    return signer.issue({"sub": user_id, "media": str(media_id)}, LINK_AUDIENCE, LINK_TTL_S)


def content_url(media_id: uuid.UUID, access: str) -> str:
    return f"/api/v1/media/{media_id}/content?access={access}"


def thumbnail_url(media_id: uuid.UUID, access: str) -> str:
    return f"/api/v1/media/{media_id}/thumbnail?access={access}"


def verify(signer: TokenSigner, access: str, media_id: uuid.UUID) -> dict[str, Any]:
    """The claims of a link made for ``media_id``; 401 ``bad-link`` otherwise."""
    try:
        claims = signer.verify(access, LINK_AUDIENCE)
    except jwt.InvalidTokenError as exc:
        raise errors.bad_link("The link is not valid or has expired.") from exc
    if claims.get("media") != str(media_id):
        raise errors.bad_link("The link is for another file.")
    return claims
