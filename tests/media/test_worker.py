"""The background worker: probes, thumbnails (PyAV frame at 10 %, Pillow, 320 px WebP),
failures with a reason, and the retention of old recordings."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

from PIL import Image

from parley.config import Settings
from parley.core.db import utcnow
from parley.media import housekeeping
from tests.support import media_samples as samples
from tests.support.api import Api
from tests.support.media import MEDIA, live_meeting, post_file, wait_processed
from tests.support.media_env import MediaEnv, People


async def thumbnail_of(api: Api, people: People, media_id: str) -> Image.Image:
    response = await api.http.get(f"{MEDIA}/{media_id}/thumbnail", headers=people.owner.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/webp"
    return Image.open(io.BytesIO(response.content))


async def test_a_video_is_probed_and_gets_a_frame_from_a_tenth_in(
    media_api: Api, people: People
) -> None:
    data = samples.webm(seconds=4.0, width=320, height=240, fps=10)
    created = await post_file(media_api, people.owner, data, "clip.webm", "video/webm")
    media = await wait_processed(media_api, people.owner, created.json()["id"])
    assert media["thumbnail_status"] == "ready"
    assert abs(media["duration_s"] - 4.0) < 0.2
    assert (media["width"], media["height"]) == (320, 240)
    assert media["codecs"] == ["vp8", "opus"]
    thumb = await thumbnail_of(media_api, people, media["id"])
    assert thumb.format == "WEBP"
    assert thumb.size == (320, 240)
    # Frame i has red = blue = i * 25: 10 % of 4 s at 10 fps is frame 4 (about 100).
    red, _, _ = thumb.convert("RGB").getpixel((300, 120))
    assert 80 <= red <= 125, red


async def test_an_image_thumbnail_is_320_pixels_wide(media_api: Api, people: People) -> None:
    created = await post_file(media_api, people.owner, samples.png(1280, 720), "wide.png")
    media = await wait_processed(media_api, people.owner, created.json()["id"])
    assert (media["width"], media["height"]) == (1280, 720)
    thumb = await thumbnail_of(media_api, people, media["id"])
    assert thumb.size == (320, 180)


async def test_audio_is_probed_and_has_no_thumbnail(media_api: Api, people: People) -> None:
    created = await post_file(media_api, people.owner, samples.wav(1.0), "voice.wav")
    media = await wait_processed(media_api, people.owner, created.json()["id"])
    assert media["thumbnail_status"] == "none"
    assert abs(media["duration_s"] - 1.0) < 0.05
    response = await media_api.http.get(
        f"{MEDIA}/{media['id']}/thumbnail", headers=people.owner.headers
    )
    assert response.status_code == 404


async def test_an_undecodable_video_fails_with_a_reason(media_api: Api, people: People) -> None:
    data = samples.undecodable_mp4()
    created = await post_file(media_api, people.owner, data, "broken.mp4", "video/mp4")
    assert created.status_code == 201, created.text
    media = await wait_processed(media_api, people.owner, created.json()["id"])
    assert media["thumbnail_status"] == "failed"
    assert media["thumbnail_error"]
    response = await media_api.http.get(
        f"{MEDIA}/{media['id']}/thumbnail", headers=people.owner.headers
    )
    assert response.status_code == 404
    assert response.json()["thumbnail_status"] == "failed"


async def test_retention_deletes_only_recordings_past_the_limit(
    media_api: Api, people: People, media_env: MediaEnv
) -> None:
    meeting = await live_meeting(media_api, people.owner)
    recording = await post_file(
        media_api,
        people.owner,
        samples.webm(1.0),
        "rec.webm",
        "video/webm",
        kind="recording",
        meeting_id=meeting["id"],
    )
    assert recording.status_code == 201, recording.text
    kept = await post_file(media_api, people.owner, samples.pdf(), "keep.pdf")
    settings: Settings = media_env.app.state.settings
    try:
        settings.recording_retention_days = None
        assert await media_env.acall(housekeeping.apply_retention(media_env.service)) == 0
        settings.recording_retention_days = 30
        later = utcnow() + timedelta(days=31)
        assert await media_env.acall(housekeeping.apply_retention(media_env.service, later)) >= 1
    finally:
        settings.recording_retention_days = None
    gone = await media_api.http.get(
        f"{MEDIA}/{recording.json()['id']}", headers=people.owner.headers
    )
    assert gone.status_code == 404
    still = await media_api.http.get(f"{MEDIA}/{kept.json()['id']}", headers=people.owner.headers)
    assert still.status_code == 200


async def test_a_job_interrupted_mid_processing_is_done_again(
    media_api: Api, people: People, media_env: MediaEnv
) -> None:
    from sqlalchemy import update

    from parley.media import worker
    from parley.media.models import MediaFile

    created = await post_file(media_api, people.owner, samples.png(), "again.png")
    media_id = created.json()["id"]
    await wait_processed(media_api, people.owner, media_id)

    async def interrupt() -> None:
        async with media_env.app.state.db.sessionmaker() as session:
            await session.execute(
                update(MediaFile)
                .where(MediaFile.id == uuid.UUID(media_id))
                .values(thumbnail_status="processing", processing_attempts=1)
            )
            await session.commit()
        await worker.requeue_interrupted(media_env.service)
        media_env.service.wakeup.set()

    await media_env.acall(interrupt())
    media = await wait_processed(media_api, people.owner, media_id)
    assert media["thumbnail_status"] == "ready"
