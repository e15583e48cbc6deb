"""Speech synthesis with the Debian ``flite`` (four natural US/Scottish English voices) and
``espeak-ng`` (about a hundred languages, robotic but intelligible) binaries.

The default voice is flite's ``rms``: of the five English voices it is the one PocketSphinx
transcribes with the lowest word error rate (bench/ai.py measures it), our best offline proxy
for "most intelligible". Text goes to espeak-ng on standard input and to flite as one argument
after ``-t``, never through a shell.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cached_property

import numpy as np

from parley.ai.audio import Pcm
from parley.ai.engines.base import EngineUnavailable, Speech, Voice

FLITE_VOICES = {
    "rms": ("flite rms (US English, male)", "male"),
    "slt": ("flite slt (US English, female)", "female"),
    "awb": ("flite awb (Scottish English, male)", "male"),
    "kal16": ("flite kal16 (US English, male, 16 kHz diphone)", "male"),
}
DEFAULT_VOICE = "rms"
TIMEOUT_S = 30.0


def parse_wav(data: bytes) -> Pcm:
    """PCM from a RIFF/WAVE byte string whose size fields may be wrong (espeak-ng writes
    0x7ffff000 when writing to a pipe): the data chunk is taken to run to the end."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    position = 12
    rate = 16_000
    channels = 1
    while position + 8 <= len(data):
        chunk, size = (
            data[position : position + 4],
            int.from_bytes(data[position + 4 : position + 8], "little"),
        )
        body = position + 8
        if chunk == b"fmt ":
            channels = int.from_bytes(data[body + 2 : body + 4], "little")
            rate = int.from_bytes(data[body + 4 : body + 8], "little")
        elif chunk == b"data":
            raw = data[body:]
            raw = raw[: len(raw) - len(raw) % (2 * channels)]
            samples = np.frombuffer(raw, dtype="<i2")
            if channels > 1:
                samples = samples.reshape(-1, channels).mean(axis=1)
            return Pcm(samples.astype(np.int16), rate)
        position = body + size + (size & 1)
    raise ValueError("WAV file without a data chunk")


class CommandLineTts:
    name = "local"

    def __init__(self) -> None:
        self.flite = shutil.which("flite")
        self.espeak = shutil.which("espeak-ng")
        if not self.flite and not self.espeak:
            raise EngineUnavailable(
                "local",
                "neither flite nor espeak-ng is installed (apt-get install flite espeak-ng)",
            )

    @property
    def missing(self) -> list[str]:
        return [
            name for name, path in (("flite", self.flite), ("espeak-ng", self.espeak)) if not path
        ]

    @cached_property
    def _espeak_voices(self) -> list[Voice]:
        if not self.espeak:
            return []
        listing = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [self.espeak, "--voices"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        ).stdout
        voices = []
        for line in listing.splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 4:
                gender = {"M": "male", "F": "female"}.get(parts[2].split("/")[-1])
                voices.append(
                    Voice(
                        f"espeak:{parts[1]}", f"espeak-ng {parts[3]}", parts[1], "espeak-ng", gender
                    )
                )
        return voices

    def voices(self) -> list[Voice]:
        flite = (
            [
                Voice(voice, label, "en", "flite", gender, default=voice == self.default_voice)
                for voice, (label, gender) in FLITE_VOICES.items()
            ]
            if self.flite
            else []
        )
        return flite + self._espeak_voices

    @property
    def default_voice(self) -> str:
        return DEFAULT_VOICE if self.flite else "espeak:en-us"

    def voice_ids(self) -> set[str]:
        return {voice.id for voice in self.voices()}

    def synthesize(self, text: str, voice: str | None, rate: float = 1.0) -> Speech:
        voice = voice or self.default_voice
        if voice in FLITE_VOICES and self.flite:
            argv = [self.flite, "-voice", voice, "--setf", f"duration_stretch={1 / rate:.3f}"]
            argv += ["-t", text, "-o", "/dev/stdout"]
            stdin = None
        elif voice.startswith("espeak:") and self.espeak:
            words_per_minute = max(80, min(450, round(175 * rate)))
            argv = [self.espeak, "-v", voice.removeprefix("espeak:"), "-s", str(words_per_minute)]
            argv += ["--stdout"]
            stdin = text
        else:
            raise KeyError(voice)
        done = subprocess.run(  # noqa: S603 - fixed argv, text is data, no shell
            argv,
            input=stdin.encode() if stdin else None,
            capture_output=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0 or not done.stdout:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.decode(errors='replace')[:200]}")
        return Speech(parse_wav(done.stdout), voice)
