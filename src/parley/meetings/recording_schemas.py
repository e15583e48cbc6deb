"""The recording API's bodies: what :mod:`parley.meetings.schemas` has, plus the kind of a
recording and its processing progress (server-side recording, issue 17)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from parley.meetings import schemas

RecordingKind = Literal["browser", "server"]


class RecordingOut(schemas.RecordingOut):
    kind: RecordingKind = Field(
        default="browser",
        description="server: the SFU records the room and media-service composes the MP4 (the"
        " page records nothing); browser: the starter's page records and uploads it",
    )
    progress: int | None = Field(
        default=None, description="while a server recording is processed: percent done"
    )


class RecordingUpdate(schemas.RecordingUpdate):
    progress: Annotated[int, Field(ge=0, le=100)] | None = None
