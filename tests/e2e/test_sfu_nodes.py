"""One meeting across two media nodes, with real Chromium pages and two Janus: each node takes
one publisher (``PARLEY_SFU_NODE_PUBLISHERS=1``), so the host lands on node A and the guest on
node B, and each sees and hears the other through Janus's remote publishers. A node that dies
(its rtc process killed: its registry lease runs out) moves its people to the node left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser

from parley.core.media_nodes import MediaNode, read_media_nodes
from parley.core.registry import EtcdClient
from tests.support.api import JWT_SECRET
from tests.support.browser import (
    NO_MDNS,
    chromium,
    free_port,
    gathered,
    parley_up,
    person_factory,
)
from tests.support.deploy import etcd_server, needs_etcd, wait_http
from tests.support.janus import VETH, ensure_veth, janus_server, require_janus, room_participants
from tests.support.media_flow import audio_keeps_growing, frames_keep_growing, mode, wait_until
from tests.support.servers import RedisServer

pytestmark = needs_etcd
LEASE_S = "3"
"""The media nodes' registry lease: a killed node drops out within this."""


@dataclass
class TwoNodes:
    url: str
    """Node A: the whole platform (``parley up``) with its own Janus."""
    data_a: Path
    etcd: str
    node_b: subprocess.Popen[bytes]
    """Node B: media-service alone (``parley serve media``) driving a second Janus."""


@pytest.fixture(scope="module")
def two_nodes(
    tmp_path_factory: pytest.TempPathFactory, redis_srv: RedisServer
) -> Iterator[TwoNodes]:
    require_janus()
    ensure_veth()
    tmp = tmp_path_factory.mktemp("nodes")
    (tmp / "a").mkdir()
    redis = redis_srv.fresh_url()
    shared = {
        "PARLEY_SFU_MODE": "always",
        "PARLEY_SFU_NODE_PUBLISHERS": "1",
        "PARLEY_ETCD_LEASE_TTL_S": LEASE_S,
        "REDIS_URL": redis,
    }
    with (
        etcd_server(tmp / "etcd") as etcd,
        janus_server(tmp, "janus-b", rtp_ports="30400-30499", ice_interfaces=VETH) as janus_b,
    ):
        port_b = free_port()
        env_b = {
            **os.environ,
            **shared,
            "PARLEY_ENV": "test",
            "JWT_SECRET": JWT_SECRET,
            "ETCD_ENDPOINTS": etcd,
            "PARLEY_SFU_NODE_ID": "node-b",
            "PARLEY_JANUS_URL": janus_b.url,
            "PARLEY_JANUS_API_SECRET": janus_b.cfg.api_secret,
            "PARLEY_JANUS_ADMIN_KEY": janus_b.cfg.admin_key,
            "PARLEY_JANUS_ADMIN_URL": janus_b.admin_url,
            "PARLEY_JANUS_ADMIN_SECRET": janus_b.cfg.admin_secret,
        }
        log_b = (tmp / "node-b.log").open("wb")
        command = [sys.executable, "-m", "parley.cli", "serve", "media", "--port", str(port_b)]
        node_b = subprocess.Popen(
            [*command, "--data-dir", str(tmp / "data-b")],
            env=env_b,
            stdout=log_b,
            stderr=log_b,
        )
        try:
            wait_http(f"http://127.0.0.1:{port_b}/health/ready", 60, node_b)
            with parley_up(
                tmp / "a",
                **shared,
                ETCD_ENDPOINTS=etcd,
                PARLEY_SFU_NODE_ID="node-a",
                PARLEY_JANUS_ICE_INTERFACES=VETH,
                PARLEY_JANUS_RTP_PORTS="30300-30399",
            ) as url:
                yield TwoNodes(url, tmp / "a", etcd, node_b)
        finally:
            if node_b.poll() is None:
                node_b.terminate()
                node_b.wait(20)
            log_b.close()


@pytest_asyncio.fixture(scope="module")
async def nodes_browser(two_nodes: TwoNodes) -> AsyncIterator[Browser]:
    async with chromium(NO_MDNS) as launched:
        yield launched


@pytest_asyncio.fixture
async def nodes_people(nodes_browser: Browser, two_nodes: TwoNodes) -> AsyncIterator[object]:
    async with person_factory(nodes_browser, two_nodes.url) as make:
        yield make


async def media_nodes(etcd: str) -> dict[str, MediaNode]:
    client = EtcdClient([etcd])
    try:
        return {node.node_id: node for node in await read_media_nodes(client)}
    finally:
        await client.aclose()


async def test_both_media_nodes_announce_themselves(two_nodes: TwoNodes) -> None:
    nodes = await media_nodes(two_nodes.etcd)
    assert set(nodes) == {"node-a", "node-b"}
    assert all(node.healthy and node.capacity == 1 for node in nodes.values())


async def test_people_on_two_nodes_see_and_hear_each_other_then_a_dead_node_moves_its_people(
    nodes_people, two_nodes: TwoNodes
) -> None:
    host, meeting, (guest,) = await gathered(nodes_people, "Gus")

    async def on_the_sfu() -> bool:
        return await mode(host) == "sfu" and await mode(guest) == "sfu"

    await wait_until(on_the_sfu)
    await frames_keep_growing({host: ("Gus",), guest: ("Hana Host",)})
    await audio_keeps_growing({host: ("Gus",), guest: ("Hana Host",)})

    async def spread() -> bool:  # one publisher on each node, the other node's as a remote one
        nodes = await media_nodes(two_nodes.etcd)
        return all(node.publishers == 1 and node.forwarded_kbps > 0 for node in nodes.values())

    await wait_until(spread, last="each node holds one publisher and forwards media")
    room_a = await room_participants(two_nodes.data_a / "data" / "janus", meeting["id"])
    assert len(room_a) == 2, room_a  # the host, and the guest forwarded from node B

    two_nodes.node_b.send_signal(signal.SIGKILL)  # node B dies: its lease runs out
    two_nodes.node_b.wait(10)

    async def only_node_a() -> bool:
        return set(await media_nodes(two_nodes.etcd)) == {"node-a"}

    await wait_until(only_node_a)
    await frames_keep_growing({host: ("Gus",), guest: ("Hana Host",)})
