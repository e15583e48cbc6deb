"""user-service request dependencies: who the user is, which user is meant, CSRF."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from parley.core.auth import Principal, current_principal
from parley.core.db import get_session
from parley.users import errors
from parley.users.cache import CachedUser, user_cache
from parley.users.models import User

REFRESH_COOKIE = "parley_refresh"
CSRF_COOKIE = "parley_csrf"
CSRF_HEADER = "x-csrf-token"


async def current_user(
    principal: Principal = Depends(current_principal),
    session: AsyncSession = Depends(get_session),
) -> User:
    """The signed-in user's row; a deleted account's token is refused, a disabled one 403."""
    user = await session.get(User, uuid.UUID(principal.user_id))
    if user is None:
        raise errors.account_gone()
    if not user.is_active:
        raise errors.account_disabled()
    return user


async def current_user_cached(request: Request) -> CachedUser:
    """The signed-in user as the API shows them, served from the short-lived cache when it can:
    read-only routes need no database session (nor a nested dependency: this is the hot path)."""
    principal = await current_principal(request)
    user_id = uuid.UUID(principal.user_id)

    async def load() -> CachedUser | None:
        async with request.app.state.db.sessionmaker() as session:
            user = await session.get(User, user_id)
        return None if user is None else CachedUser.of(user)

    cached = await user_cache.get_or_load(user_id, load)
    if cached is None:
        raise errors.account_gone()
    if not cached.view.is_active:
        raise errors.account_disabled()
    return cached


async def admin_user(user: User = Depends(current_user)) -> User:
    """An admin, as the database says now (a token's role claim may be up to 15 minutes old)."""
    if user.role != "admin":
        raise errors.admin_required()
    return user


async def target_user(
    user_id: uuid.UUID,
    _: User = Depends(admin_user),
    session: AsyncSession = Depends(get_session),
) -> User:
    """The user an admin route is about; 404 when there is none."""
    user = await session.get(User, user_id)
    if user is None:
        raise errors.user_not_found()
    return user


def _csrf_signature(secret: str, nonce: str, session_id: str) -> str:
    message = f"csrf:{session_id}:{nonce}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def new_csrf_token(secret: str, session_id: str) -> str:
    """A signed double-submit token bound to one login session (the refresh-token family of
    the caller's cookie). Only the server can sign one, and a token is good only with the
    session it was made for: a cookie planted by a sibling subdomain, even one the attacker
    got from the server for their own session, does not pass with the victim's session."""
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_csrf_signature(secret, nonce, session_id)}"


def check_csrf(request: Request, session_id: str) -> None:
    """For requests authenticated by the refresh cookie of session ``session_id``: the header
    must repeat the cookie's token, signed for that session."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    nonce, _, signature = cookie.partition(".")
    secret = request.app.state.settings.secret()
    valid = (
        bool(cookie)
        and bool(session_id)
        # Compared as bytes: compare_digest refuses non-ASCII text (a 500 otherwise).
        and hmac.compare_digest(cookie.encode(), header.encode())
        and hmac.compare_digest(
            signature.encode(), _csrf_signature(secret, nonce, session_id).encode()
        )
    )
    if not valid:
        raise errors.csrf_failed()
