"""Batch jobs through the Redis-stream queue (real Redis on the postgres backend, the embedded
store on sqlite): progress, per-item failures, results, and surviving a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.ai.conftest import AI, SENTENCE, b64, problem, words
from tests.conftest import Api, Backend, Cast, client_for, running_app
from tests.integration.meetings_helpers import create_meeting

Speech = Callable[..., bytes]
WAIT_S = 60.0


async def finished(api: Api, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """Poll the job until it leaves the queue (bounded)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            response = await api.http.get(f"{AI}/batch/{job_id}", headers=headers)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] not in ("queued", "running"):
                return body
            await asyncio.sleep(0.1)


async def test_a_job_runs_every_item_and_reports_progress(
    api: Api, cast: Cast, speech: Speech
) -> None:
    items = [
        {"task": "asr", "input": {"audio": b64(speech())}},
        {"task": "emotion", "input": {"text": "What a great result, well done!"}},
        {"task": "synthesis", "input": {"text": "Thanks everyone.", "voice": "slt"}},
        {"task": "analyze", "input": {"segments": [
            {"speaker": "a", "start": 0, "end": 2, "text": "Can we ship on Monday?"}]}},
    ]  # fmt: skip
    submitted = await api.http.post(
        f"{AI}/batch", json={"items": items}, headers=cast.other.headers
    )
    assert submitted.status_code == 202, submitted.text
    job = await finished(api, submitted.json()["job_id"], cast.other.headers)
    assert job["status"] == "completed"
    assert job["progress"] == {"done": 4, "total": 4}
    assert job["errors"] == []
    outputs = {result["task"]: result["output"] for result in job["results"]}
    assert len(words(outputs["asr"]["text"]) & words(SENTENCE)) >= 7
    assert outputs["emotion"]["label"] == "happy"
    assert outputs["synthesis"]["voice"] == "slt"
    assert outputs["analyze"]["questions"][0]["text"] == "Can we ship on Monday?"


async def test_a_failed_item_does_not_fail_the_others(api: Api, cast: Cast) -> None:
    items = [
        {"task": "asr", "input": {"audio": "!!!"}},
        {"task": "emotion", "input": {"text": "fine"}},
        {"task": "synthesis", "input": {"text": "x" * 3000}},
    ]
    submitted = await api.http.post(
        f"{AI}/batch", json={"items": items}, headers=cast.other.headers
    )
    job = await finished(api, submitted.json()["job_id"], cast.other.headers)
    assert job["status"] == "completed"
    assert job["progress"] == {"done": 3, "total": 3}
    assert [r["index"] for r in job["results"]] == [1]
    assert [(e["index"], e["status"], e["type"]) for e in job["errors"]] == [
        (0, 400, "invalid-base64"),
        (2, 413, "text-too-long"),
    ]


async def test_a_job_whose_items_all_fail_is_failed(api: Api, cast: Cast) -> None:
    submitted = await api.http.post(
        f"{AI}/batch",
        json={"items": [{"task": "asr", "input": {"audio": ""}}]},
        headers=cast.other.headers,
    )
    job = await finished(api, submitted.json()["job_id"], cast.other.headers)
    assert job["status"] == "failed"


async def test_a_job_is_visible_to_its_owner_only(api: Api, cast: Cast) -> None:
    submitted = await api.http.post(
        f"{AI}/batch",
        json={"items": [{"task": "emotion", "input": {"text": "ok"}}]},
        headers=cast.host.headers,
    )
    job_id = submitted.json()["job_id"]
    problem(await api.http.get(f"{AI}/batch/{job_id}", headers=cast.other.headers), 404)
    await finished(api, job_id, cast.host.headers)


async def test_job_results_naming_a_meeting_are_stored_for_it(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    item = {"task": "emotion", "input": {"text": "Lovely demo!", "meeting_id": meeting["id"]}}
    submitted = await api.http.post(
        f"{AI}/batch", json={"items": [item]}, headers=cast.host.headers
    )
    job_id = submitted.json()["job_id"]
    await finished(api, job_id, cast.host.headers)
    listed = await api.http.get(
        f"{AI}/results", params={"meeting_id": meeting["id"]}, headers=cast.host.headers
    )
    assert [(row["task"], row["job_id"]) for row in listed.json()] == [("emotion", job_id)]


async def test_a_job_on_someone_elses_meeting_is_refused(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    item = {"task": "emotion", "input": {"text": "hi", "meeting_id": meeting["id"]}}
    response = await api.http.post(
        f"{AI}/batch", json={"items": [item]}, headers=cast.other.headers
    )
    problem(response, 404, "meeting-not-found")


async def test_an_unknown_task_is_a_422(api: Api, cast: Cast) -> None:
    response = await api.http.post(
        f"{AI}/batch", json={"items": [{"task": "paint", "input": {}}]}, headers=cast.other.headers
    )
    problem(response, 422)


async def test_a_queued_job_survives_a_restart(backend: Backend) -> None:
    settings = backend.settings(ai_workers=0)
    async with running_app(settings) as app, client_for(app) as client:
        first = Api(app, client)
        account = await first.account()
        submitted = await first.http.post(
            f"{AI}/batch",
            json={"items": [{"task": "emotion", "input": {"text": "Great news, I love it!"}}]},
            headers=account.headers,
        )
        job_id = submitted.json()["job_id"]
        status = await first.http.get(f"{AI}/batch/{job_id}", headers=account.headers)
        assert status.json()["status"] == "queued"
    restarted = settings.model_copy(update={"ai_workers": 1})
    async with running_app(restarted) as app, client_for(app) as client:
        second = Api(app, client)
        job = await finished(second, job_id, account.headers)
        assert job["status"] == "completed"
        assert job["results"][0]["output"]["label"] == "happy"
