"""/api/v1/admin/users: listing, changing and deleting accounts; the last-admin rule."""

from __future__ import annotations

from tests.support.api import Api, unique
from tests.support.problems import assert_problem


async def test_non_admin_gets_403_on_every_admin_route(api: Api) -> None:
    user = await api.account()
    target = await api.account()
    calls = [
        api.http.get("/api/v1/admin/users", headers=user.headers),
        api.http.get(f"/api/v1/admin/users/{target.id}", headers=user.headers),
        api.http.patch(
            f"/api/v1/admin/users/{target.id}", json={"role": "admin"}, headers=user.headers
        ),
        api.http.delete(f"/api/v1/admin/users/{target.id}", headers=user.headers),
    ]
    for call in calls:
        assert_problem(await call, 403, "admin-required")


async def test_anonymous_gets_401_on_admin_routes(api: Api) -> None:
    assert_problem(await api.http.get("/api/v1/admin/users"), 401)


async def test_admin_lists_users_with_paging(api: Api) -> None:
    tag = unique("page")
    for i in range(3):
        await api.register(f"{tag}-{i}")
    response = await api.http.get(
        "/api/v1/admin/users", params={"q": tag, "page_size": 2}, headers=api.root.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3
    assert body["page"] == 1 and body["page_size"] == 2
    assert len(body["items"]) == 2
    second = await api.http.get(
        "/api/v1/admin/users",
        params={"q": tag, "page_size": 2, "page": 2},
        headers=api.root.headers,
    )
    names = {u["username"] for u in body["items"]} | {u["username"] for u in second.json()["items"]}
    assert names == {f"{tag}-{i}" for i in range(3)}


async def test_admin_search_matches_display_name_case_insensitively(api: Api) -> None:
    name = unique()
    await api.register(name, display_name="Zebulon Quux")
    response = await api.http.get(
        "/api/v1/admin/users", params={"q": "zebulon quux"}, headers=api.root.headers
    )
    assert name in {u["username"] for u in response.json()["items"]}


async def test_admin_search_treats_wildcards_literally(api: Api) -> None:
    response = await api.http.get(
        "/api/v1/admin/users", params={"q": "%"}, headers=api.root.headers
    )
    assert response.status_code == 200
    assert response.json()["total"] == 0


async def test_admin_filters_by_role_and_activity(api: Api) -> None:
    account = await api.account()
    await api.http.patch(
        f"/api/v1/admin/users/{account.id}", json={"is_active": False}, headers=api.root.headers
    )
    inactive = await api.http.get(
        "/api/v1/admin/users",
        params={"is_active": "false", "page_size": 100},
        headers=api.root.headers,
    )
    assert account.id in {u["id"] for u in inactive.json()["items"]}
    assert all(not u["is_active"] for u in inactive.json()["items"])
    admins = await api.http.get(
        "/api/v1/admin/users",
        params={"role": "admin", "page_size": 100},
        headers=api.root.headers,
    )
    assert all(u["role"] == "admin" for u in admins.json()["items"])


async def test_admin_gets_one_user(api: Api) -> None:
    account = await api.account()
    response = await api.http.get(f"/api/v1/admin/users/{account.id}", headers=api.root.headers)
    assert response.status_code == 200
    assert response.json()["username"] == account.username


async def test_admin_get_unknown_user_is_404(api: Api) -> None:
    response = await api.http.get(
        "/api/v1/admin/users/00000000-0000-0000-0000-000000000000", headers=api.root.headers
    )
    assert_problem(response, 404)


async def test_admin_get_with_a_malformed_id_is_404(api: Api) -> None:
    # Ids in paths match UUIDs only: anything else names no resource (and a method the
    # path lacks is a 405, not a validation error about the id).
    response = await api.http.get("/api/v1/admin/users/not-a-uuid", headers=api.root.headers)
    assert_problem(response, 404)


async def test_admin_promotes_a_user(api: Api) -> None:
    account = await api.account()
    response = await api.http.patch(
        f"/api/v1/admin/users/{account.id}",
        json={"role": "admin", "display_name": "Boss"},
        headers=api.root.headers,
    )
    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    assert response.json()["display_name"] == "Boss"


async def test_role_change_ends_the_users_sessions(api: Api) -> None:
    admin = await api.admin()
    response = await api.http.patch(
        f"/api/v1/admin/users/{admin.id}", json={"role": "user"}, headers=api.root.headers
    )
    assert response.status_code == 200
    assert_problem(await api.http.get("/api/v1/admin/users", headers=admin.headers), 401)


async def test_disabled_user_token_stops_working(api: Api) -> None:
    account = await api.account()
    await api.http.patch(
        f"/api/v1/admin/users/{account.id}", json={"is_active": False}, headers=api.root.headers
    )
    response = await api.http.get("/api/v1/users/me", headers=account.headers)
    assert response.status_code in (401, 403)
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_admin_deletes_a_user(api: Api) -> None:
    account = await api.account()
    response = await api.http.delete(f"/api/v1/admin/users/{account.id}", headers=api.root.headers)
    assert response.status_code == 204
    gone = await api.http.get(f"/api/v1/admin/users/{account.id}", headers=api.root.headers)
    assert_problem(gone, 404)
    assert_problem(await api.login(account.username), 401)
    assert_problem(await api.http.get("/api/v1/users/me", headers=account.headers), 401)


async def test_last_admin_cannot_be_demoted_disabled_or_deleted(fresh_api: Api) -> None:
    first = await fresh_api.register("only-admin")
    admin_id = first.json()["id"]
    token = (await fresh_api.login("only-admin")).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/admin/users/{admin_id}"
    assert_problem(
        await fresh_api.http.patch(url, json={"role": "user"}, headers=headers), 409, "last-admin"
    )
    assert_problem(
        await fresh_api.http.patch(url, json={"is_active": False}, headers=headers),
        409,
        "last-admin",
    )
    assert_problem(await fresh_api.http.delete(url, headers=headers), 409, "last-admin")
    me = await fresh_api.http.get("/api/v1/users/me", headers=headers)
    assert me.json()["role"] == "admin" and me.json()["is_active"] is True


async def test_an_admin_can_step_down_when_another_admin_remains(fresh_api: Api) -> None:
    first = (await fresh_api.register("admin-one")).json()
    second = (await fresh_api.register("admin-two")).json()
    token = (await fresh_api.login("admin-one")).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    promote = await fresh_api.http.patch(
        f"/api/v1/admin/users/{second['id']}", json={"role": "admin"}, headers=headers
    )
    assert promote.status_code == 200
    demote = await fresh_api.http.patch(
        f"/api/v1/admin/users/{first['id']}", json={"role": "user"}, headers=headers
    )
    assert demote.status_code == 200
