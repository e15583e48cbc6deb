"""One connection's SFU frames, handled in order on a task of their own, off its receive loop.

Every SFU frame waits on the media server (rtc, then Janus): on a busy machine a subscriber's
answer or a layer change took seconds. Handled inline, each held up everything the page sent
after it: its pings (so the page took the link for dead and resumed) and its goodbye (so the
others kept its tile until the frame was done). Here they run one after another, apart from
the frames that only touch the room state:

- a newer layer choice for a feed replaces one for the same feed still waiting (only the last
  one matters, and tiles resize in bursts);
- at most :data:`WAITING_LIMIT` wait: a page sending more is refused (``rate-limited``)
  instead of making the server hold them;
- when the connection closes, what has not started is dropped; what has started goes on to
  its end, and the media plane takes the participant out of the SFU after it
  (:meth:`parley.signaling.plane.MediaPlane.left` waits for the participant's call).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

import structlog

from parley.signaling.participant import Closed
from parley.signaling.schemas import SfuFrame, SfuJoin, SfuLayer, SfuPublish, SfuSubscribeAnswer

log = structlog.get_logger("parley.signaling")

SFU_FRAMES = (SfuJoin, SfuPublish, SfuSubscribeAnswer, SfuLayer)
WAITING_LIMIT = 32
"""SFU frames of one connection waiting their turn, at most (a page sends a handful)."""


class MediaFrames:
    """The queue of one connection's SFU frames and the task that works through it."""

    __slots__ = ("_closed", "_handle", "_task", "_waiting")

    def __init__(self, handle: Callable[[SfuFrame], Awaitable[None]]) -> None:
        self._handle = handle
        self._waiting: deque[SfuFrame] = deque()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def put(self, frame: SfuFrame) -> bool:
        """Queue a frame; False when it is refused (too many waiting, or closed)."""
        if self._closed:
            return False
        if isinstance(frame, SfuLayer):
            for waiting in [f for f in self._waiting if _same_feed(f, frame)]:
                self._waiting.remove(waiting)
        if len(self._waiting) >= WAITING_LIMIT:
            return False
        self._waiting.append(frame)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return True

    async def _run(self) -> None:
        while self._waiting:
            frame = self._waiting.popleft()
            try:
                await self._handle(frame)
            except Closed:  # signaling is stopping on this node
                return
            except Exception:
                log.exception("sfu_frame_failed", type=frame.type)

    def close(self) -> None:
        """No more frames; those not started are dropped, the one running finishes."""
        self._closed = True
        self._waiting.clear()

    async def idle(self) -> None:
        """Until the frame running (if any) is done: for tests and orderly shutdowns."""
        if self._task is not None:
            await asyncio.shield(self._task)


def _same_feed(waiting: SfuFrame, layer: SfuLayer) -> bool:
    return isinstance(waiting, SfuLayer) and waiting.peer == layer.peer
