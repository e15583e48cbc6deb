"""meeting-service HTTP API: /api/v1/meetings."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select

from parley.config import Settings
from parley.core import ratelimit
from parley.core.auth import Principal, TokenSigner, optional_principal
from parley.core.deps import KvDep, PrincipalDep, SessionDep, SettingsDep, SignerDep
from parley.core.errors import ProblemError
from parley.core.params import IsoDateTime
from parley.core.requests import client_ip
from parley.meetings import (
    breakouts,
    breakouts_router,
    calendar,
    commands,
    errors,
    joining,
    lifecycle,
    listing,
    polls_router,
    recordings,
    rejoining,
    schedule,
    server_recording,
    tickets,
)
from parley.meetings import participants as people
from parley.meetings import stats as figures
from parley.meetings.access import MeetingAccess
from parley.meetings.codes import plausible_code
from parley.meetings.dependencies import (
    meeting_for_host,
    meeting_for_moderator,
    meeting_for_participant,
    valid_meeting,
)
from parley.meetings.models import Meeting, Participant
from parley.meetings.recording_schemas import RecordingOut, RecordingUpdate
from parley.meetings.rejoin_schemas import JoinedOut, RejoinIn
from parley.meetings.schemas import (
    JoinIn,
    LeaveIn,
    MeetingCreate,
    MeetingOut,
    MeetingPage,
    MeetingStatus,
    MeetingUpdate,
    ParticipantOut,
    ParticipantRoleIn,
    PublicMeetingOut,
    SearchText,
    StatsOut,
)
from parley.meetings.views import settings_of, to_out, to_public

router = APIRouter(prefix="/api/v1/meetings", tags=["meetings"])

ParticipantAccess = Annotated[MeetingAccess, Depends(meeting_for_participant)]
ModeratorAccess = Annotated[MeetingAccess, Depends(meeting_for_moderator)]
HostAccess = Annotated[MeetingAccess, Depends(meeting_for_host)]


@router.post("", status_code=201)
async def create_meeting(
    body: MeetingCreate, principal: PrincipalDep, session: SessionDep
) -> MeetingOut:
    return to_out(await lifecycle.create_meeting(session, principal, body))


@router.get("", response_model=MeetingPage)
async def my_meetings(
    principal: PrincipalDep,
    session: SessionDep,
    status: MeetingStatus | None = None,
    start_from: Annotated[IsoDateTime | None, Query(alias="from")] = None,
    start_to: Annotated[IsoDateTime | None, Query(alias="to")] = None,
    q: Annotated[SearchText | None, Query()] = None,
    role: Literal["host", "attendee"] | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """Meetings the caller hosts or attended: live first, then upcoming, then past."""
    for moment in (start_from, start_to):
        if moment is not None and moment.tzinfo is None:
            raise errors.offset_required()
    start_from = schedule.utc_bound(start_from) if start_from else None
    start_to = schedule.utc_bound(start_to) if start_to else None
    items, total = await listing.list_meetings(
        session,
        uuid.UUID(principal.user_id),
        status=status,
        start_from=start_from,
        start_to=start_to,
        q=q,
        role=role,
        page=page,
        page_size=page_size,
    )
    body = MeetingPage(
        items=[to_out(m) for m in items], total=total, page=page, page_size=page_size
    )
    # Already validated: rendered here rather than validated again by FastAPI.
    return Response(body.model_dump_json(), media_type="application/json")


@router.get("/stats")
async def stats(
    principal: PrincipalDep,
    session: SessionDep,
    scope: Literal["me", "global"] = "me",
) -> StatsOut:
    if scope == "global" and not principal.is_admin:
        raise errors.admin_required()
    return await figures.stats(session, uuid.UUID(principal.user_id), platform=scope == "global")


async def _caller_if_signed_in(request: Request) -> Principal | None:
    """The caller when a valid access token came along; the join facts stay open to anyone
    else, whatever they send (a guest's signaling ticket, an expired token)."""
    try:
        return await optional_principal(request)
    except ProblemError as exc:
        if exc.status == 401:
            return None
        raise


@router.get("/by-code/{code}")
async def by_code(
    code: str,
    session: SessionDep,
    kv: KvDep,
    settings: SettingsDep,
    ip: Annotated[str, Depends(client_ip)],
    principal: Annotated[Principal | None, Depends(_caller_if_signed_in)],
) -> PublicMeetingOut:
    """What the join page shows; open to anyone with the code, rate-limited per address."""
    window = await ratelimit.hit(kv, f"meetings:code-lookup:{ip}", settings.code_lookup_window_s)
    if window.count > settings.code_lookup_limit:
        raise errors.code_lookup_rate_limited(window.retry_after_s)
    code = code.lower()
    meeting = None
    if plausible_code(code):  # else no query: NUL cannot even be sent to PostgreSQL
        meeting = await session.scalar(select(Meeting).where(Meeting.code == code))
    if meeting is None or meeting.parent_id is not None:  # breakout rooms have no join page
        raise errors.meeting_not_found("No meeting has this code.")
    return to_public(meeting, principal.user_id if principal else None)


@router.get("/{meeting_id:uuid}")
async def get_meeting(access: ParticipantAccess) -> MeetingOut:
    return to_out(access.meeting)


@router.patch("/{meeting_id:uuid}")
async def update_meeting(
    body: MeetingUpdate, access: HostAccess, session: SessionDep, kv: KvDep
) -> MeetingOut:
    """Change a meeting that has not finished. New settings reach a live room at once
    (signaling-service applies them to the people already in it)."""
    updated = await lifecycle.update_meeting(session, access.meeting, body)
    if body.settings is not None:
        await commands.tell_signaling(
            kv, "settings", updated, settings=settings_of(updated).model_dump_json()
        )
    return to_out(updated)


@router.delete(
    "/{meeting_id:uuid}",
    status_code=204,
    summary="Cancel or end a meeting (it is kept, not erased)",
)
async def delete_meeting(access: HostAccess, session: SessionDep, kv: KvDep) -> Response:
    """DELETE does not erase a meeting: a scheduled meeting becomes `cancelled`, a live one
    `ended` (everyone in the room is told and leaves); a finished one stays as it is. After the
    204 the meeting is still readable, with that status, by the people who belong to it,
    together with its participants and recordings: erasing it would lose the recordings and
    everyone's history of it. It can no longer be joined (410) or changed (409)."""
    await lifecycle.end_meeting(session, access.meeting)
    await rejoining.revoke_meeting(kv, access.meeting.id)
    await commands.tell_signaling(kv, "end", access.meeting)
    await breakouts.end_with(session, kv, access.meeting)
    return Response(status_code=204)


@router.post("/{meeting_id:uuid}/join")
async def join(
    body: JoinIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    kv: KvDep,
    signer: SignerDep,
    ip: Annotated[str, Depends(client_ip)],
    meeting: Annotated[Meeting, Depends(valid_meeting)],
    principal: Annotated[Principal | None, Depends(optional_principal)],
    response: Response,
) -> JoinedOut:
    """Signed-in users and (when allowed) guests get a participant and a signaling ticket,
    and the credential to come back as the same participant (``POST .../rejoin``).

    A guest's browser keeps a random key (HttpOnly cookie) so that a removed guest stays out.
    """
    guest_key = None
    if principal is None:
        guest_key = request.cookies.get(joining.GUEST_COOKIE) or ""
        if not 16 <= len(guest_key) <= 64:
            guest_key = secrets.token_urlsafe(24)
            response.set_cookie(
                joining.GUEST_COOKIE,
                guest_key,
                max_age=joining.GUEST_MEMORY_S,
                path="/api/v1/meetings",
                httponly=True,
                secure=settings.secure_cookies,
                samesite="strict",
            )
    participant = await joining.join(session, kv, meeting, principal, body, ip, guest_key)
    credential = await rejoining.issue(kv, participant)
    return _joined(signer, settings, meeting, participant, credential, principal=principal)


def _joined(
    signer: TokenSigner,
    settings: Settings,
    meeting: Meeting,
    participant: Participant,
    credential: str,
    *,
    principal: Principal | None,
    rejoin: bool = False,
) -> JoinedOut:
    avatar = principal.avatar if principal is not None else ""
    return tickets.joined_out(
        signer, settings, meeting, participant, credential, avatar=avatar, rejoin=rejoin
    )


@router.post("/{meeting_id:uuid}/rejoin")
async def rejoin(
    body: RejoinIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    kv: KvDep,
    signer: SignerDep,
    meeting: Annotated[Meeting, Depends(valid_meeting)],
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> JoinedOut:
    """Back as the same participant (a reload of the page, or a drop longer than signaling's
    resume window) with the rejoin credential the last join or rejoin gave: a new signaling
    ticket for that participant, whose old entry in the room the new connection replaces, and
    the next credential (each works once). A signed-in user's credential needs that user's
    token, a guest's that guest's cookie. 403 ``rejoin-refused`` for an unknown, used, expired
    or revoked credential (left, denied), 403 ``removed``, 410 for a finished meeting."""
    guest_key = request.cookies.get(joining.GUEST_COOKIE) if principal is None else None
    participant, credential = await rejoining.rejoin(
        session, kv, meeting, principal, body.participant_id, body.token, guest_key
    )
    return _joined(
        signer, settings, meeting, participant, credential, principal=principal, rejoin=True
    )


@router.post("/{meeting_id:uuid}/leave", status_code=204)
async def leave(
    access: ParticipantAccess, session: SessionDep, kv: KvDep, body: LeaveIn | None = None
) -> Response:
    user_id = uuid.UUID(access.principal.user_id)
    participant_id = body.participant_id if body else None
    await people.leave(session, access.meeting, user_id, participant_id)
    if participant_id is not None:
        await rejoining.revoke(kv, [participant_id])
    else:
        await rejoining.revoke_user(session, kv, access.meeting, user_id)
    return Response(status_code=204)


@router.post("/{meeting_id:uuid}/end")
async def end(access: ModeratorAccess, session: SessionDep, kv: KvDep) -> MeetingOut:
    ended = await lifecycle.end_meeting(session, access.meeting)
    await rejoining.revoke_meeting(kv, access.meeting.id)
    await commands.tell_signaling(kv, "end", access.meeting)
    await breakouts.end_with(session, kv, access.meeting)
    return to_out(ended)


@router.get("/{meeting_id:uuid}/participants")
async def participants(access: ParticipantAccess, session: SessionDep) -> list[ParticipantOut]:
    """Everyone who joined or knocked, present and past."""
    rows = await people.participants(session, access.meeting)
    return [ParticipantOut.model_validate(p) for p in rows]


_MODERATION = {
    "admit": people.admit,
    "deny": people.deny,
    "remove": people.remove,
}


@router.post("/{meeting_id:uuid}/participants/{participant_id:uuid}/{action}")
async def moderate(
    participant_id: uuid.UUID,
    action: Literal["admit", "deny", "remove"],
    access: ModeratorAccess,
    session: SessionDep,
    kv: KvDep,
) -> ParticipantOut:
    """Admit or deny someone waiting in the lobby, or remove someone for good."""
    target = await people.participant_of(session, access.meeting, participant_id)
    changed = await _MODERATION[action](session, access.meeting, target)
    if action == "remove":
        await joining.forget_removed_guest(kv, access.meeting, target)
        await breakouts.follow_removal(session, kv, access.meeting, target)
    if action in ("remove", "deny"):
        await rejoining.revoke(kv, [target.id])
    await commands.tell_signaling(kv, action, access.meeting, target)
    return ParticipantOut.model_validate(changed)


@router.patch("/{meeting_id:uuid}/participants/{participant_id:uuid}")
async def set_role(
    participant_id: uuid.UUID,
    body: ParticipantRoleIn,
    access: ModeratorAccess,
    session: SessionDep,
    kv: KvDep,
) -> ParticipantOut:
    target = await people.participant_of(session, access.meeting, participant_id)
    updated = await people.set_role(session, access.meeting, target, body.role)
    await commands.tell_signaling(kv, "role", access.meeting, target, role=body.role)
    return ParticipantOut.model_validate(updated)


@router.post("/{meeting_id:uuid}/recordings", status_code=201)
async def start_recording(
    access: ModeratorAccess, session: SessionDep, request: Request
) -> RecordingOut:
    """``kind`` says who records: ``server`` (the SFU holds the room: the page records
    nothing) or ``browser`` (the starter's page records and uploads)."""
    recording = await recordings.start_recording(session, access.meeting, access.principal)
    if await server_recording.start(request.app, recording):
        recording.kind = "server"
        await session.commit()
    return RecordingOut.model_validate(recording)


@router.patch("/{meeting_id:uuid}/recordings/{recording_id:uuid}")
async def update_recording(
    recording_id: uuid.UUID,
    body: RecordingUpdate,
    access: ModeratorAccess,
    session: SessionDep,
    request: Request,
) -> RecordingOut:
    """Moderators change the status; ``media_id``, ``duration_s``, ``size_bytes`` and
    ``progress`` only the recording's starter (``started_by``) may set, else 403. A server
    recording that leaves ``recording`` stops at the SFU."""
    recording = await recordings.recording_of(session, access.meeting, recording_id)
    was = recording.status
    updated = await recordings.update_recording(session, recording, body, access.principal)
    if updated.kind == "server" and was == "recording" and updated.status != "recording":
        await server_recording.stop(request.app, updated)
    return RecordingOut.model_validate(updated)


@router.get("/{meeting_id:uuid}/recordings")
async def list_recordings(access: ParticipantAccess, session: SessionDep) -> list[RecordingOut]:
    return [
        RecordingOut.model_validate(r) for r in await recordings.recordings(session, access.meeting)
    ]


@router.get("/{meeting_id:uuid}/calendar.ics", response_class=Response)
async def calendar_ics(access: ParticipantAccess, request: Request) -> Response:
    """An iCalendar invitation (RFC 5545) with the join link."""
    body = calendar.invitation(access.meeting, str(request.base_url).rstrip("/"))
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="meeting-{access.meeting.code}.ics"'
        },
    )


routers = [router, *polls_router.routers, *breakouts_router.routers]
