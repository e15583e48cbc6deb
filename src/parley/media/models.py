"""media-service tables: stored files and the tus uploads that are still arriving.

A finished upload becomes a :class:`MediaFile` with the same id, so the tus ``Location`` a
client keeps and the media id it later asks for are one value.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from parley.core.db import Base, UTCDateTime, utcnow


class MediaFile(Base):
    """One stored object: a recording, a shared file or an avatar source."""

    __tablename__ = "media_files"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Users and meetings belong to other services: ids only, no foreign keys across services.
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    meeting_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    # The meeting-service recording this file is the media of (kind "recording" only).
    recording_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    codecs: Mapped[list[str]] = mapped_column(JSON, default=list)
    # pending → ready | failed | none (audio and PDFs have no picture to show)
    thumbnail_status: Mapped[str] = mapped_column(String(16), default="pending")
    thumbnail_key: Mapped[str | None] = mapped_column(String(200), default=None)
    thumbnail_error: Mapped[str | None] = mapped_column(Text, default=None)
    # Work attempts by the background worker (a crash mid-job must not loop forever).
    processing_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_media_files_owner_created", "owner_id", "created_at"),
        Index("ix_media_files_meeting_kind", "meeting_id", "kind"),
        Index("ix_media_files_kind_created", "kind", "created_at"),
        Index("ix_media_files_thumbnail_status", "thumbnail_status"),
    )


class MediaUpload(Base):
    """A tus upload in progress: what was declared, how far it got, where its bytes are."""

    __tablename__ = "media_uploads"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    meeting_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    recording_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100), default=None)
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    # The raw Upload-Metadata header, echoed back on HEAD as the protocol asks.
    metadata_header: Mapped[str] = mapped_column(Text, default="")
    # Storage-specific progress (e.g. the S3 multipart upload id and its finished parts).
    storage_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_media_uploads_owner", "owner_id"),
        Index("ix_media_uploads_expires", "expires_at"),
    )


class RecordingJob(Base):
    """Composing a server-side recording (issue 17): the ``.mjr`` tracks a media node's Janus
    wrote for a meeting-service recording, made into an MP4 and per-speaker tracks by the
    media worker of that node (the raw tracks are on its disk). Claimed like a file's probe
    (conditional UPDATE); a job left ``processing`` by a worker that died goes back to
    ``pending`` when the worker starts again, up to ``MAX_ATTEMPTS``."""

    __tablename__ = "recording_jobs"

    # The meeting-service recording's id.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    node: Mapped[str] = mapped_column(String(128))
    raw_dir: Mapped[str] = mapped_column(String(1000))
    files: Mapped[list[str]] = mapped_column(JSON, default=list)
    # participant id → display name, for the name plates and the speakers' files.
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    started_us: Mapped[int] = mapped_column(BigInteger)
    ended_us: Mapped[int] = mapped_column(BigInteger)
    # pending → processing → done | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    media_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_recording_jobs_status_node", "status", "node"),)
