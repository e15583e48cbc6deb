"""Commands meeting-service sends to signaling-service: what a host did over REST reaches the
live room (the other direction, the room's events, is read in ``tasks.py``).

A Redis stream (``SIGNALING_COMMANDS`` in :mod:`parley.core.contracts`) rather than a call:
meeting-service never imports or calls signaling-service, and a command waits in the stream
while a signaling node restarts."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from parley.core.contracts import SIGNALING_COMMANDS
from parley.meetings.models import Meeting, Participant


async def tell_signaling(
    kv: Redis, command: str, meeting: Meeting, participant: Participant | None = None, **extra: str
) -> None:
    """Pass what a host did over REST to the live room. signaling-service reads this stream;
    every entry has ``cmd`` and ``meeting_id``, and per command:

    - ``remove`` | ``admit`` | ``deny``: ``participant_id``, ``user_id`` ("" for a guest);
    - ``role``: ``participant_id``, ``user_id``, ``role`` (cohost | participant);
    - ``end``: nothing more (everyone leaves the room);
    - ``settings``: ``settings``, the JSON of the meeting's complete settings object after a
      change (``waiting_room``, ``allow_guests``, ``mute_on_join``, ``video_off_on_join``,
      ``allow_self_unmute``, ``auto_cohost``, ``allow_screen_share``, ``allow_chat``,
      ``max_participants``), for the room to enforce on the people already in it, not only on
      those who join with a new ticket;
    - ``poll``: ``event`` (opened | results | closed), ``audience`` (everyone | moderators) and
      ``poll``, the JSON of the frame's content (counts, never voters: ``polls.tell_room``);
    - ``frame``: ``to`` (a participant id of this meeting, ``everyone`` or ``moderators``) and
      ``frame``, the JSON of a breakout frame (``breakouts.py``; signaling passes only the
      breakout types, and one carrying a ticket only to one participant). ``meeting_id`` is the
      room's: the main meeting or a breakout room;
    - ``breakout-away``: ``participant_id``, ``user_id``: this participant is leaving the room
      for a breakout room, so their leave is not leaving the meeting (no cohost appointed,
      ``left`` comes back with ``why`` = ``breakout``).
    """
    fields: dict[Any, Any] = {"cmd": command, "meeting_id": str(meeting.id), **extra}
    if participant is not None:
        fields["participant_id"] = str(participant.id)
        fields["user_id"] = str(participant.user_id) if participant.user_id else ""
    await kv.xadd(SIGNALING_COMMANDS, fields, maxlen=100_000, approximate=True)
