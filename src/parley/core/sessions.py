"""Login sessions as the database records them: the durable half of token revocation.

An access token carries ``sid``, the id of its login session (a refresh-token family in the
``refresh_tokens`` table, written by user-service). Revocations live in the key-value store for
speed, but the embedded store lives in memory: after a restart a logged-out token, a disabled
user's token or a demoted admin's token would pass again. So each process checks every session
id once against the database before it believes a token of that session (one query per session
per process; the answer is kept). Everything that ends a session also marks its family revoked
in the database (logout, password change, disable, role change, refresh-token reuse), and
deleting a user deletes their families, so the check sees it after any restart. While a
process runs, later revocations reach it through :class:`~parley.core.revocation.RevocationList`.

The check also returns the role stored for the user *now*: a token whose ``role`` claim differs
is not trusted with that role.

The table is read here with SQLAlchemy Core by name (one database and one schema history for
every service), so core imports no service's models.
"""

from __future__ import annotations

import uuid
from typing import Final

from sqlalchemy import Boolean, String, Uuid, column, select, table

from parley.core.db import Database

_refresh_tokens = table(
    "refresh_tokens",
    column("family_id", Uuid),
    column("user_id", Uuid),
    column("revoked_at"),
)
_users = table("users", column("id", Uuid), column("role", String), column("is_active", Boolean))

NOT_A_LOGIN_SESSION: Final = "-"
"""``stored_role`` of a token whose ``sid`` names no login session (tokens the server mints
for its own background work): nothing in the database to check it against."""


class LoginSessions:
    """Which sessions are live, checked once per process against the database."""

    MAX_ENTRIES = 100_000

    def __init__(self, db: Database) -> None:
        self._db = db
        # sid -> (user id, role stored when the session was found live)
        self._live: dict[str, tuple[str, str]] = {}

    async def stored_role(self, sid: str, user_id: str) -> str | None:
        """The user's stored role if ``sid`` is a live login session of ``user_id`` (an active
        account); ``None`` if it is not (revoked, deleted, disabled, someone else's); or
        :data:`NOT_A_LOGIN_SESSION`."""
        known = self._live.get(sid)
        if known is not None:
            return known[1] if known[0] == user_id else None
        try:
            family, owner = uuid.UUID(sid), uuid.UUID(user_id)
        except ValueError:
            return NOT_A_LOGIN_SESSION
        query = (
            select(_users.c.role)
            .select_from(_refresh_tokens.join(_users, _users.c.id == _refresh_tokens.c.user_id))
            .where(
                _refresh_tokens.c.family_id == family,
                _refresh_tokens.c.user_id == owner,
                _refresh_tokens.c.revoked_at.is_(None),
                _users.c.is_active.is_(True),
            )
            .limit(1)
        )
        async with self._db.engine.connect() as connection:
            role = await connection.scalar(query)
        if role is None:
            return None
        if len(self._live) >= self.MAX_ENTRIES:
            del self._live[next(iter(self._live))]
        self._live[sid] = (user_id, str(role))
        return str(role)

    def forget(self, sid: str) -> None:
        """A revoked session is checked again if it is ever presented (it will then fail)."""
        self._live.pop(sid, None)
