"""signaling-service business rules that touch the database or other services."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime
from typing import Any

import structlog
from redis.asyncio import Redis
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from parley.core.contracts import MEETING_COMMANDS
from parley.core.db import utcnow
from parley.core.tasks import stopping
from parley.signaling.models import ChatMessage, RoomMember

# What a database (or its driver) raises for a row it will not store.
REFUSED = (SQLAlchemyError, ValueError, TypeError)
HISTORY = 100
log = structlog.get_logger("parley.signaling")


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


async def tell_meetings(
    kv: Redis, command: str, meeting_id: str, participant_id: str = "", **extra: str
) -> None:
    """Tell meeting-service what happened in the room (it owns meetings and participants): a
    Redis stream keeps the command until it has applied it, even across its restarts."""
    fields: dict[Any, Any] = {
        "cmd": command,
        "meeting_id": meeting_id,
        "participant_id": participant_id,
        **extra,
    }
    await kv.xadd(
        MEETING_COMMANDS,
        fields,
        maxlen=100_000,
        approximate=True,
    )


def _upsert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else ""
    return (postgresql if dialect == "postgresql" else sqlite).insert(RoomMember.__table__)


async def member_entered(session: AsyncSession, meeting_id: str, user_id: str | None) -> None:
    """The user is in the room (admitted, or straight in): they read its whole history again.

    Never undoes a removal (a removed user cannot enter; this only guards a race)."""
    if not user_id:
        return
    table = RoomMember.__table__
    statement = (
        _upsert(session)
        .values(
            meeting_id=uuid.UUID(meeting_id),
            user_id=uuid.UUID(user_id),
            first_seen_at=utcnow(),
            status="present",
            left_at=None,
        )
        .on_conflict_do_update(
            index_elements=["meeting_id", "user_id"],
            set_={"status": "present", "left_at": None},
            where=table.c.status != "removed",
        )
    )
    await session.execute(statement)
    await session.commit()


async def member_left(session: AsyncSession, meeting_id: str, user_id: str | None) -> None:
    """The user's last connection left the room: history up to now, nothing after."""
    if not user_id:
        return
    await session.execute(
        update(RoomMember)
        .where(
            RoomMember.meeting_id == uuid.UUID(meeting_id),
            RoomMember.user_id == uuid.UUID(user_id),
            RoomMember.status == "present",
        )
        .values(status="left", left_at=utcnow())
    )
    await session.commit()


async def member_shut_out(
    session: AsyncSession, meeting_id: str, user_id: str | None, how: str
) -> None:
    """Removed (``removed``) or denied at the door (``denied``): an outsider to the room's
    history. A denial does not touch someone who is in the room through another connection."""
    if not user_id:
        return
    table = RoomMember.__table__
    now = utcnow()
    condition = None if how == "removed" else table.c.status != "present"
    statement = (
        _upsert(session)
        .values(
            meeting_id=uuid.UUID(meeting_id),
            user_id=uuid.UUID(user_id),
            first_seen_at=now,
            status=how,
            left_at=now,
        )
        .on_conflict_do_update(
            index_elements=["meeting_id", "user_id"],
            set_={"status": how, "left_at": func.coalesce(table.c.left_at, now)},
            where=condition,
        )
    )
    await session.execute(statement)
    await session.commit()


async def membership(
    session: AsyncSession, meeting_id: uuid.UUID, user_id: uuid.UUID
) -> RoomMember | None:
    """The user's standing in the room, or ``None`` when they never entered it."""
    return await session.get(RoomMember, (meeting_id, user_id))


def new_chat(
    meeting_id: str, sender: dict[str, Any], text: str, recipient: dict[str, Any] | None
) -> ChatMessage:
    """A chat message, complete (id, time) before it is stored, so it can go out at once."""
    return ChatMessage(
        id=uuid.uuid4(),
        meeting_id=uuid.UUID(meeting_id),
        sender_id=uuid.UUID(sender["id"]),
        sender_user_id=_uuid(sender.get("user_id")),
        sender_name=sender["display_name"],
        recipient_id=uuid.UUID(recipient["id"]) if recipient else None,
        recipient_user_id=_uuid(recipient.get("user_id")) if recipient else None,
        text=text,
        created_at=utcnow(),
    )


class ChatLog:
    """Chat messages are written in batches: one transaction per flush instead of one per
    message, which is what lets a busy room's chat keep up. A flush happens every
    ``FLUSH_S`` and before any history is read, so readers never miss a delivered message.

    One message the database refuses must not take the others down with it: when a batch
    fails, its messages are written one by one and only the refused ones are dropped (logged).
    """

    FLUSH_S = 0.05

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._pending: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()

    def add(self, message: ChatMessage) -> None:
        self._pending.append(
            {column.key: getattr(message, column.key) for column in ChatMessage.__table__.columns}
        )

    async def flush(self) -> None:
        async with self._lock:
            if not self._pending:
                return
            rows, self._pending = self._pending, []
            try:
                async with self._sessionmaker() as session:
                    await session.execute(insert(ChatMessage), rows)
                    await session.commit()
            except REFUSED:
                if len(rows) == 1:
                    self._dropped(rows[0])
                    return
                await self._one_by_one(rows)

    async def _one_by_one(self, rows: list[dict[str, Any]]) -> None:
        async with self._sessionmaker() as session:
            for row in rows:
                try:
                    await session.execute(insert(ChatMessage), [row])
                    await session.commit()
                except REFUSED:
                    await session.rollback()
                    self._dropped(row)

    @staticmethod
    def _dropped(row: dict[str, Any]) -> None:
        # The message's text stays out of the log: it is what people wrote.
        log.error(
            "chat_message_dropped",
            message_id=str(row.get("id")),
            meeting_id=str(row.get("meeting_id")),
            reason="the database refused it",
        )

    async def run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.FLUSH_S)
                try:
                    await self.flush()
                except Exception:
                    log.exception("chat_flush_failed")
                    if stopping():
                        raise asyncio.CancelledError from None
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())


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
    until: datetime | None = None,
    limit: int = HISTORY,
) -> tuple[list[ChatMessage], bool]:
    """The newest ``limit`` messages (before ``before``, none after ``until``), oldest first,
    and whether more exist."""
    conditions = [ChatMessage.meeting_id == meeting_id, _visible_to(participant_id, user_id)]
    if before is not None:
        conditions.append(ChatMessage.created_at < before)
    if until is not None:
        conditions.append(ChatMessage.created_at <= until)
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
