"""Figures: a person's meetings (``/stats``), the platform's (admins), and the sweep that ends
live meetings left idle (it reads the same "who is in" facts the figures do)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from parley.core.db import utcnow
from parley.meetings.lifecycle import close_meeting
from parley.meetings.models import BreakoutSession, Meeting, Participant
from parley.meetings.schemas import PlatformStats, StatsOut


def _minutes(started: datetime | None, ended: datetime | None, now: datetime) -> float:
    """How long a meeting ran (so far, for a live one); 0 for one that never started."""
    if started is None:
        return 0.0
    return max(((ended or now) - started).total_seconds(), 0.0) / 60


async def stats(
    session: AsyncSession, user_id: uuid.UUID, platform: bool, now: datetime | None = None
) -> StatsOut:
    """The caller's figures; ``platform`` adds the whole platform's (admins only)."""
    now = now or utcnow()
    attended_ids = select(Participant.meeting_id).where(
        Participant.user_id == user_id, Participant.joined_at.is_not(None)
    )
    mine = (
        await session.execute(
            select(
                Meeting.id,
                Meeting.host_id,
                Meeting.status,
                Meeting.started_at,
                Meeting.ended_at,
                func.coalesce(Meeting.started_at, Meeting.start_time, Meeting.created_at),
            ).where(
                Meeting.status != "cancelled",
                Meeting.parent_id.is_(None),  # breakout rooms count as their main meeting
                or_(Meeting.host_id == user_id, Meeting.id.in_(attended_ids)),
            )
        )
    ).all()
    hosted = [m for m in mine if m.host_id == user_id]
    attended = [m for m in mine if m.host_id != user_id]
    started_hosted = [m.id for m in hosted if m.started_at is not None]
    average = 0.0
    if started_hosted:
        people = func.count(func.distinct(func.coalesce(Participant.user_id, Participant.id)))
        counts = (
            await session.execute(
                select(Participant.meeting_id, people)
                .where(
                    Participant.meeting_id.in_(started_hosted), Participant.joined_at.is_not(None)
                )
                .group_by(Participant.meeting_id)
            )
        ).all()
        by_meeting = dict((mid, int(n)) for mid, n in counts)
        average = sum(by_meeting.get(mid, 0) for mid in started_hosted) / len(started_hosted)
    week_start = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    anchors = [m[5] if m[5].tzinfo else m[5].replace(tzinfo=UTC) for m in mine]
    result = StatsOut(
        meetings_hosted=len(hosted),
        meetings_attended=len(attended),
        total_meeting_minutes=round(sum(_minutes(m.started_at, m.ended_at, now) for m in mine), 2),
        average_participants=round(average, 2),
        meetings_this_week=sum(
            1 for a in anchors if week_start <= a < week_start + timedelta(days=7)
        ),
        meetings_this_month=sum(
            1
            for a in anchors
            if month_start <= a and a.month == month_start.month and a.year == month_start.year
        ),
    )
    if platform:
        result.platform = await platform_stats(session)
    return result


async def platform_stats(session: AsyncSession) -> PlatformStats:
    by_status: dict[str, int] = dict(
        (status, int(n))
        for status, n in (
            await session.execute(select(Meeting.status, func.count()).group_by(Meeting.status))
        ).all()
    )
    live_participants = await session.scalar(
        select(func.count())
        .select_from(Participant)
        .join(Meeting, Meeting.id == Participant.meeting_id)
        .where(Meeting.status == "live", Participant.status == "joined")
    )
    participants_total = await session.scalar(
        select(func.count()).where(Participant.joined_at.is_not(None))
    )
    hosts = await session.scalar(select(func.count(func.distinct(Meeting.host_id))))
    return PlatformStats(
        meetings_total=sum(by_status.values()),
        meetings_by_status=by_status,
        live_meetings=by_status.get("live", 0),
        live_participants=int(live_participants or 0),
        participants_total=int(participants_total or 0),
        hosts_total=int(hosts or 0),
    )


async def end_idle_meetings(session: AsyncSession, idle_s: int, now: datetime | None = None) -> int:
    """End live meetings nobody has been in for ``idle_s`` seconds; returns how many."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=idle_s)
    someone_in = exists().where(
        Participant.meeting_id == Meeting.id, Participant.status == "joined"
    )
    # Everyone may be in breakout rooms (and on their way between rooms and the main room
    # around a session's start and end): not idle. The rooms end with their session or their
    # main meeting (``breakouts.finish``), never by themselves.
    room = aliased(Meeting)
    in_room = aliased(Participant)
    someone_in_rooms = exists().where(
        room.parent_id == Meeting.id,
        room.status == "live",
        in_room.meeting_id == room.id,
        in_room.status == "joined",
    )
    recent_breakouts = exists().where(
        BreakoutSession.meeting_id == Meeting.id,
        or_(
            BreakoutSession.created_at > cutoff,
            BreakoutSession.opened_at > cutoff,
            BreakoutSession.closes_at > cutoff,
        ),
    )
    idle = (
        await session.scalars(
            select(Meeting).where(
                Meeting.status == "live",
                func.coalesce(Meeting.empty_since, Meeting.started_at) < cutoff,
                ~someone_in,
                ~someone_in_rooms,
                ~recent_breakouts,
                Meeting.parent_id.is_(None),
            )
        )
    ).all()
    for meeting in idle:
        await close_meeting(session, meeting, "ended")
    await session.commit()
    return len(idle)
