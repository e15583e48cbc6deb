"""Parley's side of the VideoRoom: one Janus room per meeting, two handles per participant.

Each participant in an SFU room has a *publisher* handle (joined as publisher with its
participant id as feed id, its own ``allowed`` token and the room's pin, whether or not it sends
anything: that handle is also where Janus tells it about the others' feeds) and, once there is
something to receive, a *subscriber* handle (joined with the room's pin and its publisher's
``private_id``, as ``require_pvtid`` demands). Browsers never see any of these secrets: they
exchange SDP with Parley's signaling, which calls this module.

Subscriptions follow Janus's own events: a ``publishers`` event on a participant's publisher
handle (a feed became active) adds those feeds to its subscription, and Janus renegotiates a
subscriber by itself when a feed it receives goes away. Every offer for a subscriber is pushed
to the participant (``notify``) and answered through :meth:`SfuRooms.subscriber_answer`; one
negotiation per subscriber at a time.

Moderation is enforced here, not only asked of the client: removal kicks the feed and takes
its token out of ``allowed``, a host's mute stops the audio at the SFU (``moderate``), the end of
a meeting destroys the room. When Janus restarts, the session is lost: every participant is told
(``sfu-restart``), the rooms are made again as participants come back and publish anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog

from parley.rtc.forwarding import CONGESTION_S, Forwarding, Layer, Speakers, video_streams
from parley.rtc.janus import JanusError, JanusSession, Reply

log = structlog.get_logger("parley.rtc")

Notify = Callable[[str, list[str], dict[str, Any]], Awaitable[None]]
"""``(meeting_id, participant ids, frame)``: push a frame to participants through signaling."""

ANSWER_TIMEOUT_S = 10.0
"""How long a subscriber's renegotiation waits for the browser's answer before the next one."""
ROOM_EXISTS = 427
NO_SUCH_FEED = 428
ID_EXISTS = 436
MAX_PUBLISHERS = 100
SESSION_RETRY_S = 0.5
SESSION_WAIT_S = 5.0
"""How long a join or publish waits for a Janus that is not answering (its supervisor restarts
it within a second or two) before the SFU counts as unavailable."""
RESTART_WAIT_S = 30.0
"""After a lost session, how long pages are held back from publishing again while Janus comes
back: told at once, they would only fail and put their room back in the mesh."""


@dataclass
class Member:
    """A participant as the SFU knows them."""

    participant_id: str
    display_name: str
    token: str
    publisher: int | None = None
    private_id: int | None = None
    subscriber: int | None = None
    published: bool = False
    fingerprint: str = ""
    """The DTLS fingerprint of the page's publishing connection (a new one: a new handle)."""
    streams: list[dict[str, Any]] = field(default_factory=list)
    """The publisher's own streams as Janus described them (type, mid)."""
    receiving: list[dict[str, Any]] = field(default_factory=list)
    """What the subscriber receives: Janus's stream list of the last offer."""
    muted: set[str] = field(default_factory=set)
    remotes: set[str] = field(default_factory=set)
    """The other media nodes its publisher is sent to (:mod:`parley.rtc.remote`)."""
    forwarding: Forwarding = field(default_factory=Forwarding)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One publisher negotiation (join, publish, republish) at a time."""
    subscribing: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One subscriber negotiation at a time: apart from ``lock``, so that a newcomer's
    subscription is offered while its own publish is still being answered."""
    answered: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Room:
    meeting_id: str
    secret: str
    pin: str
    members: dict[str, Member] = field(default_factory=dict)
    created: bool = False
    remote_feeds: set[str] = field(default_factory=set)
    """Participants of other media nodes forwarded into this room (remote publishers)."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    speakers: Speakers = field(default_factory=Speakers)


class SfuUnavailable(Exception):
    """No Janus to put the room on (not configured, down, or refusing)."""


class SfuRooms:
    """Every SFU room of this media node, on one Janus session."""

    def __init__(
        self,
        url: str,
        api_secret: str | None,
        admin_key: str,
        notify: Notify,
        *,
        last_n: int = 9,
        last_n_above: int = 25,
    ) -> None:
        self.url = url
        self.last_n = last_n
        self.last_n_above = last_n_above
        self.api_secret = api_secret
        self.admin_key = admin_key
        self.notify = notify
        self.rooms: dict[str, Room] = {}
        self.session: JanusSession | None = None
        self._handles: dict[int, tuple[str, str, Literal["publisher", "subscriber"]]] = {}
        self._connecting = asyncio.Lock()
        self._attaching = asyncio.Lock()
        self._admin_handle: int | None = None
        self._admin_session: JanusSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.restarts = 0

    # ---- the session ------------------------------------------------------------------------

    async def _session(self, wait_s: float = SESSION_WAIT_S) -> JanusSession:
        """The Janus session, made when there is none; a Janus that does not answer is tried
        again for ``wait_s`` (a restart by the supervisor takes a moment)."""
        session = self.session
        if session is not None and not session.lost:
            return session
        deadline = time.monotonic() + wait_s
        while True:
            async with self._connecting:  # not held while waiting: others try on their own
                if self.session is not None and not self.session.lost:
                    return self.session
                session = JanusSession(
                    self.url, self.api_secret, on_event=self._on_event, on_lost=self._on_lost
                )
                try:
                    await session.create()
                except JanusError as exc:
                    failure = exc
                else:
                    self.session = session
                    return session
            if time.monotonic() + SESSION_RETRY_S > deadline:
                raise SfuUnavailable(str(failure)) from failure
            await asyncio.sleep(SESSION_RETRY_S)

    def _on_lost(self) -> None:
        """Janus restarted or went away: its rooms and handles are gone with it. Everyone is
        told to publish again once it answers again; the rooms are made anew as they do."""
        self.restarts += 1
        rooms = list(self.rooms.values())
        self.rooms.clear()
        self._handles.clear()
        self._spawn(self._tell_restarted(rooms))

    async def _tell_restarted(self, rooms: list[Room]) -> None:
        with contextlib.suppress(SfuUnavailable):  # still down: they are told all the same
            await self._session(RESTART_WAIT_S)
        for room in rooms:
            await self.notify(room.meeting_id, list(room.members), {"type": "sfu-restart"})

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("sfu_task_failed")

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self.session is not None:
            await self.session.destroy()
            self.session = None

    async def available(self) -> bool:
        try:
            await self._session(wait_s=0)
        except SfuUnavailable:
            return False
        return True

    # ---- rooms ------------------------------------------------------------------------------

    def _derive(self, meeting_id: str, what: str) -> str:
        """A room's secret and pin, derived from the admin key: the same after a restart of
        Parley, so that a room Janus still holds can be managed (and destroyed) again."""
        digest = hmac.new(self.admin_key.encode(), f"{what}:{meeting_id}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    async def _room(self, meeting_id: str) -> Room:
        room = self.rooms.get(meeting_id)
        if room is None:
            room = self.rooms[meeting_id] = Room(
                meeting_id, self._derive(meeting_id, "secret"), self._derive(meeting_id, "pin")
            )
        if room.created:
            return room
        async with room.lock:
            if room.created:
                return room
            body = {
                "request": "create",
                "room": meeting_id,
                "admin_key": self.admin_key,
                "secret": room.secret,
                "pin": room.pin,
                "require_pvtid": True,
                "is_private": True,
                "allowed": [],
                "publishers": MAX_PUBLISHERS,
                "videocodec": "vp8",
                "audiocodec": "opus",
                "audiolevel_event": True,
                "notify_joining": False,
                # Server-side recording (rtc/recording.py sets ``recordings_dir``): the room's
                # .mjr files go in a folder of its own, once recording is enabled.
                **(
                    {"record": False, "rec_dir": f"{rec}/{meeting_id}"}
                    if (rec := getattr(self, "recordings_dir", None))
                    else {}
                ),
            }
            try:
                await self._admin(body)
            except JanusError as exc:
                if exc.code != ROOM_EXISTS:
                    raise
                # Left by an earlier run: make it afresh (its handles died with it).
                await self._admin({"request": "destroy", "room": meeting_id, "secret": room.secret})
                await self._admin(body)
            room.created = True
            log.info("sfu_room_created", meeting_id=meeting_id)
        return room

    async def _admin(self, body: dict[str, Any]) -> Reply:
        """A room-management request (create, allowed, kick, moderate, destroy, remote
        publishers) on the session's one management handle: attached once per Janus session,
        not per request, which took two more round trips to Janus off every join."""
        session = await self._session()
        async with self._attaching:
            if self._admin_handle is None or self._admin_session is not session:
                self._admin_handle = await session.attach()
                self._admin_session = session
            handle = self._admin_handle
        return await session.message(handle, body)

    # ---- participants -----------------------------------------------------------------------

    async def join(self, meeting_id: str, participant_id: str, display_name: str) -> Member:
        """Put a participant in the SFU room (idempotent): their publisher handle joins, and
        they are subscribed to the feeds already there."""
        try:
            room = await self._room(meeting_id)
        except JanusError as exc:
            raise SfuUnavailable(str(exc)) from exc
        member = room.members.get(participant_id)
        if member is not None and member.publisher is not None:
            return member
        if member is None:
            member = room.members[participant_id] = Member(
                participant_id, display_name, secrets.token_urlsafe(16)
            )
        async with member.lock:
            if member.publisher is not None:
                return member
            await self._admin(
                {
                    "request": "allowed",
                    "secret": room.secret,
                    "room": meeting_id,
                    "action": "add",
                    "allowed": [member.token],
                }
            )
            session = await self._session()
            handle = await session.attach()
            self._handles[handle] = (meeting_id, participant_id, "publisher")
            body = {
                "request": "join",
                "ptype": "publisher",
                "room": meeting_id,
                "id": participant_id,
                "display": display_name[:100],
                "pin": room.pin,
                "token": member.token,
            }
            try:
                joined = await session.message(handle, body)
            except JanusError as exc:
                if exc.code != ID_EXISTS:
                    raise
                # A stale feed of the same participant (an earlier connection): out with it.
                await self._kick(room, participant_id)
                joined = await session.message(handle, body)
            member.publisher = handle
            member.private_id = joined.data.get("private_id")
        feeds = [str(p["id"]) for p in joined.data.get("publishers", [])]
        if feeds:
            self._spawn(self._subscribe(meeting_id, participant_id, feeds))
        return member

    async def publish(
        self,
        meeting_id: str,
        participant_id: str,
        display_name: str,
        offer: dict[str, Any],
        screen_mid: str | None = None,
    ) -> dict[str, Any]:
        """The participant's offer (camera, microphone, screen) → Janus's answer."""
        fingerprint = _fingerprint(offer.get("sdp", ""))
        member = await self.join(meeting_id, participant_id, display_name)
        if member.published and fingerprint != member.fingerprint:
            # A new connection (the page's old one failed): Janus cannot move a handle to new
            # ICE credentials and DTLS, so the publisher starts over on a fresh handle.
            await self._drop_publisher(member)
            member = await self.join(meeting_id, participant_id, display_name)
        session = await self._session()
        async with member.lock:
            if member.publisher is None:
                raise SfuUnavailable("the participant left the room meanwhile")
            body: dict[str, Any] = {
                "request": "configure" if member.published else "publish",
                "descriptions": [{"mid": screen_mid, "description": "screen"}]
                if screen_mid
                else [],
            }
            reply = await session.message(member.publisher, body, _jsep(offer))
            if reply.jsep is None:
                raise JanusError(0, "Janus sent no answer to the offer")
            first = not member.published
            member.published = True
            member.fingerprint = fingerprint
            member.streams = list(reply.data.get("streams", member.streams))
            for kind in list(member.muted):
                await self._moderate(meeting_id, member, kind, True)
        room = self.rooms.get(meeting_id)
        if first and room is not None and self._shown(room) is not None:
            # One publisher more may make the room large: everyone's cameras are chosen anew.
            self._spawn(self._forward_all(meeting_id))
        return {"type": "answer", "sdp": reply.jsep["sdp"]}

    async def _drop_publisher(self, member: Member) -> None:
        """Unpublish and let go of a member's publisher handle (its subscriber stays)."""
        async with member.lock:
            handle, member.publisher = member.publisher, None
            member.published = False
            if handle is None or self.session is None:
                return
            self._handles.pop(handle, None)
            member.remotes.clear()  # they went with the handle: signaling sends them again
            with contextlib.suppress(JanusError):  # often gone with the failed connection
                await self.session.message(handle, {"request": "unpublish"})
            await self.session.detach(handle)

    async def subscriber_answer(
        self, meeting_id: str, participant_id: str, answer: dict[str, Any]
    ) -> None:
        """The browser's answer to the last subscriber offer: Janus starts sending."""
        member = self._member(meeting_id, participant_id)
        if member is None or member.subscriber is None:
            raise SfuUnavailable("nothing to answer")
        session = await self._session()
        await session.message(member.subscriber, {"request": "start"}, _jsep(answer))
        member.answered.set()
        room = self.rooms.get(meeting_id)
        if room is not None and (member.forwarding.layers or self._shown(room) is not None):
            # New streams start at Janus's default: apply the page's layers and last-N to them.
            await self._forward(meeting_id, member)

    async def leave(self, meeting_id: str, participant_id: str, *, kick: bool = False) -> None:
        """The participant leaves the SFU room: unpublished (subscribers renegotiate at once, a
        plain leave would freeze them), handles detached; ``kick`` also takes their token out
        of ``allowed`` and kicks their feed, so that nothing of theirs is forwarded again."""
        room = self.rooms.get(meeting_id)
        member = room.members.pop(participant_id, None) if room else None
        if room is not None:
            room.speakers.forget(participant_id)
        if room is None or member is None or self.session is None or self.session.lost:
            return
        if member.published:  # the last speakers, or the whole room again, for the others
            self._spawn(self._forward_all(meeting_id))
        session = self.session
        if kick:
            await self._kick(room, participant_id)
        steps: list[tuple[str, Awaitable[Any]]] = []
        for node in member.remotes:  # forwarding stops with the publisher only when told
            remote = {"request": "unpublish_remotely", "secret": room.secret, "room": meeting_id}
            remote |= {"publisher_id": participant_id, "remote_id": node}
            steps.append(("unpublish remotely", self._admin(remote)))
        if member.publisher is not None:
            self._handles.pop(member.publisher, None)
            if member.published:
                # Often already gone (the page closed its connection first): that is fine.
                unpublish = session.message(member.publisher, {"request": "unpublish"})
                steps.append(("unpublish", unpublish))
            steps.append(("detach publisher", session.detach(member.publisher)))
        if member.subscriber is not None:
            self._handles.pop(member.subscriber, None)
            steps.append(("detach subscriber", session.detach(member.subscriber)))
        revoke = {
            "request": "allowed",
            "secret": room.secret,
            "room": meeting_id,
            "action": "remove",
            "allowed": [member.token],
        }
        steps.append(("revoke token", self._admin(revoke)))
        for what, step in steps:
            try:
                await step
            except JanusError as exc:
                log.info("sfu_leave_step_failed", step=what, error=str(exc))

    async def end(self, meeting_id: str) -> None:
        """The meeting ended: the room and every feed in it are destroyed."""
        room = self.rooms.pop(meeting_id, None)
        if room is None or self.session is None or self.session.lost:
            return
        for member in room.members.values():
            for handle in (member.publisher, member.subscriber):
                if handle is not None:
                    self._handles.pop(handle, None)
        with contextlib.suppress(JanusError):
            await self._admin({"request": "destroy", "room": meeting_id, "secret": room.secret})
        log.info("sfu_room_destroyed", meeting_id=meeting_id)

    async def moderate(
        self, meeting_id: str, participant_id: str, kind: Literal["audio", "video"], muted: bool
    ) -> None:
        """Stop (or let through again) a participant's audio or video at the SFU."""
        member = self._member(meeting_id, participant_id)
        if member is None:
            return
        if muted:
            member.muted.add(kind)
        else:
            member.muted.discard(kind)
        if member.published:
            await self._moderate(meeting_id, member, kind, muted)

    async def _moderate(self, meeting_id: str, member: Member, kind: str, muted: bool) -> None:
        room = self.rooms[meeting_id]
        for stream in member.streams:
            if stream.get("type") == kind and stream.get("description") != "screen":
                await self._admin(
                    {
                        "request": "moderate",
                        "secret": room.secret,
                        "room": meeting_id,
                        "id": member.participant_id,
                        "mid": str(stream["mid"]),
                        "mute": muted,
                    }
                )

    async def layer(self, meeting_id: str, participant_id: str, feed: str, layer: Layer) -> None:
        """Which simulcast layer of ``feed``'s camera this participant receives (or none)."""
        member = self._member(meeting_id, participant_id)
        if member is None:
            return
        member.forwarding.layers[feed] = layer
        await self._forward(meeting_id, member)

    def _shown(self, room: Room, viewer: str | None = None) -> set[str] | None:
        """Whose video is forwarded to ``viewer``: everyone's, or in a large room only the
        last speakers' other than the viewer themself (:mod:`parley.rtc.forwarding`)."""
        publishing = [pid for pid, m in room.members.items() if m.published]
        if len(publishing) <= self.last_n_above:
            return None
        return room.speakers.top(self.last_n, [pid for pid in publishing if pid != viewer])

    async def _forward(self, meeting_id: str, member: Member) -> None:
        """Tell Janus what to send this subscriber, camera by camera."""
        room = self.rooms.get(meeting_id)
        session = self.session
        if room is None or member.subscriber is None or session is None or session.lost:
            return
        streams = video_streams(
            member.receiving,
            member.forwarding,
            self._shown(room, member.participant_id),
            time.monotonic(),
        )
        if streams:
            await session.message(member.subscriber, {"request": "configure", "streams": streams})

    async def _forward_all(self, meeting_id: str) -> None:
        room = self.rooms.get(meeting_id)
        for member in list(room.members.values()) if room else []:
            try:
                await self._forward(meeting_id, member)
            except JanusError as exc:
                log.info("sfu_forward_failed", participant_id=member.participant_id, error=str(exc))

    async def _congested(self, meeting_id: str, member: Member) -> None:
        """Janus lost packets on the way to this subscriber: a layer down, for a while."""
        already = member.forwarding.congested_until > time.monotonic()
        member.forwarding.congested_until = time.monotonic() + CONGESTION_S
        if already:
            return
        await self._forward(meeting_id, member)
        # Further reports meanwhile push the end back; step up once it has passed.
        remaining = CONGESTION_S
        while remaining > 0:
            await asyncio.sleep(remaining + 0.1)
            remaining = member.forwarding.congested_until - time.monotonic()
        await self._forward(meeting_id, member)

    def _member(self, meeting_id: str, participant_id: str) -> Member | None:
        room = self.rooms.get(meeting_id)
        return room.members.get(participant_id) if room else None

    async def _kick(self, room: Room, participant_id: str) -> None:
        try:
            await self._admin(
                {
                    "request": "kick",
                    "secret": room.secret,
                    "room": room.meeting_id,
                    "id": participant_id,
                }
            )
        except JanusError as exc:
            log.info("sfu_kick_failed", participant_id=participant_id, error=str(exc))

    # ---- subscriptions ----------------------------------------------------------------------

    async def _subscribe(self, meeting_id: str, participant_id: str, feeds: list[str]) -> None:
        """Add feeds to a participant's subscription and push the offer Janus makes for it."""
        member = self._member(meeting_id, participant_id)
        room = self.rooms.get(meeting_id)
        if member is None or room is None:
            return
        feeds = [f for f in feeds if f != participant_id and f not in _receiving(member)]
        if not feeds:
            return
        session = await self._session()
        async with member.subscribing:
            # Again under the lock: a subscription made meanwhile may hold some already.
            feeds = [f for f in feeds if f not in _receiving(member)]
            if self._member(meeting_id, participant_id) is not member or not feeds:
                return
            wanted = [{"feed": f} for f in feeds]
            try:
                if member.subscriber is None:
                    handle = await session.attach()
                    self._handles[handle] = (meeting_id, participant_id, "subscriber")
                    reply = await session.message(
                        handle,
                        {
                            "request": "join",
                            "ptype": "subscriber",
                            "room": meeting_id,
                            "pin": room.pin,
                            "private_id": member.private_id,
                            "streams": wanted,
                            "use_msid": True,
                        },
                    )
                    member.subscriber = handle
                else:
                    await self._answered(member)
                    reply = await session.message(
                        member.subscriber, {"request": "update", "subscribe": wanted}
                    )
            except JanusError as exc:
                if exc.code == NO_SUCH_FEED:  # it left meanwhile
                    return
                raise
            if reply.jsep is not None:
                await self._offer(meeting_id, member, reply)

    async def _answered(self, member: Member) -> None:
        """Wait until the browser answered the previous offer (bounded)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(member.answered.wait(), ANSWER_TIMEOUT_S)

    async def _offer(self, meeting_id: str, member: Member, reply: Reply) -> None:
        assert reply.jsep is not None
        member.receiving = list(reply.data.get("streams", []))
        member.answered.clear()
        streams = [
            {
                "mid": str(s.get("mid")),
                "peer": str(s.get("feed_id")),
                "kind": s.get("type"),
                "screen": s.get("feed_description") == "screen",
            }
            for s in member.receiving
            if s.get("active", True) and s.get("feed_id") is not None
        ]
        frame = {
            "type": "sfu-offer",
            "sdp": {"type": "offer", "sdp": reply.jsep["sdp"]},
            "streams": streams,
        }
        await self.notify(meeting_id, [member.participant_id], frame)

    # ---- Janus's own events -----------------------------------------------------------------

    def _on_event(self, handle: int, data: dict[str, Any], jsep: dict[str, Any] | None) -> None:
        owner = self._handles.get(handle)
        if owner is None:
            return
        meeting_id, participant_id, role = owner
        room = self.rooms.get(meeting_id)
        if role == "publisher":
            feeds = [str(p["id"]) for p in data.get("publishers", []) or []]
            if feeds:
                self._spawn(self._subscribe(meeting_id, participant_id, feeds))
            if data.get("videoroom") == "talking" and room is not None:
                self._talking(meeting_id, room, str(data.get("id")))
            return
        member = self._member(meeting_id, participant_id)
        if member is not None and data.get("janus") == "slowlink" and not data.get("uplink"):
            self._spawn(self._congested(meeting_id, member))
            return
        if member is not None and jsep is not None and jsep.get("type") == "offer":
            # Janus renegotiated by itself (a feed went away): the browser answers as usual.
            self._spawn(self._offer(meeting_id, member, Reply(data, jsep)))
        elif member is not None and data.get("videoroom") == "updated" and jsep is None:
            member.receiving = list(data.get("streams", member.receiving))

    def _talking(self, meeting_id: str, room: Room, feed: str) -> None:
        """Someone talks. Every publisher in the room hears of it: the first report changes
        the order; in a large room a new set of last speakers changes whose video goes."""
        # n + 1: a viewer among the last n speakers sees the one after them instead.
        if room.speakers.spoke(feed, self.last_n + 1) and self._shown(room) is not None:
            self._spawn(self._forward_all(meeting_id))

    # ---- figures ----------------------------------------------------------------------------

    def subscriber_handles(self) -> list[int]:
        """Every subscriber handle of this node (their traffic is what the node forwards)."""
        return [
            m.subscriber
            for room in self.rooms.values()
            for m in room.members.values()
            if m.subscriber is not None
        ]

    def stats(self) -> dict[str, int]:
        members = [m for room in self.rooms.values() for m in room.members.values()]
        return {
            "rooms": len(self.rooms),
            "remote_publishers": sum(len(room.remote_feeds) for room in self.rooms.values()),
            "publishers": sum(1 for m in members if m.published),
            "subscribers": sum(1 for m in members if m.subscriber is not None),
        }


def _receiving(member: Member) -> set[str]:
    """The feeds a member's subscriber already receives (not subscribed to twice)."""
    return {
        str(s.get("feed_id"))
        for s in member.receiving
        if s.get("feed_id") is not None and s.get("active", True)
    }


def _fingerprint(sdp: str) -> str:
    for line in sdp.splitlines():
        if line.startswith("a=fingerprint:"):
            return line.strip()
    return ""


def _jsep(description: dict[str, Any]) -> dict[str, Any]:
    return {"type": description["type"], "sdp": description["sdp"]}
