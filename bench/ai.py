"""AI engine figures: WER and real-time factor per synthetic voice, synthesis latency, emotion
latency, and batch throughput with 1 and 2 workers. Speech is made here by the synthesizers
(nothing committed as audio). Prints each run and the median of ``--runs`` runs.

    .venv/bin/python bench/ai.py [--runs 3] [--skip-batch]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jiwer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from parley.ai.audio import Pcm, decode, to_wav
from parley.ai.engines.local_asr import PocketSphinxAsr
from parley.ai.engines.local_emotion import LexiconEmotion, prosody
from parley.ai.engines.local_tts import CommandLineTts

SENTENCES = [
    "let's start the meeting with a quick status update",
    "we should schedule the design review for next tuesday",
    "please send the budget report before the meeting",
    "the release is blocked by a bug in the payment service",
    "can everyone see my screen now",
    "i will follow up with the customer tomorrow morning",
    "we need to hire two more engineers this quarter",
    "the marketing team wants a demo by friday",
    "let's move the deadline to the end of the month",
    "does anyone have questions about the new process",
    "the server costs went up by ten percent last month",
    "i think we should focus on the mobile app first",
    "could you share the slides after the call",
    "the test results look good so far",
    "we are still waiting for the legal review",
    "please mute your microphone when you are not speaking",
    "the new office will open in the spring",
    "let's take a five minute break",
    "i agree with the plan but the timeline is tight",
    "who is responsible for the database migration",
    "the customer reported a problem with the login page",
    "we finished the sprint with three open tickets",
    "the training session is scheduled for thursday afternoon",
    "let's review the action items from last week",
    "sales numbers are better than we expected",
    "i will update the documentation today",
    "the security audit found two minor issues",
    "can we get a decision on the vendor contract",
    "thank you all for joining the call today",
    "let's wrap up and meet again next week",
]
VOICES = ["rms", "slt", "awb", "kal16", "espeak:en-us"]
FIFTEEN_WORDS = (
    "please send the updated budget report to the whole team before the meeting on friday morning"
)


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def asr_pass(asr: PocketSphinxAsr, clips: dict[str, list[Pcm]]) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    for voice, pcms in clips.items():
        hypotheses, seconds, cpu, audio = [], 0.0, 0.0, 0.0
        for pcm in pcms:
            started, started_cpu = time.perf_counter(), time.process_time()
            hypotheses.append(asr.transcribe(pcm, "en").text)
            seconds += time.perf_counter() - started
            cpu += time.process_time() - started_cpu
            audio += pcm.duration_s
        figures[voice] = {
            "wer": jiwer.wer(SENTENCES, [h or "-" for h in hypotheses]),
            "rtf": seconds / audio,
            # CPU seconds per audio second: what one core needs, whatever else the machine
            # is doing (wall-clock RTF rises with load from other processes).
            "cpu_rtf": cpu / audio,
        }
    return figures


def make_clips(tts: CommandLineTts, voices: list[str], rate: float = 1.0) -> dict[str, list[Pcm]]:
    """Each sentence in each voice, through WAV and the service's decoder (so espeak-ng's
    22,050 Hz output is resampled to 16 kHz exactly as an uploaded file would be)."""
    return {
        voice: [decode(to_wav(tts.synthesize(s, voice, rate).pcm)) for s in SENTENCES]
        for voice in voices
    }


def bench_asr(runs: int) -> None:
    tts, asr = CommandLineTts(), PocketSphinxAsr(pool_size=1)
    clips = make_clips(tts, VOICES)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {1 % (os.cpu_count() or 1)})  # RTF on one core
    # WER is deterministic (the same decoder on the same audio): one pass over every voice.
    # RTF is timing: the median of `runs` passes over the rms voice's 30 clips.
    figures = asr_pass(asr, clips)
    rtf_runs = [figures["rms"]]
    for run in range(1, runs):
        rtf_runs.append(asr_pass(asr, {"rms": clips["rms"]})["rms"])
        print(
            f"  asr run {run + 1}: rms RTF {rtf_runs[-1]['rtf']:.3f} "
            f"(CPU {rtf_runs[-1]['cpu_rtf']:.3f})",
            flush=True,
        )
    print("ASR (pocketsphinx, 30 sentences, one core):")
    flite_wers = []
    for voice in VOICES:
        if not voice.startswith("espeak"):
            flite_wers.append(figures[voice]["wer"])
        f = figures[voice]
        print(f"  {voice:14s} WER {f['wer']:6.1%}   RTF {f['rtf']:.3f} (CPU {f['cpu_rtf']:.3f})")
    median = median_of(rtf_runs)
    print(f"  rms RTF median of {runs} runs: {median['rtf']:.3f} (CPU {median['cpu_rtf']:.3f})")
    print(f"  flite average WER {statistics.mean(flite_wers):.1%}")
    # What changes the espeak-ng figure: speaking rate of the synthetic voice, and VAD cuts.
    slow = make_clips(tts, ["espeak:en-us"], rate=0.8)["espeak:en-us"]
    print(f"  espeak-ng at 0.8x rate: WER {asr_pass(asr, {'e': slow})['e']['wer']:.1%}")
    from parley.ai.engines import local_asr

    whole = local_asr.speech_regions
    local_asr.speech_regions = lambda pcm: [(0.0, pcm.duration_s)]  # type: ignore[assignment]
    try:
        no_vad = asr_pass(asr, {"e": clips["espeak:en-us"], "r": clips["rms"]})
    finally:
        local_asr.speech_regions = whole
    espeak_wer, rms_wer = no_vad["e"]["wer"], no_vad["r"]["wer"]
    print(f"  without VAD cuts: espeak-ng WER {espeak_wer:.1%}, rms WER {rms_wer:.1%}")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def timed_ms(action: Callable[[], Any], count: int) -> float:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def bench_latency(runs: int) -> None:
    tts, emotion, asr = CommandLineTts(), LexiconEmotion(), PocketSphinxAsr(pool_size=1)
    clip = decode(
        to_wav(tts.synthesize("I am really happy with the progress we made", "rms", 1.0).pcm)
    )
    results = []
    for run in range(runs):
        figures = {
            **{
                f"tts {voice}": timed_ms(lambda v=voice: tts.synthesize(FIFTEEN_WORDS, v, 1.0), 20)
                for voice in VOICES
            },
            "emotion text": timed_ms(lambda: emotion.from_text(FIFTEEN_WORDS), 2000),
            "emotion audio (asr+prosody+text)": timed_ms(
                lambda: prosody(clip, len(emotion.from_text(asr.transcribe(clip).text).label)), 5
            ),
            "prosody only": timed_ms(lambda: prosody(clip, 9), 20),
        }
        results.append(figures)
        print(
            f"  latency run {run + 1}: " + "  ".join(f"{k} {v:.2f} ms" for k, v in figures.items())
        )
    print("Latency (median per call, median of runs):")
    for key, value in median_of(results).items():
        print(f"  {key:34s} {value:8.3f} ms")


async def batch_throughput(workers: int, jobs: int, items: int, audio: str) -> float:
    from parley.allinone import create_allinone_app
    from parley.config import Settings

    data_dir = Path(tempfile.mkdtemp(prefix="parley-bench-ai-"))
    settings = Settings(
        env="test", data_dir=data_dir, jwt_secret="b" * 48, log_level="warning", ai_workers=workers
    )
    app = create_allinone_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            body = {
                "username": "bench",
                "email": "bench@example.com",
                "password": "tangerine-Sky-42",
            }
            await client.post("/api/v1/auth/register", json={**body, "display_name": "Bench"})
            login = await client.post(
                "/api/v1/auth/login", json={"username": "bench", "password": body["password"]}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            batch = {"items": [{"task": "asr", "input": {"audio": audio}}] * items}
            started = time.perf_counter()
            ids = [
                (await client.post("/api/v1/ai/batch", json=batch, headers=headers)).json()[
                    "job_id"
                ]
                for _ in range(jobs)
            ]
            pending = set(ids)
            while pending:
                await asyncio.sleep(0.05)
                for job_id in list(pending):
                    status = (
                        await client.get(f"/api/v1/ai/batch/{job_id}", headers=headers)
                    ).json()
                    if status["status"] not in ("queued", "running"):
                        pending.discard(job_id)
            return jobs * items / (time.perf_counter() - started)


def bench_batch(runs: int) -> None:
    tts = CommandLineTts()
    audio = base64.b64encode(to_wav(tts.synthesize(SENTENCES[1], "rms", 1.0).pcm)).decode()
    results = []
    for run in range(runs):
        figures = {
            f"{workers} worker(s)": asyncio.run(batch_throughput(workers, 6, 4, audio))
            for workers in (1, 2)
        }
        results.append(figures)
        print(
            f"  batch run {run + 1}: "
            + "  ".join(f"{k} {v:.2f} items/s" for k, v in figures.items())
        )
    print("Batch ASR throughput (3.5 s clips; 6 jobs x 4 items), median of runs:")
    for key, value in median_of(results).items():
        print(f"  {key:12s} {value:6.2f} items/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-asr", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-batch", action="store_true")
    args = parser.parse_args()
    if not args.skip_asr:
        bench_asr(args.runs)
    if not args.skip_latency:
        bench_latency(args.runs)
    if not args.skip_batch:
        bench_batch(args.runs)


if __name__ == "__main__":
    main()
