"""Server-side recording of an SFU room with real Chromium pages: the host starts it, the SFU
records everyone (no MediaRecorder in the page), someone leaves, the host stops it, and the
media worker composes an MP4 (H.264 + AAC of the recorded length) and each speaker's audio."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import av
from playwright.async_api import expect

from tests.support.browser import Person, gathered
from tests.support.media_flow import frames_keep_growing, mode, wait_until


async def _api(person: Person, path: str, method: str = "GET", body: object = None) -> object:
    return await person.page.evaluate(
        """async ([path, method, body]) => {
            const { session } = await import('/static/js/session.js');
            const options = body === null ? { method } : { method, json: body };
            return session.api.request(path, options);
        }""",
        [path, method, body],
    )


async def test_the_sfu_records_the_room_and_the_worker_makes_an_mp4_and_speaker_tracks(
    sfu_people, sfu_data: Path
) -> None:
    host, meeting, (ben, cy) = await gathered(sfu_people, "Ben", "Cy")

    async def on_the_sfu() -> bool:
        return all([await mode(p) == "sfu" for p in (host, ben, cy)])

    await wait_until(on_the_sfu)
    # Everyone's media reaches the SFU before the recording starts (each is to have a track).
    await frames_keep_growing(
        {host: ("Ben", "Cy"), ben: ("Hana Host", "Cy"), cy: ("Hana Host", "Ben")}
    )
    await host.page.locator("#control-record").click()
    await expect(ben.page.locator("#recording-badge")).to_be_visible(timeout=30_000)
    recordings = f"/api/v1/meetings/{meeting['id']}/recordings"
    (started,) = await _api(host, recordings)  # type: ignore[misc]
    assert started["kind"] == "server" and started["status"] == "recording"

    await asyncio.sleep(5)
    await cy.page.locator("#leave").click()
    await expect(host.tile("Cy")).to_have_count(0)
    await asyncio.sleep(2)
    # Two people remain, but the room is being recorded: it stays on the SFU.
    assert await mode(host) == "sfu" and await mode(ben) == "sfu"

    await host.page.locator("#control-record").click()
    await host.page.get_by_text("Recording stopped", exact=False).wait_for(timeout=15_000)
    await expect(ben.page.locator("#recording-badge")).to_be_hidden()

    seen_progress: list[object] = []
    recording: dict = {}
    for _ in range(240):  # composition, then probe and thumbnail: bounded wait
        (recording,) = await _api(host, recordings)  # type: ignore[misc]
        seen_progress.append(recording.get("progress"))
        if recording["status"] in ("ready", "failed"):
            break
        await asyncio.sleep(0.5)
    assert recording["status"] == "ready", (recording, seen_progress[-5:])
    assert recording["progress"] == 100

    recorded_s = (
        datetime.fromisoformat(recording["ended_at"])
        - datetime.fromisoformat(recording["started_at"])
    ).total_seconds()
    objects = sfu_data / "data" / "objects" / "media"
    with av.open(str(objects / recording["media_id"])) as container:
        assert [s.codec_context.name for s in container.streams.video] == ["h264"]
        assert [s.codec_context.name for s in container.streams.audio] == ["aac"]
        duration = (container.duration or 0) / 1e6
    assert abs(duration - recorded_s) <= 0.02 * recorded_s, (duration, recorded_s)
    assert abs(recording["duration_s"] - recorded_s) <= 0.02 * recorded_s

    listing = f"/api/v1/media?meeting_id={meeting['id']}&kind=track"
    tracks = (await _api(host, listing))["items"]  # type: ignore[index]
    assert len(tracks) == 3, tracks  # Hana, Ben and Cy (who left) each spoke into the room
    assert {t["content_type"] for t in tracks} == {"audio/ogg"}
    assert all(t["recording_id"] == recording["id"] for t in tracks)
    names = sorted(t["filename"].rsplit("-", 4)[0] for t in tracks)
    assert names == ["Ben", "Cy", "Hana Host"]
    for track in tracks:
        with av.open(str(objects / track["id"])) as container:
            assert container.streams.audio[0].codec_context.name == "opus"
