"""Fixtures of the signaling tests: one live server per backend for the session, and a room
with its host and a participant inside."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from tests.support.backends import Backend
from tests.support.signaling import (
    BREAKOUT_COUNTDOWN_S,
    RESUME_GRACE_S,
    Site,
    live_server,
    room_of,
)


@pytest_asyncio.fixture(scope="session")
async def site(backend: Backend) -> AsyncIterator[Site]:
    settings = backend.settings(
        signaling_resume_grace_s=RESUME_GRACE_S,
        meeting_sweep_interval_s=3600,
        breakout_countdown_s=BREAKOUT_COUNTDOWN_S,
    )
    async with live_server(settings) as (app, base):
        running = Site(base, app)
        await running.user("sigroot")  # the first account (admin) is nobody's host
        yield running
        await running.aclose()


@pytest_asyncio.fixture
async def room(site: Site) -> AsyncIterator[dict[str, Any]]:
    """A live meeting with its host and a participant (alice) inside."""
    async with room_of(site) as made:
        yield made
