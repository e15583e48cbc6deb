"""One signaling node: its live connections and the delivery of frames to any peer.

A frame for a peer held by this node goes straight into that connection's queue; a frame for a
peer on another node is published once per node on ``sig:node:<node id>``, which only that node
listens to. Each connection has a bounded backlog, drained by a writer task while it is not
empty, so one slow client never stalls the others (when its backlog is full it is dropped).
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from prometheus_client import Counter, Gauge, Histogram
from starlette.websockets import WebSocket
from websockets.frames import Frame, Opcode

from parley.core.bus import Bus
from parley.core.wsprotocol import PREPARED_FRAMES
from parley.signaling.errors import CLOSE_POLICY, CLOSE_REPLACED
from parley.signaling.state import RoomState

log = structlog.get_logger("parley.signaling")

CONNECTIONS = Gauge("parley_signaling_connections", "Open signaling WebSockets on this node.")
ROOMS = Gauge("parley_signaling_rooms", "Rooms with a connection on this node.")
MESSAGES = Counter("parley_signaling_messages_total", "Signaling frames.", ["direction"])
RELAY_LATENCY = Histogram(
    "parley_signaling_relay_seconds",
    "From receiving a relayed frame to queueing it for its target.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)
MESSAGES_IN = MESSAGES.labels("in")
MESSAGES_OUT = MESSAGES.labels("out")
SEND_QUEUE = 1000


class Outgoing:
    """A frame on its way to several sockets: its text, and its wire form, made at most once."""

    __slots__ = ("_wire", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        if self._wire is None:
            self._wire = Frame(Opcode.TEXT, self.text.encode()).serialize(mask=False)
        return self._wire


class Connection:
    """A WebSocket held by this node.

    When the server offers the prepared-frame extension (``parley.core.wsprotocol``) and nothing
    is waiting, a frame serialised once per fan-out is written to the socket at once. Otherwise
    frames wait in a backlog drained by a writer task that exists only while there is something
    to write: an idle connection holds no task and no queue (they were a tenth of its memory).
    A client that reads too slowly lets its backlog grow; past ``SEND_QUEUE`` frames it is
    dropped, so it never holds up the others.
    """

    __slots__ = (
        "backlog",
        "closed",
        "meeting_id",
        "peer_id",
        "user_id",
        "websocket",
        "write_now",
        "writer",
    )

    def __init__(
        self, websocket: WebSocket, meeting_id: str, peer_id: str, user_id: str | None = None
    ) -> None:
        self.websocket = websocket
        self.meeting_id = meeting_id
        self.peer_id = peer_id
        self.user_id = user_id  # None for guests; a disabled account's connections are closed
        self.backlog: deque[str | tuple[int, str]] | None = None
        self.writer: asyncio.Task[None] | None = None
        self.closed = False
        extension = websocket.scope.get("extensions", {}).get(PREPARED_FRAMES, {})
        self.write_now: Callable[[bytes], bool] | None = extension.get("write")

    def send(self, frame: dict[str, Any] | str | Outgoing) -> bool:
        """Send a frame; True when it went straight to the socket."""
        if self.closed:
            return False
        if not isinstance(frame, Outgoing):
            text = frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=False)
            frame = Outgoing(text)
        if self.backlog is None and self.write_now is not None and self.write_now(frame.wire):
            return True
        if self.backlog is not None and len(self.backlog) >= SEND_QUEUE:
            log.warning("slow_client_dropped", peer=self.peer_id)
            self.close(CLOSE_POLICY, "too slow")
            return False
        self._push(frame.text)
        return False

    def close(self, code: int, reason: str) -> None:
        """Send what is queued, then close with this code."""
        if self.closed:
            return
        self.closed = True
        self._push((code, reason))

    def stop(self) -> None:
        """The socket is gone: forget what was waiting."""
        self.closed = True
        self.backlog = None
        if self.writer is not None:
            self.writer.cancel()

    def _push(self, item: str | tuple[int, str]) -> None:
        if self.backlog is None:
            self.backlog = deque((item,))
            self.writer = asyncio.create_task(self._write(self.backlog))
        else:
            self.backlog.append(item)

    async def _write(self, backlog: deque[str | tuple[int, str]]) -> None:
        try:
            while backlog:
                item = backlog.popleft()
                if isinstance(item, tuple):
                    await self.websocket.close(item[0], item[1])
                    backlog.clear()
                    return
                await self.websocket.send_text(item)
        except Exception:  # the socket went away; the reader notices and cleans up
            self.closed = True
            backlog.clear()
        finally:
            if self.backlog is backlog:
                self.backlog = None
                self.writer = None


class Hub:
    def __init__(self, state: RoomState, bus: Bus) -> None:
        self.state = state
        self.bus = bus
        self.node_id = uuid.uuid4().hex[:12]
        self.local: dict[str, Connection] = {}
        self.rooms: collections.Counter[str] = collections.Counter()  # meeting id → connections
        self.messages_in = 0
        self.messages_out = 0
        self.written_directly = 0  # frames that took the prepared-frame path
        self.relay_ms: deque[float] = deque(maxlen=1000)
        # The task that keeps this node's heartbeat fresh (``tasks.keep_alive``): while it
        # lapses, other nodes take this node for dead and reap its peers.
        self.heartbeat: asyncio.Task[None] | None = None

    @property
    def channel(self) -> str:
        return f"sig:node:{self.node_id}"

    async def start(self) -> None:
        await self.bus.add_subscription(self.channel, self._on_node_message)

    def attach(self, connection: Connection) -> None:
        old = self.local.get(connection.peer_id)
        if old is not None and old is not connection:
            old.close(CLOSE_REPLACED, "replaced by a newer connection")
            self._forget(old)
        self.local[connection.peer_id] = connection
        self.rooms[connection.meeting_id] += 1
        self._gauges()

    def detach(self, connection: Connection) -> None:
        if self.local.get(connection.peer_id) is connection:
            del self.local[connection.peer_id]
            self._forget(connection)
        self._gauges()

    def _forget(self, connection: Connection) -> None:
        self.rooms[connection.meeting_id] -= 1
        if self.rooms[connection.meeting_id] <= 0:
            del self.rooms[connection.meeting_id]

    def _gauges(self) -> None:
        CONNECTIONS.set(len(self.local))
        ROOMS.set(len(self.rooms))

    async def deliver(
        self,
        meeting_id: str,
        frame: dict[str, Any],
        *,
        to: Iterable[str] | None = None,
        exclude: str | None = None,
        peers: dict[str, dict[str, Any]] | None = None,
        close: tuple[int, str] | None = None,
    ) -> int:
        """Send ``frame`` to these peers (default: everyone in the room); returns how many."""
        if peers is None:
            peers = await self.state.peers(meeting_id)
        targets = list(to) if to is not None else list(peers)
        by_node: dict[str, list[str]] = {}
        text = json.dumps(frame, ensure_ascii=False)
        outgoing = Outgoing(text)
        local = remote = 0
        for peer_id in targets:
            if peer_id == exclude:
                continue
            peer = peers.get(peer_id)
            node = peer.get("node") if peer else self.node_id
            if node == self.node_id:
                local += self._deliver_local(peer_id, outgoing, close)
            elif node:
                by_node.setdefault(node, []).append(peer_id)
                remote += 1
        self._count_out(local)
        for node, peer_ids in by_node.items():
            message = {"to": peer_ids, "frame": text, "close": close}
            await self.bus.publish(f"sig:node:{node}", json.dumps(message))
        return local + remote

    def _count_out(self, frames: int) -> None:
        # Once per fan-out rather than per frame: the metric takes a lock on every call.
        self.messages_out += frames
        MESSAGES_OUT.inc(frames)

    def _deliver_local(
        self, peer_id: str, outgoing: Outgoing, close: tuple[int, str] | None
    ) -> int:
        connection = self.local.get(peer_id)
        if connection is None:
            return 0
        if connection.send(outgoing):
            self.written_directly += 1
        if close is not None:
            connection.close(*close)
        return 1

    def deliver_here(self, peer_ids: Iterable[str], frame: dict[str, Any]) -> int:
        """Send ``frame`` to those of these peers whose connections this node holds."""
        outgoing = Outgoing(json.dumps(frame, ensure_ascii=False))
        sent = sum(self._deliver_local(p, outgoing, None) for p in peer_ids)
        self._count_out(sent)
        return sent

    def _on_node_message(self, data: str) -> None:
        try:
            message = json.loads(data)
            close = tuple(message["close"]) if message.get("close") else None
            outgoing = Outgoing(message["frame"])
            self._count_out(sum(self._deliver_local(p, outgoing, close) for p in message["to"]))
        except (ValueError, KeyError, TypeError):
            log.warning("bad_node_message", data=data[:200])

    def stats(self) -> dict[str, Any]:
        ordered = sorted(self.relay_ms)
        return {
            "node": self.node_id,
            "connections": len(self.local),
            "rooms": len(self.rooms),
            "messages_in": self.messages_in,
            "messages_out": self.messages_out,
            "relay_latency_ms_p50": ordered[len(ordered) // 2] if ordered else None,
            "updated_at": time.time(),
        }
