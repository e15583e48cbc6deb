"""Poll events from meeting-service, delivered to the people in the room who may see them.

meeting-service owns polls (``meetings/polls.py``) and puts each event on the signaling command
stream (``cmd=poll``) after it is committed: ``event`` (opened | results | closed),
``audience`` (everyone | moderators) and ``poll``, the JSON of what the frame carries. The
payload is read field by field into the frames' own types (keys they do not name are dropped),
so nothing else (a voter, say) can ride along into a frame.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, ValidationError

from parley.signaling import frames
from parley.signaling.errors import ModerationError
from parley.signaling.hub import Hub


class _Info(BaseModel):
    """:class:`frames.PollInfo` as read from the stream (other keys are ignored)."""

    id: str
    question: str
    options: list[str]
    multiple: bool
    anonymous: bool
    live_results: bool
    status: Literal["open", "closed"]
    revision: int

    def frame(self) -> frames.PollInfo:
        return {
            "id": self.id,
            "question": self.question,
            "options": self.options,
            "multiple": self.multiple,
            "anonymous": self.anonymous,
            "live_results": self.live_results,
            "status": self.status,
            "revision": self.revision,
        }


class _Counts(BaseModel):
    """:class:`frames.PollCounts` as read from the stream (other keys are ignored)."""

    poll_id: str
    results: list[int]
    voters: int
    revision: int

    def frame(self) -> frames.PollCounts:
        return {
            "poll_id": self.poll_id,
            "results": self.results,
            "voters": self.voters,
            "revision": self.revision,
        }


def _frame(event: str, raw: str) -> frames.Frame:
    try:
        if event == "opened":
            return frames.poll_opened(_Info.model_validate_json(raw).frame())
        if event == "results":
            return frames.poll_results(_Counts.model_validate_json(raw).frame())
        if event == "closed":
            return frames.poll_closed(_Counts.model_validate_json(raw).frame())
    except ValidationError as exc:
        raise ModerationError("invalid-message", f"poll event: {exc.error_count()} errors") from exc
    raise ModerationError("invalid-message", f"unknown poll event {event!r}")


async def deliver(app: FastAPI, fields: dict[str, Any]) -> None:
    """One poll event: to everyone in the room, or to its hosts and cohosts only."""
    hub: Hub | None = app.state.signaling
    if hub is None:
        raise ModerationError("unavailable", "Signaling is not running on this node.")
    meeting_id = str(fields.get("meeting_id") or "")
    frame = _frame(str(fields.get("event") or ""), str(fields.get("poll") or ""))
    peers = await hub.state.peers(meeting_id)
    if fields.get("audience") == "everyone":
        await hub.deliver(meeting_id, frame, peers=peers)
        return
    # Anything but "everyone" (a typo included) is the narrow audience.
    moderators = [pid for pid, peer in peers.items() if peer.get("role") in frames.MODERATORS]
    await hub.deliver(meeting_id, frame, to=moderators, peers=peers)
