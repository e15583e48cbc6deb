"""Breakout frames from meeting-service, delivered to the people of one room, and the mark that
keeps a move to a breakout room from counting as leaving the meeting.

meeting-service owns breakout rooms (``meetings/breakouts.py``); each room is a meeting of its
own, so signaling needs no notion of them beyond two commands on the signaling stream:

- ``frame``: ``to`` (a participant id of the room of ``meeting_id``, ``everyone`` or
  ``moderators``) and ``frame``, the JSON of the frame. Only the breakout frame types pass
  (:data:`frames.BREAKOUT_FRAMES`, their own keys only), and one that carries a ticket
  (``breakout-move``) only to a single participant: nothing else can ride the stream.
- ``breakout-away``: ``participant_id`` is leaving this room for a breakout room. Their peer is
  marked for :data:`AWAY_S`; if they leave within it, the room is told as usual but no cohost is
  appointed and meeting-service hears ``left`` with ``why`` = ``breakout`` (it keeps their
  rejoin credential: they come back as the same participant).
"""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import FastAPI

from parley.signaling import frames
from parley.signaling.errors import ModerationError
from parley.signaling.frames import MODERATORS, StoredPeer
from parley.signaling.hub import Hub

AWAY_S = 120.0
"""How long after ``breakout-away`` (or a ``breakout-move`` to them) a leave is a move: the
ticket's lifetime, about."""


def _hub(app: FastAPI) -> Hub:
    hub: Hub | None = app.state.signaling
    if hub is None:
        raise ModerationError("unavailable", "Signaling is not running on this node.")
    return hub


def is_away(peer: StoredPeer) -> bool:
    """The peer is on its way to a breakout room (its leave is not leaving the meeting)."""
    try:
        return float(peer.get("breakout_until") or 0) > time.time()
    except (TypeError, ValueError):
        return False


async def mark_away(app: FastAPI, meeting_id: str, participant_id: str) -> None:
    await _hub(app).state.update_peer(
        meeting_id, participant_id, breakout_until=time.time() + AWAY_S
    )


async def deliver(app: FastAPI, fields: dict[str, Any]) -> None:
    """One breakout frame to one participant, to everyone, or to the hosts and cohosts of the
    room of ``meeting_id``."""
    hub = _hub(app)
    meeting_id = str(fields.get("meeting_id") or "")
    to = str(fields.get("to") or "")
    try:
        content = json.loads(str(fields.get("frame") or ""))
    except ValueError as exc:
        raise ModerationError("invalid-message", "breakout frame: not JSON") from exc
    frame = frames.breakout(content) if isinstance(content, dict) else None
    if frame is None:
        raise ModerationError("invalid-message", "not a breakout frame")
    peers = await hub.state.peers(meeting_id)
    if to == "everyone" or to == "moderators":
        if frame["type"] in frames.PERSONAL_FRAMES:
            raise ModerationError("forbidden", f"{frame['type']} goes to one participant only")
        targets = [
            pid for pid, peer in peers.items() if to == "everyone" or peer["role"] in MODERATORS
        ]
    else:
        targets = [to] if to in peers else []
        if targets and frame["type"] == "breakout-move":
            await mark_away(app, meeting_id, to)
    if targets:
        await hub.deliver(meeting_id, frame, to=targets, peers=peers)
