"""user-service HTTP API: /api/v1/auth, /api/v1/users, /api/v1/admin/users."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from parley.config import Settings
from parley.core.auth import bearer_token, principal_from_token, revoke_token
from parley.core.deps import (
    KvDep,
    PrincipalDep,
    RevocationsDep,
    SessionDep,
    SettingsDep,
    SignerDep,
)
from parley.core.requests import client_ip
from parley.core.storage import ObjectNotFound, Storage, get_storage
from parley.core.text import SingleLineText
from parley.users import errors, service
from parley.users.avatars import render_avatar
from parley.users.cache import CachedUser
from parley.users.dependencies import (
    CSRF_COOKIE,
    REFRESH_COOKIE,
    admin_user,
    check_csrf,
    current_user,
    current_user_cached,
    new_csrf_token,
    target_user,
)
from parley.users.models import User
from parley.users.schemas import (
    AdminUserUpdateIn,
    CsrfOut,
    LoginIn,
    LogoutIn,
    PasswordChangeIn,
    ProfileUpdateIn,
    RefreshIn,
    RegisterIn,
    Role,
    TokenPairOut,
    UserOut,
    UserPage,
)

AUTH_PATH = "/api/v1/auth"
MAX_AVATAR_BYTES = 5 * 1024 * 1024
SIGNED_IN_COOKIE = "parley_signed_in"

auth_router = APIRouter(prefix=AUTH_PATH, tags=["auth"])
users_router = APIRouter(prefix="/api/v1/users", tags=["users"])
admin_router = APIRouter(prefix="/api/v1/admin", tags=["admin"])

UserDep = Annotated[User, Depends(current_user)]
TargetDep = Annotated[User, Depends(target_user)]
StorageDep = Annotated[Storage, Depends(get_storage)]


def _secure(request: Request, settings: Settings) -> bool:
    """Cookies are ``Secure`` when configured so, and whenever the request came over HTTPS
    (directly, or as a trusted gateway's ``X-Forwarded-Proto`` says)."""
    return settings.secure_cookies or request.url.scheme == "https"


def _pair(
    result: service.Session, request: Request, response: Response, settings: Settings
) -> TokenPairOut:
    secure = _secure(request, settings)
    response.set_cookie(
        REFRESH_COOKIE,
        result.refresh_token,
        max_age=settings.refresh_token_ttl_s,
        path=AUTH_PATH,
        httponly=True,
        secure=secure,
        samesite="strict",
    )
    # Not secret, readable by the page: tells the web client that a refresh is worth trying,
    # so signed-out visitors' page loads do not knock on /refresh for nothing.
    response.set_cookie(
        SIGNED_IN_COOKIE,
        "1",
        max_age=settings.refresh_token_ttl_s,
        path="/",
        secure=secure,
        samesite="strict",
    )
    return TokenPairOut(
        access_token=result.access_token,
        refresh_token=result.refresh_token,
        expires_in=result.expires_in,
        user=UserOut.model_validate(result.user),
    )


async def _refresh_token_from(
    request: Request, session: AsyncSession, body: RefreshIn | None
) -> str | None:
    """The refresh token from the body, or from the cookie (which then needs the CSRF token
    of its session)."""
    if body is not None and body.refresh_token:
        return body.refresh_token
    cookie = request.cookies.get(REFRESH_COOKIE)
    if cookie:
        family = await service.family_of(session, cookie)
        check_csrf(request, str(family) if family else "")
    return cookie


@auth_router.post("/register", status_code=201)
async def register(body: RegisterIn, session: SessionDep) -> UserOut:
    return UserOut.model_validate(await service.register(session, body))


@auth_router.post("/login")
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    session: SessionDep,
    kv: KvDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> TokenPairOut:
    user = await service.authenticate(
        session, kv, settings, body.username, body.password, await client_ip(request)
    )
    started = await service.start_session(session, signer, settings, user)
    return _pair(started, request, response, settings)


@auth_router.post("/refresh")
async def refresh(
    request: Request,
    response: Response,
    session: SessionDep,
    revocations: RevocationsDep,
    signer: SignerDep,
    settings: SettingsDep,
    body: RefreshIn | None = None,
) -> TokenPairOut:
    raw = await _refresh_token_from(request, session, body)
    if not raw:
        raise errors.invalid_refresh_token("No refresh token given.")
    rotated = await service.rotate(session, revocations, signer, settings, raw)
    return _pair(rotated, request, response, settings)


@auth_router.post("/logout", status_code=204)
async def logout(
    request: Request,
    session: SessionDep,
    revocations: RevocationsDep,
    signer: SignerDep,
    settings: SettingsDep,
    body: LogoutIn | None = None,
) -> Response:
    """Ends the session: its refresh tokens are revoked and the access token is deny-listed.

    All or nothing: every credential given is checked (the access token, the refresh cookie's
    CSRF token) before anything is revoked."""
    families: list[uuid.UUID] = []
    token = bearer_token(request)
    principal = None
    if token is not None:
        principal = await principal_from_token(token, signer, revocations)
    raw = await _refresh_token_from(request, session, body)
    if principal is None and not raw:
        raise errors.nothing_to_sign_out()
    if principal is not None:
        await revoke_token(revocations, principal.jti, principal.expires_at)
        if _is_uuid(principal.session_id):
            families.append(uuid.UUID(principal.session_id))
    if raw:
        family = await service.family_of(session, raw)
        if family is not None:
            families.append(family)
    await service.revoke_families(session, revocations, settings, families)
    response = Response(status_code=204)
    response.delete_cookie(REFRESH_COOKIE, path=AUTH_PATH)
    response.delete_cookie(SIGNED_IN_COOKIE, path="/")
    return response


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@auth_router.get("/csrf-token")
async def csrf_token(
    request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> CsrfOut:
    """A CSRF token for the session of the caller's refresh cookie (fetch it after signing
    in; it stays good for that session's refreshes and its sign-out)."""
    cookie = request.cookies.get(REFRESH_COOKIE)
    family = await service.family_of(session, cookie) if cookie else None
    token = new_csrf_token(settings.secret(), str(family) if family else "")
    response.set_cookie(
        CSRF_COOKIE, token, path="/", secure=_secure(request, settings), samesite="strict"
    )
    return CsrfOut(csrf_token=token)


@users_router.get("/me", response_model=UserOut)
async def me(user: Annotated[CachedUser, Depends(current_user_cached)]) -> Response:
    """The signed-in user (every page asks: served from the cache, JSON pre-rendered)."""
    return Response(user.json, media_type="application/json")


@users_router.patch("/me")
async def update_me(body: ProfileUpdateIn, user: UserDep, session: SessionDep) -> UserOut:
    return UserOut.model_validate(await service.update_profile(session, user, body))


@users_router.post("/me/password", status_code=204)
async def change_password(
    body: PasswordChangeIn,
    user: UserDep,
    principal: PrincipalDep,
    session: SessionDep,
    revocations: RevocationsDep,
    settings: SettingsDep,
) -> Response:
    await service.change_password(
        session,
        revocations,
        settings,
        user,
        body.current_password,
        body.new_password,
        keep_session=principal.session_id,
    )
    return Response(status_code=204)


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request's file: a multipart ``file`` field or the raw body, at most ``limit`` bytes."""
    too_large = errors.image_too_large(limit)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise too_large
    content_type = request.headers.get("content-type", "")
    chunks: list[bytes] = []
    size = 0
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise errors.file_field_required()
        while chunk := await upload.read(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    else:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    if size == 0:
        raise errors.unsupported_image("The body is empty; send an image.")
    return b"".join(chunks)


@users_router.put("/me/avatar")
async def put_avatar(
    request: Request,
    user: UserDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> UserOut:
    data = await _read_limited(request, MAX_AVATAR_BYTES)
    avatar = await render_avatar(data)
    key = f"avatars/{user.id}-{uuid.uuid4().hex[:8]}.webp"
    await storage.put(key, avatar)
    old, user.avatar_key = user.avatar_key, key
    await session.commit()
    if old:
        await storage.delete(old)
    return UserOut.model_validate(user)


@users_router.get("/{user_id:uuid}/avatar", response_class=Response)
async def get_avatar(
    user_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    storage: StorageDep,
) -> Response:
    """Public, like a profile picture anywhere: ``<img>`` tags cannot send bearer tokens."""
    user = await session.get(User, user_id)
    if user is None or user.avatar_key is None:
        raise errors.avatar_not_found()
    etag = f'"{user.avatar_version}"'
    # A versioned address (``?v=``, what rooms show) never changes content: cache it for long.
    max_age = 86400 if request.query_params.get("v") == user.avatar_version else 300
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    try:
        data = await storage.get(user.avatar_key)
    except ObjectNotFound as exc:
        raise errors.avatar_not_found() from exc
    return Response(data, media_type="image/webp", headers=headers)


@admin_router.get("/users")
async def admin_list_users(
    session: SessionDep,
    _: Annotated[User, Depends(admin_user)],
    q: Annotated[SingleLineText | None, Query(max_length=100)] = None,
    role: Role | None = None,
    is_active: bool | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> UserPage:
    items, total = await service.list_users(session, q, role, is_active, page, page_size)
    return UserPage(
        items=[UserOut.model_validate(u) for u in items],
        total=total,
        page=page,
        page_size=page_size,
    )


@admin_router.get("/users/{user_id:uuid}")
async def admin_get_user(target: TargetDep) -> UserOut:
    return UserOut.model_validate(target)


@admin_router.patch("/users/{user_id:uuid}")
async def admin_update_user(
    body: AdminUserUpdateIn,
    target: TargetDep,
    session: SessionDep,
    kv: KvDep,
    revocations: RevocationsDep,
    settings: SettingsDep,
) -> UserOut:
    return UserOut.model_validate(
        await service.admin_update(session, kv, revocations, settings, target, body)
    )


@admin_router.delete("/users/{user_id:uuid}", status_code=204)
async def admin_delete_user(
    target: TargetDep,
    session: SessionDep,
    kv: KvDep,
    revocations: RevocationsDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> Response:
    """Deletes the account, its login sessions and its avatar; every service then removes or
    reassigns what the user owned (docs/users.md)."""
    avatar_key = await service.delete_user(session, kv, revocations, settings, target)
    if avatar_key:
        await storage.delete(avatar_key)
    return Response(status_code=204)


# Most requested first: route matching is sequential.
routers = [users_router, auth_router, admin_router]
