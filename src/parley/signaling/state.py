"""Room state in the key-value store, shared by every signaling node.

Per meeting ``M``: ``sig:M:peers`` (hash participant id → peer JSON: who, role, media, hand,
which node holds the connection, connected or waiting to resume), ``sig:M:lobby`` (hash of
waiting participants), ``sig:M:ver`` (bumped with every change of ``peers``, so that each node
can keep the room's peers in memory and re-read them only when they changed), ``sig:M:room``
(hash: locked, ended, recording) and ``sig:M:removed`` (set of
removed participant ids and ``u:<user id>``). ``sig:resume:<token>`` maps a resume token to its
participant; ``sig:pending-leave`` (sorted by deadline) holds dropped connections that may still
resume.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from redis.asyncio import Redis

RESUME_TTL_S = 24 * 3600
PENDING = "sig:pending-leave"
CACHED_ROOMS = 4096


def _key(meeting_id: str, what: str) -> str:
    return f"sig:{meeting_id}:{what}"


class RoomState:
    def __init__(self, kv: Redis) -> None:
        self.kv = kv
        # meeting id → (version, peers): every frame to a room needs its peers, and re-reading
        # and decoding a hash of 50 JSON documents per chat line was the fan-out's main cost.
        self._rooms: dict[str, tuple[Any, dict[str, dict[str, Any]]]] = {}

    async def peers(self, meeting_id: str) -> dict[str, dict[str, Any]]:
        """The room's peers (callers must not change the returned dict: it may be shared)."""
        # The version is read before the hash: a change in between makes the next call re-read.
        version = await self.kv.get(_key(meeting_id, "ver"))
        cached = self._rooms.get(meeting_id)
        if cached is not None and version is not None and cached[0] == version:
            return cached[1]
        raw = await self.kv.hgetall(_key(meeting_id, "peers"))
        peers = {str(pid): json.loads(value) for pid, value in raw.items()}
        if len(self._rooms) >= CACHED_ROOMS:
            self._rooms.pop(next(iter(self._rooms)))
        self._rooms[meeting_id] = (version, peers)
        return peers

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

    async def drop_peer(self, meeting_id: str, peer_id: str) -> bool:
        async with self.kv.pipeline(transaction=True) as pipe:
            pipe.hdel(_key(meeting_id, "peers"), peer_id)
            pipe.incr(_key(meeting_id, "ver"))
            deleted, _ = await pipe.execute()
        return bool(deleted)

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

    async def new_resume_token(self, meeting_id: str, peer_id: str) -> str:
        token = secrets.token_urlsafe(24)
        await self.kv.set(f"sig:resume:{token}", json.dumps([meeting_id, peer_id]), ex=RESUME_TTL_S)
        return token

    async def resume_target(self, token: str) -> tuple[str, str] | None:
        raw = await self.kv.get(f"sig:resume:{token}")
        if not raw:
            return None
        meeting_id, peer_id = json.loads(raw)
        return str(meeting_id), str(peer_id)

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
