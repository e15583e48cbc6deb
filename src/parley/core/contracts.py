"""Names that cross service boundaries: channels, streams and keys more than one service uses.

A service never imports another service; when two of them must agree on a name, it lives here.
"""

from __future__ import annotations

# ---- accounts that stop counting (users-service writes, every other service reads) ----------

USER_GONE_CHANNEL = "parley:users:gone"
"""Pub/sub: ``"<user_id> disabled"``, ``"<user_id> deleted"`` or ``"<user_id> enabled"``,
published by users-service after the change is committed. Nodes close the user's sockets."""

USER_GONE_KEY = "parley:users:gone:{user_id}"
"""String key, value ``disabled`` or ``deleted``, set while the account cannot be used (deleted
again when a disabled account is enabled). Read on resume, on content links and after a bus
reconnect, since pub/sub drops messages while disconnected."""

USER_EVENTS_STREAM = "parley:users:events"
"""Stream (read as a consumer group, see ``core/streams.py``): entries
``{"event": "deleted", "user_id": ...}`` so that services remove or reassign what the user
owned even when they were down at the time."""


def user_gone_key(user_id: str) -> str:
    return USER_GONE_KEY.format(user_id=user_id)


# ---- token audiences ----------------------------------------------------------------------

MEDIA_LINK_AUDIENCE = "media-link"
"""Short-lived content links media-service signs (``?access=``) for ``<video>``/``<img>`` and
for AI batch jobs; ai-service checks them before it fetches anything."""
