"""Loaded by schemathesis (``hooks`` in schemathesis.toml): how to put a tus chunk on the
wire. ``application/offset+octet-stream`` is raw bytes, as ``application/octet-stream``."""

from __future__ import annotations

import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
