"""What the SFU forwards to one subscriber: the page's layers, a step down under congestion,
and only the last speakers' cameras in large rooms."""

from __future__ import annotations

from typing import Any

from parley.rtc.forwarding import CONGESTION_S, Forwarding, Speakers, video_streams


def receiving(*feeds: str, screen: str | None = None) -> list[dict[str, Any]]:
    """A subscriber's streams as Janus lists them: audio and camera per feed."""
    streams: list[dict[str, Any]] = []
    for feed in feeds:
        streams.append({"mid": str(len(streams)), "type": "audio", "feed_id": feed})
        streams.append({"mid": str(len(streams)), "type": "video", "feed_id": feed})
    if screen is not None:
        streams.append(
            {
                "mid": str(len(streams)),
                "type": "video",
                "feed_id": screen,
                "feed_description": "screen",
            }
        )
    return streams


def test_cameras_go_at_the_layer_each_tile_asked_for() -> None:
    wishes = Forwarding(layers={"a": "low", "b": "medium", "c": "paused"})

    streams = video_streams(receiving("a", "b", "c", "d"), wishes, None, now=0)

    assert streams == [
        {"mid": "1", "send": True, "substream": 0},
        {"mid": "3", "send": True, "substream": 1},
        {"mid": "5", "send": False},
        {"mid": "7", "send": True, "substream": 2},  # not asked yet: Janus's best
    ]


def test_audio_and_screen_shares_are_left_alone() -> None:
    streams = video_streams(receiving(screen="a"), Forwarding(layers={"a": "low"}), None, now=0)

    assert streams == []


def test_congestion_steps_every_camera_down_one_layer_for_a_while() -> None:
    wishes = Forwarding(layers={"a": "high", "b": "low"}, congested_until=100.0)

    during = video_streams(receiving("a", "b"), wishes, None, now=99.0)
    after = video_streams(receiving("a", "b"), wishes, None, now=100.0 + CONGESTION_S)

    assert [s["substream"] for s in during] == [1, 0]
    assert [s["substream"] for s in after] == [2, 0]


def test_in_a_large_room_only_the_shown_cameras_are_sent() -> None:
    streams = video_streams(receiving("a", "b", "c"), Forwarding(), {"b"}, now=0)

    assert [s["send"] for s in streams] == [False, True, False]


def test_the_last_speakers_are_shown_first_then_the_earliest_present() -> None:
    speakers = Speakers()
    speakers.spoke("d", 2)

    assert speakers.top(2, ["a", "b", "c", "d"]) == {"d", "a"}
    speakers.spoke("c", 2)
    assert speakers.top(2, ["a", "b", "c", "d"]) == {"c", "d"}


def test_a_speaker_already_shown_changes_nothing() -> None:
    speakers = Speakers()
    speakers.spoke("a", 2)
    speakers.spoke("b", 2)

    assert speakers.spoke("a", 2) is False  # the same two, in another order
    assert speakers.spoke("c", 2) is True


def test_someone_who_left_is_not_shown() -> None:
    speakers = Speakers()
    speakers.spoke("gone", 2)
    speakers.forget("gone")

    assert speakers.top(2, ["a", "b"]) == {"a", "b"}
