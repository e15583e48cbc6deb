"""Two nodes of the same service on one PostgreSQL and one Redis: what one node does, the
other honours at once (revocations travel over Redis pub/sub; each node keeps them in memory)."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from tests.support.api import Api, client_for, running_app
from tests.support.backends import Backend
from tests.support.problems import assert_problem


@pytest.fixture
def shared_backend(backend: Backend) -> Backend:
    if backend.name != "postgres":
        pytest.skip("the embedded store lives in one process: one node only")
    return backend


async def _wait_in_step(app) -> None:
    for _ in range(100):
        if app.state.bus.in_step:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("bus never got in step")


async def test_logout_on_one_node_revokes_the_token_on_the_other(shared_backend: Backend) -> None:
    settings = shared_backend.settings()
    async with (
        running_app(settings) as node_a,
        running_app(settings) as node_b,
        client_for(node_a) as a,
        client_for(node_b) as b,
    ):
        api_a = Api(node_a, a)
        account = await api_a.account()
        assert (await b.get("/api/v1/users/me", headers=account.headers)).status_code == 200
        assert (await a.post("/api/v1/auth/logout", headers=account.headers)).status_code == 204
        await asyncio.sleep(0.2)  # pub/sub delivery
        assert_problem(await b.get("/api/v1/users/me", headers=account.headers), 401)


async def test_a_new_node_learns_earlier_revocations(shared_backend: Backend) -> None:
    settings = shared_backend.settings()
    async with running_app(settings) as node_a, client_for(node_a) as a:
        account = await Api(node_a, a).account()
        await a.post("/api/v1/auth/logout", headers=account.headers)
        async with running_app(settings) as node_b, client_for(node_b) as b:
            await _wait_in_step(node_b)
            assert_problem(await b.get("/api/v1/users/me", headers=account.headers), 401)


async def test_a_node_that_lost_its_subscription_resyncs(shared_backend: Backend) -> None:
    settings = shared_backend.settings()
    async with (
        running_app(settings) as node_a,
        running_app(settings) as node_b,
        client_for(node_a) as a,
        client_for(node_b) as b,
    ):
        account = await Api(node_a, a).account()
        await _wait_in_step(node_b)
        admin = Redis.from_url(settings.redis_url or "", decode_responses=True)
        try:
            await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            await a.post("/api/v1/auth/logout", headers=account.headers)
        finally:
            await admin.aclose()
        await asyncio.sleep(1.5)  # reconnect, resubscribe, reload
        await _wait_in_step(node_b)
        assert_problem(await b.get("/api/v1/users/me", headers=account.headers), 401)


async def test_profile_change_is_visible_at_once_on_the_node_that_made_it(api: Api) -> None:
    account = await api.account()
    await api.http.get("/api/v1/users/me", headers=account.headers)
    await api.http.patch(
        "/api/v1/users/me", json={"display_name": "Renamed"}, headers=account.headers
    )
    me = await api.http.get("/api/v1/users/me", headers=account.headers)
    assert me.json()["display_name"] == "Renamed"


async def test_avatar_change_is_visible_at_once_in_me(api: Api) -> None:
    from tests.support.images import image_bytes

    account = await api.account()
    assert (await api.http.get("/api/v1/users/me", headers=account.headers)).json()[
        "has_avatar"
    ] is False
    await api.http.put("/api/v1/users/me/avatar", content=image_bytes(), headers=account.headers)
    me = await api.http.get("/api/v1/users/me", headers=account.headers)
    assert me.json()["has_avatar"] is True
