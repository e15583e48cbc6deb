"""/api/v1/auth: registration, sign-in, token rotation, sign-out, CSRF, token checks."""

from __future__ import annotations

import time

import jwt

from tests.support.api import JWT_SECRET, PASSWORD, Api, unique
from tests.support.problems import assert_problem


async def test_register_returns_the_new_user(api: Api) -> None:
    name = unique("Reg")
    response = await api.register(name, display_name="Ada Lovelace")
    assert response.status_code == 201
    user = response.json()
    assert set(user) >= {
        "id",
        "username",
        "email",
        "display_name",
        "role",
        "is_active",
        "created_at",
    }
    assert user["username"] == name.lower()
    assert user["email"] == f"{name.lower()}@example.com"
    assert user["display_name"] == "Ada Lovelace"
    assert user["role"] == "user"
    assert user["is_active"] is True
    assert "password" not in response.text and "password_hash" not in response.text


async def test_first_registered_user_becomes_admin(fresh_api: Api) -> None:
    first = await fresh_api.register()
    second = await fresh_api.register()
    assert first.json()["role"] == "admin"
    assert second.json()["role"] == "user"


async def test_duplicate_username_is_a_conflict_whatever_the_case(api: Api) -> None:
    name = unique("dup")
    assert (await api.register(name)).status_code == 201
    response = await api.register(name.upper(), email=f"other-{name}@example.com")
    assert_problem(response, 409, "account-taken")


async def test_duplicate_email_is_a_conflict(api: Api) -> None:
    name = unique()
    await api.register(name)
    response = await api.register(unique(), email=f"{name.upper()}@EXAMPLE.com")
    assert_problem(response, 409, "account-taken")


async def test_short_password_is_rejected(api: Api) -> None:
    assert_problem(await api.register(password="short1"), 422)


async def test_common_password_is_rejected(api: Api) -> None:
    assert_problem(await api.register(password="Password123"), 422, "weak-password")


async def test_username_with_unicode_or_spaces_is_rejected(api: Api) -> None:
    for bad in ("zoë-user", "ab", "a" * 33, "has space", "emoji😀x"):
        response = await api.register(bad, email=f"{unique()}@example.com")
        assert_problem(response, 422)


async def test_invalid_email_is_rejected(api: Api) -> None:
    assert_problem(await api.register(email="not-an-email"), 422)


async def test_login_returns_a_token_pair_and_the_user(api: Api) -> None:
    name = unique()
    await api.register(name)
    response = await api.login(name)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["user"]["username"] == name
    claims = jwt.decode(body["access_token"], JWT_SECRET, algorithms=["HS256"], audience="parley")
    assert claims["sub"] == body["user"]["id"]
    assert claims["role"] == "user"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"]


async def test_login_accepts_the_email_address(api: Api) -> None:
    name = unique()
    await api.register(name)
    assert (await api.login(f"{name}@Example.com")).status_code == 200


async def test_login_sets_an_httponly_strict_refresh_cookie(api: Api) -> None:
    name = unique()
    await api.register(name)
    response = await api.login(name)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("parley_refresh=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/api/v1/auth" in cookie


async def test_login_marks_the_browser_signed_in_and_logout_clears_the_mark(api: Api) -> None:
    name = unique()
    await api.register(name)
    response = await api.login(name)
    marks = [c for c in response.headers.get_list("set-cookie") if "parley_signed_in=" in c]
    assert len(marks) == 1 and "HttpOnly" not in marks[0] and "Path=/" in marks[0]
    token = response.json()["access_token"]
    logout = await api.http.post(
        "/api/v1/auth/logout",
        json={"refresh_token": response.json()["refresh_token"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    cleared = [c for c in logout.headers.get_list("set-cookie") if "parley_signed_in=" in c]
    assert len(cleared) == 1 and "Max-Age=0" in cleared[0]


async def test_wrong_password_and_unknown_user_get_the_same_401(api: Api) -> None:
    name = unique()
    await api.register(name)
    wrong = assert_problem(await api.login(name, "not-the-password"), 401, "invalid-credentials")
    unknown = assert_problem(await api.login(unique("ghost")), 401, "invalid-credentials")
    assert wrong == unknown


async def test_disabled_account_cannot_sign_in(api: Api) -> None:
    account = await api.account()
    await api.http.patch(
        f"/api/v1/admin/users/{account.id}", json={"is_active": False}, headers=api.root.headers
    )
    assert_problem(await api.login(account.username), 401, "invalid-credentials")


async def test_five_failures_block_sign_in_with_retry_after(api: Api) -> None:
    name = unique()
    await api.register(name)
    for _ in range(5):
        assert (await api.login(name, "wrong-password!")).status_code == 401
    blocked = assert_problem(await api.login(name, PASSWORD), 429, "login-rate-limited")
    assert blocked["detail"]
    response = await api.login(name, PASSWORD)
    assert 0 < int(response.headers["retry-after"]) <= 900


async def test_successful_sign_in_resets_the_failure_count(api: Api) -> None:
    name = unique()
    await api.register(name)
    for _ in range(4):
        await api.login(name, "wrong-password!")
    assert (await api.login(name)).status_code == 200
    for _ in range(4):
        await api.login(name, "wrong-password!")
    assert (await api.login(name)).status_code == 200


async def test_refresh_returns_a_new_pair(api: Api) -> None:
    account = await api.account()
    response = await api.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": account.tokens["refresh_token"]}
    )
    assert response.status_code == 200
    pair = response.json()
    assert pair["refresh_token"] != account.tokens["refresh_token"]
    assert pair["access_token"] != account.tokens["access_token"]
    me = await api.http.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
    )
    assert me.json()["id"] == account.id


async def test_reusing_a_refresh_token_revokes_the_whole_family(api: Api) -> None:
    account = await api.account()
    first = account.tokens["refresh_token"]
    rotated = (await api.http.post("/api/v1/auth/refresh", json={"refresh_token": first})).json()
    reuse = await api.http.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert_problem(reuse, 401, "invalid-refresh-token")
    later = await api.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]}
    )
    assert_problem(later, 401, "invalid-refresh-token")
    me = await api.http.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {rotated['access_token']}"}
    )
    assert_problem(me, 401, "invalid-token")


async def test_reuse_does_not_end_the_users_other_sessions(api: Api) -> None:
    account = await api.account()
    other = (await api.login(account.username)).json()
    first = account.tokens["refresh_token"]
    await api.http.post("/api/v1/auth/refresh", json={"refresh_token": first})
    await api.http.post("/api/v1/auth/refresh", json={"refresh_token": first})
    response = await api.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}
    )
    assert response.status_code == 200


async def test_unknown_refresh_token_is_401(api: Api) -> None:
    response = await api.http.post("/api/v1/auth/refresh", json={"refresh_token": "nope"})
    assert_problem(response, 401, "invalid-refresh-token")


async def test_logout_revokes_the_refresh_token_and_the_access_token(api: Api) -> None:
    account = await api.account()
    response = await api.http.post("/api/v1/auth/logout", headers=account.headers)
    assert response.status_code == 204
    assert_problem(await api.http.get("/api/v1/users/me", headers=account.headers), 401)
    refresh = await api.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": account.tokens["refresh_token"]}
    )
    assert_problem(refresh, 401, "invalid-refresh-token")


async def test_logout_ends_only_that_session(api: Api) -> None:
    account = await api.account()
    other = (await api.login(account.username)).json()
    await api.http.post("/api/v1/auth/logout", headers=account.headers)
    me = await api.http.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {other['access_token']}"}
    )
    assert me.status_code == 200


async def test_csrf_token_endpoint_sets_a_readable_cookie(api: Api) -> None:
    response = await api.http.get("/api/v1/auth/csrf-token")
    assert response.status_code == 200
    token = response.json()["csrf_token"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"parley_csrf={token}")
    assert "HttpOnly" not in cookie


async def test_cookie_refresh_without_csrf_header_is_403(api: Api) -> None:
    name = unique()
    await api.register(name)
    await api.login(name)
    await api.http.get("/api/v1/auth/csrf-token")
    assert_problem(await api.http.post("/api/v1/auth/refresh"), 403, "csrf-failed")


async def test_cookie_refresh_with_a_wrong_csrf_header_is_403(api: Api) -> None:
    name = unique()
    await api.register(name)
    await api.login(name)
    await api.http.get("/api/v1/auth/csrf-token")
    response = await api.http.post("/api/v1/auth/refresh", headers={"X-CSRF-Token": "forged.x"})
    assert_problem(response, 403, "csrf-failed")


async def test_forged_csrf_cookie_and_header_pair_is_403(api: Api) -> None:
    name = unique()
    await api.register(name)
    await api.login(name)
    api.http.cookies.set("parley_csrf", "planted.0000")
    response = await api.http.post("/api/v1/auth/refresh", headers={"X-CSRF-Token": "planted.0000"})
    assert_problem(response, 403, "csrf-failed")


async def test_cookie_refresh_with_matching_csrf_header_rotates(api: Api) -> None:
    name = unique()
    await api.register(name)
    await api.login(name)
    token = (await api.http.get("/api/v1/auth/csrf-token")).json()["csrf_token"]
    response = await api.http.post("/api/v1/auth/refresh", headers={"X-CSRF-Token": token})
    assert response.status_code == 200
    assert response.json()["user"]["username"] == name
    again = await api.http.post("/api/v1/auth/refresh", headers={"X-CSRF-Token": token})
    assert again.status_code == 200, "the rotated cookie replaced the old one"


async def test_cookie_logout_needs_csrf(api: Api) -> None:
    name = unique()
    await api.register(name)
    await api.login(name)
    token = (await api.http.get("/api/v1/auth/csrf-token")).json()["csrf_token"]
    assert_problem(await api.http.post("/api/v1/auth/logout"), 403, "csrf-failed")
    response = await api.http.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token})
    assert response.status_code == 204
    refresh = await api.http.post("/api/v1/auth/refresh", headers={"X-CSRF-Token": token})
    assert refresh.status_code in (401, 403)


async def test_bearer_clients_need_no_csrf_token(api: Api) -> None:
    account = await api.account()
    response = await api.http.patch(
        "/api/v1/users/me", json={"display_name": "No Csrf"}, headers=account.headers
    )
    assert response.status_code == 200


def _token(claims: dict, secret: str = JWT_SECRET, algorithm: str = "HS256") -> str:
    now = int(time.time())
    base = {
        "sub": "x",
        "role": "user",
        "jti": "j",
        "sid": "",
        "iat": now,
        "exp": now + 60,
        "aud": "parley",
    }
    return jwt.encode({**base, **claims}, secret, algorithm=algorithm)


async def _me_with(api: Api, token: str):
    return await api.http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})


async def test_token_with_another_algorithm_is_401(api: Api) -> None:
    account = await api.account()
    token = _token({"sub": account.id}, algorithm="HS512")
    assert_problem(await _me_with(api, token), 401, "invalid-token")


async def test_unsigned_token_is_401(api: Api) -> None:
    account = await api.account()
    token = jwt.encode(
        {
            "sub": account.id,
            "aud": "parley",
            "exp": int(time.time()) + 60,
            "iat": int(time.time()),
            "jti": "x",
        },
        key=None,
        algorithm="none",
    )
    assert_problem(await _me_with(api, token), 401, "invalid-token")


async def test_token_for_another_audience_is_401(api: Api) -> None:
    account = await api.account()
    assert_problem(await _me_with(api, _token({"sub": account.id, "aud": "signaling"})), 401)


async def test_expired_token_is_401(api: Api) -> None:
    account = await api.account()
    now = int(time.time())
    token = _token({"sub": account.id, "iat": now - 1000, "exp": now - 100})
    body = assert_problem(await _me_with(api, token), 401, "invalid-token")
    assert "expired" in body["detail"]


async def test_token_signed_with_another_secret_is_401(api: Api) -> None:
    account = await api.account()
    assert_problem(await _me_with(api, _token({"sub": account.id}, secret="y" * 48)), 401)


async def test_missing_token_is_401_with_www_authenticate(api: Api) -> None:
    response = await api.http.get("/api/v1/users/me")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
