"""tus 1.0 uploads: the protocol as raw requests, then with a real tus client (tuspy)."""

from __future__ import annotations

import asyncio
import base64
import hashlib

from tests.support import media_samples as samples
from tests.support.api import Api
from tests.support.media import (
    MEDIA,
    TUS,
    UPLOADS,
    media_id_of,
    metadata,
    tus_create,
    tus_head,
    tus_patch,
)
from tests.support.media_env import MAX_FILE, MediaEnv, People


async def test_options_advertise_the_tus_version_extensions_and_limits(media_api: Api) -> None:
    response = await media_api.http.options(UPLOADS)
    assert response.status_code == 204
    assert response.headers["tus-resumable"] == "1.0.0"
    assert response.headers["tus-version"] == "1.0.0"
    assert set(response.headers["tus-extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "checksum",
        "expiration",
    }
    assert int(response.headers["tus-max-size"]) == MAX_FILE
    assert "sha1" in response.headers["tus-checksum-algorithm"]


async def test_upload_in_chunks_becomes_a_media_file(media_api: Api, people: People) -> None:
    data = samples.webm(2.0)
    created = await tus_create(
        media_api, people.owner, len(data), filename="talk.webm", content_type="video/webm"
    )
    assert created.status_code == 201, created.text
    assert "upload-expires" in created.headers
    location = created.headers["location"]
    half = len(data) // 2
    first = await tus_patch(media_api, people.owner, location, 0, data[:half])
    assert first.status_code == 204, first.text
    assert first.headers["upload-offset"] == str(half)
    head = await tus_head(media_api, people.owner, location)
    assert head.headers["upload-offset"] == str(half)
    assert head.headers["upload-length"] == str(len(data))
    assert head.headers["cache-control"] == "no-store"
    last = await tus_patch(media_api, people.owner, location, half, data[half:])
    assert last.status_code == 204, last.text
    assert last.headers["upload-offset"] == str(len(data))

    media = await media_api.http.get(
        f"{MEDIA}/{media_id_of(created)}", headers=people.owner.headers
    )
    assert media.status_code == 200
    body = media.json()
    assert body["content_type"] == "video/webm"
    assert body["filename"] == "talk.webm"
    assert body["size_bytes"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["owner_id"] == people.owner.id
    content = await media_api.http.get(
        f"{MEDIA}/{body['id']}/content", headers=people.owner.headers
    )
    assert content.content == data


async def test_creation_with_upload_sends_the_first_chunk_with_the_post(
    media_api: Api, people: People
) -> None:
    data = samples.png()
    created = await tus_create(
        media_api, people.owner, len(data), data, filename="a.png", content_type="image/png"
    )
    assert created.status_code == 201, created.text
    assert created.headers["upload-offset"] == str(len(data))
    media = await media_api.http.get(
        f"{MEDIA}/{media_id_of(created)}", headers=people.owner.headers
    )
    assert media.json()["content_type"] == "image/png"


async def test_a_wrong_offset_is_a_conflict(media_api: Api, people: People) -> None:
    data = samples.png()
    created = await tus_create(media_api, people.owner, len(data), filename="a.png")
    location = created.headers["location"]
    response = await tus_patch(media_api, people.owner, location, 5, data[5:])
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert (await tus_head(media_api, people.owner, location)).headers["upload-offset"] == "0"


async def test_a_chunk_with_a_bad_checksum_is_discarded_with_460(
    media_api: Api, people: People
) -> None:
    data = samples.png()
    created = await tus_create(media_api, people.owner, len(data), filename="a.png")
    location = created.headers["location"]
    wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    response = await tus_patch(
        media_api, people.owner, location, 0, data, **{"Upload-Checksum": f"sha256 {wrong}"}
    )
    assert response.status_code == 460
    assert (await tus_head(media_api, people.owner, location)).headers["upload-offset"] == "0"
    right = base64.b64encode(hashlib.sha256(data).digest()).decode()
    response = await tus_patch(
        media_api, people.owner, location, 0, data, **{"Upload-Checksum": f"sha256 {right}"}
    )
    assert response.status_code == 204, response.text


async def test_an_unknown_checksum_algorithm_is_a_bad_request(
    media_api: Api, people: People
) -> None:
    created = await tus_create(media_api, people.owner, 10, filename="a.png")
    response = await tus_patch(
        media_api,
        people.owner,
        created.headers["location"],
        0,
        b"0123456789",
        **{"Upload-Checksum": "crc99 AAAA"},
    )
    assert response.status_code == 400


async def test_termination_removes_the_upload(media_api: Api, people: People) -> None:
    created = await tus_create(media_api, people.owner, 100, filename="a.png")
    location = created.headers["location"]
    await tus_patch(media_api, people.owner, location, 0, b"x" * 40)
    response = await media_api.http.delete(location, headers={**people.owner.headers, **TUS})
    assert response.status_code == 204
    assert (await tus_head(media_api, people.owner, location)).status_code == 404


async def test_requests_without_the_tus_version_are_refused(media_api: Api, people: People) -> None:
    response = await media_api.http.post(
        UPLOADS, headers={**people.owner.headers, "Upload-Length": "10"}
    )
    assert response.status_code == 412
    assert response.headers["tus-version"] == "1.0.0"


async def test_someone_elses_upload_is_not_found(media_api: Api, people: People) -> None:
    created = await tus_create(media_api, people.owner, 10, filename="a.png")
    location = created.headers["location"]
    assert (await tus_head(media_api, people.other, location)).status_code == 404
    response = await tus_patch(media_api, people.other, location, 0, b"0123456789")
    assert response.status_code == 404


async def test_uploads_need_a_signed_in_user(media_api: Api) -> None:
    response = await media_api.http.post(UPLOADS, headers={**TUS, "Upload-Length": "10"})
    assert response.status_code == 401


async def test_bytes_past_the_declared_length_are_refused(media_api: Api, people: People) -> None:
    created = await tus_create(media_api, people.owner, 10, filename="a.png")
    response = await tus_patch(media_api, people.owner, created.headers["location"], 0, b"x" * 20)
    assert response.status_code == 413


async def test_an_expired_upload_is_gone_and_cleaned_up(
    media_api: Api, people: People, media_env: MediaEnv
) -> None:
    from datetime import timedelta

    from parley.core.db import utcnow
    from parley.media import uploads

    created = await tus_create(media_api, people.owner, 100, filename="a.png")
    location = created.headers["location"]
    await tus_patch(media_api, people.owner, location, 0, b"y" * 30)
    removed = await media_env.acall(
        uploads.expire_uploads(media_env.service, utcnow() + timedelta(days=2))
    )
    assert removed >= 1
    assert (await tus_head(media_api, people.owner, location)).status_code == 404


async def test_concurrent_patches_to_one_upload_never_interleave(
    media_api: Api, people: People
) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    created = await tus_create(
        media_api, people.owner, len(data) * 2, filename="doc.pdf", content_type="application/pdf"
    )
    location = created.headers["location"]

    async def slow_body() -> object:
        for i in range(0, len(data), 64 * 1024):
            yield data[i : i + 64 * 1024]
            await asyncio.sleep(0.01)

    first = asyncio.create_task(
        media_api.http.patch(
            location,
            headers={
                **people.owner.headers,
                **TUS,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": "0",
            },
            content=slow_body(),
        )
    )
    await asyncio.sleep(0.2)
    second = await tus_patch(media_api, people.owner, location, 0, data)
    # Whichever got the upload first wrote its chunk; the other was turned away whole.
    statuses = sorted([(await first).status_code, second.status_code])
    assert statuses[0] == 204 and statuses[1] in (409, 423), statuses
    head = await tus_head(media_api, people.owner, location)
    assert head.headers["upload-offset"] == str(len(data))


async def test_head_beside_a_running_patch_answers_the_offset_that_patch_ends_at(
    media_api: Api, people: People
) -> None:
    """A client resuming after a cut asks HEAD while the server may still be finishing the cut
    PATCH: HEAD waits for that PATCH to end, so the offset it gives is the one to resume from
    (answered from the middle of the PATCH, the resumed PATCH would get 409)."""
    part = 1024 * 1024
    data = b"%PDF-1.4\n" + bytes(range(256)) * (4 * part // 256)
    created = await tus_create(
        media_api, people.owner, len(data), filename="doc.pdf", content_type="application/pdf"
    )
    location = created.headers["location"]
    paused, resume = asyncio.Event(), asyncio.Event()

    async def body() -> object:
        yield data[:part]
        paused.set()
        await resume.wait()
        yield data[part : 2 * part]

    patch = asyncio.create_task(
        media_api.http.patch(
            location,
            headers={
                **people.owner.headers,
                **TUS,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": "0",
            },
            content=body(),
        )
    )
    await asyncio.wait_for(paused.wait(), 60)
    head = asyncio.create_task(tus_head(media_api, people.owner, location))
    done, _ = await asyncio.wait({head}, timeout=1.0)
    assert not done, "HEAD answered while the PATCH was still writing"

    resume.set()
    patched = await patch
    assert patched.status_code == 204, patched.text
    assert patched.headers["upload-offset"] == str(2 * part)
    assert (await head).headers["upload-offset"] == str(2 * part)
    resumed = await tus_patch(media_api, people.owner, location, 2 * part, data[2 * part :])
    assert resumed.status_code == 204, resumed.text


async def test_metadata_is_echoed_on_head(media_api: Api, people: People) -> None:
    created = await tus_create(media_api, people.owner, 10, filename="x.png", kind="file")
    head = await tus_head(media_api, people.owner, created.headers["location"])
    assert head.headers["upload-metadata"] == metadata(filename="x.png", kind="file")


async def test_a_deferred_length_upload_streams_until_the_size_is_declared(
    media_api: Api, people: People
) -> None:
    """How a recording is streamed while it is made: the size comes with the last chunk."""
    data = samples.webm(2.0)
    created = await media_api.http.post(
        UPLOADS,
        headers={
            **people.owner.headers,
            **TUS,
            "Upload-Defer-Length": "1",
            "Upload-Metadata": metadata(filename="live.webm", content_type="video/webm"),
        },
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    third = len(data) // 3
    assert (await tus_patch(media_api, people.owner, location, 0, data[:third])).status_code == 204
    head = await tus_head(media_api, people.owner, location)
    assert head.headers["upload-defer-length"] == "1"
    assert "upload-length" not in head.headers
    assert head.headers["upload-offset"] == str(third)
    response = await tus_patch(media_api, people.owner, location, third, data[third : 2 * third])
    assert response.status_code == 204
    response = await tus_patch(
        media_api,
        people.owner,
        location,
        2 * third,
        data[2 * third :],
        **{"Upload-Length": str(len(data))},
    )
    assert response.status_code == 204, response.text
    media = await media_api.http.get(
        f"{MEDIA}/{media_id_of(created)}", headers=people.owner.headers
    )
    assert media.json()["size_bytes"] == len(data)
    assert media.json()["sha256"] == hashlib.sha256(data).hexdigest()
