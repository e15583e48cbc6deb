"""Every meeting endpoint against every kind of caller.

Callers: anonymous; a guest (who has only a signaling ticket, and tries it as a bearer token);
a participant; a cohost; the host; another signed-in user; an admin. Another user always gets
404, so meeting ids cannot be probed; a participant who may see but not act gets 403.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.support.api import Api, Cast
from tests.support.meetings import MEETINGS, create_meeting, joined

ACTORS = ["anonymous", "guest", "participant", "cohost", "host", "other", "admin"]


@dataclass
class Scene:
    meeting: dict
    guest_ticket: str
    participant_row: dict
    guest_row: dict
    knocker_row: dict
    recording: dict


async def _scene(api: Api, cast: Cast) -> Scene:
    meeting = await create_meeting(api, cast.host)
    url = f"{MEETINGS}/{meeting['id']}"
    await joined(api, meeting["id"], cast.host)
    participant = (await joined(api, meeting["id"], cast.participant))["participant"]
    cohost = (await joined(api, meeting["id"], cast.cohost))["participant"]
    await api.http.patch(
        f"{url}/participants/{cohost['id']}", json={"role": "cohost"}, headers=cast.host.headers
    )
    guest = await joined(api, meeting["id"], display_name="Guest")
    await api.http.patch(url, json={"settings": {"waiting_room": True}}, headers=cast.host.headers)
    knocker = (await joined(api, meeting["id"], display_name="Knocker"))["participant"]
    assert knocker["status"] == "waiting"
    recording = (await api.http.post(f"{url}/recordings", headers=cast.host.headers)).json()
    return Scene(
        meeting, guest["signaling"]["token"], participant, guest["participant"], knocker, recording
    )


def _headers(actor: str, cast: Cast, scene: Scene) -> dict[str, str]:
    if actor == "anonymous":
        return {}
    if actor == "guest":
        return {"Authorization": f"Bearer {scene.guest_ticket}"}
    return getattr(cast, actor).headers


READ = {
    "anonymous": 401,
    "guest": 401,
    "participant": 200,
    "cohost": 200,
    "host": 200,
    "other": 404,
    "admin": 200,
}
MODERATE = {**READ, "participant": 403}
HOST_ONLY = {**MODERATE, "cohost": 403}

# (name, method, path under the meeting, json body, expected status per actor)
CASES = [
    ("get", "GET", "", None, READ),
    ("patch", "PATCH", "", {"title": "New"}, HOST_ONLY),
    ("delete", "DELETE", "", None, {**HOST_ONLY, "host": 204, "admin": 204}),
    (
        "leave",
        "POST",
        "/leave",
        None,
        {**READ, "participant": 204, "cohost": 204, "host": 204, "admin": 204},
    ),
    ("end", "POST", "/end", None, MODERATE),
    ("participants", "GET", "/participants", None, READ),
    ("admit", "POST", "/participants/{knocker}/admit", None, MODERATE),
    ("deny", "POST", "/participants/{knocker}/deny", None, MODERATE),
    ("remove", "POST", "/participants/{guest}/remove", None, MODERATE),
    ("role", "PATCH", "/participants/{participant}", {"role": "cohost"}, MODERATE),
    ("start-recording", "POST", "/recordings", None, MODERATE),
    ("update-recording", "PATCH", "/recordings/{recording}", {"status": "processing"}, MODERATE),
    ("recordings", "GET", "/recordings", None, READ),
    ("calendar", "GET", "/calendar.ics", None, READ),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    ("name", "method", "path", "body", "expected"), CASES, ids=[case[0] for case in CASES]
)
async def test_authorization_matrix(
    api: Api,
    cast: Cast,
    actor: str,
    name: str,
    method: str,
    path: str,
    body: dict | None,
    expected: dict[str, int],
) -> None:
    scene = await _scene(api, cast)
    if name == "start-recording":
        # The scene already records; stop it so that allowed callers can start one.
        await api.http.patch(
            f"{MEETINGS}/{scene.meeting['id']}/recordings/{scene.recording['id']}",
            json={"status": "processing"},
            headers=cast.host.headers,
        )
    path = path.format(
        knocker=scene.knocker_row["id"],
        guest=scene.guest_row["id"],
        participant=scene.participant_row["id"],
        recording=scene.recording["id"],
    )
    want = expected[actor]
    if name == "start-recording" and want == 200:
        want = 201
    response = await api.http.request(
        method,
        f"{MEETINGS}/{scene.meeting['id']}{path}",
        json=body,
        headers=_headers(actor, cast, scene),
    )
    assert response.status_code == want, f"{actor} {name}: {response.status_code} {response.text}"
    if want >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("actor", ACTORS)
async def test_anyone_may_read_the_public_join_facts(api: Api, cast: Cast, actor: str) -> None:
    scene = await _scene(api, cast)
    response = await api.http.get(
        f"{MEETINGS}/by-code/{scene.meeting['code']}", headers=_headers(actor, cast, scene)
    )
    assert response.status_code == 200


@pytest.mark.parametrize("actor", ACTORS)
async def test_who_may_join(api: Api, cast: Cast, actor: str) -> None:
    scene = await _scene(api, cast)
    body = {"display_name": "Someone"} if actor in ("anonymous",) else {}
    response = await api.http.post(
        f"{MEETINGS}/{scene.meeting['id']}/join", json=body, headers=_headers(actor, cast, scene)
    )
    assert response.status_code == (401 if actor == "guest" else 200), response.text
