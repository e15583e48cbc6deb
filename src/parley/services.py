"""The services Parley is made of: name, seed port, and how to build each one's app."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI

from parley.config import Settings
from parley.core.app import BackgroundTask, create_app


def _users_routers() -> Sequence[APIRouter]:
    from parley.users.router import routers

    return routers


def _meetings_routers() -> Sequence[APIRouter]:
    from parley.meetings.router import routers

    return routers


def _meetings_background() -> Sequence[BackgroundTask]:
    from parley.meetings.tasks import end_idle_meetings

    return [end_idle_meetings]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int
    routers: Callable[[], Sequence[APIRouter]]
    background: Callable[[], Sequence[BackgroundTask]] = field(default=lambda: ())

    def create_app(self, settings: Settings) -> FastAPI:
        return create_app(self.name, settings, self.routers(), self.background())


SERVICES: dict[str, ServiceSpec] = {
    "users": ServiceSpec("users", 8080, _users_routers),
    "meetings": ServiceSpec("meetings", 8082, _meetings_routers, _meetings_background),
}
