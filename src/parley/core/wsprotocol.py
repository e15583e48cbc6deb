"""uvicorn's WebSocket protocol, plus one ASGI extension: write a frame serialised once.

Signaling fans one frame out to every peer of a room. Through plain ASGI each copy is a
``websocket.send`` message that the server frames again (and, to keep one slow reader from
stalling the room, each goes through the connection's own writer task): about 18 µs of CPU per
recipient, which caps one process near the target it was asked to meet. websockets' own server
solves this with ``broadcast()``: serialise the frame once and write the same bytes to every
socket that is open and not backed up. This class offers the same to the app, as an ASGI scope
extension (the mechanism ASGI has for server-specific features):

    scope["extensions"]["parley.websocket.prepared"] = {"write": write}

``write(wire: bytes) -> bool`` writes an unmasked server frame made with
``websockets.frames.Frame(...).serialize(mask=False)`` at once and returns True, or returns
False (writing nothing) when the socket is closing or its write buffer is above the high-water
mark; the app then sends that frame the ordinary way, which waits for the buffer to drain.
An app that does not look for the extension sees uvicorn's protocol unchanged.

It is selected with uvicorn's ``ws`` setting (an import path is how uvicorn takes a protocol
class): see ``parley.core.serving``. It builds on uvicorn's sans-I/O implementation and reads
its state (``transport``, ``writable``, ``close_sent``, ``conn``); the uvicorn version is
pinned, and tests/integration/test_signaling.py checks that the extension is used.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

PREPARED_FRAMES = "parley.websocket.prepared"


class PreparedFrameWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope: dict[str, Any] | None = getattr(self, "scope", None)  # absent when refused
        if scope is not None:
            scope["extensions"][PREPARED_FRAMES] = {"write": self.write_prepared}

    def write_prepared(self, wire: bytes) -> bool:
        """Write a serialised server frame now; False when the socket cannot take it now."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.conn.state is not State.OPEN
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(wire)
        return True
