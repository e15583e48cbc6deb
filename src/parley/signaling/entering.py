"""A participant's socket enters the room: what is recorded, and the welcome it gets.

Two ways in share these steps: straight in (:mod:`parley.signaling.entry`, on the participant's
own connection) and admitted from the lobby (:mod:`parley.signaling.moderation`, on whichever
node the host's command reached). Kept apart from both so that neither imports the other.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI

from parley.core.ice import ice_servers
from parley.signaling import frames, service
from parley.signaling.frames import MODERATORS, Frame, StoredPeer
from parley.signaling.state import RoomState


def effective_settings(live: dict[str, Any] | None, fallback: dict[str, Any]) -> dict[str, Any]:
    """The meeting's settings as published during the meeting, else the ticket's copy."""
    return live if live is not None else fallback


async def entered(app: FastAPI, meeting_id: str, peer: StoredPeer) -> None:
    """A participant's socket is in the room (straight in, or admitted from the lobby): the
    user reads the room's chat history from now on, and meeting-service learns that the
    participant really connected (a join whose socket never comes is released)."""
    async with app.state.db.sessionmaker() as session:
        await service.member_entered(session, meeting_id, peer.get("user_id"))
    await service.tell_meetings(app.state.kv, "connected", meeting_id, str(peer["id"]))


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


async def welcome(app: FastAPI, meeting_id: str, peer: StoredPeer, resume_token: str) -> Frame:
    """What a participant learns on entering the room (also after admission or a resume)."""
    state: RoomState = app.state.signaling.state
    peers, live = await state.live(meeting_id)
    room = await state.room(meeting_id)
    await app.state.chat_log.flush()
    async with app.state.db.sessionmaker() as session:
        messages, _ = await service.history(
            session,
            uuid.UUID(meeting_id),
            participant_id=_uuid(peer["id"]),
            user_id=_uuid(peer.get("user_id")),
        )
    lobby = None
    if peer["role"] in MODERATORS:
        lobby = frames.publics((await state.lobby(meeting_id)).values())
    return frames.welcome(
        peer,
        frames.publics(p for pid, p in peers.items() if pid != peer["id"]),
        {
            "meeting_id": meeting_id,
            "settings": effective_settings(live, peer.get("settings") or {}),
            "recording": room["recording"],
            "locked": room["locked"],
            "media": await state.media_mode(meeting_id),
        },
        [frames.chat(m) for m in messages],
        ice_servers(app.state.settings, str(peer.get("user_id") or peer["id"])),
        resume_token,
        lobby,
    )
