"""Placement of people on media nodes: the choice of a node (pure), and the placement kept in a
real Redis with the forwarding calls it makes between a meeting's nodes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from parley.core.media_nodes import MediaNode
from parley.signaling.placement import Placement, choose
from tests.support.servers import RedisServer


def node(node_id: str, publishers: int = 0, capacity: int = 10, region: str = "") -> MediaNode:
    return MediaNode(
        node_id, f"http://{node_id}", "10.0.0.1", region, capacity, publishers=publishers
    )


def test_a_new_meeting_goes_on_the_least_loaded_node() -> None:
    chosen = choose([node("a", 5), node("b", 2), node("c", 7)], set(), "")
    assert chosen is not None and chosen.node_id == "b"


def test_a_meeting_stays_on_its_node_while_it_has_room() -> None:
    chosen = choose([node("a", 5), node("b", 0)], {"a"}, "")
    assert chosen is not None and chosen.node_id == "a"


def test_a_full_node_sends_the_next_person_to_another() -> None:
    chosen = choose([node("a", 10), node("b", 3)], {"a"}, "")
    assert chosen is not None and chosen.node_id == "b"


def test_someone_from_another_region_goes_on_a_node_of_their_region() -> None:
    nodes = [node("eu", 1, region="eu"), node("us", 4, region="us")]
    chosen = choose(nodes, {"eu"}, "us")
    assert chosen is not None and chosen.node_id == "us"


def test_when_every_node_is_full_the_least_loaded_still_takes_them() -> None:
    chosen = choose([node("a", 12), node("b", 11)], {"a"}, "")
    assert chosen is not None and chosen.node_id == "b"


def test_no_usable_node_is_no_choice() -> None:
    assert choose([], set(), "") is None


class Calls:
    """rtc clients that record what placement asks of each node."""

    def __init__(self) -> None:
        self.made: list[tuple[str, str, str, Any]] = []

    def client(self, node_id: str) -> Any:
        calls = self

        class Client:
            async def call(self, method: str, path: str, json: Any = None) -> Any:
                calls.made.append((node_id, method, path, json))
                if path.split("/")[-2] == "remote-publishers" and method == "PUT":
                    return {"host": "10.0.0.1", "port": 40000, "rtcp_port": 40001}
                return None

        return Client()


class Nodes:
    """The registry's view: fixed nodes (placement's own logic is what is tested here)."""

    def __init__(self, *listed: MediaNode) -> None:
        self.listed_nodes = list(listed)
        self.region = ""
        self.etcd = object()
        self.calls = Calls()

    async def listed(self) -> list[MediaNode]:
        return self.listed_nodes

    async def usable(self) -> list[MediaNode]:
        return [n for n in self.listed_nodes if n.healthy]

    async def client(self, node_id: str) -> Any:
        return self.calls.client(node_id)


@pytest.fixture
async def kv(redis_srv: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_srv.fresh_url())
    yield client
    await client.aclose()


async def test_people_beyond_a_nodes_capacity_span_the_meeting_to_a_second_node(
    kv: Redis,
) -> None:
    nodes = Nodes(node("a", capacity=1), node("b", capacity=1))
    placement = Placement(kv, nodes)  # type: ignore[arg-type]
    assert await placement.place("m1", "ann") == "a"
    assert await placement.place("m1", "ben") == "b"  # a's record is stale: counted here
    assert await placement.place("m1", "ann") == "a"  # asked again: where she is


async def test_a_publisher_is_forwarded_to_the_meetings_other_node(kv: Redis) -> None:
    nodes = Nodes(node("a", capacity=1), node("b", capacity=1))
    placement = Placement(kv, nodes)  # type: ignore[arg-type]
    await placement.place("m1", "ann")
    await placement.place("m1", "ben")
    streams = [{"type": "audio", "mid": "0", "mindex": 0, "codec": "opus"}]
    await placement.published("m1", "ann", "a", "Ann", streams)
    made = [(n, m, p) for n, m, p, _ in nodes.calls.made]
    assert made == [
        ("b", "PUT", "/meetings/m1/remote-publishers/ann"),
        ("a", "PUT", "/meetings/m1/participants/ann/remotes/b"),
    ]
    assert nodes.calls.made[1][3] == {"host": "10.0.0.1", "port": 40000, "rtcp_port": 40001}


async def test_a_node_new_to_the_meeting_gets_the_publishers_already_there(kv: Redis) -> None:
    nodes = Nodes(node("a", capacity=1), node("b", capacity=1))
    placement = Placement(kv, nodes)  # type: ignore[arg-type]
    await placement.place("m1", "ann")
    await placement.published("m1", "ann", "a", "Ann", [])
    assert nodes.calls.made == []  # one node: nothing to forward
    await placement.place("m1", "ben")
    assert [(n, p) for n, _, p, _ in nodes.calls.made] == [
        ("b", "/meetings/m1/remote-publishers/ann"),
        ("a", "/meetings/m1/participants/ann/remotes/b"),
    ]


async def test_a_leaver_is_taken_off_the_other_nodes(kv: Redis) -> None:
    nodes = Nodes(node("a", capacity=1), node("b", capacity=1))
    placement = Placement(kv, nodes)  # type: ignore[arg-type]
    await placement.place("m1", "ann")
    await placement.place("m1", "ben")
    nodes.calls.made.clear()
    assert await placement.left("m1", "ann") == "a"
    assert [(n, m, p) for n, m, p, _ in nodes.calls.made] == [
        ("b", "DELETE", "/meetings/m1/remote-publishers/ann")
    ]


async def test_the_people_of_a_node_that_died_are_moved_off_it_once(kv: Redis) -> None:
    nodes = Nodes(node("a", capacity=1), node("b", capacity=1))
    placement = Placement(kv, nodes)  # type: ignore[arg-type]
    await placement.place("m1", "ann")
    await placement.place("m1", "ben")
    nodes.listed_nodes = [node("a", capacity=1)]  # b's lease ran out
    assert await placement.gone_nodes() == ["b"]
    assert await placement.evacuate("b") == {"m1": ["ben"]}
    assert await placement.evacuate("b") == {}  # another signaling node got there first
    assert await placement.gone_nodes() == []
    assert await placement.node_of("m1", "ben") is None
    assert await placement.place("m1", "ben") == "a"
