"""Signed tokens and the identity of the caller.

Access tokens are HS256 JWTs (15 minutes) with ``sub``, ``role``, ``jti``, ``sid`` (the login
session, i.e. the refresh-token family), ``exp``, ``iat`` and ``aud="parley"``. Other audiences
(e.g. ``signaling``) use the same signer with their own ``aud``, so a token made for one purpose
never passes for another. Revocation is a deny-list in the key-value store, checked on every
request, keyed by ``jti`` (one token, on logout) and by ``sid`` (a whole session, on password
change, account disable or refresh-token reuse).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.asyncio import Redis

from parley.core.errors import ProblemError
from parley.core.kv import get_kv

ACCESS_AUDIENCE = "parley"
ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "aud"]


def deny_jti_key(jti: str) -> str:
    return f"auth:deny:jti:{jti}"


def deny_sid_key(sid: str) -> str:
    return f"auth:deny:sid:{sid}"


class TokenSigner:
    """Issues and verifies JWTs with one secret; the audience says what a token is for."""

    def __init__(self, secret: str, access_ttl_s: int) -> None:
        self._secret = secret
        self.access_ttl_s = access_ttl_s

    def issue(self, claims: dict[str, Any], audience: str, ttl_s: int) -> str:
        now = int(time.time())
        payload = {
            **claims,
            "aud": audience,
            "iat": now,
            "exp": now + ttl_s,
            "jti": claims.get("jti") or uuid.uuid4().hex,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str, audience: str) -> dict[str, Any]:
        """Decoded claims, or :class:`jwt.InvalidTokenError` for anything not exactly right."""
        claims: dict[str, Any] = jwt.decode(
            token,
            self._secret,
            algorithms=[ALGORITHM],
            audience=audience,
            options={"require": _REQUIRED_CLAIMS},
        )
        return claims

    def issue_access(self, user_id: str, role: str, session_id: str) -> tuple[str, str]:
        """An access token and its ``jti``."""
        jti = uuid.uuid4().hex
        token = self.issue(
            {"sub": user_id, "role": role, "sid": session_id, "jti": jti},
            ACCESS_AUDIENCE,
            self.access_ttl_s,
        )
        return token, jti


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as the access token says."""

    user_id: str
    role: str
    jti: str
    session_id: str
    expires_at: int

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


_bearer = HTTPBearer(auto_error=False)


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(
        401, detail, type="invalid-token", headers={"WWW-Authenticate": 'Bearer realm="parley"'}
    )


async def revoke_token(kv: Redis, jti: str, expires_at: int) -> None:
    ttl = max(expires_at - int(time.time()), 1)
    await kv.set(deny_jti_key(jti), "1", ex=ttl)


async def revoke_sessions(kv: Redis, session_ids: list[str], access_ttl_s: int) -> None:
    """Deny every access token of these sessions that may still be alive."""
    if not session_ids:
        return
    async with kv.pipeline(transaction=False) as pipe:
        for sid in session_ids:
            pipe.set(deny_sid_key(sid), "1", ex=access_ttl_s + 5)
        await pipe.execute()


async def principal_from_token(token: str, signer: TokenSigner, kv: Redis) -> Principal:
    try:
        claims = signer.verify(token, ACCESS_AUDIENCE)
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("The access token has expired.") from exc
    except jwt.InvalidTokenError as exc:
        raise _unauthorized("The access token is not valid.") from exc
    sid = str(claims.get("sid", ""))
    jti = str(claims["jti"])
    denied = await kv.exists(deny_jti_key(jti), deny_sid_key(sid))
    if denied:
        raise _unauthorized("The access token has been revoked.")
    return Principal(
        user_id=str(claims["sub"]),
        role=str(claims.get("role", "user")),
        jti=jti,
        session_id=sid,
        expires_at=int(claims["exp"]),
    )


async def get_signer(request: Request) -> TokenSigner:
    signer: TokenSigner = request.app.state.signer
    return signer


async def optional_principal(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    signer: TokenSigner = Depends(get_signer),
    kv: Redis = Depends(get_kv),
) -> Principal | None:
    """The caller when a bearer token is given; ``None`` for anonymous calls (e.g. guests)."""
    if credentials is None:
        return None
    return await principal_from_token(credentials.credentials, signer, kv)


async def current_principal(principal: Principal | None = Depends(optional_principal)) -> Principal:
    if principal is None:
        raise _unauthorized("A bearer access token is required.")
    return principal


async def admin_principal(principal: Principal = Depends(current_principal)) -> Principal:
    if not principal.is_admin:
        raise ProblemError(403, "This needs the admin role.", type="admin-required")
    return principal
