"""Steps many meeting tests share."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.api import Account, Api

MEETINGS = "/api/v1/meetings"


async def create_meeting(api: Api, host: Account, **fields: Any) -> dict[str, Any]:
    body = {"title": "Weekly sync", **fields}
    response = await api.http.post(MEETINGS, json=body, headers=host.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def join(
    api: Api, meeting_id: str, who: Account | None = None, **body: Any
) -> httpx.Response:
    headers = who.headers if who else {}
    if who is None:
        body.setdefault("display_name", "Guest Gina")
    return await api.http.post(f"{MEETINGS}/{meeting_id}/join", json=body, headers=headers)


async def joined(api: Api, meeting_id: str, who: Account | None = None, **body: Any) -> dict:
    response = await join(api, meeting_id, who, **body)
    assert response.status_code == 200, response.text
    return response.json()


async def knock(api: Api, meeting_id: str, who: Account | None = None, **body: Any) -> dict:
    """Join a meeting that may have a waiting room; the participant row (maybe ``waiting``)."""
    participant: dict = (await joined(api, meeting_id, who, **body))["participant"]
    return participant


# What someone outside a meeting asks about it, directly or through media-service and
# ai-service (which ask meeting-service with the caller's own token).
OUTSIDER_READS = ("", "/participants", "/recordings", "/calendar.ics")


async def assert_outsider(api: Api, meeting_id: str, who: Account) -> None:
    """Every read of the meeting answers 404 to ``who``, and it is not in their list."""
    for path in OUTSIDER_READS:
        response = await api.http.get(f"{MEETINGS}/{meeting_id}{path}", headers=who.headers)
        assert response.status_code == 404, f"{path or '/'}: {response.status_code}"
        assert response.headers["content-type"].startswith("application/problem+json")
    listed = await api.http.get(MEETINGS, headers=who.headers)
    assert meeting_id not in [m["id"] for m in listed.json()["items"]]
