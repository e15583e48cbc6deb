"""The one object media-service's code takes what it uses from: :class:`MediaService`.

The routes, the upload lifecycle and the worker all need the same handful of things (the
database, Redis, object storage, the meeting-service client, settings, the token signer) and a
little state shared by one process (the worker's wake-up event, running upload hashes). They
get them from one :class:`MediaService`, made once per app and passed in (to routes through
the ``MediaDep`` dependency), rather than each function reaching into ``app.state``: what a
function depends on is then in its signature, and a test can hand it a service directly.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from redis.asyncio import Redis
from starlette.types import ASGIApp

from parley.config import Settings
from parley.core.auth import TokenSigner
from parley.core.db import Database
from parley.core.meetings_client import MeetingsClient, meetings_client
from parley.core.storage import Storage, create_storage


@dataclass
class MediaService:
    """What media-service's code works with, made once per app by :func:`media_service`."""

    settings: Settings
    db: Database
    kv: Redis
    storage: Storage
    meetings: MeetingsClient
    """The app's one meeting-service client (:mod:`parley.core.meetings_client`: pooled,
    closed with the app, one error mapping), shared with AI in the all-in-one app."""
    signer: TokenSigner
    local_app: ASGIApp
    """The app itself: sibling services are called in-process through it (an ASGI transport)
    in the all-in-one app, when no URL of theirs is configured."""
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when a file is admitted, so that the worker probes it without waiting its turn."""
    hashes: OrderedDict[uuid.UUID, tuple[int, Any]] = field(default_factory=OrderedDict)
    """Running SHA-256 of uploads in progress: upload id → (bytes hashed, hasher). When it
    does not line up with the stored offset (a restart, another node, bytes lost in a
    failure), the digest is recomputed from storage at the end instead."""


def media_service(app: FastAPI) -> MediaService:
    """``app``'s media service, made on first use (at start-up by the worker, or by the first
    request) once the lifespan has opened the database and Redis; the same one afterwards."""
    service: MediaService | None = getattr(app.state, "media", None)
    if service is None:
        settings: Settings = app.state.settings
        service = MediaService(
            settings=settings,
            db=app.state.db,
            kv=app.state.kv,
            storage=create_storage(settings),
            meetings=meetings_client(
                app, settings.media_meetings_url, setting="PARLEY_MEDIA_MEETINGS_URL"
            ),
            signer=app.state.signer,
            local_app=app,
        )
        app.state.media = service
    return service
