"""meeting-service tables: meetings, participants, recordings, polls.

Statuses and roles are typed with the API's ``Literal``s (a plain ``String`` column underneath,
so the schema does not change): a typo in a status is a type error, and rows flow into the
response models without casts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from parley.core.db import Base, UTCDateTime, utcnow
from parley.meetings.schemas import (
    BreakoutAssignment,
    BreakoutState,
    MeetingStatus,
    ParticipantRole,
    ParticipantStatus,
    PollStatus,
    RecordingStatus,
)


class Meeting(Base):
    __tablename__ = "meetings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # The host is a user of user-service; no foreign key across services' tables.
    host_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    host_display_name: Mapped[str] = mapped_column(String(100))
    status: Mapped[MeetingStatus] = mapped_column(String(16), default="scheduled")
    start_time: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # When the last participant left a live meeting; cleared when someone joins.
    empty_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # A breakout room is a meeting of its own under its main meeting (``breakouts.py``): never
    # listed, never joined by code or ``/join``, ended with its session or its main meeting.
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE"), default=None, index=True
    )
    breakout_index: Mapped[int | None] = mapped_column(Integer, default=None)

    __table_args__ = (
        Index("ix_meetings_host_start", "host_id", "start_time"),
        Index("ix_meetings_status_empty", "status", "empty_since"),
    )


class Participant(Base):
    """One join of a meeting: a signed-in user's tab, or a guest."""

    __tablename__ = "participants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[ParticipantRole] = mapped_column(String(16), default="participant")
    status: Mapped[ParticipantStatus] = mapped_column(String(16), default="joined")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the row was let in (admitted, or joined with no waiting room): the explicit fact
    # "was admitted", which no other transition sets. NULL for knockers denied or never let in.
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # When signaling-service first saw this row's socket authenticated (its ``connected``
    # command). A joined row still without one after its ticket's lifetime is a ghost (a join
    # whose socket never came) and is released, so it neither fills the meeting nor keeps it
    # from ending idle.
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        Index("ix_participants_meeting_status", "meeting_id", "status"),
        Index("ix_participants_user_meeting", "user_id", "meeting_id"),
        Index("ix_participants_status_joined_at", "status", "joined_at"),
    )


class Recording(Base):
    __tablename__ = "recordings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    started_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    status: Mapped[RecordingStatus] = mapped_column(String(16), default="recording")
    media_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # browser: composed and uploaded by the starter's page; server: recorded by the SFU and
    # composed by media-service's worker, whose progress (percent) shows while processing.
    kind: Mapped[str] = mapped_column(String(16), default="browser", server_default="browser")
    progress: Mapped[int | None] = mapped_column(Integer, default=None)


class Poll(Base):
    """A question a host or cohost put to the meeting. ``results`` holds the final counts once
    the poll is closed (the ballots of an anonymous poll are deleted then, see ``polls.py``);
    ``revision`` grows with every vote, so that clients keep only the newest counts."""

    __tablename__ = "polls"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(String(300))
    options: Mapped[list[str]] = mapped_column(JSON)
    multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    live_results: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[PollStatus] = mapped_column(String(16), default="open")
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    results: Mapped[list[int] | None] = mapped_column(JSON, default=None)
    voters: Mapped[int | None] = mapped_column(Integer, default=None)


class PollBallot(Base):
    """One voter's current choice. ``voter_tag`` is a keyed hash of who voted (see
    ``polls.voter_tag``), never their id: it enforces one vote per person. ``participant_id``
    and ``display_name`` are kept for named polls only (NULL in anonymous ones), and the row
    has no timestamp, so an anonymous ballot says nothing of who cast it or when."""

    __tablename__ = "poll_ballots"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    poll_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("polls.id", ondelete="CASCADE"))
    voter_tag: Mapped[str] = mapped_column(String(64))
    options: Mapped[list[int]] = mapped_column(JSON)
    participant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    display_name: Mapped[str | None] = mapped_column(String(100), default=None)

    __table_args__ = (UniqueConstraint("poll_id", "voter_tag", name="uq_poll_ballots_voter"),)


class BreakoutSession(Base):
    """One round of breakout rooms in a main meeting (``meeting_id``); its rooms are meetings
    whose ``parent_id`` is that meeting, listed in ``rooms`` by index.
    ``ends_at`` is when the rooms' time is up (the countdown starts by itself then),
    ``closes_at`` the end of the countdown, when the rooms end."""

    __tablename__ = "breakout_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    assignment: Mapped[BreakoutAssignment] = mapped_column(String(16))
    allow_return: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_s: Mapped[int | None] = mapped_column(Integer, default=None)
    state: Mapped[BreakoutState] = mapped_column(String(16), default="created")
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    rooms: Mapped[list[str]] = mapped_column(JSON, default=list)
    """The rooms' meeting ids, by index."""


class BreakoutSeat(Base):
    """Where one person of the main meeting (``participant_id``, their row there) belongs in a
    session: ``room_index`` (``None``: the main room), and ``tickets``, the participant row
    they were given in each room they were sent to or visited (``{"<index>": "<id>"}``), so a
    person has one row per room however often they come and go."""

    __tablename__ = "breakout_seats"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("breakout_sessions.id", ondelete="CASCADE")
    )
    participant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("participants.id", ondelete="CASCADE")
    )
    room_index: Mapped[int | None] = mapped_column(Integer, default=None)
    tickets: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        UniqueConstraint("session_id", "participant_id", name="uq_breakout_seats_person"),
    )
