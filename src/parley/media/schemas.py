"""media-service request and response bodies (the API contract)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

# "track": one speaker's audio of a server-side recording (made by the worker, never uploaded).
MediaKind = Literal["recording", "file", "avatar", "track"]
KINDS: tuple[str, ...] = ("recording", "file", "avatar")
ThumbnailStatus = Literal["pending", "processing", "ready", "failed", "none"]


class MediaOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    owner_id: uuid.UUID
    meeting_id: uuid.UUID | None
    recording_id: uuid.UUID | None
    kind: MediaKind
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    duration_s: float | None
    width: int | None
    height: int | None
    codecs: list[str]
    thumbnail_status: ThumbnailStatus
    thumbnail_error: str | None
    created_at: datetime


class MediaPage(BaseModel):
    items: list[MediaOut]
    total: int


class IceServer(BaseModel):
    urls: list[str] | str
    username: str | None = None
    credential: str | None = None
