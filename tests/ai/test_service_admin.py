"""info, health, setup, and what happens when an engine's binary is missing."""

from __future__ import annotations

import shutil

import pytest

from parley.ai.engines.base import EngineUnavailable
from parley.ai.engines.registry import EngineConfig, Registry
from tests.support.ai import AI, problem
from tests.support.api import Account, Api


async def test_info_is_open_and_lists_engines_with_reasons(ai_api: Api) -> None:
    response = await ai_api.http.get(f"{AI}/info")
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["engines"]["asr"]["local"]["available"] is True
    whisper = info["engines"]["asr"]["whisper"]
    assert whisper["available"] is False and "PARLEY_AI_MODEL_DIR" in whisper["reason"]
    assert info["engines"]["asr"]["triton"]["available"] is False
    assert info["defaults"] == {"asr": "local", "tts": "local", "emotion": "local"}
    assert info["vad"].startswith("silero")
    assert info["triton"] == []


async def test_health_is_open_and_ok_with_local_engines(ai_api: Api) -> None:
    response = await ai_api.http.get(f"{AI}/health")
    assert response.json() == {
        "status": "ok",
        "engines": {"asr": True, "tts": True, "emotion": True},
    }


async def test_setup_needs_the_admin_role(ai_api: Api, user: Account) -> None:
    response = await ai_api.http.post(
        f"{AI}/setup", json={"asr": {"engine": "local"}}, headers=user.headers
    )
    problem(response, 403)


async def test_setup_with_warmup_loads_models_listed_by_info(ai_api: Api) -> None:
    response = await ai_api.http.post(
        f"{AI}/setup",
        json={"asr": {"engine": "local"}, "tts": {"engine": "local"}, "warmup": True},
        headers=ai_api.root.headers,
    )
    assert response.status_code == 200, response.text
    models = (await ai_api.http.get(f"{AI}/info")).json()["models"]
    asr = next(m for m in models if m["task"] == "asr" and m["engine"] == "local")
    assert asr["name"].startswith("pocketsphinx") and asr["device"] == "cpu"
    assert asr["memory_bytes"] > 1_000_000


async def test_setup_unloads_a_model(ai_api: Api) -> None:
    await ai_api.http.post(
        f"{AI}/setup", json={"emotion": {"engine": "local"}, "warmup": True},
        headers=ai_api.root.headers,
    )  # fmt: skip
    response = await ai_api.http.post(
        f"{AI}/setup",
        json={"emotion": {"engine": "local", "unload": True}},
        headers=ai_api.root.headers,
    )
    assert response.json()["changes"]["emotion"]["unloaded"] is True
    models = (await ai_api.http.get(f"{AI}/info")).json()["models"]
    assert not [m for m in models if m["task"] == "emotion"]


async def test_setup_with_an_unknown_engine_is_a_400(ai_api: Api) -> None:
    response = await ai_api.http.post(
        f"{AI}/setup", json={"tts": {"engine": "polly"}}, headers=ai_api.root.headers
    )
    body = problem(response, 400, "unknown-engine")
    assert body["valid"] == ["local", "triton"]


async def test_setup_with_an_empty_engine_name_is_refused_and_health_stays_answerable(
    ai_api: Api,
) -> None:
    response = await ai_api.http.post(
        f"{AI}/setup", json={"emotion": {"engine": ""}}, headers=ai_api.root.headers
    )
    assert response.status_code == 422
    assert (await ai_api.http.get(f"{AI}/health")).status_code == 200


async def test_setup_refuses_a_number_where_a_boolean_is_documented(ai_api: Api) -> None:
    response = await ai_api.http.post(
        f"{AI}/setup", json={"warmup": 0}, headers=ai_api.root.headers
    )
    assert response.status_code == 422


async def test_setup_to_whisper_without_weights_is_a_503(ai_api: Api) -> None:
    response = await ai_api.http.post(
        f"{AI}/setup", json={"asr": {"engine": "whisper"}}, headers=ai_api.root.headers
    )
    problem(response, 503, "engine-unavailable")
    defaults = (await ai_api.http.get(f"{AI}/info")).json()["defaults"]
    assert defaults["asr"] == "local"


def test_missing_synthesizer_binaries_make_tts_unavailable_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    registry = Registry(
        EngineConfig(None, [], {"asr": "local", "tts": "local", "emotion": "local"})
    )
    tts = registry.availability()["tts"]["local"]
    assert tts == {"available": False, "reason": "neither flite nor espeak-ng is installed"}
    with pytest.raises(EngineUnavailable, match="apt-get install flite espeak-ng"):
        registry.get("tts")


def test_a_missing_espeak_leaves_flite_running_but_degraded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "espeak-ng" else real(name))
    registry = Registry(
        EngineConfig(None, [], {"asr": "local", "tts": "local", "emotion": "local"})
    )
    tts = registry.availability()["tts"]["local"]
    assert tts["available"] is True and tts["degraded"] == "espeak-ng not installed"
    assert {voice.id for voice in registry.get("tts").voices()} == {"rms", "slt", "awb", "kal16"}
