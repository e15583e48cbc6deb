"""Server-side recording of SFU rooms: Janus writes every publisher's tracks, we keep time.

A room is created with a ``rec_dir`` of its own under this node's recordings folder
(``<recordings>/<meeting id>``, see :mod:`parley.rtc.rooms`) and records nothing until asked.
Starting a recording sends VideoRoom's ``enable_recording`` (with the room's secret): from then
on Janus writes one ``.mjr`` per publisher stream, ``videoroom-<room>-user-<feed>-<µs>-<kind>-
<index>.mjr``, including publishers who arrive later. The recording belongs to the room, not to
the page that asked for it: it goes on when that person leaves, and stops on :meth:`stop`,
when the room is destroyed (the meeting ended: :meth:`SfuRecorder.room_ending`), or after
``PARLEY_SFU_RECORDING_MAX_S``.

What it hands on (:class:`Finished`) is the meeting, the recording, its start and end in
µs of wall-clock time, the ``.mjr`` files of that window and the names of everyone who
published meanwhile; composing them (:mod:`parley.media.composition`) is the media worker's.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from parley.rtc.janus import JanusError
from parley.rtc.rooms import SfuRooms

log = structlog.get_logger("parley.rtc.recording")

TRACK = re.compile(
    r"^videoroom-(?P<room>.+)-user-(?P<feed>.+)-(?P<us>\d{13,})-(?P<kind>audio|video|data)"
    r"-(?P<index>\d+)\.mjr$"
)
"""A VideoRoom recording's file name: room, feed, creation time (µs), kind, stream index."""
WATCH_EVERY_S = 1.0
"""How often a running recording notes who publishes (their names) and checks its length."""
CLOSE_GRACE_S = 0.5
"""After ``enable_recording: false``: time for Janus to close the files it was writing."""
SLACK_US = 2_000_000
"""A file created this long before the start still belongs to the recording (clock steps)."""


class NotRecordable(Exception):
    """This node cannot record the meeting (its room is not on this node's SFU)."""


@dataclass
class Take:
    """A recording in progress."""

    meeting_id: str
    recording_id: str
    owner_id: str
    started_us: int
    names: dict[str, str] = field(default_factory=dict)
    watcher: asyncio.Task[None] | None = None


@dataclass(frozen=True)
class Finished:
    """A stopped recording: what the composition job needs."""

    meeting_id: str
    recording_id: str
    owner_id: str
    started_us: int
    ended_us: int
    files: list[Path]
    names: dict[str, str]
    why: str


def now_us() -> int:
    return time.time_ns() // 1000


def recording_files(root: Path, meeting_id: str, since_us: int, until_us: int) -> list[Path]:
    """The ``.mjr`` files of ``meeting_id``'s room created between ``since_us`` and
    ``until_us`` (a file's name carries its creation time)."""
    folder = root / meeting_id
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        match = TRACK.match(path.name)
        if match is None or match["room"] != meeting_id or match["kind"] == "data":
            continue
        if since_us - SLACK_US <= int(match["us"]) <= until_us:
            found.append(path)
    return found


class SfuRecorder:
    """The recordings of this node's SFU rooms (one at a time per room)."""

    def __init__(
        self,
        rooms: SfuRooms,
        root: Path,
        max_s: float,
        finished: Callable[[Finished], Awaitable[None]],
    ) -> None:
        self.rooms = rooms
        self.root = root
        self.max_s = max_s
        self.finished = finished
        self.takes: dict[str, Take] = {}
        self._lock = asyncio.Lock()
        # Rooms made from now on get a rec_dir of their own (read by SfuRooms._room).
        setattr(rooms, "recordings_dir", str(root))  # noqa: B010 - not an attribute of its own
        root.mkdir(parents=True, exist_ok=True)

    async def start(self, meeting_id: str, recording_id: str, owner_id: str) -> Take:
        """Janus records the meeting's room from now on (idempotent for the same recording)."""
        async with self._lock:
            take = self.takes.get(meeting_id)
            if take is not None:
                if take.recording_id == recording_id:
                    return take
                raise NotRecordable("another recording of this meeting is running")
            room = self.rooms.rooms.get(meeting_id)
            if room is None or not room.created:
                raise NotRecordable("the meeting's room is not on this media node's SFU")
            await self._enable(meeting_id, room.secret, True)
            take = Take(meeting_id, recording_id, owner_id, now_us())
            self._note_names(take)
            self.takes[meeting_id] = take
            take.watcher = asyncio.create_task(self._watch(take), name=f"recording-{meeting_id}")
        log.info("sfu_recording_started", meeting_id=meeting_id, recording_id=recording_id)
        return take

    async def stop(
        self, meeting_id: str, why: str = "stopped", recording_id: str | None = None
    ) -> Finished | None:
        """Stop the meeting's recording (``None`` when none runs, or another one does) and
        hand the files on."""
        async with self._lock:
            take = self.takes.get(meeting_id)
            if take is None or (recording_id is not None and take.recording_id != recording_id):
                return None
            del self.takes[meeting_id]
            if take.watcher is not None and take.watcher is not asyncio.current_task():
                take.watcher.cancel()
            self._note_names(take)
            room = self.rooms.rooms.get(meeting_id)
            if room is not None and room.created:
                try:
                    await self._enable(meeting_id, room.secret, False)
                except JanusError as exc:  # the room went meanwhile: its files are closed
                    log.info("sfu_recording_disable_failed", meeting_id=meeting_id, error=str(exc))
            ended_us = now_us()
        await asyncio.sleep(CLOSE_GRACE_S)
        files = recording_files(self.root, meeting_id, take.started_us, ended_us)
        finished = Finished(
            meeting_id,
            take.recording_id,
            take.owner_id,
            take.started_us,
            ended_us,
            files,
            dict(take.names),
            why,
        )
        log.info(
            "sfu_recording_stopped",
            meeting_id=meeting_id,
            recording_id=take.recording_id,
            why=why,
            files=len(files),
            seconds=round((ended_us - take.started_us) / 1e6, 1),
        )
        await self.finished(finished)
        return finished

    async def room_ending(self, meeting_id: str) -> None:
        """The room is about to be destroyed (the meeting ended): its recording stops first."""
        try:
            await self.stop(meeting_id, "meeting-ended")
        except Exception:  # the room goes in any case
            log.exception("sfu_recording_stop_failed", meeting_id=meeting_id)

    def recording(self, meeting_id: str) -> Take | None:
        return self.takes.get(meeting_id)

    async def close(self) -> None:
        for take in list(self.takes.values()):
            if take.watcher is not None:
                take.watcher.cancel()

    async def _enable(self, meeting_id: str, secret: str, record: bool) -> None:
        body = {"request": "enable_recording", "room": meeting_id, "secret": secret}
        await self.rooms._admin(body | {"record": record})

    def _note_names(self, take: Take) -> None:
        room = self.rooms.rooms.get(take.meeting_id)
        for member in room.members.values() if room is not None else []:
            if member.published:
                take.names[member.participant_id] = member.display_name

    async def _watch(self, take: Take) -> None:
        """Note who publishes (a leaver's name is kept) and stop at the longest length."""
        while True:
            await asyncio.sleep(WATCH_EVERY_S)
            self._note_names(take)
            if self.rooms.rooms.get(take.meeting_id) is None:
                why = "room-gone"  # Janus restarted: what it wrote up to then is kept
            elif now_us() - take.started_us >= self.max_s * 1e6:
                why = "max-duration"
            else:
                continue
            try:
                await self.stop(take.meeting_id, why, take.recording_id)
            except Exception:
                log.exception("sfu_recording_stop_failed", meeting_id=take.meeting_id, why=why)
            return
