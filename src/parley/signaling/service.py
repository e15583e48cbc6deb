"""signaling-service business rules that touch the database or other services."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from parley.signaling.models import ChatMessage, RoomMember

# meeting-service applies these (it owns meetings and participants); a Redis stream keeps them
# until it has, even across its restarts.
MEETING_COMMANDS = "parley:meetings:commands"
HISTORY = 100


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


async def tell_meetings(kv: Redis, command: str, meeting_id: str, participant_id: str = "") -> None:
    await kv.xadd(
        MEETING_COMMANDS,
        {"cmd": command, "meeting_id": meeting_id, "participant_id": participant_id},
        maxlen=100_000,
        approximate=True,
    )


async def remember_member(session: AsyncSession, meeting_id: str, user_id: str | None) -> None:
    if not user_id:
        return
    dialect = session.bind.dialect.name if session.bind is not None else ""
    table = RoomMember.__table__
    values = {"meeting_id": uuid.UUID(meeting_id), "user_id": uuid.UUID(user_id)}
    insert: Any = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    await session.execute(insert.values(**values).on_conflict_do_nothing())
    await session.commit()


async def is_member(session: AsyncSession, meeting_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    found = await session.get(RoomMember, (meeting_id, user_id))
    return found is not None


async def save_chat(
    session: AsyncSession,
    meeting_id: str,
    sender: dict[str, Any],
    text: str,
    recipient: dict[str, Any] | None,
) -> ChatMessage:
    message = ChatMessage(
        meeting_id=uuid.UUID(meeting_id),
        sender_id=uuid.UUID(sender["id"]),
        sender_user_id=_uuid(sender.get("user_id")),
        sender_name=sender["display_name"],
        recipient_id=uuid.UUID(recipient["id"]) if recipient else None,
        recipient_user_id=_uuid(recipient.get("user_id")) if recipient else None,
        text=text,
    )
    session.add(message)
    await session.commit()
    return message


def chat_frame(message: ChatMessage) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": "chat",
        "id": str(message.id),
        "from": str(message.sender_id),
        "from_name": message.sender_name,
        "text": message.text,
        "ts": message.created_at.isoformat(),
    }
    if message.recipient_id is not None:
        frame["to"] = str(message.recipient_id)
    return frame


def _visible_to(participant_id: uuid.UUID | None, user_id: uuid.UUID | None) -> Any:
    """Public messages, and private ones this participant (or user) sent or received."""
    mine = []
    if participant_id is not None:
        mine += [
            ChatMessage.sender_id == participant_id,
            ChatMessage.recipient_id == participant_id,
        ]
    if user_id is not None:
        mine += [ChatMessage.sender_user_id == user_id, ChatMessage.recipient_user_id == user_id]
    return or_(ChatMessage.recipient_id.is_(None), *mine)


async def history(
    session: AsyncSession,
    meeting_id: uuid.UUID,
    *,
    participant_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    before: datetime | None = None,
    limit: int = HISTORY,
) -> tuple[list[ChatMessage], bool]:
    """The newest ``limit`` messages (before ``before``), oldest first, and whether more exist."""
    conditions = [ChatMessage.meeting_id == meeting_id, _visible_to(participant_id, user_id)]
    if before is not None:
        conditions.append(ChatMessage.created_at < before)
    rows = list(
        (
            await session.scalars(
                select(ChatMessage)
                .where(and_(*conditions))
                .order_by(ChatMessage.created_at.desc(), ChatMessage.id.desc())
                .limit(limit + 1)
            )
        ).all()
    )
    has_more = len(rows) > limit
    return list(reversed(rows[:limit])), has_more
