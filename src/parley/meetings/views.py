"""The API's views of a meeting: what its members see, what anyone with the code sees.

Kept apart from the rules so that every module (lists, joins, updates) renders a meeting the
same way, and none of them needs another rule module just to answer."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from parley.meetings.models import Meeting
from parley.meetings.schemas import MeetingOut, MeetingSettings, PublicMeetingOut


def settings_of(meeting: Meeting | Row[Any]) -> MeetingSettings:
    """The meeting's settings, defaults filled in (rows written before a setting existed lack
    it)."""
    return MeetingSettings.model_validate(meeting.settings or {})


def to_out(meeting: Meeting | Row[Any]) -> MeetingOut:
    """The API view of a meeting (an ORM object, or a row of the list query).

    Built without validation: every value comes from our own table, written through validated
    models, and a list page makes twenty of these."""
    return MeetingOut.model_construct(
        id=meeting.id,
        code=meeting.code,
        title=meeting.title,
        description=meeting.description,
        host_id=meeting.host_id,
        host_display_name=meeting.host_display_name,
        status=meeting.status,
        start_time=meeting.start_time,
        duration_minutes=meeting.duration_minutes,
        timezone=meeting.timezone,
        has_password=meeting.password_hash is not None,
        settings=MeetingSettings.model_construct(**(meeting.settings or {})),
        created_at=meeting.created_at,
        updated_at=meeting.updated_at,
        started_at=meeting.started_at,
        ended_at=meeting.ended_at,
        join_url=f"/m/{meeting.code}",
    )


def to_public(meeting: Meeting, user_id: str | None = None) -> PublicMeetingOut:
    """What the join page shows to anyone with the code: enough to choose how to join, nothing
    about who is in it; ``you_host`` when the caller (``user_id``) is the host, whom joining
    asks for neither password nor admission."""
    settings = settings_of(meeting)
    return PublicMeetingOut(
        id=meeting.id,
        title=meeting.title,
        host_display_name=meeting.host_display_name,
        status=meeting.status,
        has_password=meeting.password_hash is not None,
        allow_guests=settings.allow_guests,
        waiting_room=settings.waiting_room,
        you_host=user_id is not None and user_id == str(meeting.host_id),
    )
