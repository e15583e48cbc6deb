"""Batch jobs through the Redis-stream queue (real Redis on the postgres backend, the embedded
store on sqlite): progress, per-item failures, results, and surviving a restart."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from tests.support.ai import AI, SENTENCE, b64, finished, problem, words
from tests.support.api import Account, Api, Cast, client_for, running_app
from tests.support.backends import Backend
from tests.support.meetings import create_meeting

Speech = Callable[..., bytes]


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
    assert submitted.status_code == 202, submitted.text
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


async def test_a_resumed_job_skips_items_already_done(ai_api: Api, user: Account) -> None:
    from parley.ai import jobs
    from parley.ai.models import AiJob
    from parley.ai.service import runtime_of

    state = ai_api.app.state
    items = [
        {"task": "emotion", "input": {"text": "first"}},
        {"task": "emotion", "input": {"text": "I love this!"}},
    ]
    async with state.db.sessionmaker() as session:
        job = AiJob(
            owner_id=uuid.UUID(user.id), status="running", total=2, done=1, items=items,
            results=[{"index": 0, "task": "emotion", "output": {"kept": True}}], errors=[],
        )  # fmt: skip
        session.add(job)
        await session.commit()
    assert await jobs.process(state.db, runtime_of(state), job.id) == "completed"
    async with state.db.sessionmaker() as session:
        done = await session.get(AiJob, job.id)
        assert done is not None
        outputs = {r["index"]: r["output"] for r in done.results}
    assert outputs[0] == {"kept": True}
    assert outputs[1]["label"] == "happy"


async def test_a_job_left_by_a_dead_worker_is_claimed_by_another(
    ai_api: Api, user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fakeredis

    from parley.ai import jobs
    from parley.ai.service import runtime_of

    state = ai_api.app.state
    kv = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)
    stream = jobs.stream_of(state.db)
    await jobs.ensure_group(kv, stream)
    async with state.db.sessionmaker() as session:
        job = await jobs.submit(
            session, kv, stream, user.id, [{"task": "emotion", "input": {"text": "ok"}}], None
        )
    taken = await kv.xreadgroup(jobs.GROUP, "dead-worker", {stream: ">"}, count=1)
    assert taken  # the dead worker took it and never acknowledged it
    monkeypatch.setattr(jobs, "CLAIM_IDLE_MS", 0)
    await jobs.Worker(state.db, kv, runtime_of(state), "alive")._backlog()
    pending = await kv.xpending(stream, jobs.GROUP)
    assert pending["pending"] == 0
    status = await ai_api.http.get(f"{AI}/batch/{job.id}", headers=user.headers)
    assert status.json()["status"] == "completed"
    await kv.aclose()
