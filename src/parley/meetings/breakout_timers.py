"""The breakout rooms' clock: when their time is up the countdown starts by itself, and when the
countdown is over the rooms end.

Two ways, so that neither a restart nor a long sweep interval loses a step: an in-process task
per session sleeps until its next moment (set when a host opens or closes, so people see it on
time), and the meeting service's periodic sweep (``tasks.py``) takes every session whose moment
has passed, whichever process scheduled it. Each step is done once whoever comes first
(``breakouts.finish`` closes under a conditional update; a countdown already running is not
started again).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import structlog
from fastapi import FastAPI
from sqlalchemy import or_, select

from parley.core.db import utcnow
from parley.meetings import breakouts
from parley.meetings.lifecycle import FINISHED
from parley.meetings.models import BreakoutSession, Meeting

log = structlog.get_logger("parley.meetings")


def _timers(app: FastAPI) -> dict[uuid.UUID, asyncio.Task[None]]:
    timers: dict[uuid.UUID, asyncio.Task[None]] | None = getattr(app.state, "breakout_timers", None)
    if timers is None:
        timers = app.state.breakout_timers = {}
    return timers


def _next_moment(breakout: BreakoutSession) -> datetime | None:
    if breakout.state == "open":
        return breakout.ends_at
    if breakout.state == "closing":
        return breakout.closes_at
    return None


def follow(app: FastAPI, breakout: BreakoutSession) -> None:
    """Wake up at the session's next moment (its time up, or its countdown over); a session
    with none (no duration, closed) needs no timer."""
    timers = _timers(app)
    previous = timers.pop(breakout.id, None)
    if previous is not None and previous is not asyncio.current_task():
        previous.cancel()
    moment = _next_moment(breakout)
    if moment is None:
        return
    task = asyncio.create_task(_wake(app, breakout.id, moment), name=f"breakouts-{breakout.id}")
    timers[breakout.id] = task
    session_id = breakout.id

    def forget(done: asyncio.Task[None]) -> None:
        if timers.get(session_id) is done:
            del timers[session_id]

    task.add_done_callback(forget)


async def _wake(app: FastAPI, session_id: uuid.UUID, moment: datetime) -> None:
    await asyncio.sleep(max((moment - utcnow()).total_seconds(), 0.0))
    try:
        await advance(app, session_id)
    except Exception:
        log.exception("breakout_timer_failed", session=str(session_id))


async def advance(app: FastAPI, session_id: uuid.UUID) -> None:
    """Take the session's step if its moment has passed (or its main meeting is over)."""
    async with app.state.db.sessionmaker() as session:
        breakout = await session.get(BreakoutSession, session_id)
        if breakout is None or breakout.state == "closed":
            return
        meeting = await session.get(Meeting, breakout.meeting_id)
        if meeting is None:
            return
        ctx = breakouts.Context(session, app.state.kv, app.state.signer, app.state.settings)
        now = utcnow()
        if meeting.status in FINISHED:
            await breakouts.finish(session, app.state.kv, meeting, breakout)
        elif breakout.state == "open" and breakout.ends_at is not None and breakout.ends_at <= now:
            await breakouts.close(ctx, meeting, breakout)
        elif breakout.state == "closing" and (
            breakout.closes_at is None or breakout.closes_at <= now
        ):
            await breakouts.finish(session, app.state.kv, meeting, breakout)
        follow(app, breakout)


async def sweep(app: FastAPI) -> int:
    """Every session whose moment has passed takes its step (after a restart, or on another
    node than the one that set the timer); returns how many were looked at."""
    now = utcnow()
    async with app.state.db.sessionmaker() as session:
        due = (
            await session.scalars(
                select(BreakoutSession.id)
                .join(Meeting, Meeting.id == BreakoutSession.meeting_id)
                .where(
                    BreakoutSession.state.in_(("created", "open", "closing")),
                    or_(
                        Meeting.status.in_(FINISHED),
                        (BreakoutSession.state == "open") & (BreakoutSession.ends_at <= now),
                        (BreakoutSession.state == "closing") & (BreakoutSession.closes_at <= now),
                    ),
                )
            )
        ).all()
    for session_id in due:
        try:
            await advance(app, session_id)
        except Exception:
            log.exception("breakout_sweep_failed", session=str(session_id))
    return len(due)
