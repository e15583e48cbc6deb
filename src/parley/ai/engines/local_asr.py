"""Speech to text on the CPU with PocketSphinx and the US-English model its wheel ships.

Long audio is cut at pauses by the VAD first: each stretch of speech is decoded as its own
utterance, which gives segment timestamps, keeps memory flat and stops one misheard stretch from
derailing the language-model search for the rest. Silence gives an empty transcript.

A PocketSphinx decoder is not thread-safe and takes ~0.5 s to load, so decoders are pooled
(:class:`DecoderPool`). A decoder is held only while audio is being decoded: one speech region
of a file, one utterance of a live stream (never a whole idle stream, which used to let two
silent sockets lock everyone else out). The pool grows to its configured size; past that,
callers wait in turn (first come, first served) for a bounded time, then get
:class:`EngineBusy` (503 with ``Retry-After``).
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from importlib import metadata
from typing import Any

from parley.ai.audio import Pcm
from parley.ai.engines.base import EngineBusy, EngineUnavailable, Segment, Transcript
from parley.ai.engines.vad import speech_regions

FRAMES_PER_S = 100  # PocketSphinx's default frame rate
# Search pruning: at most this many active HMMs per frame (PocketSphinx's default is 30,000).
# On bench/ai.py's 120 flite clips it cut CPU per audio second from 0.40 to 0.22 while the
# word error rate moved from 7.6 % to 7.7 % (one word on kal16).
MAX_HMM_PER_FRAME = 3_000
# A live utterance longer than this is closed (a ``final``) and its decoder handed to whoever
# waits: someone who never pauses cannot keep a decoder for ever.
MAX_UTTERANCE_S = 30.0
_ALTERNATE = re.compile(r"\(\d+\)$")
_FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "[BREATH]"}


def pocketsphinx_version() -> str | None:
    try:
        return metadata.version("pocketsphinx")
    except metadata.PackageNotFoundError:
        return None


class _Waiter:
    __slots__ = ("decoder", "event")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.decoder: Any = None


class DecoderPool:
    """Up to ``size`` decoders, made on demand and lent one at a time.

    A released decoder goes straight to the longest waiter (no barging: the thread that just
    released cannot take it back before those already waiting). A waiter that gets nothing
    within ``wait_s`` raises :class:`EngineBusy`.
    """

    def __init__(self, factory: Callable[[], Any], size: int, wait_s: float) -> None:
        self._factory = factory
        self.size = max(1, size)
        self.wait_s = wait_s
        self._lock = threading.Lock()
        self._free: list[Any] = []
        self._waiters: deque[_Waiter] = deque()
        self.created = 0

    @property
    def in_use(self) -> int:
        """Decoders lent out now."""
        with self._lock:
            return self.created - len(self._free)

    def add(self, decoder: Any) -> None:
        """A decoder made outside :meth:`acquire` (the first, loaded at start-up)."""
        with self._lock:
            self.created += 1
        self.release(decoder)

    def acquire(self) -> Any:
        with self._lock:
            if self._free:
                return self._free.pop()
            make = self.created < self.size
            if make:
                self.created += 1
            else:
                waiter = _Waiter()
                self._waiters.append(waiter)
        if make:
            try:
                return self._factory()
            except BaseException:
                with self._lock:
                    self.created -= 1
                raise
        if waiter.event.wait(self.wait_s):
            return waiter.decoder
        with self._lock:
            if waiter.decoder is not None:  # handed over just as the wait ran out
                return waiter.decoder
            self._waiters.remove(waiter)
        raise EngineBusy(
            "local",
            f"All {self.size} speech decoders stayed busy for {self.wait_s:g} s; try again "
            "shortly.",
        )

    def release(self, decoder: Any) -> None:
        with self._lock:
            if self._waiters:
                waiter = self._waiters.popleft()
                waiter.decoder = decoder
                waiter.event.set()
                return
            self._free.append(decoder)


class PocketSphinxAsr:
    name = "local"
    languages = ("en",)
    models = ("en-us",)  # the one model the wheel ships

    def __init__(self, pool_size: int = 2, wait_s: float = 10.0) -> None:
        version = pocketsphinx_version()
        if version is None:
            raise EngineUnavailable("local", "pocketsphinx is not installed")
        self.model = f"pocketsphinx-{version}/en-us"
        self.pool = DecoderPool(self._new_decoder, pool_size, wait_s)
        self.pool.add(self._new_decoder())  # load now: a broken install fails at setup

    @staticmethod
    def _new_decoder() -> Any:
        from pocketsphinx import Decoder

        return Decoder(samprate=16_000, loglevel="FATAL", maxhmmpf=MAX_HMM_PER_FRAME)

    @contextmanager
    def decoder(self) -> Iterator[Any]:
        """Borrow a decoder for one stretch of decoding (:class:`EngineBusy` past the wait)."""
        decoder = self.pool.acquire()
        try:
            yield decoder
        finally:
            self.pool.release(decoder)

    def transcribe(self, pcm: Pcm, language: str = "en") -> Transcript:
        segments: list[Segment] = []
        for start, end in speech_regions(pcm):
            # One region at a time: a long file does not keep a decoder between regions.
            with self.decoder() as decoder:
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
    ``final`` result with timestamps. A decoder is borrowed when an utterance starts and given
    back when it ends (or after :data:`MAX_UTTERANCE_S`), so a silent stream holds none."""

    def __init__(
        self,
        asr: PocketSphinxAsr,
        partial_every_s: float = 0.5,
        max_utterance_s: float = MAX_UTTERANCE_S,
    ) -> None:
        from pocketsphinx import Endpointer

        self.asr = asr
        self.decoder: Any = None
        self.endpointer = Endpointer(window=0.3, ratio=0.9, sample_rate=16_000)
        self.frame_bytes: int = self.endpointer.frame_bytes
        self.buffer = b""
        self.position_s = 0.0
        self.utterance_start: float | None = None
        self.partial_every_s = partial_every_s
        self.max_utterance_s = max_utterance_s
        self.last_partial = ""
        self.last_partial_at = 0.0

    @property
    def holds_decoder(self) -> bool:
        return self.decoder is not None

    def feed(self, raw: bytes) -> list[dict[str, Any]]:
        """Events for more audio; :class:`EngineBusy` when an utterance starts and no decoder
        frees up in time."""
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
        if self.decoder is None:
            self.decoder = self.asr.pool.acquire()
            self.decoder.start_utt()
            self.utterance_start = float(
                self.endpointer.speech_start if not was_in_speech else self.position_s
            )
            self.last_partial = ""
        self.decoder.process_raw(speech)
        if not self.endpointer.in_speech:
            return self._final()
        if self.position_s - (self.utterance_start or 0.0) >= self.max_utterance_s:
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
        decoder, self.decoder = self.decoder, None
        try:
            decoder.end_utt()
            segment = segment_of(decoder, self.utterance_start or 0.0)
        finally:
            self.asr.pool.release(decoder)
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
            if tail and self.decoder is not None:
                self.decoder.process_raw(tail)
        if self.decoder is not None:
            events.extend(self._final())
        return events

    def close(self) -> None:
        """Give back a decoder still held (the stream ended mid-utterance)."""
        decoder, self.decoder = self.decoder, None
        if decoder is None:
            return
        # The utterance is abandoned; ending it makes the decoder reusable (it may already be
        # ended, which PocketSphinx reports as an error worth nothing here).
        with suppress(Exception):
            decoder.end_utt()
        self.asr.pool.release(decoder)
