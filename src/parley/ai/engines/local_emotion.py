"""Emotion from text (VADER plus a small cue-word table) and arousal from the voice (prosody).

Nothing here is a trained emotion classifier, and the API says so through ``engine``. How a
label is decided, exactly (docs/ai.md repeats it):

1. VADER (vaderSentiment, a rule-based lexicon of ~7,500 rated words with negation, intensifier
   and punctuation rules) gives the shares of the text that are positive, negative and neutral
   (``pos + neg + neu = 1``) and a ``compound`` polarity in [-1, 1], which is the ``valence``.
2. ``neutral`` gets the neutral share damped by the polarity's strength:
   ``neu * (1 - |compound|)`` (VADER's ``neu`` is large for most sentences, even clearly
   emotional ones, because most words carry no sentiment).
3. The positive share is split between ``happy`` and ``surprised``: ``surprised`` gets the
   fraction of cue words that are surprise cues (table ``SURPRISE``), plus a quarter when the
   text has ``?!``/``!?`` or "wow"-like interjections.
4. The negative share is split between ``sad``, ``angry``, ``fearful`` and ``disgusted`` in
   proportion to how many cue words of each table occur (plus a prior of 0.5 for ``sad`` and 0.2
   for the others, so that negative text with no cue word leans ``sad``).
5. Scores are normalised to sum to 1; the label is the highest score.

Text arousal is VADER's emotional share ``pos + neg`` raised by exclamation marks and words in
capitals. Audio arousal (:func:`prosody`) comes from loudness, pitch movement and speaking rate.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from parley.ai.audio import Pcm
from parley.ai.engines.base import Emotion, EngineUnavailable, normalise

CUES: dict[str, frozenset[str]] = {
    "angry": frozenset(
        [
            "angry",
            "anger",
            "furious",
            "mad",
            "annoyed",
            "annoying",
            "irritated",
            "outraged",
            "rage",
            "hate",
            "hated",
            "ridiculous",
            "unacceptable",
            "frustrated",
            "frustrating",
            "fed-up",
            "livid",
        ]
    ),
    "fearful": frozenset(
        [
            "afraid",
            "scared",
            "fear",
            "fearful",
            "worried",
            "worry",
            "worrying",
            "nervous",
            "anxious",
            "panic",
            "terrified",
            "risk",
            "risky",
            "threat",
            "danger",
            "dangerous",
            "concerned",
            "alarming",
        ]
    ),
    "sad": frozenset(
        [
            "sad",
            "unhappy",
            "sorry",
            "depressed",
            "miss",
            "missed",
            "lost",
            "loss",
            "disappointed",
            "disappointing",
            "regret",
            "unfortunately",
            "cry",
            "crying",
            "lonely",
            "hurt",
            "grief",
        ]
    ),
    "disgusted": frozenset(
        [
            "disgusting",
            "disgusted",
            "gross",
            "awful",
            "nasty",
            "revolting",
            "sick",
            "yuck",
            "horrible",
            "vile",
            "creepy",
        ]
    ),
}
SURPRISE = frozenset(
    [
        "wow",
        "whoa",
        "surprised",
        "surprising",
        "surprise",
        "unexpected",
        "unexpectedly",
        "amazing",
        "incredible",
        "unbelievable",
        "astonishing",
        "shocked",
        "suddenly",
        "omg",
    ]
)
NEGATIVE_PRIOR = {"sad": 0.5, "angry": 0.2, "fearful": 0.2, "disgusted": 0.2}
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


@cache
def _analyzer() -> Any:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise EngineUnavailable("local", "vaderSentiment is not installed") from exc
    return SentimentIntensityAnalyzer()


class LexiconEmotion:
    name = "local"
    model = "vader-3.3.2+cue-words"

    def __init__(self) -> None:
        _analyzer()

    def from_text(self, text: str) -> Emotion:
        polarity = _analyzer().polarity_scores(text)
        words = [word.lower() for word in _WORD.findall(text)]
        counts = {label: sum(word in cue for word in words) for label, cue in CUES.items()}
        surprise_hits = sum(word in SURPRISE for word in words)
        surprise = min(
            1.0,
            surprise_hits / max(1, surprise_hits + 1)
            + (0.25 if "?!" in text or "!?" in text else 0),
        )
        negative_weights = {
            label: NEGATIVE_PRIOR[label] + counts[label] for label in NEGATIVE_PRIOR
        }
        weight_total = sum(negative_weights.values())
        scores = {
            "neutral": polarity["neu"] * (1 - abs(polarity["compound"])),
            "happy": polarity["pos"] * (1 - surprise),
            "surprised": polarity["pos"] * surprise
            + (0.1 * surprise_hits if polarity["pos"] == 0 else 0),
        }
        for label, weight in negative_weights.items():
            scores[label] = polarity["neg"] * weight / weight_total
        scores = normalise(scores)
        exclamations = text.count("!")
        shouted = sum(1 for word in _WORD.findall(text) if len(word) > 1 and word.isupper())
        arousal = min(
            1.0, (polarity["pos"] + polarity["neg"]) * (1 + 0.3 * exclamations + 0.2 * shouted)
        )
        return Emotion(
            label=max(scores, key=lambda label: scores[label]),
            scores=scores,
            valence=round(float(polarity["compound"]), 4),
            arousal=round(arousal, 4),
            engine=self.name,
            details={"vader": polarity, "cue_words": {**counts, "surprised": surprise_hits}},
        )


def _pitch_track(floats: NDArray[Any], rate: int) -> NDArray[Any]:
    """F0 in Hz of each voiced 40 ms frame (autocorrelation peak between 60 and 400 Hz)."""
    frame = int(0.04 * rate)
    hop = frame // 2
    low, high = rate // 400, rate // 60
    pitches = []
    for start in range(0, len(floats) - frame, hop):
        chunk = floats[start : start + frame]
        chunk = chunk - chunk.mean()
        energy = float(np.dot(chunk, chunk))
        if energy < 1e-4 * frame:
            continue
        spectrum = np.fft.rfft(chunk, n=2 * frame)
        corr = np.fft.irfft(spectrum * np.conj(spectrum))[:frame]
        lag = low + int(np.argmax(corr[low:high]))
        if corr[lag] / corr[0] > 0.45:
            pitches.append(rate / lag)
    return np.array(pitches)


def prosody(pcm: Pcm, words: int, speech_s: float | None = None) -> dict[str, float]:
    """Loudness, pitch and rate of the voice, and the arousal they add up to (0 to 1).

    arousal = mean of three clipped ramps: loudness from -40 to -10 dBFS, pitch movement (the
    standard deviation of F0 in semitones) from 1 to 5, speaking rate from 1.5 to 4 words/s.
    """
    floats = pcm.floats()
    if len(floats) == 0:
        return {
            "energy_dbfs": -120.0,
            "pitch_hz": 0.0,
            "pitch_sd_semitones": 0.0,
            "words_per_s": 0.0,
            "arousal": 0.0,
        }
    rms = float(np.sqrt(np.mean(floats**2))) + 1e-9
    energy_db = 20 * np.log10(rms)
    pitches = _pitch_track(floats, pcm.rate)
    pitch = float(np.median(pitches)) if len(pitches) else 0.0
    spread = float(np.std(12 * np.log2(pitches / pitch))) if len(pitches) > 2 and pitch else 0.0
    seconds = speech_s if speech_s else pcm.duration_s
    rate = words / seconds if seconds > 0 else 0.0

    def ramp(value: float, low: float, high: float) -> float:
        return min(1.0, max(0.0, (value - low) / (high - low)))

    arousal = (ramp(energy_db, -40, -10) + ramp(spread, 1, 5) + ramp(rate, 1.5, 4)) / 3
    return {
        "energy_dbfs": round(float(energy_db), 2),
        "pitch_hz": round(pitch, 1),
        "pitch_sd_semitones": round(spread, 2),
        "words_per_s": round(rate, 2),
        "arousal": round(arousal, 4),
    }


def combine(text_emotion: Emotion, voice: dict[str, float]) -> Emotion:
    """Text emotion with the voice's arousal: the label and valence come from the words, the
    arousal from the voice (the one thing prosody alone measures fairly well)."""
    return Emotion(
        label=text_emotion.label,
        scores=text_emotion.scores,
        valence=text_emotion.valence,
        arousal=voice["arousal"],
        engine=text_emotion.engine,
        details={**text_emotion.details, "prosody": voice, "text_arousal": text_emotion.arousal},
    )
