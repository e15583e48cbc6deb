"""Which media node holds whom, and a meeting's publishers forwarded between its nodes.

A meeting goes on the least loaded healthy node and stays there while it has room; someone who
joins when its nodes are full, or whose region (their signaling node's) has a node the meeting
does not use yet, goes on another node, and the meeting then spans both: every publisher of
one node is forwarded to the other (:mod:`parley.rtc.remote`), so that everyone sees and hears
everyone. The placement lives in Redis, shared by every signaling node:

- ``sfu:{meeting}:node`` participant → node id;
- ``sfu:{meeting}:published`` participant → ``{"node", "display_name", "streams"}``;
- ``sfu:node:{node}`` the meetings with someone on that node; ``sfu:nodes`` the nodes in use;
- ``sfu:placed`` node → how many people placement put there: a node's record is up to a few
  seconds old, so a burst of joins counts by this instead (the larger of the two).

A node that leaves the registry (it died: its lease ran out) loses its people: the watcher of
any signaling node takes them off it and tells their pages to publish again (``sfu-restart``),
which puts them on a live node.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import structlog
from redis.asyncio import Redis

from parley.core.media_nodes import MediaNode
from parley.core.rtc_client import RtcUnavailable
from parley.signaling.nodes import LOCAL, MediaNodes

log = structlog.get_logger("parley.signaling.placement")

WATCH_EVERY_S = 2.0
"""How often signaling looks for media nodes that died."""
MOVING_LOCK_S = 30


def _key(meeting_id: str, what: str) -> str:
    return f"sfu:{meeting_id}:{what}"


def _node_key(node_id: str) -> str:
    return f"sfu:node:{node_id}"


NODES_IN_USE = "sfu:nodes"
PLACED = "sfu:placed"


def choose(usable: Sequence[MediaNode], used: set[str], region: str) -> MediaNode | None:
    """The node for someone joining a meeting that uses ``used`` nodes, from ``region``.

    Preference, each time the least loaded first: a node the meeting uses, in the person's
    region (or any, without regions), with room; a node of the region with room; any node with
    room; any usable node at all (full is a preference, not a wall)."""
    if not usable:
        return None
    local = [n for n in usable if not region or not n.region or n.region == region]
    tiers = (
        [n for n in local if n.node_id in used and not n.full],
        [n for n in local if not n.full],
        [n for n in usable if not n.full],
        list(usable),
    )
    for tier in tiers:
        if tier:
            return min(tier, key=lambda n: (n.load, n.node_id))
    return None


class Placement:
    """The meetings' placement on media nodes, and the forwarding between them."""

    def __init__(self, kv: Redis, nodes: MediaNodes) -> None:
        self.kv = kv
        self.nodes = nodes

    async def node_of(self, meeting_id: str, peer_id: str) -> str | None:
        raw = await self.kv.hget(_key(meeting_id, "node"), peer_id)
        return raw.decode() if isinstance(raw, bytes) else raw

    async def used(self, meeting_id: str) -> dict[str, str]:
        """participant → node, for everyone of the meeting on a node."""
        raw = await self.kv.hgetall(_key(meeting_id, "node"))
        return {_text(k): _text(v) for k, v in raw.items()}

    async def place(self, meeting_id: str, peer_id: str) -> str:
        """The node that holds this participant: where they are, or a new choice (and then the
        meeting's publishers of other nodes are forwarded there first)."""
        current = await self.node_of(meeting_id, peer_id)
        usable = await self.nodes.usable()
        if current is not None and (
            (current == LOCAL and not usable) or any(n.node_id == current for n in usable)
        ):
            return current
        if current is not None:  # moving off a node that failed: nothing of theirs stays
            await self.left(meeting_id, peer_id)
        placed = await self.used(meeting_id)
        counted = {_text(k): int(v) for k, v in (await self.kv.hgetall(PLACED)).items()}
        usable = [
            dataclasses.replace(n, publishers=max(n.publishers, counted.get(n.node_id, 0)))
            for n in usable
        ]
        node = choose(usable, set(placed.values()), self.nodes.region)
        node_id = node.node_id if node is not None else LOCAL
        async with self.kv.pipeline(transaction=True) as pipe:
            pipe.hset(_key(meeting_id, "node"), peer_id, node_id)
            pipe.hincrby(PLACED, node_id, 1)
            pipe.sadd(_node_key(node_id), meeting_id)
            pipe.sadd(NODES_IN_USE, node_id)
            await pipe.execute()
        if node_id not in placed.values():
            if placed:
                log.info("sfu_meeting_spans", meeting_id=meeting_id, node=node_id)
            await self._forward_all_to(meeting_id, node_id)
        return node_id

    async def published(
        self, meeting_id: str, peer_id: str, node_id: str, display_name: str, streams: Any
    ) -> None:
        """A participant published (again) on ``node_id``: the meeting's other nodes get it."""
        record = {"node": node_id, "display_name": display_name, "streams": streams}
        await self.kv.hset(_key(meeting_id, "published"), peer_id, json.dumps(record))
        for other in set((await self.used(meeting_id)).values()) - {node_id}:
            await self._forward(meeting_id, peer_id, record, other)

    async def left(self, meeting_id: str, peer_id: str) -> str | None:
        """Someone left: off their node, and off the meeting's other nodes → their node."""
        node_id = await self.node_of(meeting_id, peer_id)
        async with self.kv.pipeline(transaction=True) as pipe:
            pipe.hdel(_key(meeting_id, "node"), peer_id)
            pipe.hdel(_key(meeting_id, "published"), peer_id)
            await pipe.execute()
        if node_id is not None:
            await self._uncount({node_id: 1})
            for other in set((await self.used(meeting_id)).values()) - {node_id}:
                path = f"/meetings/{meeting_id}/remote-publishers/{peer_id}"
                await self._quietly(other, "DELETE", path)
        return node_id

    async def clear(self, meeting_id: str) -> set[str]:
        """The meeting leaves the SFU (ended, or back to peer to peer) → the nodes it used."""
        placed = list((await self.used(meeting_id)).values())
        nodes = set(placed)
        async with self.kv.pipeline(transaction=True) as pipe:
            pipe.delete(_key(meeting_id, "node"), _key(meeting_id, "published"))
            for node_id in nodes:
                pipe.srem(_node_key(node_id), meeting_id)
            await pipe.execute()
        await self._uncount({node: placed.count(node) for node in nodes})
        return nodes or {LOCAL}

    async def _uncount(self, people: dict[str, int]) -> None:
        """Fewer people on these nodes (never below zero)."""
        for node_id, count in people.items():
            if await self.kv.hincrby(PLACED, node_id, -count) < 0:
                await self.kv.hset(PLACED, node_id, 0)

    # ---- forwarding -------------------------------------------------------------------------

    async def _forward_all_to(self, meeting_id: str, target: str) -> None:
        """A node new to the meeting gets every publisher the meeting's other nodes hold."""
        raw = await self.kv.hgetall(_key(meeting_id, "published"))
        for peer, value in raw.items():
            record = json.loads(value)
            if record.get("node") != target:
                await self._forward(meeting_id, _text(peer), record, target)

    async def _forward(
        self, meeting_id: str, peer_id: str, record: dict[str, Any], target: str
    ) -> None:
        """``add_remote_publisher`` on the target, ``publish_remotely`` on the source."""
        source = str(record["node"])
        try:
            receiver = await self.nodes.client(target)
            port = await receiver.call(
                "PUT",
                f"/meetings/{meeting_id}/remote-publishers/{peer_id}",
                {"display_name": record.get("display_name", ""), "streams": record["streams"]},
            )
            sender = await self.nodes.client(source)
            await sender.call(
                "PUT",
                f"/meetings/{meeting_id}/participants/{peer_id}/remotes/{target}",
                {k: port[k] for k in ("host", "port", "rtcp_port") if k in port},
            )
        except RtcUnavailable as exc:
            log.warning(
                "sfu_forward_failed", meeting_id=meeting_id, feed=peer_id, to=target, error=str(exc)
            )

    async def _quietly(self, node_id: str, method: str, path: str) -> None:
        try:
            await (await self.nodes.client(node_id)).call(method, path)
        except RtcUnavailable as exc:
            log.info("sfu_call_failed", node=node_id, path=path, error=str(exc))

    # ---- nodes that die ---------------------------------------------------------------------

    async def gone_nodes(self) -> list[str]:
        """Nodes people are placed on that the registry no longer lists."""
        if self.nodes.etcd is None:
            return []
        listed = {n.node_id for n in await self.nodes.listed()}
        in_use = {_text(n) for n in await self.kv.smembers(NODES_IN_USE)}
        return sorted(in_use - listed - {LOCAL})

    async def evacuate(self, node_id: str) -> dict[str, list[str]]:
        """Take everyone off a dead node (once, whichever signaling node sees it first) →
        meeting → the participants to move."""
        if not await self.kv.set(f"sfu:moving:{node_id}", "1", nx=True, ex=MOVING_LOCK_S):
            return {}
        moved: dict[str, list[str]] = {}
        for raw in await self.kv.smembers(_node_key(node_id)):
            meeting_id = _text(raw)
            placed = await self.used(meeting_id)
            people = [peer for peer, node in placed.items() if node == node_id]
            for peer in people:
                await self.left(meeting_id, peer)
            for peer, node in placed.items():  # the others stop sending there
                if node != node_id:
                    path = f"/meetings/{meeting_id}/participants/{peer}/remotes/{node_id}"
                    await self._quietly(node, "DELETE", path)
            if people:
                moved[meeting_id] = people
        async with self.kv.pipeline(transaction=True) as pipe:
            pipe.delete(_node_key(node_id))
            pipe.srem(NODES_IN_USE, node_id)
            pipe.hdel(PLACED, node_id)
            await pipe.execute()
        log.warning("media_node_gone", node=node_id, meetings=len(moved))
        return moved


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
