"""One meeting across several media nodes: publishers of one node forwarded to the others.

Janus's VideoRoom does the forwarding (plain RTP between the nodes, so the hop belongs on a
private network): on the receiving node an ``add_remote_publisher`` makes the participant a
*remote publisher* of the same room, which local subscribers see and subscribe to like any
other feed, and answers the UDP port to send to; on the publishing node ``publish_remotely``
(admin_key and room secret: ``lock_rtp_forward``) sends every stream of the participant there.
Signaling decides which node holds whom and calls both ends (:mod:`parley.signaling.placement`);
this module is the Janus side of it, on this node.
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog

from parley.rtc.janus import JanusError
from parley.rtc.rooms import SfuRooms, SfuUnavailable

log = structlog.get_logger("parley.rtc")

STREAM_FIELDS = ("type", "mindex", "mid", "codec", "description", "simulcast", "stereo", "fec")
"""What a remote publisher's stream keeps of the publisher's own description."""


def remote_streams(streams: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A publisher's streams as Janus answered its publish, described for a remote node."""
    described = []
    for stream in streams:
        if stream.get("disabled") or stream.get("type") not in ("audio", "video"):
            continue
        entry = {k: stream[k] for k in STREAM_FIELDS if k in stream}
        entry["mid"] = str(entry.get("mid", ""))
        described.append(entry)
    return described


async def add_remote_publisher(
    rooms: SfuRooms,
    meeting_id: str,
    feed_id: str,
    display_name: str,
    streams: list[dict[str, Any]],
    host: str,
) -> dict[str, Any]:
    """Make a participant of another node a publisher of this node's room (afresh, when it
    was one already: its streams may have changed) → where to send its RTP."""
    try:
        room = await rooms._room(meeting_id)
    except JanusError as exc:
        raise SfuUnavailable(str(exc)) from exc
    if feed_id in room.members:
        raise SfuUnavailable("that participant is on this node")
    await remove_remote_publisher(rooms, meeting_id, feed_id)
    reply = await rooms._admin(
        {
            "request": "add_remote_publisher",
            "room": meeting_id,
            "secret": room.secret,
            "id": feed_id,
            "display": display_name[:100],
            "iface": host,
            "streams": remote_streams(streams),
        }
    )
    room.remote_feeds.add(feed_id)
    log.info("sfu_remote_publisher_added", meeting_id=meeting_id, feed=feed_id)
    where = {"host": host, "port": int(reply.data["port"])}
    if reply.data.get("rtcp_port"):  # keyframe requests of this node's subscribers go back
        where["rtcp_port"] = int(reply.data["rtcp_port"])
    return where


async def remove_remote_publisher(rooms: SfuRooms, meeting_id: str, feed_id: str) -> None:
    """A remote publisher left (or moved): this node's subscribers renegotiate without it."""
    room = rooms.rooms.get(meeting_id)
    if room is None or feed_id not in room.remote_feeds:
        return
    room.remote_feeds.discard(feed_id)
    with contextlib.suppress(JanusError):  # gone with a restart of Janus
        await rooms._admin(
            {
                "request": "remove_remote_publisher",
                "room": meeting_id,
                "secret": room.secret,
                "id": feed_id,
            }
        )


async def publish_remotely(
    rooms: SfuRooms,
    meeting_id: str,
    participant_id: str,
    node_id: str,
    host: str,
    port: int,
    rtcp_port: int | None = None,
) -> None:
    """Send everything a local publisher sends to another node too (again, when it was sent
    there before: a republished participant has a new handle and maybe new streams)."""
    member = rooms._member(meeting_id, participant_id)
    room = rooms.rooms.get(meeting_id)
    if member is None or room is None or not member.published:
        raise SfuUnavailable("that participant does not publish on this node")
    await unpublish_remotely(rooms, meeting_id, participant_id, node_id)
    body: dict[str, Any] = {
        "request": "publish_remotely",
        "room": meeting_id,
        "secret": room.secret,
        "admin_key": rooms.admin_key,
        "publisher_id": participant_id,
        "remote_id": node_id,
        "host": host,
        "port": port,
    }
    if rtcp_port:
        # The other node's keyframe requests (PLI) come back on it: without them its late
        # subscribers wait for a keyframe that the publisher never sends.
        body["rtcp_port"] = rtcp_port
    await rooms._admin(body)
    member.remotes.add(node_id)
    log.info("sfu_published_remotely", meeting_id=meeting_id, feed=participant_id, node=node_id)


async def unpublish_remotely(
    rooms: SfuRooms, meeting_id: str, participant_id: str, node_id: str
) -> None:
    """Stop sending a local publisher to a node."""
    member = rooms._member(meeting_id, participant_id)
    room = rooms.rooms.get(meeting_id)
    if member is None or room is None or node_id not in member.remotes:
        return
    member.remotes.discard(node_id)
    with contextlib.suppress(JanusError):  # its publisher handle is gone already
        await rooms._admin(
            {
                "request": "unpublish_remotely",
                "room": meeting_id,
                "secret": room.secret,
                "publisher_id": participant_id,
                "remote_id": node_id,
            }
        )
