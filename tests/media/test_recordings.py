"""A recording uploaded through tus keeps meeting-service's recording in step (over its HTTP
API): media id, size and ``processing`` when the upload ends, duration and ``ready`` once the
worker has probed it."""

from __future__ import annotations

import asyncio

from tests.support import media_samples as samples
from tests.support.api import Api
from tests.support.media import (
    TUS,
    UPLOADS,
    live_meeting,
    media_id_of,
    metadata,
    tus_create,
    tus_patch,
    wait_processed,
)
from tests.support.media_env import People


async def recording_row(api: Api, people: People, meeting_id: str, recording_id: str) -> dict:
    response = await api.http.get(
        f"/api/v1/meetings/{meeting_id}/recordings", headers=people.host.headers
    )
    assert response.status_code == 200, response.text
    return next(r for r in response.json() if r["id"] == recording_id)


async def test_a_finished_recording_upload_updates_the_meetings_recording(
    media_api: Api, people: People
) -> None:
    meeting = await live_meeting(media_api, people.host, people.participant)
    started = await media_api.http.post(
        f"/api/v1/meetings/{meeting['id']}/recordings", headers=people.host.headers
    )
    assert started.status_code == 201, started.text
    recording_id = started.json()["id"]
    data = samples.webm(3.0)
    # As the browser does it: the size is unknown while recording (creation-defer-length).
    created = await media_api.http.post(
        UPLOADS,
        headers={
            **people.host.headers,
            **TUS,
            "Upload-Defer-Length": "1",
            "Upload-Metadata": metadata(
                filename="meeting.webm",
                content_type="video/webm;codecs=vp8,opus",
                kind="recording",
                meeting_id=meeting["id"],
                recording_id=recording_id,
            ),
        },
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    half = len(data) // 2
    assert (await tus_patch(media_api, people.host, location, 0, data[:half])).status_code == 204
    row = await recording_row(media_api, people, meeting["id"], recording_id)
    assert row["media_id"] is None
    last = await tus_patch(
        media_api, people.host, location, half, data[half:], **{"Upload-Length": str(len(data))}
    )
    assert last.status_code == 204, last.text

    media_id = media_id_of(created)
    row = await recording_row(media_api, people, meeting["id"], recording_id)
    assert row["media_id"] == media_id
    assert row["size_bytes"] == len(data)
    assert row["status"] in ("processing", "ready")

    media = await wait_processed(media_api, people.host, media_id)
    assert media["thumbnail_status"] == "ready"
    for _ in range(100):
        row = await recording_row(media_api, people, meeting["id"], recording_id)
        if row["status"] == "ready":
            break
        await asyncio.sleep(0.05)
    assert row["status"] == "ready"
    assert abs(row["duration_s"] - 3.0) < 0.2
    # The meeting's participants see it.
    seen = await media_api.http.get(f"/api/v1/media/{media_id}", headers=people.participant.headers)
    assert seen.status_code == 200


async def test_a_recording_id_of_another_meeting_is_refused(media_api: Api, people: People) -> None:
    first = await live_meeting(media_api, people.host)
    second = await live_meeting(media_api, people.host)
    started = await media_api.http.post(
        f"/api/v1/meetings/{first['id']}/recordings", headers=people.host.headers
    )
    response = await tus_create(
        media_api,
        people.host,
        100,
        filename="meeting.webm",
        kind="recording",
        meeting_id=second["id"],
        recording_id=started.json()["id"],
    )
    assert response.status_code == 404
