"""media-service's internal rtc API: signaling-service's requests to the SFU.

Browsers never call it (and could not: it takes a service token of signaling-service, audience
``RTC_AUDIENCE``, which only a holder of the services' secret can make). Signaling decides who
is in a room, so the API acts on the meeting and participant ids it is given. Routes are thin:
each calls :class:`~parley.rtc.rooms.SfuRooms`; Janus failing becomes ``503 sfu-unavailable``,
and the client falls back to peer to peer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import jwt
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from parley.core.auth import TokenSigner, bearer_token
from parley.core.contracts import RTC_AUDIENCE
from parley.rtc import errors, remote
from parley.rtc.janus import JanusError
from parley.rtc.rooms import SfuRooms, SfuUnavailable
from parley.rtc.runtime import sfu_rooms

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
NodeId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")]
MAX_SDP = 64 * 1024


class Description(BaseModel):
    type: Literal["offer", "answer"]
    sdp: str = Field(max_length=MAX_SDP)


class JoinBody(BaseModel):
    display_name: str = Field(default="", max_length=200)


class PublishBody(JoinBody):
    sdp: Description
    screen_mid: str | None = Field(default=None, max_length=16)


class AnswerBody(BaseModel):
    sdp: Description


class LayerBody(BaseModel):
    peer: Id
    layer: Literal["high", "medium", "low", "paused"]


class RemotePublisherBody(BaseModel):
    display_name: str = Field(default="", max_length=200)
    streams: list[dict[str, Any]] = Field(max_length=16)
    """The publisher's streams as its own node's Janus described them."""


class ForwardBody(BaseModel):
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(ge=1, le=65535)
    rtcp_port: int | None = Field(default=None, ge=1, le=65535)


class ModerateBody(BaseModel):
    kind: Literal["audio", "video"]
    muted: bool


async def _rooms(request: Request) -> AsyncIterator[SfuRooms]:
    """The SFU rooms, for signaling-service only; Janus's failures as 503."""
    token = bearer_token(request)
    signer: TokenSigner = request.app.state.signer
    try:
        if token is None:
            raise jwt.InvalidTokenError("no token")
        signer.verify(token, RTC_AUDIENCE)
    except jwt.InvalidTokenError:
        raise errors.not_signaling() from None
    rooms = sfu_rooms(request.app)
    if rooms is None:
        raise errors.sfu_unavailable("No SFU is configured on this media node.")
    try:
        yield rooms
    except (SfuUnavailable, JanusError) as exc:
        raise errors.sfu_unavailable(f"The SFU refused: {exc}") from exc


RoomsDep = Annotated[SfuRooms, Depends(_rooms)]
router = APIRouter(prefix="/internal/rtc", tags=["rtc"], include_in_schema=False)
PARTICIPANT = "/meetings/{meeting_id}/participants/{participant_id}"


@router.get("/status")
async def status(rooms: RoomsDep) -> dict[str, Any]:
    return {"available": await rooms.available(), **rooms.stats()}


@router.post(PARTICIPANT + "/join", status_code=204)
async def join(meeting_id: Id, participant_id: Id, body: JoinBody, rooms: RoomsDep) -> Response:
    await rooms.join(meeting_id, participant_id, body.display_name)
    return Response(status_code=204)


@router.post(PARTICIPANT + "/publish")
async def publish(
    meeting_id: Id, participant_id: Id, body: PublishBody, rooms: RoomsDep
) -> dict[str, Any]:
    answer = await rooms.publish(
        meeting_id, participant_id, body.display_name, body.sdp.model_dump(), body.screen_mid
    )
    member = rooms._member(meeting_id, participant_id)
    # The streams, for signaling to forward them to the meeting's other media nodes.
    return {"sdp": answer, "streams": member.streams if member else []}


@router.post(PARTICIPANT + "/subscriber-answer", status_code=204)
async def subscriber_answer(
    meeting_id: Id, participant_id: Id, body: AnswerBody, rooms: RoomsDep
) -> Response:
    await rooms.subscriber_answer(meeting_id, participant_id, body.sdp.model_dump())
    return Response(status_code=204)


@router.post(PARTICIPANT + "/layer", status_code=204)
async def layer(meeting_id: Id, participant_id: Id, body: LayerBody, rooms: RoomsDep) -> Response:
    await rooms.layer(meeting_id, participant_id, body.peer, body.layer)
    return Response(status_code=204)


@router.post(PARTICIPANT + "/moderate", status_code=204)
async def moderate(
    meeting_id: Id, participant_id: Id, body: ModerateBody, rooms: RoomsDep
) -> Response:
    await rooms.moderate(meeting_id, participant_id, body.kind, body.muted)
    return Response(status_code=204)


@router.delete(PARTICIPANT, status_code=204)
async def leave(
    meeting_id: Id, participant_id: Id, rooms: RoomsDep, kick: bool = False
) -> Response:
    await rooms.leave(meeting_id, participant_id, kick=kick)
    return Response(status_code=204)


@router.put("/meetings/{meeting_id}/remote-publishers/{feed_id}")
async def add_remote_publisher(
    meeting_id: Id, feed_id: Id, body: RemotePublisherBody, rooms: RoomsDep, request: Request
) -> dict[str, Any]:
    """A participant of another media node, made a publisher here → where to send its RTP."""
    host: str = request.app.state.settings.sfu_forward_host
    return await remote.add_remote_publisher(
        rooms, meeting_id, feed_id, body.display_name, body.streams, host
    )


@router.delete("/meetings/{meeting_id}/remote-publishers/{feed_id}", status_code=204)
async def remove_remote_publisher(meeting_id: Id, feed_id: Id, rooms: RoomsDep) -> Response:
    await remote.remove_remote_publisher(rooms, meeting_id, feed_id)
    return Response(status_code=204)


@router.put(PARTICIPANT + "/remotes/{node_id}", status_code=204)
async def publish_remotely(
    meeting_id: Id, participant_id: Id, node_id: NodeId, body: ForwardBody, rooms: RoomsDep
) -> Response:
    """Send this node's publisher to another node's remote publisher too."""
    await remote.publish_remotely(
        rooms, meeting_id, participant_id, node_id, body.host, body.port, body.rtcp_port
    )
    return Response(status_code=204)


@router.delete(PARTICIPANT + "/remotes/{node_id}", status_code=204)
async def unpublish_remotely(
    meeting_id: Id, participant_id: Id, node_id: NodeId, rooms: RoomsDep
) -> Response:
    await remote.unpublish_remotely(rooms, meeting_id, participant_id, node_id)
    return Response(status_code=204)


@router.delete("/meetings/{meeting_id}", status_code=204)
async def end(meeting_id: Id, rooms: RoomsDep, request: Request) -> Response:
    from parley.rtc.recording_router import sfu_recorder  # it builds on this module

    recorder = sfu_recorder(request.app)
    if recorder is not None:  # a recording of the room stops (and is composed) first
        await recorder.room_ending(meeting_id)
    await rooms.end(meeting_id)
    return Response(status_code=204)


routers = [router]
