"""Steps the media tests share: raw tus requests, multipart uploads, meetings to attach to."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx

from parley.media.models import MediaFile
from tests.support.api import Account, Api

if TYPE_CHECKING:
    from tests.support.media_env import MediaEnv

MEDIA = "/api/v1/media"
UPLOADS = f"{MEDIA}/uploads/"
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}


def metadata(**fields: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


async def tus_create(
    api: Api, who: Account, length: int, body: bytes | None = None, **meta: str
) -> httpx.Response:
    headers = {**who.headers, **TUS, "Upload-Length": str(length)}
    if meta:
        headers["Upload-Metadata"] = metadata(**meta)
    if body is not None:
        headers.update(OCTETS)
    return await api.http.post(UPLOADS, headers=headers, content=body)


async def tus_patch(
    api: Api, who: Account, location: str, offset: int, body: bytes, **headers: str
) -> httpx.Response:
    return await api.http.patch(
        location,
        headers={**who.headers, **TUS, **OCTETS, "Upload-Offset": str(offset), **headers},
        content=body,
    )


async def tus_head(api: Api, who: Account, location: str) -> httpx.Response:
    return await api.http.head(location, headers={**who.headers, **TUS})


async def tus_upload(api: Api, who: Account, data: bytes, **meta: str) -> httpx.Response:
    """Create and send in one go; returns the last response (201 or the error)."""
    return await tus_create(api, who, len(data), data, **meta)


def media_id_of(response: httpx.Response) -> str:
    return response.headers["location"].rstrip("/").rsplit("/", 1)[1]


async def post_file(
    api: Api,
    who: Account,
    data: bytes,
    filename: str = "file.bin",
    content_type: str = "application/octet-stream",
    **fields: str,
) -> httpx.Response:
    return await api.http.post(
        MEDIA,
        headers=who.headers,
        files={"file": (filename, data, content_type)},
        data=fields,
    )


async def live_meeting(api: Api, host: Account, *participants: Account) -> dict[str, Any]:
    response = await api.http.post(
        "/api/v1/meetings", json={"title": "Media sync"}, headers=host.headers
    )
    assert response.status_code == 201, response.text
    meeting = response.json()
    for who in (host, *participants):
        joined = await api.http.post(
            f"/api/v1/meetings/{meeting['id']}/join", json={}, headers=who.headers
        )
        assert joined.status_code == 200, joined.text
    return meeting


async def wait_processed(api: Api, who: Account, media_id: str, timeout: float = 30) -> dict:
    """The media once the worker is done with it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await api.http.get(f"{MEDIA}/{media_id}", headers=who.headers)
        assert response.status_code == 200, response.text
        body: dict = response.json()
        if body["thumbnail_status"] not in ("pending", "processing"):
            return body
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.1)


async def chunked(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """``data`` as a chunked body (no Content-Length for the server to judge up front)."""
    for i in range(0, len(data), size):
        yield data[i : i + size]
        await asyncio.sleep(0)


async def tus_create_deferred(api: Api, who: Account, **meta: str) -> httpx.Response:
    """A tus upload whose length comes later (creation-defer-length), as a live recording."""
    headers = {**who.headers, **TUS, "Upload-Defer-Length": "1"}
    if meta:
        headers["Upload-Metadata"] = metadata(**meta)
    return await api.http.post(UPLOADS, headers=headers)


async def fill_quota(env: MediaEnv, who: Account, leave: int) -> None:
    """Record a stored file of ``who`` so large that only ``leave`` bytes of quota remain
    (a row only: the quota counts rows, and no test reads its content)."""

    async def insert() -> None:
        async with env.app.state.db.sessionmaker() as session:
            session.add(
                MediaFile(
                    owner_id=uuid.UUID(who.id),
                    kind="file",
                    filename="ballast.pdf",
                    content_type="application/pdf",
                    size_bytes=env.settings.media_user_quota_bytes - leave,
                    sha256="0" * 64,
                    storage_key=f"media/{uuid.uuid4()}",
                    codecs=[],
                    thumbnail_status="none",
                )
            )
            await session.commit()

    await env.acall(insert())
