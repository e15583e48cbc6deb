"""core/storage.py on both stores: a local directory and a real S3-protocol server (moto)."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parley.core.storage import (
    S3_PART_SIZE,
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    Storage,
    StorageUnavailable,
)
from tests.support.media_env import S3_KEY, S3_SECRET, S3Server, free_port


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "objects")
    s3: S3Server = request.getfixturevalue("s3_server")
    return S3Storage(
        bucket=f"store-{uuid.uuid4().hex[:8]}",
        endpoint_url=s3.url,
        access_key=S3_KEY,
        secret_key=S3_SECRET,
        create_bucket=True,
    )


async def chunks_of(data: bytes, size: int = 100_000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def read_all(storage: Storage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in storage.iter_range(key, start, end)])


async def test_put_get_delete_round_trip(storage: Storage) -> None:
    await storage.put("avatars/a.webp", b"picture")
    assert await storage.get("avatars/a.webp") == b"picture"
    await storage.delete("avatars/a.webp")
    with pytest.raises(ObjectNotFound):
        await storage.get("avatars/a.webp")


async def test_keys_that_could_escape_are_refused(storage: Storage) -> None:
    for key in ("../etc/passwd", "/abs", "a/../../b", ".hidden"):
        with pytest.raises(ValueError):
            await storage.put(key, b"x")


async def test_a_large_stream_is_stored_in_parts_and_read_back(storage: Storage) -> None:
    data = os.urandom(2 * S3_PART_SIZE + 12345)
    size = await storage.write_stream("media/big", chunks_of(data, 1 << 20))
    assert size == len(data)
    assert (await storage.stat("media/big")).size == len(data)
    assert await read_all(storage, "media/big") == data


async def test_ranges_read_exactly_the_bytes_asked_for(storage: Storage) -> None:
    data = os.urandom(3_000_000)
    await storage.put("media/r", data)
    assert await read_all(storage, "media/r", 10, 19) == data[10:20]
    assert await read_all(storage, "media/r", 2_999_990) == data[2_999_990:]


async def test_the_reader_seeks_like_a_file(storage: Storage) -> None:
    data = os.urandom(3_000_000)
    await storage.put("media/seek", data)
    with storage.open_reader("media/seek") as reader:
        reader.seek(2_500_000)
        assert reader.read(10) == data[2_500_000:2_500_010]
        reader.seek(-5, os.SEEK_END)
        assert reader.read() == data[-5:]
        reader.seek(0)
        assert reader.read(4) == data[:4]


async def test_a_failed_stream_leaves_nothing_behind(storage: Storage) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield os.urandom(S3_PART_SIZE + 10)
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        await storage.write_stream("media/broken", broken())
    with pytest.raises(ObjectNotFound):
        await storage.stat("media/broken")


async def test_appends_resume_across_appenders_and_become_one_object(storage: Storage) -> None:
    data = os.urandom(S3_PART_SIZE * 2 + 777)
    cuts = [0, 1000, S3_PART_SIZE - 5, S3_PART_SIZE + 4000, len(data)]
    offset, state = 0, {}
    for start, end in itertools.pairwise(cuts):
        assert offset == start
        appender = await storage.open_append("media/appended", offset, state)
        await appender.write(data[start:end])
        if end == len(data):
            await appender.finish()
        else:
            await appender.checkpoint()
        await appender.close()
        offset, state = appender.offset, appender.state
    assert offset == len(data)
    assert await read_all(storage, "media/appended") == data


async def test_an_unsaved_longer_write_does_not_change_what_the_saved_state_says(
    storage: Storage,
) -> None:
    """A crash after writing but before saving the new offset: the old offset still holds."""
    first = await storage.open_append("media/crash", 0, {})
    await first.write(b"a" * 1000)
    await first.checkpoint()
    await first.close()
    saved_offset, saved_state = first.offset, dict(first.state)
    lost = await storage.open_append("media/crash", saved_offset, saved_state)
    await lost.write(b"b" * 500)
    await lost.checkpoint()  # ... and the process dies before saving lost.offset
    await lost.close()
    again = await storage.open_append("media/crash", saved_offset, saved_state)
    await again.write(b"c" * 10)
    await again.finish()
    assert await storage.get("media/crash") == b"a" * 1000 + b"c" * 10


async def test_an_unreachable_s3_server_is_storage_unavailable(tmp_path: Path) -> None:
    storage = S3Storage(
        bucket="nowhere",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        access_key=S3_KEY,
        secret_key=S3_SECRET,
        timeout_s=1,
    )
    with pytest.raises(StorageUnavailable):
        await storage.put("media/x", b"x")
