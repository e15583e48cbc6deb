"""Voice activity detection: where in a recording someone speaks.

Silero VAD (an ONNX model) run by onnxruntime. Its weights ship inside the faster-whisper wheel
(``faster_whisper/assets/silero_vad_v6.onnx``) together with the windowing code, so nothing is
downloaded and torch (which the ``silero-vad`` package itself pulls in, ~5 GB) is not needed.
When faster-whisper is not installed an energy threshold stands in and ``VAD_MODEL`` says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from parley.ai.audio import Pcm

try:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    VAD_MODEL = "silero-vad-v6 (onnx, from faster-whisper)"
except ImportError:  # pragma: no cover - faster-whisper is a declared dependency
    VadOptions = None
    get_speech_timestamps = None
    VAD_MODEL = "energy-threshold"

MAX_SEGMENT_S = 20.0


def speech_regions(pcm: Pcm) -> list[tuple[float, float]]:
    """(start, end) seconds of each stretch of speech; empty for silence."""
    if len(pcm.samples) == 0:
        return []
    floats = pcm.floats()
    if get_speech_timestamps is not None and pcm.rate == 16_000:
        options = VadOptions(
            threshold=0.5,
            min_silence_duration_ms=400,
            speech_pad_ms=200,
            max_speech_duration_s=MAX_SEGMENT_S,
        )
        stamps = get_speech_timestamps(floats, options)
        return [(s["start"] / pcm.rate, s["end"] / pcm.rate) for s in stamps]
    return _energy_regions(floats, pcm.rate)


def _energy_regions(floats: NDArray[Any], rate: int) -> list[tuple[float, float]]:
    frame = rate // 50
    count = len(floats) // frame
    if count == 0:
        return []
    energy = np.sqrt((floats[: count * frame].reshape(count, frame) ** 2).mean(axis=1))
    voiced = energy > max(0.01, float(np.percentile(energy, 20)) * 3)
    regions: list[tuple[float, float]] = []
    start: int | None = None
    for index, flag in enumerate([*voiced.tolist(), False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            if index - start >= 5:
                regions.append((start * frame / rate, index * frame / rate))
            start = None
    return regions
