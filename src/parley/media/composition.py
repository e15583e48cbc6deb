"""Composing a server-side recording: Janus's ``.mjr`` tracks → one MP4 + a track per speaker.

Blocking work (run it in a worker thread). Steps:

1. each ``.mjr`` is read for its header (codec, and ``u``: the wall-clock µs of its first
   packet; the file name's µs when there is none) and turned into a playable file by
   ``janus-pp-rec`` (VP8 → WebM, Opus → OGG);
2. every track is placed on the recording's own timeline, ``(first packet - start of the
   recording)`` in, so that audio and video published at different moments line up;
3. the videos are laid out in a grid (each tile with its person's name, black before they
   published and after they left), the audio of everyone mixed, and both encoded as H.264 +
   AAC into an MP4 with its index in front (``+faststart``: it plays while it downloads);
4. each person's own audio, on the same timeline, is written as OGG/Opus for editing;
5. the MP4 is probed back (:func:`verify`): both streams there, its length within 2 % of the
   recorded time. Only then does the caller keep it and remove the raw tracks.

Decoding and encoding use PyAV (FFmpeg's libraries, already Parley's decoder), the grid and
the names numpy and Pillow; ``janus-pp-rec`` comes with Janus (Debian's ``janus-tools``).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

MJR_MAGIC = (b"MJR00002", b"MJR00001")
NAME = re.compile(
    r"^videoroom-(?P<room>.+)-user-(?P<feed>.+)-(?P<us>\d{13,})-(?P<kind>audio|video)"
    r"-(?P<index>\d+)\.mjr$"
)
EXTENSIONS = {"vp8": ".webm", "vp9": ".webm", "av1": ".webm", "h264": ".mp4", "opus": ".opus"}
RATE = 48_000
WIDTH, HEIGHT, FPS = 960, 540, 15
TOLERANCE = 0.02
"""How far the MP4's length may be from the recorded time (2 %)."""
PP_REC_TIMEOUT_S = 600

Progress = Callable[[float], None]
"""Told the share done so far, 0.0 to 1.0."""


class CompositionError(Exception):
    """The tracks could not be made into a verified recording; the message says why."""


@dataclass
class Track:
    path: Path
    feed: str
    kind: str  # audio | video
    index: int
    codec: str
    first_us: int
    playable: Path | None = None


@dataclass
class Composed:
    mp4: Path
    duration_s: float
    speakers: dict[str, Path] = field(default_factory=dict)
    """participant id → their own audio (OGG/Opus), on the recording's timeline."""


def mjr_header(path: Path) -> dict[str, object]:
    """The JSON header of a Janus recording (``t`` type, ``c`` codec, ``s`` created µs,
    ``u`` first packet µs)."""
    with path.open("rb") as f:
        magic = f.read(8)
        if magic not in MJR_MAGIC:
            raise CompositionError(f"{path.name} is not a Janus recording")
        size = int.from_bytes(f.read(2), "big")
        try:
            header = json.loads(f.read(size))
        except ValueError as exc:
            raise CompositionError(f"{path.name} has no readable header") from exc
    if not isinstance(header, dict):
        raise CompositionError(f"{path.name} has no readable header")
    return header


def read_tracks(files: list[Path]) -> list[Track]:
    """The audio and video tracks among ``files``, with their real start times."""
    tracks = []
    for path in files:
        match = NAME.match(path.name)
        if match is None or not path.is_file() or path.stat().st_size == 0:
            continue
        header = mjr_header(path)
        first = header.get("u") or header.get("s") or int(match["us"])
        tracks.append(
            Track(
                path,
                match["feed"],
                match["kind"],
                int(match["index"]),
                str(header.get("c", "")).lower(),
                int(str(first)),
            )
        )
    return tracks


def postprocess(track: Track, workdir: Path) -> Path | None:
    """``janus-pp-rec`` the track into a playable file; ``None`` when it held no media."""
    ext = EXTENSIONS.get(track.codec)
    if ext is None:
        raise CompositionError(f"{track.path.name}: codec {track.codec!r} is not supported")
    binary = shutil.which("janus-pp-rec")
    if binary is None:
        raise CompositionError("janus-pp-rec is not installed (Debian's janus-tools)")
    out = workdir / (track.path.stem + ext)
    result = subprocess.run(  # noqa: S603 - our own binary and our own file names
        [binary, str(track.path), str(out)],
        capture_output=True,
        timeout=PP_REC_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        return None  # a stream with no packets (a camera that never sent) is not an error
    return out


def grid(count: int, width: int = WIDTH, height: int = HEIGHT) -> list[tuple[int, int, int, int]]:
    """``count`` tiles (x, y, w, h) filling the frame, as square a grid as fits."""
    cols = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / cols))
    w, h = (width // cols) & ~1, (height // rows) & ~1
    return [((i % cols) * w, (i // cols) * h, w, h) for i in range(count)]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def label(text: str, width: int) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """A name plate: RGB pixels and their opacity (0..1), ``width`` wide."""
    font = _font(18)
    height = 28
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    text = text or "?"
    while len(text) > 1 and draw.textlength(text, font=font) > width - 16:
        text = text[:-2] + "…"
    box = (0, 0, min(width, int(draw.textlength(text, font=font)) + 16), height)
    draw.rectangle(box, fill=(0, 0, 0, 160))
    draw.text((8, 4), text, font=font, fill=(255, 255, 255, 255))
    pixels = np.asarray(image)[:, : box[2]]
    return pixels[:, :, :3].copy(), (pixels[:, :, 3:4] / 255.0).astype(np.float32)


def _frames(
    path: Path, w: int, h: int, offset_s: float
) -> Iterator[tuple[float, NDArray[np.uint8]]]:
    """A video's frames at ``w``x``h`` with their time on the recording's timeline."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        first: float | None = None
        for frame in container.decode(stream):
            if frame.pts is None or frame.time is None:
                continue
            first = frame.time if first is None else first
            picture = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
            yield offset_s + frame.time - first, np.asarray(picture, dtype=np.uint8)


def _audio(path: Path) -> NDArray[np.float32]:
    """A whole audio file as 48 kHz mono float samples."""
    chunks = []
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


def _place(into: NDArray[np.float32], samples: NDArray[np.float32], offset_s: float) -> None:
    start = max(0, round(offset_s * RATE))
    skip = max(0, -round(offset_s * RATE))  # began before the recording's start
    samples = samples[skip:]
    end = min(len(into), start + len(samples))
    if end > start:
        into[start:end] += samples[: end - start]


def _write_opus(samples: NDArray[np.float32], out: Path) -> None:
    with av.open(str(out), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=RATE, layout="mono")
        step = 960  # 20 ms
        for start in range(0, len(samples), step):
            chunk = samples[start : start + step]
            if len(chunk) < step:
                chunk = np.pad(chunk, (0, step - len(chunk)))
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def compose(
    files: list[Path],
    names: dict[str, str],
    started_us: int,
    ended_us: int,
    workdir: Path,
    progress: Progress | None = None,
) -> Composed:
    """Compose the recording of ``started_us``..``ended_us`` from its ``.mjr`` files."""
    tell = progress or (lambda _share: None)
    duration = (ended_us - started_us) / 1e6
    if duration <= 0:
        raise CompositionError("the recording has no length")
    tracks = read_tracks(files)
    for n, track in enumerate(tracks):
        track.playable = postprocess(track, workdir)
        tell(0.2 * (n + 1) / max(1, len(tracks)))
    videos = sorted(
        (t for t in tracks if t.kind == "video" and t.playable is not None),
        key=lambda t: (t.first_us, t.feed, t.index),
    )
    audios = [t for t in tracks if t.kind == "audio" and t.playable is not None]
    if not videos and not audios:
        raise CompositionError("nothing was recorded (no publisher sent media)")

    total = round(duration * RATE)
    speakers: dict[str, NDArray[np.float32]] = {}
    for track in audios:
        assert track.playable is not None
        own = speakers.setdefault(track.feed, np.zeros(total, np.float32))
        _place(own, _audio(track.playable), (track.first_us - started_us) / 1e6)
    mix = np.zeros(total, np.float32)
    for own in speakers.values():
        mix += own
    np.clip(mix, -1.0, 1.0, out=mix)
    tell(0.3)

    out = workdir / "recording.mp4"
    frames_total = max(1, round(duration * FPS))
    tiles = grid(len(videos)) if videos else []
    plates = [
        label(names.get(t.feed, "") + (" (screen)" if _is_extra(t, videos) else ""), w)
        for t, (_, _, w, _) in zip(videos, tiles, strict=True)
    ]
    sources = [
        _frames(t.playable, w, h, (t.first_us - started_us) / 1e6)
        for t, (_, _, w, h) in zip(videos, tiles, strict=True)
        if t.playable is not None
    ]
    current: list[tuple[float, NDArray[np.uint8]] | None] = [None] * len(sources)
    upcoming: list[tuple[float, NDArray[np.uint8]] | None] = [next(s, None) for s in sources]
    with av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        vstream = container.add_stream("libx264", rate=FPS)
        vstream.width, vstream.height, vstream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        vstream.options = {"preset": "veryfast", "crf": "26"}
        astream = container.add_stream("aac", rate=RATE, layout="mono")
        sent = 0  # audio samples encoded so far
        canvas = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
        for k in range(frames_total):
            t = k / FPS
            canvas[:] = 16
            for i, source in enumerate(sources):
                while upcoming[i] is not None and upcoming[i][0] <= t:  # type: ignore[index]
                    current[i] = upcoming[i]
                    upcoming[i] = next(source, None)
                x, y, w, h = tiles[i]
                shown = current[i]
                if shown is not None and (upcoming[i] is not None or t - shown[0] < 1.0):
                    canvas[y : y + h, x : x + w] = shown[1]
                else:
                    canvas[y : y + h, x : x + w] = 0
                rgb, alpha = plates[i]
                ph, pw = rgb.shape[:2]
                region = canvas[y + h - ph : y + h, x : x + pw].astype(np.float32)
                blended = region * (1 - alpha) + rgb.astype(np.float32) * alpha
                canvas[y + h - ph : y + h, x : x + pw] = blended.astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(canvas, format="rgb24")
            frame.pts = k
            for packet in vstream.encode(frame):
                container.mux(packet)
            until = total if k == frames_total - 1 else min(total, round((k + 1) * RATE / FPS))
            sent = _encode_audio(container, astream, mix, sent, until)
            if k % FPS == 0:
                tell(0.3 + 0.6 * k / frames_total)
        _encode_audio(container, astream, mix, sent, total, flush=True)
        for packet in vstream.encode(None):
            container.mux(packet)
    tell(0.9)

    composed = Composed(out, duration)
    for feed, own in speakers.items():
        path = workdir / f"speaker-{len(composed.speakers) + 1}.ogg"
        _write_opus(own, path)
        composed.speakers[feed] = path
    verify(out, duration)
    tell(1.0)
    return composed


def _is_extra(track: Track, videos: list[Track]) -> bool:
    """A second video of the same person (their screen share)."""
    return any(v.feed == track.feed and v.index < track.index for v in videos)


def _encode_audio(
    container: av.container.OutputContainer,
    stream: av.AudioStream,
    mix: NDArray[np.float32],
    sent: int,
    until: int,
    *,
    flush: bool = False,
) -> int:
    """Encode the mix from ``sent`` to ``until`` in AAC's 1024-sample frames (the rest waits
    for the next call, or is padded when ``flush``)."""
    size = 1024
    while until - sent >= size or (flush and until > sent):
        chunk = mix[sent : sent + size]
        if len(chunk) < size:
            chunk = np.pad(chunk, (0, size - len(chunk)))
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, sent, Fraction(1, RATE)
        for packet in stream.encode(frame):
            container.mux(packet)
        sent += size
    if flush:
        for packet in stream.encode(None):
            container.mux(packet)
    return sent


@dataclass(frozen=True)
class Verified:
    duration_s: float
    video: str
    audio: str


def verify(path: Path, expected_s: float) -> Verified:
    """Probe the MP4: an H.264 and an AAC stream, its length within 2 % of ``expected_s``."""
    try:
        with av.open(str(path)) as container:
            video = [s.codec_context.name for s in container.streams.video]
            audio = [s.codec_context.name for s in container.streams.audio]
            length = (container.duration or 0) / 1e6
    except av.FFmpegError as exc:
        raise CompositionError(f"the composed file does not read back: {exc}") from exc
    if video != ["h264"] or audio != ["aac"]:
        raise CompositionError(f"the composed file has streams {video} + {audio}")
    if abs(length - expected_s) > TOLERANCE * expected_s:
        raise CompositionError(
            f"the composed file lasts {length:.2f} s, the recording {expected_s:.2f} s"
        )
    return Verified(length, video[0], audio[0])
