"""Issue 13, media-service: quotas that hold while bytes stream, uploads that resume from what
reached storage, accounts that are gone, pictures too large to decode, recordings only from
their starter, and bad input that must be a 4xx (never a 500)."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley import migrate
from parley.core.contracts import USER_EVENTS_STREAM, user_gone_key
from parley.core.errors import ProblemError
from parley.core.storage import ObjectNotFound
from parley.media import quota, sniffing
from parley.media.models import MediaUpload
from parley.media.runtime import MediaService
from tests.support import media_samples as samples
from tests.support.api import Account, Api, unique
from tests.support.media import (
    MEDIA,
    OCTETS,
    TUS,
    chunked,
    fill_quota,
    live_meeting,
    media_id_of,
    post_file,
    tus_create,
    tus_create_deferred,
    tus_head,
    tus_patch,
    wait_processed,
)
from tests.support.media_env import MediaEnv, People

MIB = 1024 * 1024


@pytest.fixture
async def uploader(media_api: Api) -> Account:
    """A fresh user: quotas, listings and the gone mark start empty."""
    return await media_api.account(unique("hard"))


def assert_problem(response: object, status: int, type_: str | None = None) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    if type_ is not None:
        assert response.json()["type"].endswith(type_)  # type: ignore[attr-defined]


async def patch_chunked(
    api: Api, who: Account, location: str, offset: int, data: bytes, **headers: str
) -> object:
    return await api.http.patch(
        location,
        headers={**who.headers, **TUS, **OCTETS, "Upload-Offset": str(offset), **headers},
        content=chunked(data),
    )


# --------------------------------------------------------------------------------------------
# Quota (item 5)


async def test_deferred_uploads_fed_by_chunked_patches_stop_at_the_quota(
    media_api: Api, uploader: Account, media_env: MediaEnv
) -> None:
    await fill_quota(media_env, uploader, leave=1 * MIB)
    locations = []
    for _ in range(5):
        created = await tus_create_deferred(media_api, uploader, filename="rec.webm")
        assert created.status_code == 201, created.text
        locations.append(created.headers["location"])

    # Five at once, each 1 MiB without a Content-Length: together five times what is left.
    responses = await asyncio.gather(
        *(patch_chunked(media_api, uploader, loc, 0, b"x" * MIB) for loc in locations)
    )

    refused = [r for r in responses if r.status_code == 413]  # type: ignore[attr-defined]
    assert len(refused) >= 4, [r.status_code for r in responses]  # type: ignore[attr-defined]
    for response in refused:
        assert_problem(response, 413, "quota-exceeded")
    heads = [await tus_head(media_api, uploader, loc) for loc in locations]
    stored = sum(int(h.headers["upload-offset"]) for h in heads)
    assert stored <= 1 * MIB


async def test_bytes_saved_while_the_quota_is_read_are_still_counted(
    media_api: Api, uploader: Account, media_env: MediaEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race behind the test above: the meter adds the database's count and Redis's
    reservations; another request that saves its bytes (row committed, then reservation
    dropped) between the two reads must not vanish from both."""
    await fill_quota(media_env, uploader, leave=1 * MIB)
    created = await tus_create_deferred(media_api, uploader, filename="rec.webm")
    assert created.status_code == 201, created.text
    other = uuid.UUID(media_id_of(created))
    owner = uuid.UUID(uploader.id)
    svc = media_env.service
    key = quota.in_flight_key(owner)
    # The other request has 1 MiB on its way: all that is left, reserved, not saved yet.
    await media_env.acall(svc.kv.hincrby(key, str(other), MIB))

    moved = False

    async def save_the_other_request() -> None:
        nonlocal moved
        if moved:
            return
        moved = True
        async with svc.db.sessionmaker() as session:
            await session.execute(
                update(MediaUpload).where(MediaUpload.id == other).values(offset=MIB)
            )
            await session.commit()
        await svc.kv.hincrby(key, str(other), -MIB)

    real_used, real_in_flight = quota.used_bytes, quota.in_flight_bytes

    async def used_then_save(session: AsyncSession, who: uuid.UUID) -> int:
        used = await real_used(session, who)
        await save_the_other_request()
        return used

    async def in_flight_then_save(service: MediaService, who: uuid.UUID) -> int:
        in_flight = await real_in_flight(service, who)
        await save_the_other_request()
        return in_flight

    # Whichever the meter reads first, the other request's bytes move right after that read.
    monkeypatch.setattr(quota, "used_bytes", used_then_save)
    monkeypatch.setattr(quota, "in_flight_bytes", in_flight_then_save)
    meter = quota.QuotaMeter(svc, owner, uuid.uuid4())

    with pytest.raises(ProblemError) as refused:
        await media_env.acall(meter.charge(1))

    assert moved
    assert refused.value.status == 413
    assert await media_env.acall(quota.in_flight_bytes(svc, owner)) == 0


async def test_a_user_can_hold_only_so_many_uploads_in_progress(
    media_api: Api, uploader: Account, media_env: MediaEnv
) -> None:
    locations = []
    for _ in range(media_env.settings.media_max_open_uploads):
        created = await tus_create(media_api, uploader, 10, filename="a.png")
        assert created.status_code == 201, created.text
        locations.append(created.headers["location"])

    one_more = await tus_create(media_api, uploader, 10, filename="a.png")
    assert_problem(one_more, 429, "too-many-uploads")

    terminated = await media_api.http.delete(locations[0], headers={**uploader.headers, **TUS})
    assert terminated.status_code == 204
    again = await tus_create(media_api, uploader, 10, filename="a.png")
    assert again.status_code == 201, again.text


# --------------------------------------------------------------------------------------------
# Progress inside one PATCH, and PATCHes past the length (low items)


async def test_progress_inside_one_long_patch_is_saved_as_it_reaches_storage(
    media_api: Api, uploader: Account
) -> None:
    data = b"%PDF-1.4\n" + bytes(range(256)) * (20 * MIB // 256)
    created = await tus_create(
        media_api, uploader, len(data), filename="long.pdf", content_type="application/pdf"
    )
    location = created.headers["location"]
    first = 17 * MIB  # past two 8 MiB S3 parts and four 4 MiB local writes
    paused, resume = asyncio.Event(), asyncio.Event()

    async def body() -> object:
        async for chunk in chunked(data[:first], MIB):
            yield chunk
        paused.set()
        await resume.wait()  # the request is still open: a crash now loses only what is unsaved
        async for chunk in chunked(data[first:], MIB):
            yield chunk

    patch = asyncio.create_task(
        media_api.http.patch(
            location,
            headers={**uploader.headers, **TUS, **OCTETS, "Upload-Offset": "0"},
            content=body(),
        )
    )
    await asyncio.wait_for(paused.wait(), 60)
    saved = 0
    for _ in range(100):
        saved = int((await tus_head(media_api, uploader, location)).headers["upload-offset"])
        if saved >= 8 * MIB:
            break
        await asyncio.sleep(0.1)
    assert 8 * MIB <= saved <= first
    resume.set()
    response = await patch
    assert response.status_code == 204, response.text
    content = await media_api.http.get(
        f"{MEDIA}/{media_id_of(created)}/content", headers=uploader.headers
    )
    assert content.content == data


async def test_a_chunked_patch_past_the_upload_length_is_refused_whole(
    media_api: Api, uploader: Account
) -> None:
    data = samples.png()
    created = await tus_create(media_api, uploader, len(data), filename="a.png")
    location = created.headers["location"]

    response = await patch_chunked(media_api, uploader, location, 0, data + b"trailing junk")

    assert_problem(response, 413, "upload-length-exceeded")
    head = await tus_head(media_api, uploader, location)
    assert head.status_code == 200
    assert int(head.headers["upload-offset"]) < len(data)
    assert head.headers["upload-length"] == str(len(data))
    media = await media_api.http.get(f"{MEDIA}/{media_id_of(created)}", headers=uploader.headers)
    assert media.status_code == 404
    # The upload is still good: the right bytes complete it.
    offset = int(head.headers["upload-offset"])
    done = await tus_patch(media_api, uploader, location, offset, data[offset:])
    assert done.status_code == 204, done.text


# --------------------------------------------------------------------------------------------
# Accounts that are gone (item 9)


async def set_gone(env: MediaEnv, who: Account, state: str) -> None:
    await env.acall(env.app.state.kv.set(user_gone_key(who.id), state))


async def test_a_disabled_users_content_links_stop_working(
    media_api: Api, uploader: Account, media_env: MediaEnv
) -> None:
    created = await post_file(media_api, uploader, samples.pdf(), "notes.pdf")
    media_id = created.json()["id"]
    link = await media_api.http.post(f"{MEDIA}/{media_id}/link", headers=uploader.headers)
    url = link.json()["url"]
    assert (await media_api.http.get(url)).status_code == 200

    await set_gone(media_env, uploader, "disabled")

    assert_problem(await media_api.http.get(url), 401, "bad-link")


async def test_a_disabled_users_access_token_no_longer_reaches_media(
    media_api: Api, uploader: Account, media_env: MediaEnv
) -> None:
    assert (await media_api.http.get(MEDIA, headers=uploader.headers)).status_code == 200

    await set_gone(media_env, uploader, "disabled")

    assert_problem(await media_api.http.get(MEDIA, headers=uploader.headers), 401)
    upload = await tus_create(media_api, uploader, 10, filename="a.png")
    assert_problem(upload, 401)


async def test_a_deleted_users_media_is_removed_with_them(
    media_api: Api, uploader: Account, media_env: MediaEnv, people: People
) -> None:
    created = await post_file(media_api, uploader, samples.png(), "a.png")
    media_id = created.json()["id"]
    await wait_processed(media_api, uploader, media_id)
    in_progress = await tus_create(media_api, uploader, 100, filename="b.png")
    assert (
        await tus_patch(media_api, uploader, in_progress.headers["location"], 0, b"x" * 40)
    ).status_code == 204
    kv = media_env.app.state.kv

    await media_env.acall(kv.xadd(USER_EVENTS_STREAM, {"event": "deleted", "user_id": uploader.id}))

    # The worker removes objects one by one (over HTTP with S3): on a loaded machine that
    # takes seconds, so the bound is generous.
    for _ in range(600):
        seen = await media_api.http.get(f"{MEDIA}/{media_id}", headers=people.admin.headers)
        if seen.status_code == 404:
            break
        await asyncio.sleep(0.1)
    assert seen.status_code == 404
    storage = media_env.service.storage
    for key in (f"media/{media_id}", f"thumbnails/{media_id}.webp"):
        with pytest.raises(ObjectNotFound):
            await media_env.acall(storage.stat(key))

    async def uploads_left() -> int:
        async with media_env.app.state.db.sessionmaker() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(MediaUpload)
                .where(MediaUpload.owner_id == uuid.UUID(uploader.id))
            )
        return int(count or 0)

    assert await media_env.acall(uploads_left()) == 0


# --------------------------------------------------------------------------------------------
# Pictures too large to decode for a thumbnail (item 12)


def huge_png(width: int = 6300, height: int = 6300) -> bytes:
    """A few KB of PNG that decodes to ~40 million pixels."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG", optimize=True)
    return out.getvalue()


async def test_a_small_png_of_huge_dimensions_is_kept_without_being_decoded(
    media_api: Api, uploader: Account
) -> None:
    data = huge_png()
    assert len(data) < 300_000
    created = await post_file(media_api, uploader, data, "bomb.png", "image/png")
    assert created.status_code == 201, created.text

    media = await wait_processed(media_api, uploader, created.json()["id"])

    assert media["thumbnail_status"] == "failed"
    assert "6300x6300" in media["thumbnail_error"]
    assert "Mpx" in media["thumbnail_error"]
    thumbnail = await media_api.http.get(
        f"{MEDIA}/{media['id']}/thumbnail", headers=uploader.headers
    )
    assert thumbnail.status_code == 404


def test_a_png_over_the_decode_bound_is_refused_from_its_header() -> None:
    with pytest.raises(sniffing.SniffError, match="Mpx"):
        sniffing.probe(io.BytesIO(huge_png()), "image/png")


def test_a_large_jpeg_is_decoded_at_a_reduced_size_for_its_thumbnail() -> None:
    width, height = 7000, 4000  # 28 Mpx: over the full-decode bound, fine at 1/8
    assert width * height > sniffing.MAX_DECODE_PIXELS
    out = io.BytesIO()
    Image.new("L", (width, height), 128).save(out, "JPEG", quality=50)

    probe = sniffing.probe(io.BytesIO(out.getvalue()), "image/jpeg")

    assert (probe.width, probe.height) == (width, height)
    assert probe.thumbnail is not None
    assert Image.open(io.BytesIO(probe.thumbnail)).size == (320, 183)


# --------------------------------------------------------------------------------------------
# A recording's media comes from its starter (item 15)


async def test_a_participant_cannot_attach_media_to_the_hosts_recording(
    media_api: Api, people: People
) -> None:
    meeting = await live_meeting(media_api, people.host, people.participant)
    started = await media_api.http.post(
        f"/api/v1/meetings/{meeting['id']}/recordings", headers=people.host.headers
    )
    assert started.status_code == 201, started.text
    spoof = {
        "kind": "recording",
        "meeting_id": meeting["id"],
        "recording_id": started.json()["id"],
    }

    over_tus = await tus_create(media_api, people.participant, 100, filename="rec.webm", **spoof)
    assert_problem(over_tus, 403, "not-recording-starter")
    over_form = await post_file(
        media_api, people.participant, samples.webm(), "rec.webm", "video/webm", **spoof
    )
    assert_problem(over_form, 403, "not-recording-starter")
    by_starter = await tus_create(media_api, people.host, 100, filename="rec.webm", **spoof)
    assert by_starter.status_code == 201, by_starter.text


# --------------------------------------------------------------------------------------------
# Bad input is a 4xx (low items)


@pytest.mark.parametrize(
    "value",
    ["²".encode("latin-1"), "١٢".encode(), b"9" * 4300, b"1" * 20],
    ids=["superscript", "arabic-indic", "4300-digits", "past-63-bits"],
)
async def test_tus_sizes_that_are_not_plain_integers_are_400(
    media_api: Api, uploader: Account, value: bytes
) -> None:
    created = await media_api.http.post(
        f"{MEDIA}/uploads/", headers={**uploader.headers, **TUS, "Upload-Length": value}
    )
    assert_problem(created, 400, "tus-header")
    upload = await tus_create(media_api, uploader, 10, filename="a.png")
    patched = await media_api.http.patch(
        upload.headers["location"],
        headers={**uploader.headers, **TUS, **OCTETS, "Upload-Offset": value},
        content=b"0123456789",
    )
    assert_problem(patched, 400, "tus-header")


async def test_a_range_of_thousands_of_digits_is_not_satisfiable(
    media_api: Api, people: People
) -> None:
    created = await post_file(media_api, people.owner, samples.pdf(), "a.pdf")
    response = await media_api.http.get(
        f"{MEDIA}/{created.json()['id']}/content",
        headers={**people.owner.headers, "Range": "bytes=" + "9" * 5000 + "-"},
    )
    assert_problem(response, 416)


async def test_a_listing_offset_past_any_database_integer_is_422(
    media_api: Api, people: People
) -> None:
    response = await media_api.http.get(f"{MEDIA}?offset={2**70}", headers=people.owner.headers)
    assert_problem(response, 422)


async def test_a_malformed_multipart_body_is_400(media_api: Api, uploader: Account) -> None:
    response = await media_api.http.post(
        MEDIA,
        headers={**uploader.headers, "Content-Type": "multipart/form-data; boundary=b0undary"},
        content=b"--b0undary\r\nbad header line\r\n\r\nxx\r\n--b0undary--\r\n",
    )
    assert_problem(response, 400, "bad-form")


async def test_bidi_and_control_characters_are_stripped_from_file_names(
    media_api: Api, uploader: Account
) -> None:
    created = await post_file(
        media_api, uploader, samples.png(), "\u202egnp.exe\u0085.png", "image/png"
    )
    assert created.status_code == 201, created.text
    assert created.json()["filename"] == "gnp.exe_.png"
    content = await media_api.http.get(
        f"{MEDIA}/{created.json()['id']}/content?download=true", headers=uploader.headers
    )
    disposition = content.headers["content-disposition"]
    assert "%E2%80%AE" not in disposition
    assert "gnp.exe_.png" in disposition


def test_names_stored_before_the_cleaning_are_cleaned_by_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url, "0007")
    hostile, plain = uuid.uuid4(), uuid.uuid4()
    with sqlite3.connect(path) as db:
        for row_id, name in ((hostile, "\u202egnp.exe\x07.png"), (plain, "notes.pdf")):
            db.execute(
                "INSERT INTO media_files (id, owner_id, kind, filename, content_type, size_bytes,"
                " sha256, storage_key, codecs, thumbnail_status, processing_attempts, created_at)"
                " VALUES (?, ?, 'file', ?, 'image/png', 1, '', 'k', '[]', 'none', 0,"
                " '2026-01-01 00:00:00')",
                (row_id.hex, uuid.uuid4().hex, name),
            )

    migrate.upgrade(url, "0008")

    with sqlite3.connect(path) as db:
        names = dict(db.execute("SELECT id, filename FROM media_files").fetchall())
    assert names == {hostile.hex: "gnp.exe_.png", plain.hex: "notes.pdf"}
