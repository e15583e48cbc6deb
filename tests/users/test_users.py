"""/api/v1/users: profile, password change, avatars."""

from __future__ import annotations

import io

from PIL import Image

from tests.support.api import PASSWORD, Api, unique
from tests.support.images import image_bytes
from tests.support.problems import assert_problem


async def test_me_returns_the_signed_in_user(api: Api) -> None:
    account = await api.account()
    response = await api.http.get("/api/v1/users/me", headers=account.headers)
    assert response.status_code == 200
    assert response.json()["id"] == account.id
    assert response.json()["has_avatar"] is False


async def test_patch_me_changes_display_name_and_email(api: Api) -> None:
    account = await api.account()
    email = f"{unique('new')}@example.org"
    response = await api.http.patch(
        "/api/v1/users/me",
        json={"display_name": "  Grace  ", "email": email},
        headers=account.headers,
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "Grace"
    assert response.json()["email"] == email
    assert (await api.login(email)).status_code == 200


async def test_patch_me_with_a_taken_email_is_409_and_changes_nothing(api: Api) -> None:
    first = await api.account()
    second = await api.account()
    response = await api.http.patch(
        "/api/v1/users/me",
        json={"display_name": "Changed", "email": first.user["email"]},
        headers=second.headers,
    )
    assert_problem(response, 409, "email-taken")
    me = (await api.http.get("/api/v1/users/me", headers=second.headers)).json()
    assert me["display_name"] == second.user["display_name"]
    assert me["email"] == second.user["email"]


async def test_patch_me_rejects_unknown_fields(api: Api) -> None:
    account = await api.account()
    response = await api.http.patch(
        "/api/v1/users/me", json={"role": "admin"}, headers=account.headers
    )
    assert_problem(response, 422)
    me = (await api.http.get("/api/v1/users/me", headers=account.headers)).json()
    assert me["role"] == "user"


async def test_password_change_needs_the_current_password(api: Api) -> None:
    account = await api.account()
    response = await api.http.post(
        "/api/v1/users/me/password",
        json={"current_password": "wrong-one-here", "new_password": "a-brand-new-pass"},
        headers=account.headers,
    )
    assert_problem(response, 403, "wrong-current-password")
    assert (await api.login(account.username)).status_code == 200


async def test_password_change_rejects_a_common_password(api: Api) -> None:
    account = await api.account()
    response = await api.http.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "qwerty123"},
        headers=account.headers,
    )
    assert_problem(response, 422, "weak-password")


async def test_password_change_revokes_all_other_sessions(api: Api) -> None:
    account = await api.account()
    other = (await api.login(account.username)).json()
    response = await api.http.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "a-brand-new-pass"},
        headers=account.headers,
    )
    assert response.status_code == 204
    other_me = await api.http.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {other['access_token']}"}
    )
    assert_problem(other_me, 401)
    other_refresh = await api.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}
    )
    assert_problem(other_refresh, 401)
    assert (await api.http.get("/api/v1/users/me", headers=account.headers)).status_code == 200
    assert (await api.login(account.username, "a-brand-new-pass")).status_code == 200
    assert (await api.login(account.username)).status_code == 401


async def test_avatar_upload_is_reencoded_to_a_256px_webp(api: Api) -> None:
    account = await api.account()
    response = await api.http.put(
        "/api/v1/users/me/avatar",
        content=image_bytes("JPEG", (1200, 800)),
        headers={**account.headers, "Content-Type": "image/jpeg"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["has_avatar"] is True
    avatar = await api.http.get(f"/api/v1/users/{account.id}/avatar")
    assert avatar.status_code == 200
    assert avatar.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(avatar.content)) as image:
        assert image.format == "WEBP"
        assert image.size == (256, 256)


async def test_avatar_upload_accepts_multipart(api: Api) -> None:
    account = await api.account()
    response = await api.http.put(
        "/api/v1/users/me/avatar",
        files={"file": ("me.png", image_bytes("PNG", (300, 300), "RGBA"), "image/png")},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text


async def test_avatar_is_cached_with_an_etag(api: Api) -> None:
    account = await api.account()
    await api.http.put("/api/v1/users/me/avatar", content=image_bytes(), headers=account.headers)
    first = await api.http.get(f"/api/v1/users/{account.id}/avatar")
    again = await api.http.get(
        f"/api/v1/users/{account.id}/avatar", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


async def test_non_image_avatar_is_415_and_keeps_the_old_one(api: Api) -> None:
    account = await api.account()
    await api.http.put("/api/v1/users/me/avatar", content=image_bytes(), headers=account.headers)
    before = (await api.http.get(f"/api/v1/users/{account.id}/avatar")).content
    for payload in (b"%PDF-1.4 definitely not an image", b"GIF89a" + b"\0" * 20, b"<svg/>"):
        response = await api.http.put(
            "/api/v1/users/me/avatar",
            content=payload,
            headers={**account.headers, "Content-Type": "image/png"},
        )
        assert_problem(response, 415)
    after = (await api.http.get(f"/api/v1/users/{account.id}/avatar")).content
    assert after == before


async def test_truncated_image_avatar_is_415(api: Api) -> None:
    account = await api.account()
    data = image_bytes("PNG", (500, 500))
    response = await api.http.put(
        "/api/v1/users/me/avatar", content=data[: len(data) // 2], headers=account.headers
    )
    assert_problem(response, 415)


async def test_avatar_over_5_mib_is_413(api: Api) -> None:
    account = await api.account()
    response = await api.http.put(
        "/api/v1/users/me/avatar",
        content=b"\x89PNG" + b"\0" * (5 * 1024 * 1024 + 10),
        headers=account.headers,
    )
    assert_problem(response, 413)
    me = (await api.http.get("/api/v1/users/me", headers=account.headers)).json()
    assert me["has_avatar"] is False


async def test_avatar_of_a_user_without_one_is_404(api: Api) -> None:
    account = await api.account()
    assert_problem(await api.http.get(f"/api/v1/users/{account.id}/avatar"), 404)


async def test_avatar_upload_needs_a_token(api: Api) -> None:
    assert_problem(await api.http.put("/api/v1/users/me/avatar", content=image_bytes()), 401)
