"""The forwarded bitrate, from Janus's admin API: the figure is read from real handle info, and
summed over every stream's ``out_stats``."""

from __future__ import annotations

import uuid

from parley.rtc.process import JanusProcess
from parley.rtc.rooms import SfuRooms
from parley.rtc.traffic import Traffic, sent_last_second
from tests.rtc.test_rooms import Sent


def test_every_streams_last_second_is_summed() -> None:
    info = {  # as Janus 1.1's handle_info has it
        "webrtc": {
            "dtls": {"stats": {"out": {"packets": 2, "bytes": 802}}},
            "media": {
                "0": {"stats": {"out": {"bytes": 900, "bytes_lastsec": 4000}}},
                "1": {"stats": {"in": {"bytes_lastsec": 7}, "out": {"bytes_lastsec": 60000}}},
            },
        }
    }
    assert sent_last_second(info) == 64000


def test_what_was_received_does_not_count() -> None:
    media = {"0": {"stats": {"in": {"bytes_lastsec": 5000, "video-simulcast-1": {}}}}}
    assert sent_last_second({"media": media}) == 0


async def test_a_handle_that_sends_nothing_forwards_nothing(janus: JanusProcess) -> None:
    rooms = SfuRooms(janus.url, janus.cfg.api_secret, janus.cfg.admin_key, Sent())
    traffic = Traffic(janus.admin_url, janus.cfg.admin_secret)
    try:
        member = await rooms.join(uuid.uuid4().hex, "ann", "Ann")
        assert rooms.session is not None and rooms.session.id is not None
        assert member.publisher is not None
        assert await traffic.forwarded_bps(rooms.session.id, [member.publisher]) == 0.0
    finally:
        await traffic.close()
        await rooms.close()


async def test_a_wrong_admin_secret_reports_nothing_rather_than_failing(
    janus: JanusProcess,
) -> None:
    traffic = Traffic(janus.admin_url, "not-the-secret")
    try:
        assert await traffic.forwarded_bps(1, [2]) == 0.0
    finally:
        await traffic.close()
