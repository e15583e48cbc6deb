"""Audio in and out: any container PyAV (FFmpeg) can read becomes 16 kHz mono s16 PCM, and
synthesized PCM becomes WAV or Ogg/Opus.

Resampling goes through FFmpeg's swresample (PyAV's ``AudioResampler``), a proper band-limited
resampler: linear interpolation (the obvious hand-written shortcut) aliases and measurably
raises the recognizer's error rate.
"""

from __future__ import annotations

import contextlib
import io
import wave
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
from av.audio.resampler import AudioResampler
from numpy.typing import NDArray

TARGET_RATE = 16_000
FORMATS = ("wav", "webm", "ogg", "mp3", "flac")


class AudioError(ValueError):
    """The bytes are not audio PyAV can decode; the message says why."""


@dataclass(frozen=True)
class Pcm:
    """Mono signed 16-bit samples at ``rate`` Hz."""

    samples: NDArray[Any]
    rate: int = TARGET_RATE

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate

    @property
    def raw(self) -> bytes:
        return self.samples.astype("<i2").tobytes()

    def floats(self) -> NDArray[Any]:
        return self.samples.astype(np.float32) / 32768.0

    def slice(self, start_s: float, end_s: float) -> Pcm:
        return Pcm(self.samples[int(start_s * self.rate) : int(end_s * self.rate)], self.rate)


def sniff(data: bytes) -> str | None:
    """The container a byte string starts like, from its magic number."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


_DEMUXERS = {"wav": "wav", "ogg": "ogg", "flac": "flac", "webm": "matroska,webm", "mp3": "mp3"}


def probe_duration(data: bytes, fmt: str | None = None) -> float | None:
    """The container's stated duration (cheap: no decoding), ``None`` when it does not say."""
    try:
        with av.open(io.BytesIO(data), mode="r", format=_DEMUXERS.get(fmt or "")) as container:
            if container.duration is not None:
                return float(container.duration) / 1_000_000
            stream = next(iter(container.streams.audio), None)
            if stream is not None and stream.duration is not None and stream.time_base:
                return float(stream.duration * stream.time_base)
    except (av.FFmpegError, StopIteration, ValueError):
        return None
    return None


def decode(data: bytes, fmt: str | None = None, rate: int = TARGET_RATE) -> Pcm:
    """Decode the first audio stream of ``data`` and resample it to ``rate`` Hz mono s16."""
    if not data:
        raise AudioError("The audio is empty (0 bytes).")
    fmt = fmt or sniff(data)
    chunks: list[NDArray[Any]] = []
    try:
        with av.open(io.BytesIO(data), mode="r", format=_DEMUXERS.get(fmt or "")) as container:
            stream = next(iter(container.streams.audio), None)
            if stream is None:
                raise AudioError("The file has no audio stream.")
            resampler = AudioResampler(format="s16", layout="mono", rate=rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except AudioError:
        raise
    except (av.FFmpegError, ValueError, StopIteration, IndexError) as exc:
        hint = f" as {fmt}" if fmt else ""
        raise AudioError(f"The bytes could not be decoded{hint}: {exc}") from exc
    samples = np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)
    return Pcm(samples, rate)


def from_raw(raw: bytes, rate: int = TARGET_RATE) -> Pcm:
    """PCM from raw little-endian s16 mono bytes (the streaming endpoint's frames)."""
    usable = len(raw) - len(raw) % 2
    return Pcm(np.frombuffer(raw[:usable], dtype="<i2").astype(np.int16), rate)


def to_wav(pcm: Pcm) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(pcm.rate)
        out.writeframes(pcm.raw)
    return buffer.getvalue()


def read_wav(data: bytes) -> Pcm:
    """PCM from a mono/stereo 16-bit WAV (what flite and espeak-ng write)."""
    with wave.open(io.BytesIO(data), "rb") as source:
        frames = source.readframes(source.getnframes())
        samples = np.frombuffer(frames, dtype="<i2").astype(np.int16)
        if source.getnchannels() > 1:
            samples = samples.reshape(-1, source.getnchannels()).mean(axis=1).astype(np.int16)
        return Pcm(samples, source.getframerate())


def to_ogg(pcm: Pcm) -> bytes:
    """Ogg/Opus at 48 kHz (Opus's native rate), what browsers play everywhere."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48_000, layout="mono")
        resampler = AudioResampler(format="s16", layout="mono", rate=48_000)
        frame = av.AudioFrame.from_ndarray(pcm.samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = pcm.rate
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def encode(pcm: Pcm, fmt: str) -> bytes:
    return to_ogg(pcm) if fmt == "ogg" else to_wav(pcm)


class ContainerStream:
    """Decodes a container that arrives in pieces (a browser's MediaRecorder WebM/Opus or Ogg
    chunks) into 16 kHz mono s16 PCM as it comes.

    FFmpeg's demuxer reads from a pipe in a thread of its own; ``write`` pushes bytes in and
    returns whatever PCM has been decoded so far. The pipe is unbuffered on the reading side
    so the demuxer gets each chunk as soon as it is written, not once 32 KiB have piled up.
    """

    def __init__(self, fmt: str) -> None:
        import os
        import queue
        import threading

        if fmt not in _DEMUXERS:
            raise AudioError(f"Unknown container {fmt!r}; use one of {', '.join(FORMATS)}.")
        read_fd, write_fd = os.pipe()
        self._reader = os.fdopen(read_fd, "rb", buffering=0)
        self._writer = os.fdopen(write_fd, "wb", buffering=0)
        self._pcm: queue.Queue[bytes | None] = queue.Queue()
        self.error: str | None = None
        self._format = _DEMUXERS[fmt]
        self._thread = threading.Thread(target=self._decode, name="container-stream", daemon=True)
        self._thread.start()

    def _decode(self) -> None:
        try:
            with av.open(self._reader, mode="r", format=self._format) as container:
                resampler = AudioResampler(format="s16", layout="mono", rate=TARGET_RATE)
                for frame in container.decode(audio=0):
                    for out in resampler.resample(frame):
                        self._pcm.put(out.to_ndarray().astype("<i2").tobytes())
        except (av.FFmpegError, ValueError, OSError) as exc:
            self.error = f"The stream could not be decoded: {exc}"
        finally:
            self._reader.close()
            self._pcm.put(None)

    def _drain(self) -> bytes:
        import queue

        pieces = []
        while True:
            try:
                piece = self._pcm.get_nowait()
            except queue.Empty:
                break
            if piece is not None:
                pieces.append(piece)
        return b"".join(pieces)

    def write(self, data: bytes) -> bytes:
        """Push a chunk in; PCM decoded so far comes back (blocks while the pipe is full)."""
        if self.error is None:
            with contextlib.suppress(BrokenPipeError):  # the decoder stopped; see ``error``
                self._writer.write(data)
        return self._drain()

    def close(self, timeout_s: float = 10.0) -> bytes:
        """End of input: the rest of the PCM."""
        if not self._writer.closed:
            self._writer.close()
        self._thread.join(timeout_s)
        return self._drain()
