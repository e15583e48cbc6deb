"""The join answer with its rejoin credential, and the rejoin request (``rejoining.py``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from parley.meetings.schemas import JoinOut, StrictBody

RejoinToken = Annotated[str, StringConstraints(min_length=16, max_length=128, pattern=r"^[\w-]+$")]


class RejoinOut(BaseModel):
    """What the tab keeps (in its own session storage) to come back as the same participant."""

    token: str = Field(description="works once; every rejoin answers with a new one")
    expires_in: int = Field(description="seconds")


class JoinedOut(JoinOut):
    rejoin: RejoinOut


class RejoinIn(StrictBody):
    participant_id: uuid.UUID
    token: RejoinToken
