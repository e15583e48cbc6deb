"""Composing a server-side recording from real Janus recordings (``.mjr`` made by Janus's
``pcap2mjr`` from RTP that PyAV sent): tracks aligned on their own start times, one MP4
(H.264 + AAC, index in front) of the recorded length, each speaker's own audio."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pytest

from parley.media.composition import CompositionError, compose, grid, read_tracks, verify
from tests.support.mjr import make_mjr, require_tools

ROOM = "7b0f2c9e-3f55-4f0e-9a55-0d7c6c1e2a11"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """Ann from the start (video 4 s, audio 4 s); Bob joins 1.5 s in, leaves after 2 s."""
    require_tools()
    folder = tmp_path_factory.mktemp("mjr")
    start = time.time_ns() // 1000
    make_mjr(folder, ROOM, "ann", "video", start + 100_000, 4)
    make_mjr(folder, ROOM, "ann", "audio", start + 50_000, 4)
    make_mjr(folder, ROOM, "bob", "video", start + 1_500_000, 2)
    make_mjr(folder, ROOM, "bob", "audio", start + 1_500_000, 2)
    return folder, start


def test_tracks_start_when_their_first_packet_came(recorded: tuple[Path, int]) -> None:
    folder, start = recorded
    tracks = {(t.feed, t.kind): t for t in read_tracks(sorted(folder.glob("*.mjr")))}
    assert tracks["ann", "audio"].first_us == start + 50_000
    assert tracks["bob", "video"].first_us == start + 1_500_000
    assert tracks["bob", "video"].codec == "vp8" and tracks["bob", "audio"].codec == "opus"


def test_the_mp4_has_both_streams_and_the_recorded_length(
    recorded: tuple[Path, int], tmp_path: Path
) -> None:
    folder, start = recorded
    shares: list[float] = []
    composed = compose(
        sorted(folder.glob("*.mjr")),
        {"ann": "Ann Archer", "bob": "Bob Baker"},
        start,
        start + 4_500_000,
        tmp_path,
        shares.append,
    )
    checked = verify(composed.mp4, 4.5)
    assert (checked.video, checked.audio) == ("h264", "aac")
    assert abs(checked.duration_s - 4.5) <= 0.02 * 4.5
    assert shares == sorted(shares) and shares[-1] == 1.0
    head = composed.mp4.read_bytes()[:4096]
    assert head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head  # +faststart

    with av.open(str(composed.mp4)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (960, 540)
    # Each speaker's own track, on the recording's timeline: Bob silent before 1.5 s.
    assert set(composed.speakers) == {"ann", "bob"}
    bob = _samples(composed.speakers["bob"])
    assert np.abs(bob[: int(1.3 * 48000)]).max() < 0.01
    assert np.abs(bob[int(1.7 * 48000) : int(3.3 * 48000)]).max() > 0.1
    assert abs(len(bob) / 48000 - 4.5) < 0.1


def test_a_file_of_the_wrong_length_is_refused(recorded: tuple[Path, int], tmp_path: Path) -> None:
    folder, start = recorded
    ann = sorted(p for p in folder.glob("*.mjr") if "-user-ann-" in p.name)
    composed = compose(ann, {}, start, start + 2_000_000, tmp_path)
    with pytest.raises(CompositionError, match="lasts"):
        verify(composed.mp4, 3.0)


def test_nothing_recorded_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CompositionError, match="nothing was recorded"):
        compose([], {}, 0, 1_000_000, tmp_path)


def test_the_grid_fills_the_frame() -> None:
    assert grid(1) == [(0, 0, 960, 540)]
    assert grid(3) == [(0, 0, 480, 270), (480, 0, 480, 270), (0, 270, 480, 270)]


def _samples(path: Path) -> np.ndarray:
    chunks = []
    with av.open(str(path)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
        for frame in container.decode(audio=0):
            chunks.append(frame.to_ndarray().reshape(-1))
    return np.concatenate(chunks)
