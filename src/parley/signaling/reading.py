"""What a client's frame must pass before anything acts on it: the rate limit, then the reading.

A frame that fails is answered with an error frame (:class:`Refused` carries it) and the
connection stays up; only sustained flooding closes it (see :class:`RateLimit`).
"""

from __future__ import annotations

import json
import time

from pydantic import ValidationError

from parley.signaling import frames
from parley.signaling.errors import ErrorCode
from parley.signaling.frames import Frame
from parley.signaling.schemas import KNOWN_TYPES, Inbound, inbound

MAX_FRAME_BYTES = 64 * 1024
RATE_PER_S = 50.0
BURST = 100.0
ABUSE_LIMIT = 200  # over-limit frames in a row before the connection is closed (1008)


class Refused(Exception):
    """The frame is not acted on; ``frame`` is the error frame that says why."""

    def __init__(self, frame: Frame) -> None:
        super().__init__(frame["message"])
        self.frame = frame


class RateLimit:
    """A token bucket per connection: ``RATE_PER_S`` sustained, bursts of ``BURST``."""

    __slots__ = ("last_refill", "over_limit", "tokens")

    def __init__(self) -> None:
        self.tokens = BURST
        self.last_refill = time.monotonic()
        self.over_limit = 0  # frames refused in a row

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(BURST, self.tokens + (now - self.last_refill) * RATE_PER_S)
        self.last_refill = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.over_limit = 0
            return True
        self.over_limit += 1
        return False

    @property
    def abused(self) -> bool:
        """Past warning: the connection is closed."""
        return self.over_limit > ABUSE_LIMIT

    @property
    def warn(self) -> bool:
        """Whether this refused frame gets a ``rate-limited`` error (the first, then every
        50th: warnings must not become a flood of their own)."""
        return self.over_limit == 1 or self.over_limit % 50 == 0


def rate_limited() -> Frame:
    return frames.error("rate-limited", "Slow down: at most 50 messages per second.")


def read(text: str | None) -> Inbound:
    """The frame as its validated model (:mod:`parley.signaling.schemas`); raises
    :class:`Refused` for binary, oversized, unreadable, unknown or invalid frames."""
    if text is None:
        raise Refused(frames.error("invalid-json", "Frames are JSON text, not binary."))
    if len(text) > MAX_FRAME_BYTES or len(text.encode()) > MAX_FRAME_BYTES:
        raise Refused(frames.error("too-large", "Frames are limited to 64 KiB."))
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to parse
        raise Refused(frames.error("invalid-json", "The frame is not valid JSON.")) from None
    kind = raw.get("type") if isinstance(raw, dict) else None
    if not isinstance(kind, str) or kind not in KNOWN_TYPES:
        shown = repr(kind) if kind is None or isinstance(kind, str) else "(not a string)"
        raise Refused(frames.error("unknown-type", f"Unknown message type {shown[:80]}."))
    try:
        return inbound.validate_python(raw)
    except RecursionError:
        raise Refused(
            frames.error("invalid-message", f"Invalid {kind}: nested too deeply.")
        ) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()[:3]
        )
        too_long = any(e["type"] in ("string_too_long", "too_long") for e in exc.errors())
        code: ErrorCode = "too-long" if too_long else "invalid-message"
        raise Refused(frames.error(code, f"Invalid {kind}: {problems}")) from None
