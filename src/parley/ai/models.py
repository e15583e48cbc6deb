"""ai-inference-service tables: stored results and batch jobs.

JSON columns stand in for the seed's MongoDB documents: a result or a job's items are read and
written whole, never queried inside.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from parley.core.db import Base, UTCDateTime, utcnow


class AiResult(Base):
    """The output of one task that named a meeting or a recording."""

    __tablename__ = "ai_results"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    task: Mapped[str] = mapped_column(String(16))
    meeting_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    recording_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_ai_results_meeting_created", "meeting_id", "created_at"),
        Index("ix_ai_results_recording_created", "recording_id", "created_at"),
    )


class AiJob(Base):
    """A batch job: its items, and per item either a result or an error (by item index)."""

    __tablename__ = "ai_jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    callback_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (Index("ix_ai_jobs_status_created", "status", "created_at"),)
