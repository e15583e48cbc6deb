"""Steps many meeting tests share."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Account, Api

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
