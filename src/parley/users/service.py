"""user-service business rules, testable without HTTP.

Functions take the session, the key-value store and the settings they need explicitly; routers
only parse input, call these and shape the output.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from redis.asyncio import Redis
from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parley.config import Settings
from parley.core import ratelimit
from parley.core.auth import TokenSigner, revoke_sessions
from parley.core.contracts import USER_EVENTS_STREAM, USER_GONE_CHANNEL, user_gone_key
from parley.core.db import utcnow
from parley.core.revocation import RevocationList
from parley.users import errors, passwords
from parley.users.models import RefreshToken, User
from parley.users.schemas import AdminUserUpdateIn, ProfileUpdateIn, RegisterIn


@dataclass(frozen=True, slots=True)
class Session:
    """A login session as handed to the client."""

    user: User
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def _email_taken(session: AsyncSession, email: str) -> bool:
    return await session.scalar(select(User.id).where(User.email == email)) is not None


async def _account_exists(session: AsyncSession, username: str, email: str) -> bool:
    taken = await session.scalar(
        select(User.id).where(or_(User.username == username, User.email == email)).limit(1)
    )
    return taken is not None


async def register(session: AsyncSession, data: RegisterIn) -> User:
    """A new account; the first account ever made is the admin."""
    email = data.email.lower()
    violation = passwords.policy_violation(data.password, username=data.username, email=email)
    if violation:
        raise errors.weak_password(violation)
    if await _account_exists(session, data.username, email):
        raise errors.account_taken()
    is_first = (await session.scalar(select(func.count()).select_from(User))) == 0
    user = User(
        username=data.username,
        email=email,
        display_name=data.display_name,
        password_hash=await passwords.hash_password(data.password),
        role="admin" if is_first else "user",
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise errors.account_taken() from exc
    return user


def _login_key(account: str, client_ip: str) -> str:
    return f"auth:login-fail:{account}:{client_ip}"


async def authenticate(
    session: AsyncSession,
    kv: Redis,
    settings: Settings,
    login: str,
    password: str,
    client_ip: str,
) -> User:
    """The user whose credentials these are.

    Unknown user, wrong password and a disabled account answer the same 401 after the same
    argon2 work: the answer tells nothing about an account to someone without its password.
    Failures are counted per (account, address), the account resolved first, so its username
    and its email share one count; unknown names count under the lower-cased name. Past the
    limit the answer is 429 until the window ends.
    """
    lowered = login.lower()
    user = await session.scalar(
        select(User).where(or_(User.username == lowered, User.email == lowered))
    )
    key = _login_key(f"user:{user.id}" if user else f"name:{lowered}", client_ip)
    window = await ratelimit.current(kv, key)
    if window.count >= settings.login_max_failures:
        raise errors.login_rate_limited(window.retry_after_s)
    ok = await passwords.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        await ratelimit.hit(kv, key, settings.login_window_s)
        raise errors.invalid_credentials()
    await ratelimit.reset(kv, key)
    return user


def _new_refresh_token(
    user_id: uuid.UUID, family_id: uuid.UUID, ttl_s: int
) -> tuple[str, RefreshToken]:
    raw = secrets.token_urlsafe(32)
    row = RefreshToken(
        family_id=family_id,
        user_id=user_id,
        token_hash=_token_hash(raw),
        expires_at=utcnow() + timedelta(seconds=ttl_s),
    )
    return raw, row


async def start_session(
    session: AsyncSession, signer: TokenSigner, settings: Settings, user: User
) -> Session:
    """A fresh login session: a new refresh-token family and an access token bound to it."""
    family_id = uuid.uuid4()
    raw, row = _new_refresh_token(user.id, family_id, settings.refresh_token_ttl_s)
    session.add(row)
    await session.commit()
    access, _ = signer.issue_access(
        str(user.id), user.role, str(family_id), user.display_name, user.avatar_version
    )
    return Session(user, access, raw, signer.access_ttl_s, str(family_id))


async def revoke_families(
    session: AsyncSession,
    revocations: RevocationList,
    settings: Settings,
    family_ids: list[uuid.UUID],
) -> None:
    """End these login sessions: their refresh tokens stop working now, their access tokens too."""
    if not family_ids:
        return
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id.in_(family_ids), RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    await session.commit()
    await revoke_sessions(revocations, [str(f) for f in family_ids], settings.access_token_ttl_s)


async def _user_families(
    session: AsyncSession, user_id: uuid.UUID, keep: uuid.UUID | None = None
) -> list[uuid.UUID]:
    query = select(RefreshToken.family_id).where(
        RefreshToken.user_id == user_id,
        RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > utcnow(),
    )
    if keep is not None:
        query = query.where(RefreshToken.family_id != keep)
    return list(set((await session.scalars(query)).all()))


async def rotate(
    session: AsyncSession,
    revocations: RevocationList,
    signer: TokenSigner,
    settings: Settings,
    raw: str,
) -> Session:
    """Trade a refresh token for a new pair in the same family.

    A token is good once: presenting a used (or revoked) one again means it leaked, so the whole
    family is revoked — the thief and the owner both have to sign in again.
    """
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == _token_hash(raw))
    )
    if row is None:
        raise errors.invalid_refresh_token()
    if row.used_at is not None or row.revoked_at is not None:
        await revoke_families(session, revocations, settings, [row.family_id])
        raise errors.invalid_refresh_token(
            "The refresh token was already used; the session has been ended."
        )
    if row.expires_at <= utcnow():
        raise errors.invalid_refresh_token("The refresh token has expired.")
    # Mark used atomically: of two concurrent refreshes with one token, only one wins.
    claimed = cast(
        CursorResult[Any],
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
            .values(used_at=utcnow())
        ),
    )
    if claimed.rowcount != 1:
        await session.rollback()
        await revoke_families(session, revocations, settings, [row.family_id])
        raise errors.invalid_refresh_token(
            "The refresh token was already used; the session has been ended."
        )
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        await session.commit()
        raise errors.account_disabled()
    new_raw, new_row = _new_refresh_token(user.id, row.family_id, settings.refresh_token_ttl_s)
    session.add(new_row)
    await session.commit()
    access, _ = signer.issue_access(
        str(user.id), user.role, str(row.family_id), user.display_name, user.avatar_version
    )
    return Session(user, access, new_raw, signer.access_ttl_s, str(row.family_id))


async def family_of(session: AsyncSession, raw: str) -> uuid.UUID | None:
    return await session.scalar(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == _token_hash(raw))
    )


async def update_profile(session: AsyncSession, user: User, data: ProfileUpdateIn) -> User:
    if data.email is not None and data.email.lower() != user.email:
        email = data.email.lower()
        if await _email_taken(session, email):
            raise errors.email_taken()
        user.email = email
    if data.display_name is not None:
        user.display_name = data.display_name
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise errors.email_taken() from exc
    return user


async def change_password(
    session: AsyncSession,
    revocations: RevocationList,
    settings: Settings,
    user: User,
    current: str,
    new: str,
    keep_session: str,
) -> None:
    """New password; every other login session of this user ends."""
    if not await passwords.verify_password(user.password_hash, current):
        raise errors.wrong_current_password()
    violation = passwords.policy_violation(new, username=user.username, email=user.email)
    if violation:
        raise errors.weak_password(violation)
    user.password_hash = await passwords.hash_password(new)
    await session.commit()
    keep = uuid.UUID(keep_session) if keep_session else None
    await revoke_families(
        session, revocations, settings, await _user_families(session, user.id, keep)
    )


async def list_users(
    session: AsyncSession,
    q: str | None,
    role: str | None,
    is_active: bool | None,
    page: int,
    page_size: int,
) -> tuple[list[User], int]:
    query = select(User)
    if q:
        needle = q.lower()
        query = query.where(
            or_(
                User.username.contains(needle, autoescape=True),
                User.email.contains(needle, autoescape=True),
                func.lower(User.display_name).contains(needle, autoescape=True),
            )
        )
    if role:
        query = query.where(User.role == role)
    if is_active is not None:
        query = query.where(User.is_active == is_active)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(User.created_at, User.id).offset((page - 1) * page_size).limit(page_size)
    )
    return list(rows.all()), total


async def _other_active_admins(session: AsyncSession, user_id: uuid.UUID) -> int:
    query = select(User.id).where(
        User.role == "admin", User.is_active.is_(True), User.id != user_id
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Lock the admin rows so two concurrent demotions cannot both see "one other admin left".
        query = query.with_for_update()
    return len((await session.scalars(query)).all())


async def announce_account_state(kv: Redis, user_id: uuid.UUID, state: str) -> None:
    """Tell every service that an account stopped (``disabled``/``deleted``) or resumed
    (``enabled``) counting, after the change is committed: a key read on resume and content
    links, a message for open sockets, and for a deletion a stream entry that the services
    owning the user's things consume (see :mod:`parley.core.contracts`)."""
    uid = str(user_id)
    async with kv.pipeline(transaction=True) as pipe:
        if state == "enabled":
            pipe.delete(user_gone_key(uid))
        else:
            pipe.set(user_gone_key(uid), state)
        if state == "deleted":
            pipe.xadd(USER_EVENTS_STREAM, {"event": "deleted", "user_id": uid})
        pipe.publish(USER_GONE_CHANNEL, f"{uid} {state}")
        await pipe.execute()


async def admin_update(
    session: AsyncSession,
    kv: Redis,
    revocations: RevocationList,
    settings: Settings,
    target: User,
    data: AdminUserUpdateIn,
) -> User:
    loses_admin = (
        target.role == "admin"
        and target.is_active
        and ((data.role is not None and data.role != "admin") or data.is_active is False)
    )
    if loses_admin and await _other_active_admins(session, target.id) == 0:
        raise errors.last_admin()
    role_changed = data.role is not None and data.role != target.role
    disabled = data.is_active is False and target.is_active
    enabled = data.is_active is True and not target.is_active
    for name, value in data.model_dump(exclude_none=True).items():
        setattr(target, name, value)
    await session.commit()
    if role_changed or disabled:
        # Tokens carry the role: end the sessions so no token keeps powers the user lost.
        await revoke_families(
            session, revocations, settings, await _user_families(session, target.id)
        )
    if disabled or enabled:
        await announce_account_state(kv, target.id, "disabled" if disabled else "enabled")
    return target


async def delete_user(
    session: AsyncSession,
    kv: Redis,
    revocations: RevocationList,
    settings: Settings,
    target: User,
) -> str | None:
    """Delete the account and its login sessions; returns the avatar key for the caller to
    remove from storage. Other services remove or reassign what the user owned when they
    read the ``deleted`` event (``USER_EVENTS_STREAM``)."""
    if (
        target.role == "admin"
        and target.is_active
        and await _other_active_admins(session, target.id) == 0
    ):
        raise errors.last_admin()
    families = await _user_families(session, target.id)
    avatar_key = target.avatar_key
    user_id = target.id
    await session.delete(target)
    await session.commit()
    await revoke_sessions(revocations, [str(f) for f in families], settings.access_token_ttl_s)
    await announce_account_state(kv, user_id, "deleted")
    return avatar_key
