"""The caller's meetings, one page at a time: the list query and its paging.

Its own module because the query is tuned (one id set from two index scans, each shape of the
statement built once) and benchmarked (``bench/meetings.py``) apart from the rest."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Uuid, and_, bindparam, case, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from parley.core.db import UTCDateTime
from parley.meetings.access import ADMITTED
from parley.meetings.models import Meeting, Participant


def meetings_query(
    user_id: Any,
    *,
    dialect: str = "postgresql",
    status: Any = None,
    start_from: Any = None,
    start_to: Any = None,
    title_like: Any = None,
    role: str | None = None,
) -> Select[Any]:
    """The caller's meetings (hosted, or attended once admitted), filtered, unordered, with
    ``total`` (the count before paging) on every row. Values may be bind parameters, so that
    :func:`list_statement` can build each shape of the query once."""
    hosted = select(Meeting.id).where(Meeting.host_id == user_id)
    attended = select(Participant.meeting_id).where(Participant.user_id == user_id, ADMITTED)
    # One id set from two index scans. An OR across the two tables, or a plain IN, makes
    # PostgreSQL scan every meeting; ``= ANY(ARRAY(...))`` makes it fetch the few by primary key.
    if role == "host":
        mine = Meeting.host_id == user_id
    else:
        ids = union(hosted, attended) if role is None else attended
        if dialect == "postgresql":
            mine = Meeting.id == func.any(func.array(ids.scalar_subquery()))
        else:
            mine = Meeting.id.in_(ids)
        if role == "attendee":
            mine = and_(Meeting.host_id != user_id, mine)
    # Breakout rooms are meetings of their own but never listed: they live in their main one.
    query = select(Meeting.__table__, func.count().over().label("total")).where(
        mine, Meeting.parent_id.is_(None)
    )
    start_key = func.coalesce(Meeting.start_time, Meeting.created_at)
    if status is not None:
        query = query.where(Meeting.status == status)
    if start_from is not None:
        query = query.where(start_key >= start_from)
    if start_to is not None:
        query = query.where(start_key < start_to)
    if title_like is not None:
        query = query.where(func.lower(Meeting.title).like(title_like, escape="/"))
    return query


def ordered(query: Select[Any]) -> Select[Any]:
    """Live first, then upcoming (soonest first), then past (newest first)."""
    start_key = func.coalesce(Meeting.start_time, Meeting.created_at)
    group = case((Meeting.status == "live", 0), (Meeting.status == "scheduled", 1), else_=2)
    return query.order_by(
        group,
        case((group < 2, start_key)).asc().nulls_last(),
        case((group == 2, start_key)).desc().nulls_last(),
        Meeting.id,
    )


@functools.lru_cache(maxsize=128)
def list_statement(
    dialect: str, role: str | None, status: bool, start_from: bool, start_to: bool, title: bool
) -> Select[Any]:
    """The list query for one combination of filters, built once: building a statement costs
    more than running this one."""
    stamp = UTCDateTime()
    query = meetings_query(
        bindparam("user_id", type_=Uuid()),
        dialect=dialect,
        status=bindparam("status") if status else None,
        start_from=bindparam("start_from", type_=stamp) if start_from else None,
        start_to=bindparam("start_to", type_=stamp) if start_to else None,
        title_like=bindparam("title_like") if title else None,
        role=role,
    )
    return ordered(query).limit(bindparam("limit")).offset(bindparam("offset"))


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


async def list_meetings(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    page: int,
    page_size: int,
    status: str | None = None,
    start_from: datetime | None = None,
    start_to: datetime | None = None,
    q: str | None = None,
    role: str | None = None,
) -> tuple[list[Any], int]:
    """One page of the caller's meetings (rows with the meeting's columns) and the total."""
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    statement = list_statement(
        dialect, role, status is not None, start_from is not None, start_to is not None, bool(q)
    )
    params: dict[str, Any] = {
        "user_id": user_id,
        "limit": page_size,
        "offset": (page - 1) * page_size,
        "status": status,
        "start_from": start_from,
        "start_to": start_to,
        "title_like": _like_pattern(q) if q else None,
    }
    rows = list((await session.execute(statement, params)).all())
    if rows:
        return rows, int(rows[0].total)
    if page == 1:
        return [], 0
    # Past the last page: the window count came with no row, so count apart.
    counted = list((await session.execute(statement, {**params, "limit": 1, "offset": 0})).all())
    return [], int(counted[0].total) if counted else 0
