"""meeting-service background work."""

from __future__ import annotations

import asyncio

import structlog
from fastapi import FastAPI

from parley.meetings import service

log = structlog.get_logger("parley.meetings")


async def end_idle_meetings(app: FastAPI) -> None:
    """Live meetings everyone has left for ``meeting_idle_end_s`` end by themselves. The state is
    in the database, so meetings left idle across a restart end too."""
    settings = app.state.settings
    while True:
        try:
            async with app.state.db.sessionmaker() as session:
                ended = await service.end_idle_meetings(session, settings.meeting_idle_end_s)
            if ended:
                log.info("idle_meetings_ended", count=ended)
        except Exception:
            log.exception("idle_meeting_sweep_failed")
        await asyncio.sleep(settings.meeting_sweep_interval_s)
