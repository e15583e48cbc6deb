"""Bad input: files that are not what they claim, types we do not take, sizes over the limits,
hostile names, empty files. Each gets a clear 4xx and leaves nothing stored."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import func, select

from parley.core.storage import ObjectNotFound
from parley.media.models import MediaUpload
from tests.support import media_samples as samples
from tests.support.api import Account, Api, unique
from tests.support.media import MEDIA, media_id_of, post_file, tus_create, tus_patch
from tests.support.media_env import MAX_FILE, QUOTA, MediaEnv


@pytest.fixture
async def uploader(media_api: Api) -> Account:
    """A fresh user, so that listings and quotas start empty."""
    return await media_api.account(unique("up"))


async def assert_nothing_kept(
    env: MediaEnv, api: Api, who: Account, media_id: str | None = None
) -> None:
    listed = await api.http.get(MEDIA, headers=who.headers)
    assert listed.json()["items"] == []

    async def pending() -> int:
        async with env.app.state.db.sessionmaker() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(MediaUpload)
                .where(MediaUpload.owner_id == uuid.UUID(who.id))
            )
        return int(count or 0)

    assert await env.acall(pending()) == 0
    if media_id is not None:
        with pytest.raises(ObjectNotFound):
            await env.acall(env.service.storage.stat(f"media/{media_id}"))


def assert_problem(response: object, status: int) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]


async def test_a_text_file_named_mp4_is_refused_over_tus(
    media_api: Api, uploader: Account, media_env: MediaEnv
) -> None:
    data = b"just some notes, not a video\n" * 100
    created = await tus_create(media_api, uploader, len(data), filename="movie.mp4")
    location = created.headers["location"]
    response = await tus_patch(media_api, uploader, location, 0, data)
    assert_problem(response, 415)
    assert "video/mp4" in response.json()["detail"] or "not one of" in response.json()["detail"]
    await assert_nothing_kept(media_env, media_api, uploader, media_id_of(created))


async def test_a_zip_named_png_is_refused(
    media_api: Api, uploader: Account, media_env: MediaEnv
) -> None:
    response = await post_file(media_api, uploader, samples.zip_archive(), "photo.png", "image/png")
    assert_problem(response, 415)
    await assert_nothing_kept(media_env, media_api, uploader)


async def test_bytes_of_another_accepted_type_than_claimed_are_refused(
    media_api: Api, uploader: Account, media_env: MediaEnv
) -> None:
    response = await post_file(media_api, uploader, samples.png(), "clip.webm", "video/webm")
    assert_problem(response, 415)
    assert "image/png" in response.json()["detail"]
    await assert_nothing_kept(media_env, media_api, uploader)


async def test_a_type_outside_the_list_is_refused_before_any_byte(
    media_api: Api, uploader: Account
) -> None:
    response = await tus_create(
        media_api, uploader, 1000, filename="tool.exe", content_type="application/x-msdownload"
    )
    assert_problem(response, 415)


@pytest.mark.parametrize(
    ("name", "make", "kind"),
    [
        ("clip.webm", samples.webm, "video/webm"),
        ("voice.wav", samples.wav, "audio/wav"),
        ("slide.png", samples.png, "image/png"),
        ("notes.pdf", samples.pdf, "application/pdf"),
    ],
)
async def test_accepted_types_are_recognised_by_their_bytes(
    media_api: Api, uploader: Account, name: str, make: object, kind: str
) -> None:
    response = await post_file(media_api, uploader, make(), name)  # type: ignore[operator]
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == kind


async def test_a_traversal_file_name_is_only_a_label(
    media_api: Api, uploader: Account, media_env: MediaEnv
) -> None:
    response = await post_file(media_api, uploader, samples.pdf(), "../../etc/passwd")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["filename"] == "passwd"
    key = f"media/{body['id']}"
    info = await media_env.acall(media_env.service.storage.stat(key))
    assert info.size == len(samples.pdf())
    created = await tus_create(
        media_api, uploader, 10, filename="..\\..\\windows\\system.ini", content_type="image/png"
    )
    assert created.status_code == 201


async def test_a_zero_byte_file_is_refused_and_not_kept(
    media_api: Api, uploader: Account, media_env: MediaEnv
) -> None:
    created = await tus_create(media_api, uploader, 0, filename="empty.png")
    assert_problem(created, 415)
    assert "empty" in created.json()["detail"]
    response = await post_file(media_api, uploader, b"", "empty.pdf")
    assert_problem(response, 415)
    await assert_nothing_kept(media_env, media_api, uploader)


async def test_a_declared_size_over_the_limit_is_413(media_api: Api, uploader: Account) -> None:
    response = await tus_create(media_api, uploader, MAX_FILE + 1, filename="huge.webm")
    assert_problem(response, 413)


async def test_a_streamed_multipart_file_over_the_limit_is_413_and_not_kept(
    media_api: Api, uploader: Account, media_env: MediaEnv
) -> None:
    data = b"%PDF-1.4\n" + os.urandom(MAX_FILE)

    async def body() -> object:  # chunked: no Content-Length to refuse up front
        boundary = "b0undary"
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        for i in range(0, len(data), 1 << 20):
            yield data[i : i + (1 << 20)]
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await media_api.http.post(
        MEDIA,
        headers={**uploader.headers, "Content-Type": "multipart/form-data; boundary=b0undary"},
        content=body(),
    )
    assert_problem(response, 413)
    await assert_nothing_kept(media_env, media_api, uploader)


async def test_the_per_user_quota_counts_files_and_uploads_in_progress(
    media_api: Api, uploader: Account
) -> None:
    declared = 0
    while declared + MAX_FILE <= QUOTA:
        response = await tus_create(media_api, uploader, MAX_FILE, filename="part.webm")
        assert response.status_code == 201, response.text
        declared += MAX_FILE
    response = await tus_create(media_api, uploader, MAX_FILE, filename="one-more.webm")
    assert_problem(response, 413)
    assert response.json()["type"].endswith("quota-exceeded")


async def test_bad_metadata_is_a_clear_400(media_api: Api, uploader: Account) -> None:
    response = await tus_create(media_api, uploader, 10, filename="a.png", kind="movie")
    assert_problem(response, 400)
    response = await tus_create(media_api, uploader, 10, filename="a.png", meeting_id="nope")
    assert_problem(response, 400)
    response = await tus_create(media_api, uploader, 10, filename="a.webm", kind="recording")
    assert_problem(response, 400)
    response = await media_api.http.post(
        "/api/v1/media/uploads/",
        headers={
            **uploader.headers,
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "10",
            "Upload-Metadata": "filename !!notbase64",
        },
    )
    assert_problem(response, 400)


async def test_a_multipart_post_without_a_file_is_400(media_api: Api, uploader: Account) -> None:
    response = await media_api.http.post(
        MEDIA, headers=uploader.headers, data={"kind": "file"}, files={"other": ("x", b"y")}
    )
    assert response.status_code == 400
