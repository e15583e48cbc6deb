"""Every way signaling-service says no, declared once.

Three kinds, one per channel a client hears them on:

- REST problems (``application/problem+json``): the few the chat-history route answers, as
  functions that make a fresh :class:`~parley.core.errors.ProblemError` each time.
- Error-frame codes (``{"type": "error", "code": ...}``): :data:`ErrorCode` lists every code the
  WebSocket sends; ``docs/signaling.md`` and the web client's ``protocol.js`` name the same.
- Close codes: what ends a connection, and why (the table in ``docs/signaling.md``).
"""

from __future__ import annotations

from typing import Final, Literal

from parley.core.errors import ProblemError

# ---- REST problems --------------------------------------------------------------------------


def meeting_not_found() -> ProblemError:
    """Not a member of the room's history: the same answer as for a meeting that does not
    exist, so that history does not tell outsiders which meetings there are."""
    return ProblemError(404, "No such meeting.", type="meeting-not-found")


def before_without_offset() -> ProblemError:
    """``before`` without a UTC offset would be read in the server's time zone."""
    return ProblemError(422, "`before` needs a UTC offset.", type="validation")


# ---- error frames ---------------------------------------------------------------------------

ErrorCode = Literal[
    "invalid-json",
    "unknown-type",
    "invalid-message",
    "too-long",
    "too-large",
    "unknown-peer",
    "forbidden",
    "in-lobby",
    "rate-limited",
    "unavailable",
    "sfu-unavailable",
]
"""Every ``code`` of an error frame. ``unavailable`` only reaches meeting-service's commands
(signaling not running on the node that read them), never a client."""


class ModerationError(Exception):
    """A moderation action cannot be done; ``code`` is the error frame's code."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


# ---- close codes ----------------------------------------------------------------------------

CLOSE_LEFT: Final = 1000
"""Closed normally (the client left, or a host ended the meeting after ``meeting-ended``)."""
CLOSE_SHUTTING_DOWN: Final = 1001
"""This node is stopping; the client resumes on another."""
CLOSE_POLICY: Final = 1008
"""Flooding, or a client too slow to read its frames."""
CLOSE_TAKEN_FOR_GONE: Final = 1012
"""This node stalled so long that the others reaped its peers: join again."""
CLOSE_STARTING: Final = 1013
"""Signaling is not running on this node yet: try again."""
CLOSE_UNAUTHENTICATED: Final = 4401
"""Bad, expired or spent ticket; unknown resume token; no auth in time; account gone."""
CLOSE_SHUT_OUT: Final = 4403
"""Removed from the meeting, or denied at the lobby."""
CLOSE_REPLACED: Final = 4409
"""The same participant connected again; this older connection goes."""
CLOSE_ENDED: Final = 4410
"""The meeting has ended."""
