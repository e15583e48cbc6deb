"""Recordings belong to whoever started them (issue 13, item 15, and a low item).

Every representation says who started a recording (``started_by``), so media-service can refuse
an upload for it from anyone else; and meeting-service itself lets only the starter attach
media to it (media-service attaches with the uploader's own token).
"""

from __future__ import annotations

from tests.support.api import Api, Cast
from tests.support.meetings import MEETINGS, create_meeting, joined
from tests.support.problems import assert_problem


async def _recorded_by_cohost(api: Api, cast: Cast) -> tuple[str, dict]:
    meeting = await create_meeting(api, cast.host)
    url = f"{MEETINGS}/{meeting['id']}"
    await joined(api, meeting["id"], cast.host)
    await joined(api, meeting["id"], cast.participant)
    cohost = (await joined(api, meeting["id"], cast.cohost))["participant"]
    await api.http.patch(
        f"{url}/participants/{cohost['id']}", json={"role": "cohost"}, headers=cast.host.headers
    )
    started = await api.http.post(f"{url}/recordings", headers=cast.cohost.headers)
    assert started.status_code == 201, started.text
    return url, started.json()


async def test_every_recording_representation_names_its_starter(api: Api, cast: Cast) -> None:
    url, recording = await _recorded_by_cohost(api, cast)
    assert recording["started_by"] == cast.cohost.id
    listed = (await api.http.get(f"{url}/recordings", headers=cast.participant.headers)).json()
    assert [r["started_by"] for r in listed] == [cast.cohost.id]
    patched = await api.http.patch(
        f"{url}/recordings/{recording['id']}",
        json={"status": "processing"},
        headers=cast.host.headers,
    )
    assert patched.status_code == 200
    assert patched.json()["started_by"] == cast.cohost.id


async def test_only_the_starter_attaches_media(api: Api, cast: Cast) -> None:
    url, recording = await _recorded_by_cohost(api, cast)
    media = {"media_id": "0b9c1e8e-2a61-4d7e-9d5c-3d6a3c2b8f10", "size_bytes": 1024}
    for other in (cast.host, cast.admin):
        response = await api.http.patch(
            f"{url}/recordings/{recording['id']}", json=media, headers=other.headers
        )
        assert_problem(response, 403, "recording-starter-only")
    untouched = (await api.http.get(f"{url}/recordings", headers=cast.host.headers)).json()[0]
    assert untouched["media_id"] is None and untouched["size_bytes"] is None
    mine = await api.http.patch(
        f"{url}/recordings/{recording['id']}", json=media, headers=cast.cohost.headers
    )
    assert mine.status_code == 200, mine.text
    assert mine.json()["media_id"] == media["media_id"]


async def test_a_size_no_column_can_hold_is_422(api: Api, cast: Cast) -> None:
    url, recording = await _recorded_by_cohost(api, cast)
    for size in (1e30, 2**63, 2**53 + 1):
        response = await api.http.patch(
            f"{url}/recordings/{recording['id']}",
            json={"size_bytes": size},
            headers=cast.cohost.headers,
        )
        assert_problem(response, 422)
