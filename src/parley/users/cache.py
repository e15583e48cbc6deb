"""Recently read users, for the hottest read path (``GET /api/v1/users/me`` on every page).

Entries live two seconds at most. A change committed through this process forgets the entry at
once (SQLAlchemy session events, so no write path can forget to); other nodes see it when their
entry expires. Nothing security-relevant depends on freshness here: disabling an account or
changing a role revokes the user's sessions, which every node learns immediately.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from parley.users.models import User
from parley.users.schemas import UserOut

TTL_S = 2.0
MAX_ENTRIES = 10_000
_PENDING = "parley.users.changed"


@dataclass(frozen=True, slots=True)
class CachedUser:
    """A user as the API shows them, with the JSON already rendered."""

    view: UserOut
    json: bytes

    @classmethod
    def of(cls, user: User) -> CachedUser:
        view = UserOut.model_validate(user)
        return cls(view, view.model_dump_json().encode())


class UserCache:
    def __init__(self) -> None:
        self._entries: dict[uuid.UUID, tuple[float, CachedUser]] = {}
        self._loading: dict[uuid.UUID, asyncio.Future[CachedUser | None]] = {}

    async def get_or_load(
        self, user_id: uuid.UUID, load: Callable[[], Awaitable[CachedUser | None]]
    ) -> CachedUser | None:
        """The cached view, or one load shared by every request that misses at the same time
        (an expired entry must not send each waiting request to the database)."""
        view = self.get(user_id)
        if view is not None:
            return view
        pending = self._loading.get(user_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[CachedUser | None] = asyncio.get_running_loop().create_future()
        self._loading[user_id] = future
        try:
            view = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            self._loading.pop(user_id, None)
        if view is not None:
            self.put(user_id, view)
        future.set_result(view)
        return view

    def get(self, user_id: uuid.UUID) -> CachedUser | None:
        entry = self._entries.get(user_id)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(user_id, None)
            return None
        return entry[1]

    def put(self, user_id: uuid.UUID, view: CachedUser) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.pop(next(iter(self._entries)), None)
        self._entries[user_id] = (time.monotonic() + TTL_S, view)

    def forget(self, user_id: uuid.UUID) -> None:
        self._entries.pop(user_id, None)


user_cache = UserCache()


@event.listens_for(Session, "after_flush")
def _collect_changed_users(session: Session, flush_context: Any) -> None:
    changed = session.info.setdefault(_PENDING, set())
    for instance in (*session.dirty, *session.deleted):
        if isinstance(instance, User):
            changed.add(instance.id)
            user_cache.forget(instance.id)


@event.listens_for(Session, "after_commit")
def _forget_committed_users(session: Session) -> None:
    for user_id in session.info.pop(_PENDING, ()):
        user_cache.forget(user_id)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
