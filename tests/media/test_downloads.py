"""Metadata, content with Range/ETag/Content-Disposition, listing, deletion and who may do it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import media_samples as samples
from tests.support.api import Account, Api
from tests.support.media import MEDIA, live_meeting, post_file
from tests.support.media_env import MediaEnv, People


async def stored(api: Api, who: Account, data: bytes | None = None, **fields: str) -> dict:
    response = await post_file(
        api, who, data or samples.png(), fields.pop("filename", "pic.png"), "image/png", **fields
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def meeting_file(media_api: Api, people: People) -> tuple[dict, dict]:
    """A live meeting (host + participant) and a file the participant shared in it."""
    meeting = await live_meeting(media_api, people.host, people.participant)
    media = await stored(media_api, people.participant, meeting_id=meeting["id"])
    return meeting, media


async def test_multipart_upload_answers_the_metadata(media_api: Api, people: People) -> None:
    data = samples.png(800, 600)
    body = await stored(media_api, people.owner, data, filename="holiday photo.png")
    assert body["content_type"] == "image/png"
    assert body["size_bytes"] == len(data)
    assert body["filename"] == "holiday photo.png"
    assert body["kind"] == "file"
    assert body["meeting_id"] is None
    assert set(body) >= {
        "id",
        "owner_id",
        "meeting_id",
        "kind",
        "filename",
        "content_type",
        "size_bytes",
        "sha256",
        "duration_s",
        "width",
        "height",
        "codecs",
        "thumbnail_status",
        "created_at",
    }


async def test_range_requests_get_partial_content(media_api: Api, people: People) -> None:
    data = samples.png(900, 900)
    media = await stored(media_api, people.owner, data)
    url = f"{MEDIA}/{media['id']}/content"
    response = await media_api.http.get(
        url, headers={**people.owner.headers, "Range": "bytes=10-19"}
    )
    assert response.status_code == 206
    assert response.content == data[10:20]
    assert response.headers["content-range"] == f"bytes 10-19/{len(data)}"
    suffix = await media_api.http.get(url, headers={**people.owner.headers, "Range": "bytes=-7"})
    assert suffix.content == data[-7:]
    open_ended = await media_api.http.get(
        url, headers={**people.owner.headers, "Range": f"bytes={len(data) - 3}-"}
    )
    assert open_ended.content == data[-3:]


async def test_a_range_outside_the_file_is_416(media_api: Api, people: People) -> None:
    data = samples.png()
    media = await stored(media_api, people.owner, data)
    response = await media_api.http.get(
        f"{MEDIA}/{media['id']}/content",
        headers={**people.owner.headers, "Range": f"bytes={len(data) + 10}-"},
    )
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(data)}"


async def test_etag_and_if_none_match_give_304(media_api: Api, people: People) -> None:
    media = await stored(media_api, people.owner)
    url = f"{MEDIA}/{media['id']}/content"
    first = await media_api.http.get(url, headers=people.owner.headers)
    assert first.headers["etag"] == f'"{media["sha256"]}"'
    again = await media_api.http.get(
        url, headers={**people.owner.headers, "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


async def test_content_disposition_carries_the_name_safely(media_api: Api, people: People) -> None:
    media = await stored(media_api, people.owner, filename="Résumé final.png")
    response = await media_api.http.get(
        f"{MEDIA}/{media['id']}/content?download=true", headers=people.owner.headers
    )
    disposition = response.headers["content-disposition"]
    assert disposition == (
        "attachment; filename=\"R_sum_ final.png\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20final.png"
    )
    inline = await media_api.http.get(
        f"{MEDIA}/{media['id']}/content", headers=people.owner.headers
    )
    assert inline.headers["content-disposition"].startswith("inline; ")


async def test_listing_shows_own_files_and_a_meetings_files(
    media_api: Api, people: People, meeting_file: tuple[dict, dict]
) -> None:
    meeting, media = meeting_file
    own = await media_api.http.get(MEDIA, headers=people.participant.headers)
    assert media["id"] in [m["id"] for m in own.json()["items"]]
    for who in (people.host, people.participant, people.admin):
        listed = await media_api.http.get(
            MEDIA, params={"meeting_id": meeting["id"]}, headers=who.headers
        )
        assert listed.status_code == 200
        assert [m["id"] for m in listed.json()["items"]] == [media["id"]]
    assert (
        await media_api.http.get(
            MEDIA, params={"meeting_id": meeting["id"]}, headers=people.other.headers
        )
    ).status_code == 404
    by_kind = await media_api.http.get(
        MEDIA,
        params={"meeting_id": meeting["id"], "kind": "recording"},
        headers=people.host.headers,
    )
    assert by_kind.json()["items"] == []


@pytest.mark.parametrize(
    ("role", "status"),
    [("participant", 200), ("host", 200), ("admin", 200), ("other", 404), ("owner", 404)],
)
async def test_who_may_see_a_meetings_file(
    media_api: Api,
    people: People,
    meeting_file: tuple[dict, dict],
    role: str,
    status: int,
) -> None:
    """The uploader, the meeting's people and admins; anyone else gets 404 (even ``owner``,
    who owns other files but is not in this meeting)."""
    _, media = meeting_file
    who: Account = getattr(people, role)
    for path in ("", "/content"):
        response = await media_api.http.get(f"{MEDIA}/{media['id']}{path}", headers=who.headers)
        assert response.status_code == status, (role, path, response.text)


async def test_a_private_file_is_only_for_its_owner_and_admins(
    media_api: Api, people: People
) -> None:
    media = await stored(media_api, people.owner)
    for who, status in ((people.owner, 200), (people.admin, 200), (people.other, 404)):
        response = await media_api.http.get(f"{MEDIA}/{media['id']}", headers=who.headers)
        assert response.status_code == status


async def test_anonymous_callers_are_refused(media_api: Api, people: People) -> None:
    media = await stored(media_api, people.owner)
    assert (await media_api.http.get(f"{MEDIA}/{media['id']}")).status_code == 401


async def test_uploading_to_a_meeting_one_is_not_in_is_404(media_api: Api, people: People) -> None:
    meeting = await live_meeting(media_api, people.host)
    response = await post_file(
        media_api, people.other, samples.png(), "a.png", "image/png", meeting_id=meeting["id"]
    )
    assert response.status_code == 404


async def test_the_meetings_host_may_delete_a_participants_file(
    media_api: Api, people: People, meeting_file: tuple[dict, dict], media_env: MediaEnv
) -> None:
    _, media = meeting_file
    url = f"{MEDIA}/{media['id']}"
    assert (await media_api.http.delete(url, headers=people.other.headers)).status_code == 404
    assert (await media_api.http.delete(url, headers=people.host.headers)).status_code == 204
    assert (await media_api.http.get(url, headers=people.participant.headers)).status_code == 404


async def test_a_participant_may_not_delete_someone_elses_file(
    media_api: Api, people: People
) -> None:
    meeting = await live_meeting(media_api, people.host, people.participant)
    media = await stored(media_api, people.host, meeting_id=meeting["id"])
    response = await media_api.http.delete(
        f"{MEDIA}/{media['id']}", headers=people.participant.headers
    )
    assert response.status_code == 403


async def test_deleting_removes_the_object_and_its_thumbnail(
    media_api: Api, people: People, media_env: MediaEnv
) -> None:
    from tests.support.media import wait_processed

    media = await stored(media_api, people.owner)
    await wait_processed(media_api, people.owner, media["id"])
    response = await media_api.http.delete(f"{MEDIA}/{media['id']}", headers=people.owner.headers)
    assert response.status_code == 204
    storage = media_env.service.storage
    for key in (f"media/{media['id']}", f"thumbnails/{media['id']}.webp"):
        with pytest.raises(KeyError):
            await media_env.acall(storage.stat(key))


async def test_s3_downloads_can_redirect_to_a_presigned_url(
    media_api: Api, people: People, media_env: MediaEnv
) -> None:
    if media_env.relay is None:
        pytest.skip("presigned URLs are an S3 feature")
    data = samples.png()
    media = await stored(media_api, people.owner, data)
    media_env.settings.s3_presign_downloads = True
    try:
        response = await media_api.http.get(
            f"{MEDIA}/{media['id']}/content", headers=people.owner.headers
        )
    finally:
        media_env.settings.s3_presign_downloads = False
    assert response.status_code == 307
    location = response.headers["location"]
    assert location.startswith(media_env.relay.url)
    async with httpx.AsyncClient() as s3:
        direct = await s3.get(location)
    assert direct.status_code == 200
    assert direct.content == data
    assert direct.headers["content-type"] == "image/png"


async def test_a_content_link_plays_without_a_header_and_only_for_its_file(
    media_api: Api, people: People
) -> None:
    data = samples.png(700, 500)
    media = await stored(media_api, people.owner, data)
    other = await stored(media_api, people.owner)
    assert (
        await media_api.http.post(f"{MEDIA}/{media['id']}/link", headers=people.other.headers)
    ).status_code == 404
    link = await media_api.http.post(f"{MEDIA}/{media['id']}/link", headers=people.owner.headers)
    assert link.status_code == 200
    url = link.json()["url"]
    ranged = await media_api.http.get(url, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206
    assert ranged.content == data[:100]
    token = url.split("access=", 1)[1]
    wrong_file = await media_api.http.get(f"{MEDIA}/{other['id']}/content?access={token}")
    assert wrong_file.status_code == 401
    forged = await media_api.http.get(f"{MEDIA}/{media['id']}/content?access={token[:-4]}abcd")
    assert forged.status_code == 401
    assert (await media_api.http.get(f"{MEDIA}/{media['id']}/content")).status_code == 401
