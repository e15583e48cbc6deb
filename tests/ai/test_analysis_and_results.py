"""Meeting analysis, and results stored against a meeting, readable by its participants only.

These run on both backends (SQLite and PostgreSQL), since they store rows.
"""

from __future__ import annotations

import uuid

from tests.support.ai import AI, live_recording, problem
from tests.support.api import Api, Cast
from tests.support.meetings import create_meeting, joined

SEGMENTS = [
    {"speaker": "ana", "start": 0.0, "end": 6.0,
     "text": "Welcome everyone. Today we review the mobile release plan and the budget."},
    {"speaker": "ben", "start": 6.5, "end": 14.0,
     "text": "The mobile release is blocked by the payment bug. I'm worried about the deadline."},
    {"speaker": "ana", "start": 14.5, "end": 20.0,
     "text": "Can you fix the payment bug by Friday? That would unblock the release."},
    {"speaker": "ben", "start": 20.5, "end": 26.0,
     "text": "Yes, I'll fix it by Friday. Great progress on the budget, I am happy with it."},
    {"speaker": "cy", "start": 26.5, "end": 30.0,
     "text": "What about the design review? Let's schedule it for next week."},
]  # fmt: skip


async def test_analysis_summarizes_and_finds_actions_and_questions(api: Api, cast: Cast) -> None:
    response = await api.http.post(
        f"{AI}/analyze", json={"segments": SEGMENTS}, headers=cast.other.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert 1 <= len(body["summary"]) <= 5
    assert all(any(s in seg["text"] for seg in SEGMENTS) for s in body["summary"])
    assert body["talk_time"] == {"ana": 11.5, "ben": 13.0, "cy": 3.5}
    actions = [item["text"] for item in body["action_items"]]
    assert "Yes, I'll fix it by Friday." in actions
    assert "Let's schedule it for next week." in actions
    questions = [item["text"] for item in body["questions"]]
    assert questions == [
        "Can you fix the payment bug by Friday?",
        "What about the design review?",
    ]
    assert any("payment bug" in phrase for phrase in body["key_phrases"])
    timeline = body["sentiment_timeline"]
    assert [point["t"] for point in timeline] == [0.0, 6.5, 14.5, 20.5, 26.5]
    assert timeline[1]["valence"] < 0 < timeline[3]["valence"]
    assert body["result_id"] is None  # no meeting named: nothing stored


async def test_analysis_needs_segments(api: Api, cast: Cast) -> None:
    response = await api.http.post(
        f"{AI}/analyze", json={"segments": []}, headers=cast.other.headers
    )
    problem(response, 422)


async def test_results_of_a_meeting_are_stored_and_listed_for_participants(
    api: Api, cast: Cast
) -> None:
    meeting = await create_meeting(api, cast.host)
    await joined(api, meeting["id"], cast.participant)
    analysis = await api.http.post(
        f"{AI}/analyze",
        json={"meeting_id": meeting["id"], "segments": SEGMENTS},
        headers=cast.host.headers,
    )
    emotion = await api.http.post(
        f"{AI}/emotion",
        json={"meeting_id": meeting["id"], "text": "Great meeting!"},
        headers=cast.participant.headers,
    )
    assert analysis.json()["result_id"] and emotion.json()["result_id"]
    listed = await api.http.get(
        f"{AI}/results", params={"meeting_id": meeting["id"]}, headers=cast.participant.headers
    )
    assert listed.status_code == 200, listed.text
    assert [row["task"] for row in listed.json()] == ["analyze", "emotion"]
    assert listed.json()[0]["data"]["talk_time"]["ana"] == 11.5


async def test_results_are_hidden_from_non_participants(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    await api.http.post(
        f"{AI}/analyze",
        json={"meeting_id": meeting["id"], "segments": SEGMENTS},
        headers=cast.host.headers,
    )
    listed = await api.http.get(
        f"{AI}/results", params={"meeting_id": meeting["id"]}, headers=cast.other.headers
    )
    problem(listed, 404, "meeting-not-found")


async def test_a_non_participant_cannot_store_results_on_a_meeting(api: Api, cast: Cast) -> None:
    meeting = await create_meeting(api, cast.host)
    response = await api.http.post(
        f"{AI}/emotion",
        json={"meeting_id": meeting["id"], "text": "hello"},
        headers=cast.other.headers,
    )
    problem(response, 404, "meeting-not-found")


async def test_results_of_a_recording_are_listed_by_recording(api: Api, cast: Cast) -> None:
    meeting, recording = await live_recording(api, cast.host)
    stored = await api.http.post(
        f"{AI}/analyze",
        json={"meeting_id": meeting["id"], "recording_id": recording, "segments": SEGMENTS},
        headers=cast.host.headers,
    )
    assert stored.status_code == 200, stored.text
    mine = await api.http.get(
        f"{AI}/results", params={"recording_id": recording}, headers=cast.host.headers
    )
    theirs = await api.http.get(
        f"{AI}/results", params={"recording_id": recording}, headers=cast.other.headers
    )
    assert [row["recording_id"] for row in mine.json()] == [recording]
    assert theirs.json() == []


async def test_a_recording_id_needs_its_meeting_id(api: Api, cast: Cast) -> None:
    response = await api.http.post(
        f"{AI}/analyze",
        json={"recording_id": str(uuid.uuid4()), "segments": SEGMENTS},
        headers=cast.host.headers,
    )
    problem(response, 422)


async def test_results_need_a_meeting_or_recording(api: Api, cast: Cast) -> None:
    problem(await api.http.get(f"{AI}/results", headers=cast.host.headers), 422)
