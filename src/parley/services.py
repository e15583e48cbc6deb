"""The services Parley is made of: name, seed port, and how to build each one's app."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI

from parley.config import Settings
from parley.core.app import BackgroundTask, SocketHandler, create_app
from parley.core.bodies import BodyLimit

MULTIPART_OVERHEAD = 64 * 1024
"""Room for a multipart body's boundaries and part headers around the file it carries."""


def _users_routers() -> Sequence[APIRouter]:
    from parley.users.router import routers

    return routers


def _users_body_limits(settings: Settings) -> Sequence[BodyLimit]:
    from parley.users.router import MAX_AVATAR_BYTES

    # The avatar: a raw image body or a multipart form with one file.
    return [BodyLimit("/api/v1/users/me/avatar", MAX_AVATAR_BYTES + MULTIPART_OVERHEAD)]


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


def _ai_body_limits(settings: Settings) -> Sequence[BodyLimit]:
    # Multipart audio for /asr and /asr/upload (JSON with base64 audio keeps the 1 MiB limit).
    return [
        BodyLimit(
            "/api/v1/ai/asr",
            settings.ai_max_upload_bytes + MULTIPART_OVERHEAD,
            ("multipart/form-data",),
        )
    ]


def _ai_background() -> Sequence[BackgroundTask]:
    from parley.ai.jobs import run_ai_workers

    return [run_ai_workers]


def _media_routers() -> Sequence[APIRouter]:
    from parley.media.router import routers
    from parley.rtc.probe_router import routers as probe_routers
    from parley.rtc.recording_router import routers as recording_routers
    from parley.rtc.router import routers as rtc_routers

    # The media plane (rtc/) runs in media-service's process.
    return [*routers, *rtc_routers, *recording_routers, *probe_routers]


def _media_body_limits(settings: Settings) -> Sequence[BodyLimit]:
    return [
        # tus PATCH: one request may carry the whole file.
        BodyLimit(
            "/api/v1/media/uploads",
            settings.media_max_file_bytes,
            ("application/offset+octet-stream",),
        ),
        # Small files in one multipart POST.
        BodyLimit(
            "/api/v1/media",
            settings.media_max_file_bytes + MULTIPART_OVERHEAD,
            ("multipart/form-data",),
        ),
    ]


def _media_background() -> Sequence[BackgroundTask]:
    from parley.media.worker import run_media_worker
    from parley.rtc.recording_router import run_recorder
    from parley.rtc.runtime import run_rtc

    return [run_media_worker, run_rtc, run_recorder]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int
    routers: Callable[[], Sequence[APIRouter]]
    background: Callable[[], Sequence[BackgroundTask]] = field(default=lambda: ())
    # WebSocket endpoints served around the HTTP middleware (see ``ParleyApp``).
    sockets: Callable[[], dict[str, SocketHandler]] = field(default=lambda: {})
    # Request bodies larger than the 1 MiB default that this service accepts (uploads); every
    # other body is cut off with 413 at the default (see ``parley.core.bodies``).
    body_limits: Callable[[Settings], Sequence[BodyLimit]] = field(default=lambda settings: ())

    def create_app(self, settings: Settings) -> FastAPI:
        return create_app(
            self.name,
            settings,
            self.routers(),
            self.background(),
            self.sockets(),
            self.body_limits(settings),
        )


SERVICES: dict[str, ServiceSpec] = {
    "users": ServiceSpec("users", 8080, _users_routers, body_limits=_users_body_limits),
    "signaling": ServiceSpec(
        "signaling", 8081, _signaling_routers, _signaling_background, _signaling_sockets
    ),
    "meetings": ServiceSpec("meetings", 8082, _meetings_routers, _meetings_background),
    "media": ServiceSpec(
        "media", 8083, _media_routers, _media_background, body_limits=_media_body_limits
    ),
    "ai": ServiceSpec("ai", 8085, _ai_routers, _ai_background, body_limits=_ai_body_limits),
}
