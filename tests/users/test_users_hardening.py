"""user-service under attack (issue 13): control characters, oracles, lockouts, CSRF,
sign-out, accounts that stop counting, avatar bombs, cookies over HTTPS."""

from __future__ import annotations

import asyncio
import io
import time

import httpx
import pytest
from PIL import Image

from parley.core.contracts import USER_EVENTS_STREAM, USER_GONE_CHANNEL, user_gone_key
from tests.support.api import PASSWORD, Api, unique
from tests.support.problems import assert_problem

# ---- NUL and other control characters are 422, never a 500 ------------------------------------


@pytest.mark.parametrize(
    "field", ["username", "password"], ids=["nul-in-username", "nul-in-password"]
)
async def test_sign_in_with_a_nul_character_is_422(api: Api, field: str) -> None:
    body = {"username": "someone", "password": PASSWORD, field: "ab\x00cd-efgh"}
    assert_problem(await api.http.post("/api/v1/auth/login", json=body), 422)


@pytest.mark.parametrize("field", ["username", "email", "password", "display_name"])
async def test_registration_with_a_nul_character_is_422(api: Api, field: str) -> None:
    name = unique()
    values = {
        "username": name,
        "email": f"{name}@example.com",
        "password": PASSWORD,
        "display_name": "Plain",
    }
    values[field] = values[field][:3] + "\x00" + values[field][3:]
    response = await api.http.post("/api/v1/auth/register", json=values)
    body = assert_problem(response, 422)
    assert any(field in error["loc"] for error in body["errors"])
    assert (await api.login(name)).status_code == 401


async def test_profile_display_name_with_control_characters_is_422(api: Api) -> None:
    account = await api.account()
    for bad in ("Ada\x00", "Ada\x1b[31m", "\u202eAda"):
        response = await api.http.patch(
            "/api/v1/users/me", json={"display_name": bad}, headers=account.headers
        )
        assert_problem(response, 422)
    me = await api.http.get("/api/v1/users/me", headers=account.headers)
    assert me.json()["display_name"] == account.user["display_name"]


async def test_admin_search_with_a_nul_character_is_422(api: Api) -> None:
    response = await api.http.get(
        "/api/v1/admin/users", params={"q": "a\x00b"}, headers=api.root.headers
    )
    assert_problem(response, 422)


# ---- no oracles ------------------------------------------------------------------------------


async def test_registration_does_not_say_which_field_is_taken(api: Api) -> None:
    name = unique()
    assert (await api.register(name)).status_code == 201
    same_username = await api.register(name, email=f"other-{name}@example.com")
    same_email = await api.register(unique(), email=f"{name}@example.com")
    first = assert_problem(same_username, 409, "account-taken")
    second = assert_problem(same_email, 409, "account-taken")
    assert first == second


async def test_a_disabled_account_with_the_right_password_looks_like_a_wrong_password(
    api: Api,
) -> None:
    account = await api.account()
    await api.http.patch(
        f"/api/v1/admin/users/{account.id}", json={"is_active": False}, headers=api.root.headers
    )
    disabled = await api.login(account.username, PASSWORD)
    wrong = await api.login(account.username, "not-the-password")
    assert disabled.status_code == wrong.status_code == 401
    assert disabled.json() == wrong.json()


# ---- the sign-in lockout counts per account --------------------------------------------------


async def test_failures_by_username_and_by_email_share_one_count(api: Api) -> None:
    name = unique()
    await api.register(name)
    for login in (name, name, name, f"{name}@example.com", f"{name.upper()}@EXAMPLE.COM"):
        assert (await api.login(login, "wrong-password!")).status_code == 401
    assert_problem(await api.login(name, PASSWORD), 429, "login-rate-limited")
    assert_problem(await api.login(f"{name}@example.com", PASSWORD), 429, "login-rate-limited")


async def test_unknown_names_are_locked_out_too(api: Api) -> None:
    ghost = unique("ghost")
    for _ in range(5):
        assert (await api.login(ghost, "wrong-password!")).status_code == 401
    assert_problem(await api.login(ghost.upper(), "wrong-password!"), 429, "login-rate-limited")


# ---- sign-out is all or nothing --------------------------------------------------------------


async def test_logout_with_bearer_and_cookie_but_no_csrf_revokes_nothing(api: Api) -> None:
    name = unique()
    await api.register(name)
    pair = (await api.login(name)).json()  # the refresh cookie is now in the jar
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    await api.http.get("/api/v1/auth/csrf-token")
    assert_problem(await api.http.post("/api/v1/auth/logout", headers=bearer), 403, "csrf-failed")
    assert (await api.http.get("/api/v1/users/me", headers=bearer)).status_code == 200
    refresh = await api.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refresh.status_code == 200, refresh.text


# ---- the CSRF token belongs to one session ---------------------------------------------------


async def test_a_csrf_token_of_another_session_does_not_pass(api: Api) -> None:
    attacker = unique("attacker")
    victim = unique("victim")
    await api.register(attacker)
    await api.register(victim)
    await api.login(attacker)
    planted = (await api.http.get("/api/v1/auth/csrf-token")).json()["csrf_token"]
    await api.login(victim)  # the victim's refresh cookie replaces the attacker's
    api.http.cookies.set("parley_csrf", planted)
    response = await api.http.post("/api/v1/auth/refresh", headers={"X-CSRF-Token": planted})
    assert_problem(response, 403, "csrf-failed")


async def test_a_csrf_token_made_before_signing_in_does_not_pass(api: Api) -> None:
    name = unique()
    await api.register(name)
    early = (await api.http.get("/api/v1/auth/csrf-token")).json()["csrf_token"]
    await api.login(name)
    api.http.cookies.set("parley_csrf", early)
    response = await api.http.post("/api/v1/auth/refresh", headers={"X-CSRF-Token": early})
    assert_problem(response, 403, "csrf-failed")


async def test_a_csrf_header_with_non_ascii_characters_is_403_not_500(api: Api) -> None:
    name = unique()
    await api.register(name)
    await api.login(name)
    await api.http.get("/api/v1/auth/csrf-token")
    response = await api.http.post(
        "/api/v1/auth/refresh", headers={"X-CSRF-Token": "\u00e9t\u00e9".encode()}
    )
    assert_problem(response, 403, "csrf-failed")


# ---- disabling and deleting tell the other services -----------------------------------------


async def _next_message(pubsub: object, timeout_s: float = 5.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)  # type: ignore[attr-defined]
        if message is not None:
            return str(message["data"])
    raise AssertionError("nothing was published")


async def test_disabling_and_enabling_a_user_is_announced(api: Api) -> None:
    account = await api.account()
    kv = api.app.state.kv
    pubsub = kv.pubsub()
    await pubsub.subscribe(USER_GONE_CHANNEL)
    try:
        url = f"/api/v1/admin/users/{account.id}"
        await api.http.patch(url, json={"is_active": False}, headers=api.root.headers)
        assert await kv.get(user_gone_key(account.id)) == "disabled"
        assert await _next_message(pubsub) == f"{account.id} disabled"
        await api.http.patch(url, json={"is_active": True}, headers=api.root.headers)
        assert await kv.get(user_gone_key(account.id)) is None
        assert await _next_message(pubsub) == f"{account.id} enabled"
    finally:
        await pubsub.aclose()


async def test_deleting_a_user_is_announced_and_streamed(api: Api) -> None:
    account = await api.account()
    kv = api.app.state.kv
    pubsub = kv.pubsub()
    await pubsub.subscribe(USER_GONE_CHANNEL)
    try:
        response = await api.http.delete(
            f"/api/v1/admin/users/{account.id}", headers=api.root.headers
        )
        assert response.status_code == 204
        assert await kv.get(user_gone_key(account.id)) == "deleted"
        assert await _next_message(pubsub) == f"{account.id} deleted"
    finally:
        await pubsub.aclose()
    entries = await kv.xrevrange(USER_EVENTS_STREAM, count=50)
    assert {"event": "deleted", "user_id": account.id} in [fields for _, fields in entries]


# ---- avatars: decompression bombs ------------------------------------------------------------


def _png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("1", size).save(out, format="PNG", optimize=True)
    return out.getvalue()


async def test_a_small_png_of_huge_dimensions_is_refused_unread(api: Api) -> None:
    account = await api.account()
    bomb = _png((6300, 6300))
    assert len(bomb) < 1024 * 1024
    response = await api.http.put(
        "/api/v1/users/me/avatar",
        content=bomb,
        headers={**account.headers, "Content-Type": "image/png"},
    )
    assert_problem(response, 415, "unsupported-image")
    assert "6300x6300" in response.json()["detail"]


async def test_concurrent_avatar_uploads_all_succeed(api: Api) -> None:
    account = await api.account()
    image = io.BytesIO()
    Image.new("RGB", (800, 600), "teal").save(image, format="JPEG")

    async def upload() -> int:
        response = await api.http.put(
            "/api/v1/users/me/avatar",
            content=image.getvalue(),
            headers={**account.headers, "Content-Type": "image/jpeg"},
        )
        return response.status_code

    assert await asyncio.gather(*(upload() for _ in range(5))) == [200] * 5


# ---- cookies over HTTPS are Secure -----------------------------------------------------------


async def test_cookies_are_secure_when_the_request_came_over_https(api: Api) -> None:
    name = unique()
    await api.register(name)
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as tls:
        response = await tls.post(
            "/api/v1/auth/login", json={"username": name, "password": PASSWORD}
        )
        csrf = await tls.get("/api/v1/auth/csrf-token")
    cookies = response.headers.get_list("set-cookie") + csrf.headers.get_list("set-cookie")
    assert len(cookies) == 3
    assert all("Secure" in cookie for cookie in cookies), cookies


async def test_cookies_are_not_marked_secure_over_plain_http_in_development(api: Api) -> None:
    name = unique()
    await api.register(name)
    response = await api.login(name)
    assert not any("Secure" in cookie for cookie in response.headers.get_list("set-cookie"))
