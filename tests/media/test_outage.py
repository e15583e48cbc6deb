"""The S3 server goes away in the middle of an upload: a clear 503, nothing half-visible, and
the upload resumes once the store is back."""

from __future__ import annotations

import hashlib
import os

import httpx
import pytest

from parley.core.storage import S3_PART_SIZE
from tests.support.api import Api, unique
from tests.support.media import MEDIA, media_id_of, tus_create, tus_head, tus_patch
from tests.support.media_env import MediaEnv, People


@pytest.fixture
def s3_env(media_env: MediaEnv) -> MediaEnv:
    if media_env.relay is None:
        pytest.skip("only the S3 deployment has an object store to lose")
    return media_env


async def test_s3_down_mid_upload_is_503_and_the_upload_resumes_later(
    s3_env: MediaEnv, media_api: Api, people: People
) -> None:
    assert s3_env.relay is not None
    data = b"%PDF-1.5\n" + os.urandom(S3_PART_SIZE * 2)
    created = await tus_create(
        media_api, people.owner, len(data), filename="report.pdf", content_type="application/pdf"
    )
    location = created.headers["location"]
    media_id = media_id_of(created)
    first = S3_PART_SIZE + 1000
    response = await tus_patch(media_api, people.owner, location, 0, data[:first])
    assert response.status_code == 204

    s3_env.relay.down()
    try:
        response = await tus_patch(media_api, people.owner, location, first, data[first:])
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert "retry-after" in response.headers
        # Nothing half-visible: no media yet, not listed.
        missing = await media_api.http.get(f"{MEDIA}/{media_id}", headers=people.owner.headers)
        assert missing.status_code == 404
        listed = await media_api.http.get(MEDIA, headers=people.owner.headers)
        assert media_id not in [m["id"] for m in listed.json()["items"]]
    finally:
        s3_env.relay.up()

    offset = int((await tus_head(media_api, people.owner, location)).headers["upload-offset"])
    assert 0 < offset <= first
    response = await tus_patch(media_api, people.owner, location, offset, data[offset:])
    assert response.status_code == 204, response.text
    content = await media_api.http.get(f"{MEDIA}/{media_id}/content", headers=people.owner.headers)
    assert hashlib.sha256(content.content).hexdigest() == hashlib.sha256(data).hexdigest()


async def test_s3_down_on_download_is_503(s3_env: MediaEnv, media_api: Api, people: People) -> None:
    assert s3_env.relay is not None
    response = await media_api.http.post(
        MEDIA,
        headers=people.owner.headers,
        files={"file": ("a.pdf", b"%PDF-1.4\nhello", "application/pdf")},
    )
    media_id = response.json()["id"]
    s3_env.relay.down()
    try:
        content = await media_api.http.get(
            f"{MEDIA}/{media_id}/content", headers=people.owner.headers
        )
        assert content.status_code == 503
    finally:
        s3_env.relay.up()


async def test_s3_lost_while_parts_are_in_flight_keeps_a_consistent_offset(
    s3_env: MediaEnv, media_api: Api, people: People
) -> None:
    relay = s3_env.relay
    assert relay is not None
    owner = await media_api.account(unique("s3lost"))  # its own quota
    data = b"%PDF-1.5\n" + os.urandom(S3_PART_SIZE * 2 + 5 * 1024 * 1024)
    created = await tus_create(
        media_api, owner, len(data), filename="long.pdf", content_type="application/pdf"
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    cut_at = S3_PART_SIZE + 12345

    async def body() -> object:
        for i in range(0, len(data), 1 << 20):
            if i >= cut_at:
                relay.down()  # the store goes away while this request streams
            yield data[i : i + (1 << 20)]

    try:
        try:
            response = await media_api.http.patch(
                location,
                headers={
                    **owner.headers,
                    "Tus-Resumable": "1.0.0",
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": "0",
                },
                content=body(),
            )
            assert response.status_code == 503, response.text
        except httpx.TransportError:
            pass  # the server may answer and close before the body was all sent
    finally:
        relay.up()

    head = await tus_head(media_api, owner, location)
    offset = int(head.headers["upload-offset"])
    assert offset <= cut_at + (1 << 20)
    response = await tus_patch(media_api, owner, location, offset, data[offset:])
    assert response.status_code == 204, response.text
    content = await media_api.http.get(
        f"{MEDIA}/{media_id_of(created)}/content", headers=owner.headers
    )
    assert hashlib.sha256(content.content).digest() == hashlib.sha256(data).digest()
