"""Real media files made on the spot with PyAV and Pillow (nothing is downloaded)."""

from __future__ import annotations

import io
import zipfile
from fractions import Fraction

import av
import numpy as np
from PIL import Image


def webm(seconds: float = 1.0, width: int = 160, height: int = 120, fps: int = 10) -> bytes:
    """A VP8 + Opus WebM, each frame a different colour."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="webm") as container:
        video = container.add_stream("libvpx", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("libopus", rate=48000)
        frames = int(seconds * fps)
        for i in range(frames):
            array = np.full((height, width, 3), (i * 25) % 256, dtype=np.uint8)
            array[:, : width // 2, 1] = 200
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in video.encode(frame):
                container.mux(packet)
        samples = 960
        for i in range(int(seconds * 48000 / samples)):
            tone = (np.sin(np.arange(samples) / 10.0) * 8000).astype(np.int16).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
            frame.sample_rate = 48000
            frame.pts = i * samples
            for packet in audio.encode(frame):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                container.mux(packet)
    return out.getvalue()


def wav(seconds: float = 0.5) -> bytes:
    out = io.BytesIO()
    with av.open(out, mode="w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        samples = int(8000 * seconds)
        tone = (np.sin(np.arange(samples) / 5.0) * 8000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def png(width: int = 640, height: int = 480) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 220)).save(out, "PNG")
    return out.getvalue()


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hello " * 100)
    return out.getvalue()


def undecodable_mp4() -> bytes:
    """An MP4 whose index (moov) is fine, so it sniffs as video/mp4, but whose media data
    (mdat) is noise: no frame can be decoded."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        for i in range(20):
            array = np.full((120, 160, 3), i * 10, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, 10)
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    good = out.getvalue()
    mdat = good.index(b"mdat")
    size = int.from_bytes(good[mdat - 4 : mdat], "big")
    noise = bytes((k * 37 + 11) % 251 for k in range(size - 8))
    return good[: mdat + 4] + noise + good[mdat - 4 + size :]
