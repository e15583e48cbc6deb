"""Connection probes: a browser's offer answered by this node's own Janus, so that the join
page's connection check tests the real media server, not only the STUN/TURN servers.

A probe is one publisher in a dedicated VideoRoom (:data:`PROBE_ROOM`), made once per Janus
session with a secret and pin of its own (derived from the admin key like every room's),
``is_private`` and ``require_pvtid``. Nobody ever subscribes to it: the pin is never handed
out, a subscriber would also need a publisher's ``private_id``, which stays here, and Parley
makes no subscriber in it. Whatever a probe sends goes nowhere. Each probe joins under a random
feed id, publishes the offer, hands Janus's answer back and is detached after :data:`TTL_S` (or
when the page says it is done), whether or not its ICE ever connected.

Why the session of :class:`~parley.rtc.rooms.SfuRooms` (through ``sfu_rooms(app)``) and not a
session of its own: one Janus session per node, with one long poll and one keep-alive, already
exists and follows Janus's restarts (a lost session is made anew on the next request; the probe
room is then made again, see :meth:`Probes._ensure_room`). Its event handler ignores handles it
does not own, so a probe's events (``webrtcup``, ``hangup``, other probes appearing) go nowhere.
Janus's own URL and secrets come from the settings only: no URL a caller sends is ever used.

Open to anyone (a guest checks before joining): the router limits each client address
(:data:`PER_ADDRESS`), and this module caps how many probes one node holds at once
(:data:`CAPACITY`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from parley.rtc.janus import NO_SUCH_SESSION, JanusError, JanusSession
from parley.rtc.rooms import ROOM_EXISTS, SfuRooms, SfuUnavailable

log = structlog.get_logger("parley.rtc.probe")

PROBE_ROOM = "parley-connection-check"
"""The VideoRoom every probe publishes into (not a UUID: never a meeting's room)."""
TTL_S = 15.0
"""How long a probe's publisher lives: the page's check takes about 5 s."""
CAPACITY = 20
"""Probes one node holds at once; one more is refused (503, try again after :data:`TTL_S`)."""
PER_ADDRESS = 6
"""Probes one client address may open per :data:`WINDOW_S` (a check opens one or two)."""
WINDOW_S = 60
PROBE_BITRATE = 64_000
"""Janus's cap on what a probe may send (REMB): it is there to connect, not to stream."""


class ProbesFull(Exception):
    """This node holds :attr:`Probes.capacity` probes already."""


class OfferRefused(Exception):
    """Janus refused the offer itself (not an SDP it can answer)."""


@dataclass
class Probe:
    id: str
    handle: int
    session: JanusSession
    timer: asyncio.TimerHandle | None = None


@dataclass
class Probes:
    """This node's probes: opened on an offer, closed on request or after ``ttl_s``."""

    rooms: SfuRooms
    ttl_s: float = TTL_S
    capacity: int = CAPACITY
    per_address: int = PER_ADDRESS
    window_s: int = WINDOW_S
    open_now: dict[str, Probe] = field(default_factory=dict)
    _starting: int = 0
    _room_session: JanusSession | None = None
    _room_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def held(self) -> int:
        """Probes open or being opened."""
        return len(self.open_now) + self._starting

    async def open(self, sdp: str) -> tuple[str, str]:
        """Publish ``sdp`` (an offer) into the probe room: ``(probe id, Janus's answer)``.

        Raises :class:`ProbesFull`, :class:`OfferRefused`, or
        :class:`~parley.rtc.rooms.SfuUnavailable` (Janus down or refusing)."""
        if self.held >= self.capacity:
            raise ProbesFull()
        self._starting += 1
        try:
            return await self._open(sdp)
        finally:
            self._starting -= 1

    async def _open(self, sdp: str) -> tuple[str, str]:
        session = await self.rooms._session()
        pin = await self._ensure_room(session)
        probe_id = str(uuid.uuid4())
        try:
            handle = await session.attach()
        except JanusError as exc:
            raise SfuUnavailable(str(exc)) from exc
        probe = Probe(probe_id, handle, session)
        try:
            await session.message(
                handle,
                {
                    "request": "join",
                    "ptype": "publisher",
                    "room": PROBE_ROOM,
                    "id": probe_id,
                    "display": "connection check",
                    "pin": pin,
                },
            )
            reply = await session.message(
                handle,
                {"request": "publish", "bitrate": PROBE_BITRATE},
                {"type": "offer", "sdp": sdp},
            )
        except JanusError as exc:
            await session.detach(handle)
            if exc.code in (0, NO_SUCH_SESSION):
                raise SfuUnavailable(str(exc)) from exc
            raise OfferRefused(exc.reason) from exc
        if reply.jsep is None or reply.jsep.get("type") != "answer":
            await session.detach(handle)
            raise OfferRefused("Janus sent no answer to the offer")
        self.open_now[probe_id] = probe
        probe.timer = asyncio.get_running_loop().call_later(
            self.ttl_s, self._spawn, lambda: self.close(probe_id)
        )
        log.info("connection_probe_opened", probe=probe_id, open=len(self.open_now))
        return probe_id, str(reply.jsep["sdp"])

    async def close(self, probe_id: str) -> bool:
        """Detach a probe's publisher (its peer connection goes with it); ``False`` when
        there was none by that id (expired, closed, or never)."""
        probe = self.open_now.pop(probe_id, None)
        if probe is None:
            return False
        if probe.timer is not None:
            probe.timer.cancel()
        if not probe.session.lost:
            with contextlib.suppress(JanusError):
                await probe.session.detach(probe.handle)
        log.info("connection_probe_closed", probe=probe_id, open=len(self.open_now))
        return True

    async def close_all(self) -> None:
        for probe_id in list(self.open_now):
            await self.close(probe_id)

    async def _ensure_room(self, session: JanusSession) -> str:
        """Make the probe room on this session's Janus once (again after a restart: rooms
        go with Janus); returns its pin."""
        pin = self.rooms._derive(PROBE_ROOM, "probe-pin")
        if self._room_session is session:
            return pin
        async with self._room_lock:
            if self._room_session is session:
                return pin
            secret = self.rooms._derive(PROBE_ROOM, "probe-secret")
            body = {
                "request": "create",
                "room": PROBE_ROOM,
                "description": "Parley connection checks (no subscribers)",
                "admin_key": self.rooms.admin_key,
                "secret": secret,
                "pin": pin,
                "is_private": True,
                "require_pvtid": True,
                "publishers": self.capacity,
                "bitrate": PROBE_BITRATE,
                "bitrate_cap": True,
                "audiocodec": "opus",
                "videocodec": "vp8",
                "notify_joining": False,
                "record": False,
            }
            try:
                try:
                    await self.rooms._admin(body)
                except JanusError as exc:
                    if exc.code != ROOM_EXISTS:
                        raise
                    # Left by an earlier run of Parley: made afresh, with today's settings.
                    destroy = {"request": "destroy", "room": PROBE_ROOM, "secret": secret}
                    await self.rooms._admin(destroy)
                    await self.rooms._admin(body)
            except JanusError as exc:
                raise SfuUnavailable(f"the probe room: {exc}") from exc
            # Probes of a lost session are gone with it.
            for probe_id in [p.id for p in self.open_now.values() if p.session is not session]:
                await self.close(probe_id)
            self._room_session = session
            log.info("connection_probe_room_created", room=PROBE_ROOM)
        return pin

    def _spawn(self, work: Callable[[], object]) -> None:
        async def run() -> None:
            try:
                result = work()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("connection_probe_task_failed")

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def probes_of(rooms: SfuRooms, holder: object) -> Probes:
    """The :class:`Probes` kept on ``holder`` (the app's state) for these rooms."""
    found: Probes | None = getattr(holder, "connection_probes", None)
    if found is None or found.rooms is not rooms:
        found = Probes(rooms)
        setattr(holder, "connection_probes", found)  # noqa: B010
    return found
