"""The services Parley is made of: name, seed port, and how to build each one's app."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI

from parley.config import Settings
from parley.core.app import BackgroundTask, SocketHandler, create_app


def _users_routers() -> Sequence[APIRouter]:
    from parley.users.router import routers

    return routers


def _meetings_routers() -> Sequence[APIRouter]:
    from parley.meetings.router import routers

    return routers


def _meetings_background() -> Sequence[BackgroundTask]:
    from parley.meetings.tasks import apply_signaling_commands, end_idle_meetings

    return [end_idle_meetings, apply_signaling_commands]


def _signaling_routers() -> Sequence[APIRouter]:
    from parley.signaling.router import routers

    return routers


def _signaling_sockets() -> dict[str, SocketHandler]:
    from parley.signaling.router import sockets

    return sockets


def _signaling_background() -> Sequence[BackgroundTask]:
    from parley.signaling.tasks import run_signaling

    return [run_signaling]


def _ai_routers() -> Sequence[APIRouter]:
    from parley.ai.router import routers

    return routers


def _ai_background() -> Sequence[BackgroundTask]:
    from parley.ai.jobs import run_ai_workers

    return [run_ai_workers]


def _media_routers() -> Sequence[APIRouter]:
    from parley.media.router import routers

    return routers


def _media_background() -> Sequence[BackgroundTask]:
    from parley.media.worker import run_media_worker

    return [run_media_worker]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int
    routers: Callable[[], Sequence[APIRouter]]
    background: Callable[[], Sequence[BackgroundTask]] = field(default=lambda: ())
    # WebSocket endpoints served around the HTTP middleware (see ``ParleyApp``).
    sockets: Callable[[], dict[str, SocketHandler]] = field(default=lambda: {})

    def create_app(self, settings: Settings) -> FastAPI:
        return create_app(self.name, settings, self.routers(), self.background(), self.sockets())


SERVICES: dict[str, ServiceSpec] = {
    "users": ServiceSpec("users", 8080, _users_routers),
    "signaling": ServiceSpec(
        "signaling", 8081, _signaling_routers, _signaling_background, _signaling_sockets
    ),
    "meetings": ServiceSpec("meetings", 8082, _meetings_routers, _meetings_background),
    "media": ServiceSpec("media", 8083, _media_routers, _media_background),
    "ai": ServiceSpec("ai", 8085, _ai_routers, _ai_background),
}
