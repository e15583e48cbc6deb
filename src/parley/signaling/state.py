"""Room state in the key-value store, shared by every signaling node.

Per meeting ``M``: ``sig:M:peers`` (hash participant id → peer JSON: who, role, media, hand,
which node holds the connection, connected or waiting to resume), ``sig:M:lobby`` (hash of
waiting participants), ``sig:M:ver`` (bumped with every change of ``peers``, so that each node
can keep the room's peers in memory and re-read them only when they changed), ``sig:M:room``
(hash: locked, ended, recording), ``sig:M:settings`` (the meeting's settings as meeting-service
last published them during the meeting; absent until then, when each ticket's copy counts) and
``sig:M:removed`` (set of removed participant ids and ``u:<user id>``), ``sig:M:present``
(sorted set: participant id → when it first entered the room; a reload or a resume keeps it, a
leave drops it: "the longest present" is its lowest score) and ``sig:M:promoting`` (a short lock:
one node at a time looks for a new cohost when the last moderator left).

``sig:resume:<token>`` maps a resume token to its participant. It lives while the connection is
up and for the resume window after it drops, never longer: the peer's JSON names its token, so
the key goes when the peer leaves the room, and a drop gives it the window as its TTL.
``sig:pending-leave`` (sorted by deadline) holds dropped connections that may still resume.
``sig:ticket:<jti>`` marks a signaling ticket as spent (for the ticket's remaining lifetime).

Nodes: ``sig:alive:<node>`` is a node's heartbeat (a TTL it keeps refreshing), ``sig:known-nodes``
the set of nodes that ever announced themselves, ``sig:node-rooms:<node>`` the meetings where a
node holds connections: what a surviving node reads to reap a dead node's peers.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from typing import Any, Literal

from redis.asyncio import Redis

PENDING = "sig:pending-leave"
KNOWN_NODES = "sig:known-nodes"
CACHED_ROOMS = 4096


def _key(meeting_id: str, what: str) -> str:
    return f"sig:{meeting_id}:{what}"


def _resume_key(token: str) -> str:
    return f"sig:resume:{token}"


def _alive_key(node_id: str) -> str:
    return f"sig:alive:{node_id}"


def _node_rooms_key(node_id: str) -> str:
    return f"sig:node-rooms:{node_id}"


class RoomState:
    def __init__(self, kv: Redis) -> None:
        self.kv = kv
        # meeting id → (version, peers, live settings): every frame to a room needs its peers
        # (and chat its settings), and re-reading and decoding a hash of 50 JSON documents per
        # chat line was the fan-out's main cost.
        self._rooms: dict[str, tuple[Any, dict[str, dict[str, Any]], dict[str, Any] | None]] = {}

    async def live(
        self, meeting_id: str
    ) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None]:
        """The room's peers and its live settings (``None``: none published during the meeting).

        Callers must not change what is returned: it may be shared."""
        # The version is read before the hash: a change in between makes the next call re-read.
        version = await self.kv.get(_key(meeting_id, "ver"))
        cached = self._rooms.get(meeting_id)
        if cached is not None and version is not None and cached[0] == version:
            return cached[1], cached[2]
        async with self.kv.pipeline(transaction=False) as pipe:
            pipe.hgetall(_key(meeting_id, "peers"))
            pipe.get(_key(meeting_id, "settings"))
            raw, raw_settings = await pipe.execute()
        peers = {str(pid): json.loads(value) for pid, value in raw.items()}
        settings = json.loads(raw_settings) if raw_settings else None
        if len(self._rooms) >= CACHED_ROOMS:
            self._rooms.pop(next(iter(self._rooms)))
        self._rooms[meeting_id] = (version, peers, settings)
        return peers, settings

    async def peers(self, meeting_id: str) -> dict[str, dict[str, Any]]:
        """The room's peers (callers must not change the returned dict: it may be shared)."""
        return (await self.live(meeting_id))[0]

    async def set_settings(self, meeting_id: str, settings: dict[str, Any]) -> None:
        """The meeting's settings changed during the meeting: every node sees them at once
        (the version bump invalidates each node's cached copy)."""
        async with self.kv.pipeline(transaction=True) as pipe:
            pipe.set(_key(meeting_id, "settings"), json.dumps(settings))
            pipe.incr(_key(meeting_id, "ver"))
            await pipe.execute()

    async def peer(self, meeting_id: str, peer_id: str) -> dict[str, Any] | None:
        raw = await self.kv.hget(_key(meeting_id, "peers"), peer_id)
        return json.loads(raw) if raw else None

    async def put_peer(self, meeting_id: str, peer: dict[str, Any]) -> None:
        async with self.kv.pipeline(transaction=True) as pipe:
            pipe.hset(_key(meeting_id, "peers"), peer["id"], json.dumps(peer))
            pipe.incr(_key(meeting_id, "ver"))
            await pipe.execute()

    async def update_peer(
        self, meeting_id: str, peer_id: str, **changes: Any
    ) -> dict[str, Any] | None:
        peer = await self.peer(meeting_id, peer_id)
        if peer is None:
            return None
        peer.update(changes)
        await self.put_peer(meeting_id, peer)
        return peer

    async def drop_peer(self, meeting_id: str, peer_id: str) -> dict[str, Any] | None:
        """Out of the room, resume token gone; the peer as it was, or ``None`` if not there."""
        key = _key(meeting_id, "peers")
        async with self.kv.pipeline(transaction=True) as pipe:
            pipe.hget(key, peer_id)
            pipe.hdel(key, peer_id)
            pipe.incr(_key(meeting_id, "ver"))
            pipe.zrem(_key(meeting_id, "present"), peer_id)
            raw, deleted, *_ = await pipe.execute()
        if not (raw and deleted):
            return None
        peer: dict[str, Any] = json.loads(raw)
        if peer.get("resume"):
            await self.kv.delete(_resume_key(str(peer["resume"])))
        return peer

    async def lobby(self, meeting_id: str) -> dict[str, dict[str, Any]]:
        raw = await self.kv.hgetall(_key(meeting_id, "lobby"))
        return {str(pid): json.loads(value) for pid, value in raw.items()}

    async def wait_in_lobby(self, meeting_id: str, peer: dict[str, Any]) -> None:
        await self.kv.hset(_key(meeting_id, "lobby"), peer["id"], json.dumps(peer))

    async def leave_lobby(self, meeting_id: str, peer_id: str) -> dict[str, Any] | None:
        """Take someone out of the lobby; ``None`` when they were not (or no longer) there."""
        key = _key(meeting_id, "lobby")
        async with self.kv.pipeline(transaction=True) as pipe:
            pipe.hget(key, peer_id)
            pipe.hdel(key, peer_id)
            raw, deleted = await pipe.execute()
        return json.loads(raw) if raw and deleted else None

    async def room(self, meeting_id: str) -> dict[str, bool]:
        raw = await self.kv.hgetall(_key(meeting_id, "room"))
        return {
            "locked": raw.get("locked") == "1",
            "ended": raw.get("ended") == "1",
            "recording": raw.get("recording") == "1",
        }

    async def set_room(self, meeting_id: str, **flags: bool) -> None:
        await self.kv.hset(
            _key(meeting_id, "room"), mapping={k: "1" if v else "0" for k, v in flags.items()}
        )

    async def media_mode(self, meeting_id: str) -> Literal["mesh", "sfu"]:
        """The media plane the room is on (see :mod:`parley.signaling.plane`)."""
        raw = await self.kv.hget(_key(meeting_id, "room"), "media")
        return "sfu" if raw == "sfu" else "mesh"

    async def set_media_mode(self, meeting_id: str, mode: Literal["mesh", "sfu"]) -> None:
        await self.kv.hset(_key(meeting_id, "room"), "media", mode)

    async def mark_removed(self, meeting_id: str, peer_id: str, user_id: str | None) -> None:
        members = [peer_id] + ([f"u:{user_id}"] if user_id else [])
        await self.kv.sadd(_key(meeting_id, "removed"), *members)

    async def is_removed(self, meeting_id: str, peer_id: str, user_id: str | None) -> bool:
        key = _key(meeting_id, "removed")
        async with self.kv.pipeline(transaction=False) as pipe:
            pipe.sismember(key, peer_id)
            pipe.sismember(key, f"u:{user_id}" if user_id else "-")
            found = await pipe.execute()
        return any(found)

    async def enter_room(self, meeting_id: str, peer: dict[str, Any]) -> str:
        """Put the peer in the room with a new resume token (no expiry while connected: the
        token goes when the peer leaves, or the resume window after a drop); returns it."""
        token = secrets.token_urlsafe(24)
        peer["resume"] = token
        async with self.kv.pipeline(transaction=True) as pipe:
            pipe.set(_resume_key(token), json.dumps([meeting_id, peer["id"]]))
            pipe.hset(_key(meeting_id, "peers"), peer["id"], json.dumps(peer))
            pipe.incr(_key(meeting_id, "ver"))
            # The first entry counts: a reload (a new entry replacing the old) keeps its place.
            pipe.zadd(_key(meeting_id, "present"), {peer["id"]: time.time()}, nx=True)
            await pipe.execute()
        return token

    async def longest_present(self, meeting_id: str) -> list[str]:
        """The room's participant ids, the longest present first."""
        return [str(pid) for pid in await self.kv.zrange(_key(meeting_id, "present"), 0, -1)]

    async def claim_promotion(self, meeting_id: str, holder: str, ttl_s: float) -> bool:
        """Take the room's promotion lock (one node at a time); False while another holds it."""
        key = _key(meeting_id, "promoting")
        return bool(await self.kv.set(key, holder, nx=True, px=max(1, int(ttl_s * 1000))))

    async def release_promotion(self, meeting_id: str, holder: str) -> None:
        """Let go of the promotion lock, if it is still ours (it may have expired meanwhile)."""
        key = _key(meeting_id, "promoting")
        if await self.kv.get(key) == holder:
            await self.kv.delete(key)

    async def resume_target(self, token: str) -> tuple[str, str] | None:
        raw = await self.kv.get(_resume_key(token))
        if not raw:
            return None
        meeting_id, peer_id = json.loads(raw)
        return str(meeting_id), str(peer_id)

    async def resume_window(self, token: str, window_s: float) -> None:
        """The connection dropped: its resume token is good for the window, then gone."""
        await self.kv.expire(_resume_key(token), max(1, math.ceil(window_s)))

    async def forget_resume(self, token: str) -> None:
        """A resume token stops working (its participant entered again with a new one)."""
        await self.kv.delete(_resume_key(token))

    async def resumed(self, token: str) -> None:
        """Connected again: the token lives as long as the connection (until it leaves)."""
        await self.kv.persist(_resume_key(token))

    async def spend_ticket(self, jti: str, expires_at: float) -> bool:
        """A signaling ticket enters once: False when it was presented before."""
        ttl = max(1, math.ceil(expires_at - time.time()) + 1)
        return bool(await self.kv.set(f"sig:ticket:{jti}", "1", nx=True, ex=ttl))

    async def schedule_leave(self, meeting_id: str, peer_id: str, grace_s: float) -> None:
        await self.kv.zadd(PENDING, {f"{meeting_id}|{peer_id}": time.time() + grace_s})

    async def cancel_leave(self, meeting_id: str, peer_id: str) -> bool:
        return bool(await self.kv.zrem(PENDING, f"{meeting_id}|{peer_id}"))

    async def due_leaves(self) -> list[tuple[str, str]]:
        """Dropped connections whose grace ran out, each claimed by exactly one node."""
        due = await self.kv.zrangebyscore(PENDING, 0, time.time())
        claimed = []
        for member in map(str, due):
            if await self.kv.zrem(PENDING, member):
                meeting_id, _, peer_id = member.partition("|")
                claimed.append((meeting_id, peer_id))
        return claimed

    # --- nodes ----------------------------------------------------------------------------

    async def heartbeat(self, node_id: str, ttl_s: float) -> bool:
        """Refresh this node's heartbeat; False when it had lapsed (others may have reaped us)."""
        async with self.kv.pipeline(transaction=True) as pipe:
            pipe.set(_alive_key(node_id), "1", ex=max(1, math.ceil(ttl_s)), get=True)
            pipe.sadd(KNOWN_NODES, node_id)
            previous, _ = await pipe.execute()
        return previous is not None

    async def node_stopped(self, node_id: str) -> None:
        """A clean shutdown: this node holds nothing any more."""
        async with self.kv.pipeline(transaction=True) as pipe:
            pipe.delete(_alive_key(node_id), _node_rooms_key(node_id))
            pipe.srem(KNOWN_NODES, node_id)
            await pipe.execute()

    async def hold_room(self, node_id: str, meeting_id: str) -> None:
        """This node holds a connection in this meeting (what a reaper reads if we die)."""
        await self.kv.sadd(_node_rooms_key(node_id), meeting_id)

    async def release_rooms(self, node_id: str, meeting_ids: list[str]) -> None:
        if meeting_ids:
            await self.kv.srem(_node_rooms_key(node_id), *meeting_ids)

    async def node_rooms(self, node_id: str) -> list[str]:
        return [str(m) for m in await self.kv.smembers(_node_rooms_key(node_id))]

    async def claim_dead_nodes(self, me: str) -> list[tuple[str, list[str]]]:
        """Nodes whose heartbeat lapsed, each claimed by exactly one surviving node, with the
        meetings where they held connections."""
        claimed = []
        for node_id in map(str, await self.kv.smembers(KNOWN_NODES)):
            if node_id == me or await self.kv.exists(_alive_key(node_id)):
                continue
            if await self.kv.srem(KNOWN_NODES, node_id):
                rooms = await self.node_rooms(node_id)
                await self.kv.delete(_node_rooms_key(node_id))
                claimed.append((node_id, rooms))
        return claimed
