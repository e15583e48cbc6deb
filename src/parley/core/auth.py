"""Signed tokens and the identity of the caller.

Access tokens are HS256 JWTs (15 minutes) with ``sub``, ``role``, ``jti``, ``sid`` (the login
session, i.e. the refresh-token family), ``exp``, ``iat`` and ``aud="parley"``. Other audiences
(e.g. ``signaling``) use the same signer with their own ``aud``, so a token made for one purpose
never passes for another. Revocation (:mod:`parley.core.revocation`) is checked on every
request, keyed by ``jti`` (one token, on logout) and by ``sid`` (a whole session, on password
change, account disable or refresh-token reuse); the first time a process sees a session it
also checks the database (:mod:`parley.core.sessions`), so a restart forgets no revocation, and
a ``role`` claim counts only while it matches the role stored for the user.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Depends, Request

from parley.core.contracts import AVATAR_VERSION_CLAIM
from parley.core.errors import ProblemError
from parley.core.revocation import RevocationList, jti_key, sid_key
from parley.core.sessions import NOT_A_LOGIN_SESSION

ACCESS_AUDIENCE = "parley"
ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "aud"]


class TokenSigner:
    """Issues and verifies JWTs with one secret; the audience says what a token is for."""

    VERIFIED_CACHE_SIZE = 10_000

    def __init__(self, secret: str, access_ttl_s: int) -> None:
        self._secret = secret
        self.access_ttl_s = access_ttl_s
        # Access tokens are presented many times; checking the signature once per token (and
        # the expiry every time) saves most of the per-request cost of PyJWT.
        self._verified_access: dict[str, dict[str, Any]] = {}

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

    def verify_access(self, token: str) -> dict[str, Any]:
        """Claims of an access token; a cached verification still checks ``exp`` each time."""
        claims = self._verified_access.get(token)
        if claims is None:
            claims = self.verify(token, ACCESS_AUDIENCE)
            if len(self._verified_access) >= self.VERIFIED_CACHE_SIZE:
                del self._verified_access[next(iter(self._verified_access))]
            self._verified_access[token] = claims
        elif claims["exp"] <= time.time():
            del self._verified_access[token]
            raise jwt.ExpiredSignatureError("Signature has expired")
        return claims

    def issue_access(
        self,
        user_id: str,
        role: str,
        session_id: str,
        display_name: str,
        avatar: str | None = None,
    ) -> tuple[str, str]:
        """An access token and its ``jti``. The display name and the avatar's version ride along
        so that other services can label what the user creates, and show their picture, without
        asking user-service."""
        jti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "sub": user_id,
            "role": role,
            "sid": session_id,
            "jti": jti,
            "name": display_name,
        }
        if avatar:
            claims[AVATAR_VERSION_CLAIM] = avatar
        token = self.issue(claims, ACCESS_AUDIENCE, self.access_ttl_s)
        return token, jti


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as the access token says."""

    user_id: str
    role: str
    jti: str
    session_id: str
    expires_at: int
    display_name: str = ""
    avatar: str = ""
    """The avatar's version (``AVATAR_VERSION_CLAIM``), empty when the user has none."""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(
        401, detail, type="invalid-token", headers={"WWW-Authenticate": 'Bearer realm="parley"'}
    )


async def revoke_token(revocations: RevocationList, jti: str, expires_at: int) -> None:
    await revocations.deny({jti_key(jti): expires_at - int(time.time())})


async def revoke_sessions(
    revocations: RevocationList, session_ids: list[str], access_ttl_s: int
) -> None:
    """Deny every access token of these sessions that may still be alive."""
    await revocations.deny({sid_key(sid): access_ttl_s + 5 for sid in session_ids})


async def principal_from_token(
    token: str, signer: TokenSigner, revocations: RevocationList
) -> Principal:
    try:
        claims = signer.verify_access(token)
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("The access token has expired.") from exc
    except jwt.InvalidTokenError as exc:
        raise _unauthorized("The access token is not valid.") from exc
    sid = str(claims.get("sid", ""))
    jti = str(claims["jti"])
    if await revocations.is_denied(jti, sid):
        raise _unauthorized("The access token has been revoked.")
    user_id = str(claims["sub"])
    role = str(claims.get("role", "user"))
    if revocations.sessions is not None:
        stored = await revocations.sessions.stored_role(sid, user_id)
        if stored is None:
            raise _unauthorized("The access token has been revoked.")
        if stored != NOT_A_LOGIN_SESSION and stored != role:
            role = "user"  # the claim is stale: no powers the account does not have now
    return Principal(
        user_id=user_id,
        role=role,
        jti=jti,
        session_id=sid,
        expires_at=int(claims["exp"]),
        display_name=str(claims.get("name", "")),
        avatar=str(claims.get(AVATAR_VERSION_CLAIM) or ""),
    )


def get_signer(request: Request) -> TokenSigner:
    signer: TokenSigner = request.app.state.signer
    return signer


async def get_revocations(request: Request) -> RevocationList:
    revocations: RevocationList = request.app.state.revocations
    return revocations


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, ``None`` when there is no header."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("The Authorization header must be `Bearer <access token>`.")
    return token.strip()


async def optional_principal(request: Request) -> Principal | None:
    """The caller when a bearer token is given; ``None`` for anonymous calls (e.g. guests).

    Reads the header itself rather than through nested dependencies: this runs on nearly every
    request and each dependency level costs FastAPI tens of microseconds.
    """
    token = bearer_token(request)
    if token is None:
        return None
    state = request.app.state
    return await principal_from_token(token, state.signer, state.revocations)


async def current_principal(request: Request) -> Principal:
    principal = await optional_principal(request)
    if principal is None:
        raise _unauthorized("A bearer access token is required.")
    return principal


async def admin_principal(principal: Principal = Depends(current_principal)) -> Principal:
    if not principal.is_admin:
        raise ProblemError(403, "This needs the admin role.", type="admin-required")
    return principal
