"""Speech synthesis, voices, and emotion from text and from speech."""

from __future__ import annotations

import base64
import io
import wave
from collections.abc import Callable

import av

from tests.support.ai import AI, SENTENCE, b64, problem, words
from tests.support.api import Account, Api

Speech = Callable[..., bytes]


async def test_synthesis_speaks_with_the_default_voice_as_wav(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.post(
        f"{AI}/synthesis", json={"text": SENTENCE}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["voice"] == "rms"
    assert body["format"] == "wav"
    with wave.open(io.BytesIO(base64.b64decode(body["audio"]))) as clip:
        assert clip.getframerate() == body["sample_rate"] == 16_000
        assert abs(clip.getnframes() / clip.getframerate() - body["duration_s"]) < 0.01
    assert 2.0 < body["duration_s"] < 5.0


async def test_synthesized_speech_is_transcribed_back(ai_api: Api, user: Account) -> None:
    spoken = await ai_api.http.post(
        f"{AI}/synthesis", json={"text": SENTENCE, "voice": "awb"}, headers=user.headers
    )
    heard = await ai_api.http.post(
        f"{AI}/asr", json={"audio": spoken.json()["audio"]}, headers=user.headers
    )
    assert len(words(heard.json()["text"]) & words(SENTENCE)) >= 7, heard.text


async def test_synthesis_as_ogg_opus_plays_in_a_decoder(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.post(
        f"{AI}/synthesis", json={"text": "Hello there.", "format": "ogg"}, headers=user.headers
    )
    body = response.json()
    with av.open(io.BytesIO(base64.b64decode(body["audio"]))) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus"
        assert sum(frame.samples for frame in container.decode(stream)) > 0


async def test_slower_rate_gives_longer_speech(ai_api: Api, user: Account) -> None:
    async def duration(rate: float) -> float:
        response = await ai_api.http.post(
            f"{AI}/synthesis", json={"text": SENTENCE, "rate": rate}, headers=user.headers
        )
        return float(response.json()["duration_s"])

    assert await duration(0.7) > await duration(1.4) * 1.5


async def test_espeak_voice_speaks_other_languages(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.post(
        f"{AI}/synthesis",
        json={"text": "Guten Morgen, wie geht es dir?", "voice": "espeak:de"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["voice"] == "espeak:de"
    assert response.json()["duration_s"] > 1.0


async def test_unknown_voice_is_a_400(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.post(
        f"{AI}/synthesis", json={"text": "hi", "voice": "hal9000"}, headers=user.headers
    )
    problem(response, 400, "unknown-voice")


async def test_text_over_2000_characters_is_a_413(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.post(
        f"{AI}/synthesis", json={"text": "word " * 401}, headers=user.headers
    )
    problem(response, 413, "text-too-long")


async def test_voices_list_flite_and_espeak_with_one_default(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.get(f"{AI}/voices", headers=user.headers)
    voices = response.json()
    ids = {voice["id"] for voice in voices}
    assert {"rms", "slt", "awb", "kal16", "espeak:en-us", "espeak:de"} <= ids
    assert [voice["id"] for voice in voices if voice["default"]] == ["rms"]


async def test_emotion_of_text_has_seven_scores_summing_to_one(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.post(
        f"{AI}/emotion",
        json={"text": "This is unacceptable, I am furious about the delay!"},
        headers=user.headers,
    )
    body = response.json()
    assert body["label"] == "angry"
    assert set(body["scores"]) == {
        "neutral", "happy", "sad", "angry", "fearful", "surprised", "disgusted"
    }  # fmt: skip
    assert abs(sum(body["scores"].values()) - 1) < 1e-6
    assert body["valence"] < -0.3
    assert body["engine"] == "local"


async def test_emotion_labels_follow_the_words(ai_api: Api, user: Account) -> None:
    cases = {
        "I am so happy with how this launch went, great work everyone!": "happy",
        "I'm worried about the risk to the deadline.": "fearful",
        "I'm sad that we lost the client.": "sad",
        "The meeting is at three in room four.": "neutral",
    }
    for text, label in cases.items():
        response = await ai_api.http.post(
            f"{AI}/emotion", json={"text": text}, headers=user.headers
        )
        assert response.json()["label"] == label, (text, response.json())


async def test_emotion_from_audio_transcribes_and_measures_the_voice(
    ai_api: Api, user: Account, speech: Speech
) -> None:
    clip = speech("I am really happy with the great progress we made")
    response = await ai_api.http.post(
        f"{AI}/emotion", json={"audio": b64(clip)}, headers=user.headers
    )
    body = response.json()
    assert "happy" in body["transcript"] or "great" in body["transcript"], body
    assert body["label"] == "happy"
    prosody = body["details"]["prosody"]
    assert 60 < prosody["pitch_hz"] < 200  # rms is a male voice
    assert prosody["words_per_s"] > 1
    assert 0 < body["arousal"] <= 1


async def test_emotion_needs_text_or_audio(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.post(f"{AI}/emotion", json={}, headers=user.headers)
    problem(response, 422)


async def test_emotion_text_over_the_limit_is_a_413(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.post(
        f"{AI}/emotion", json={"text": "x" * 2001}, headers=user.headers
    )
    problem(response, 413, "text-too-long")
