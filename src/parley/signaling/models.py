"""signaling-service tables: chat messages and who has been in which room."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from parley.core.db import Base, UTCDateTime, utcnow


class ChatMessage(Base):
    __tablename__ = "chat_messages"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    meeting_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sender_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # participant id
    sender_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    sender_name: Mapped[str] = mapped_column(String(100))
    recipient_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    recipient_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_chat_messages_meeting_created", "meeting_id", "created_at"),)


class RoomMember(Base):
    """A signed-in user's standing in a room: who may read its chat history, and up to when.

    A row is written when the user *enters* the room (admitted from the lobby, or straight in),
    never when they merely knock. ``status``: ``present`` (in the room now: all history),
    ``left`` (history up to ``left_at``; entering again makes them present), ``removed`` or
    ``denied`` (an outsider again: no history at all).
    """

    __tablename__ = "room_members"

    meeting_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="present", server_default="present")
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
