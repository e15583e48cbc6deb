"""Speech to text on the CPU with PocketSphinx and the US-English model its wheel ships.

Long audio is cut at pauses by the VAD first: each stretch of speech is decoded as its own
utterance, which gives segment timestamps, keeps memory flat and stops one misheard stretch from
derailing the language-model search for the rest. Silence gives an empty transcript.

A PocketSphinx decoder is not thread-safe and takes ~0.5 s to load, so decoders are pooled.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Any

from parley.ai.audio import Pcm
from parley.ai.engines.base import EngineUnavailable, Segment, Transcript
from parley.ai.engines.vad import speech_regions

FRAMES_PER_S = 100  # PocketSphinx's default frame rate
# Search pruning: at most this many active HMMs per frame (PocketSphinx's default is 30,000).
# On bench/ai.py's 120 flite clips it cut CPU per audio second from 0.40 to 0.22 while the
# word error rate moved from 7.6 % to 7.7 % (one word on kal16).
MAX_HMM_PER_FRAME = 3_000
_ALTERNATE = re.compile(r"\(\d+\)$")
_FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "[BREATH]"}


def pocketsphinx_version() -> str | None:
    try:
        return metadata.version("pocketsphinx")
    except metadata.PackageNotFoundError:
        return None


class PocketSphinxAsr:
    name = "local"
    languages = ("en",)
    models = ("en-us",)  # the one model the wheel ships

    def __init__(self, pool_size: int = 2) -> None:
        version = pocketsphinx_version()
        if version is None:
            raise EngineUnavailable("local", "pocketsphinx is not installed")
        self.model = f"pocketsphinx-{version}/en-us"
        self._pool: queue.LifoQueue[Any] = queue.LifoQueue()
        self._created = 0
        self._limit = pool_size
        self._lock = threading.Lock()
        self._pool.put(self._new_decoder())  # load now: a broken install fails at setup

    def _new_decoder(self) -> Any:
        from pocketsphinx import Decoder

        with self._lock:
            self._created += 1
        return Decoder(samprate=16_000, loglevel="FATAL", maxhmmpf=MAX_HMM_PER_FRAME)

    @contextmanager
    def decoder(self) -> Iterator[Any]:
        """Borrow a decoder (a new one while under the pool limit, else wait for one)."""
        try:
            decoder = self._pool.get_nowait()
        except queue.Empty:
            decoder = self._new_decoder() if self._created < self._limit else self._pool.get()
        try:
            yield decoder
        finally:
            self._pool.put(decoder)

    def transcribe(self, pcm: Pcm, language: str = "en") -> Transcript:
        segments: list[Segment] = []
        with self.decoder() as decoder:
            for start, end in speech_regions(pcm):
                segment = decode_utterance(decoder, pcm.slice(start, end).raw, start)
                if segment is not None:
                    segments.append(segment)
        text = " ".join(segment.text for segment in segments)
        return Transcript(text=text, segments=segments, language="en", model=self.model)


def decode_utterance(decoder: Any, raw: bytes, offset_s: float) -> Segment | None:
    """Decode one utterance of 16 kHz s16 PCM; ``None`` when nothing was recognized."""
    decoder.start_utt()
    decoder.process_raw(raw, full_utt=True)
    decoder.end_utt()
    return segment_of(decoder, offset_s)


def segment_of(decoder: Any, offset_s: float) -> Segment | None:
    words = [
        (_ALTERNATE.sub("", seg.word), seg.start_frame, seg.end_frame, seg.prob)
        for seg in decoder.seg()
        if seg.word not in _FILLERS
    ]
    if not words:
        return None
    confidence = sum(prob for *_, prob in words) / len(words)
    return Segment(
        start=round(offset_s + words[0][1] / FRAMES_PER_S, 2),
        end=round(offset_s + (words[-1][2] + 1) / FRAMES_PER_S, 2),
        text=" ".join(word for word, *_ in words),
        confidence=round(float(confidence), 3),
    )


class StreamingSession:
    """Live recognition of 16 kHz s16 PCM: PocketSphinx's endpointer (WebRTC-style VAD) finds
    utterances; while one is open, ``partial`` results follow each chunk; when it closes, a
    ``final`` result with timestamps. One decoder is held for the whole session."""

    def __init__(self, asr: PocketSphinxAsr, partial_every_s: float = 0.5) -> None:
        from pocketsphinx import Endpointer

        self._borrow = asr.decoder()
        self.decoder = self._borrow.__enter__()
        self.endpointer = Endpointer(window=0.3, ratio=0.9, sample_rate=16_000)
        self.frame_bytes: int = self.endpointer.frame_bytes
        self.buffer = b""
        self.position_s = 0.0
        self.utterance_start: float | None = None
        self.partial_every_s = partial_every_s
        self.last_partial = ""
        self.last_partial_at = 0.0

    def feed(self, raw: bytes) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        self.buffer += raw
        while len(self.buffer) >= self.frame_bytes:
            frame, self.buffer = self.buffer[: self.frame_bytes], self.buffer[self.frame_bytes :]
            self.position_s += self.endpointer.frame_length
            events.extend(self._frame(frame))
        return events

    def _frame(self, frame: bytes) -> list[dict[str, Any]]:
        was_in_speech = self.endpointer.in_speech
        speech = self.endpointer.process(frame)
        if speech is None:
            return []
        if not was_in_speech:
            self.utterance_start = float(self.endpointer.speech_start)
            self.decoder.start_utt()
            self.last_partial = ""
        self.decoder.process_raw(speech)
        if not self.endpointer.in_speech:
            return self._final()
        return self._partial()

    def _partial(self) -> list[dict[str, Any]]:
        if self.position_s - self.last_partial_at < self.partial_every_s:
            return []
        self.last_partial_at = self.position_s
        hyp = self.decoder.hyp()
        text = hyp.hypstr if hyp is not None else ""
        if not text or text == self.last_partial:
            return []
        self.last_partial = text
        return [{"type": "partial", "text": text, "start": round(self.utterance_start or 0.0, 2)}]

    def _final(self) -> list[dict[str, Any]]:
        self.decoder.end_utt()
        segment = segment_of(self.decoder, self.utterance_start or 0.0)
        self.utterance_start = None
        if segment is None:
            return []
        return [
            {
                "type": "final",
                "text": segment.text,
                "start": segment.start,
                "end": segment.end,
                "confidence": segment.confidence,
            }
        ]

    def finish(self) -> list[dict[str, Any]]:
        """End of stream: close an open utterance."""
        events: list[dict[str, Any]] = []
        if self.buffer:
            padded = self.buffer + b"\0" * (self.frame_bytes - len(self.buffer))
            self.buffer = b""
            events.extend(self._frame(padded))
        if self.endpointer.in_speech:
            tail = self.endpointer.end_stream(b"")
            if tail:
                self.decoder.process_raw(tail)
            events.extend(self._final())
        return events

    def close(self) -> None:
        self._borrow.__exit__(None, None, None)
