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


# ---- commands between meeting-service and signaling-service (Redis streams) ----------------

SIGNALING_COMMANDS = "parley:signaling:commands"
"""meeting-service → signaling-service: what a host did over REST reaches the live room.
Fields ``cmd`` (remove | admit | deny | role | end | settings | poll | frame | breakout-away),
``meeting_id``, ``participant_id``, ``user_id``; ``role``; ``settings`` (JSON of the meeting's
settings); for ``poll``: ``event``, ``audience`` and ``poll`` (what the poll frame carries);
for ``frame`` (breakout rooms): ``to`` (a participant id, ``everyone`` or ``moderators``) and
``frame`` (the JSON of a breakout frame, of the types signaling allows)."""

MEETING_COMMANDS = "parley:meetings:commands"
"""signaling-service → meeting-service: what happened in the room, recorded in the database.
Fields ``cmd`` (connected | left | remove | admit | deny | role | end), ``meeting_id``,
``participant_id``; ``role``; for ``left``, ``why`` (``dropped``: lost on the way;
``breakout``: gone to a breakout room; absent: left for good)."""

# ---- avatars (user-service serves them, other services point at them) ------------------------

AVATAR_VERSION_CLAIM = "avt"
"""Access-token claim, user-service → meeting-service → signaling: the version of the user's
avatar (a short hex digest of its storage key), absent when the user has none. Signaling turns it
into :func:`avatar_path` for the others in the room; a new avatar means a new version, so an
``<img>`` never shows the old one from its cache."""


def avatar_path(user_id: str, version: str) -> str:
    """Where user-service serves this avatar: a same-origin path Parley builds, never a URL a
    user supplied."""
    return f"/api/v1/users/{user_id}/avatar?v={version}"


# ---- token audiences ----------------------------------------------------------------------

SIGNALING_AUDIENCE = "signaling"
"""Signaling tickets: meeting-service issues them on join, signaling-service admits with them."""

MEDIA_LINK_AUDIENCE = "media-link"
"""Short-lived content links media-service signs (``?access=``) for ``<video>``/``<img>`` and
for AI batch jobs; ai-service checks them before it fetches anything."""


# ---- the media plane (signaling-service ↔ media-service's rtc) ------------------------------

RTC_AUDIENCE = "rtc"
"""Service tokens signaling-service presents to media-service's internal rtc API
(``/internal/rtc/...``): only signaling decides who is in a room, rtc acts on its word."""

RTC_EVENTS_CHANNEL = "parley:rtc:events"
"""Pub/sub, rtc → signaling: ``{"meeting_id", "to": [participant ids], "frame": {...}}``, a frame
for participants (a subscriber offer, a restart of the SFU); each signaling node delivers it to
the connections it holds."""

MEDIA_NODES_PREFIX = "/parley/media-nodes/"
"""etcd, rtc → signaling: one key per media node (a Janus and the rtc process driving it), its
load and health (:class:`parley.core.media_nodes.MediaNode`), under a lease the node keeps
alive: a node that dies drops out within the lease's TTL."""
