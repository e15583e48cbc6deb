"""Who may see what: the access rules of media-service.

A file is visible to its owner, to admins, and (for a file of a meeting) to the people who
belong to that meeting. Belonging is meeting-service's rule, so media-service asks it with the
caller's own credentials (``auth``) through :class:`~parley.core.meetings_client.MeetingsClient`
and never keeps its own copy. An account users-service marks disabled or deleted loses access
at once (its tokens may still be valid for minutes). A file the caller may not see answers 404,
like one that does not exist, so that ids cannot be probed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from parley.core.auth import Principal
from parley.core.contracts import user_gone_key
from parley.media import errors, links
from parley.media.models import MediaFile
from parley.media.runtime import MediaService
from parley.media.specs import UploadSpec

# ---- accounts that are gone (disabled or deleted in users-service) ----------------------------


async def gone_state(svc: MediaService, user_id: str) -> str | None:
    """``"disabled"`` or ``"deleted"`` while users-service marks the account gone
    (``user_gone_key``), else ``None``."""
    value = await svc.kv.get(user_gone_key(user_id))
    return str(value) if value else None


async def user_is_gone(svc: MediaService, user_id: str) -> bool:
    return await gone_state(svc, user_id) is not None


# ---- meetings and recordings a file is for ----------------------------------------------------


async def check_meeting_links(
    svc: MediaService, spec: UploadSpec, auth: dict[str, str], caller: str
) -> dict[str, Any] | None:
    """The caller must belong to the meeting a file is for; a recording's media comes only
    from the person who started that recording (``started_by`` in meeting-service's list), so
    a participant cannot attach a file of their own to the host's recording id."""
    if spec.meeting_id is None:
        return None
    meetings = svc.meetings
    meeting = await meetings.meeting(spec.meeting_id, auth)
    if meeting is None:
        raise errors.meeting_not_found()
    if spec.recording_id is not None:
        recordings = await meetings.recordings(spec.meeting_id, auth) or []
        recording = next((r for r in recordings if r.get("id") == str(spec.recording_id)), None)
        if recording is None:
            raise errors.recording_not_found()
        if recording.get("started_by") != caller:
            raise errors.not_recording_starter()
    return meeting


# ---- files -----------------------------------------------------------------------------------


async def can_view(
    svc: MediaService, media: MediaFile, principal: Principal, auth: dict[str, str]
) -> bool:
    if principal.is_admin or str(media.owner_id) == principal.user_id:
        return True
    if media.meeting_id is None:
        return False
    return await svc.meetings.meeting(media.meeting_id, auth) is not None


async def get_media_row(svc: MediaService, media_id: uuid.UUID) -> MediaFile | None:
    async with svc.db.sessionmaker() as session:
        return await session.get(MediaFile, media_id)


async def visible_media(
    svc: MediaService, media_id: uuid.UUID, principal: Principal, auth: dict[str, str]
) -> MediaFile:
    """The file, if the caller may see it; 404 otherwise (ids cannot be probed)."""
    async with svc.db.sessionmaker() as session:
        media = await session.get(MediaFile, media_id)
    if media is None or not await can_view(svc, media, principal, auth):
        raise errors.media_not_found()
    return media


async def list_media(
    svc: MediaService,
    principal: Principal,
    auth: dict[str, str],
    *,
    meeting_id: uuid.UUID | None,
    kind: str | None,
    limit: int,
    offset: int,
) -> tuple[list[MediaFile], int]:
    """With ``meeting_id``: that meeting's files, for the people who belong to it. Without:
    the caller's own files."""
    query = select(MediaFile)
    if meeting_id is not None:
        if not principal.is_admin and await svc.meetings.meeting(meeting_id, auth) is None:
            raise errors.meeting_not_found()
        query = query.where(MediaFile.meeting_id == meeting_id)
    else:
        query = query.where(MediaFile.owner_id == uuid.UUID(principal.user_id))
    if kind is not None:
        query = query.where(MediaFile.kind == kind)
    async with svc.db.sessionmaker() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await session.scalars(
            query.order_by(MediaFile.created_at.desc(), MediaFile.id).limit(limit).offset(offset)
        )
        return list(rows.all()), int(total or 0)


# ---- who reads a file's bytes ------------------------------------------------------------------


async def viewer(
    svc: MediaService,
    media_id: uuid.UUID,
    access: str | None,
    principal: Principal | None,
    auth: dict[str, str],
) -> MediaFile:
    """The media for a caller with a token, or with a link made by ``POST .../link``."""
    if access is not None:
        claims = links.verify(svc.signer, access, media_id)
        # A link lives for hours; the account it was made for may have been disabled or
        # deleted since (users-service sets the gone key at once).
        if await user_is_gone(svc, str(claims.get("sub", ""))):
            raise errors.bad_link("The link is no longer valid.")
        media = await get_media_row(svc, media_id)
        # A deleted owner's files are on their way out (the worker removes them).
        owner_state = await gone_state(svc, str(media.owner_id)) if media else None
        if media is None or owner_state == "deleted":
            raise errors.media_not_found()
        return media
    if principal is None:
        raise errors.invalid_token(
            "A bearer access token (or a link from POST .../link) is required."
        )
    return await visible_media(svc, media_id, principal, auth)
