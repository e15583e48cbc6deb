"""Request and response bodies of breakout rooms (``breakouts.py``; frames in
``docs/signaling.md``).

Apart from ``schemas.py`` because breakouts have their own rule of who sees what: a room's
``participants`` is left out (not an empty list) where the caller may not see it, so a client
cannot mistake "hidden" for "empty"."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StrictBool, StringConstraints

from parley.core.text import refuse_control_characters
from parley.meetings.schemas import BreakoutAssignment, BreakoutState, StrictBody

MAX_ROOMS = 50
MIN_DURATION_S = 60
MAX_DURATION_S = 24 * 3600

RoomName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(refuse_control_characters),
]
RoomIndex = Annotated[int, Field(ge=0, le=MAX_ROOMS - 1)]
BroadcastText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    AfterValidator(refuse_control_characters),
]


class RoomIn(StrictBody):
    name: RoomName


class BreakoutsCreate(StrictBody):
    rooms: Annotated[list[RoomIn], Field(min_length=1, max_length=MAX_ROOMS)]
    assignment: BreakoutAssignment = "manual"
    """``manual``: ``assignments`` say who goes where; ``auto``: the joined participants are
    spread evenly and at random (after those ``assignments`` name); ``self``: each chooses."""
    assignments: dict[uuid.UUID, RoomIndex] = Field(
        default_factory=dict,
        description="main-meeting participant id -> room index (0-based)",
    )
    duration_s: Annotated[int, Field(ge=MIN_DURATION_S, le=MAX_DURATION_S)] | None = None
    """How long the rooms last once open; the countdown back starts by itself then."""
    allow_return: StrictBool = False
    """Participants may go back to the main room before the rooms close."""


class MoveIn(StrictBody):
    participant_id: uuid.UUID
    """Their participant id in the main meeting."""
    to: RoomIndex | None
    """A room index, or ``null`` for the main room."""


class RoomUpdate(StrictBody):
    name: RoomName | None = None
    move: MoveIn | None = None


class CloseIn(StrictBody):
    now: StrictBool = False
    """Skip the countdown: the rooms end at once."""


class BroadcastIn(StrictBody):
    text: BroadcastText


class HelpIn(StrictBody):
    room_id: uuid.UUID | None = None
    """The breakout room asking (default: the caller's room)."""


class SeatOut(BaseModel):
    participant_id: uuid.UUID
    """Their participant id in the main meeting."""
    display_name: str


class RoomOut(BaseModel):
    id: uuid.UUID
    """The room's own meeting id."""
    name: str
    index: int
    participants: list[SeatOut] | None = Field(
        default=None,
        description="Who is assigned here: every room for hosts and cohosts, one's own room "
        "for everyone else (left out for the others' rooms).",
    )


class BreakoutsOut(BaseModel):
    id: uuid.UUID
    state: BreakoutState
    assignment: BreakoutAssignment
    allow_return: bool
    duration_s: int | None
    created_at: datetime
    opened_at: datetime | None
    ends_at: datetime | None
    closes_at: datetime | None
    rooms: list[RoomOut]
    my_room: int | None = Field(
        default=None, description="The caller's room index (null: the main room)."
    )
    unassigned: list[SeatOut] | None = Field(
        default=None,
        description="Hosts and cohosts only: people in the main room assigned nowhere.",
    )
