"""The embedded default store: a directory (``<data_dir>/objects``).

Objects appear atomically (written to a temporary file, then renamed); resumable uploads
grow a partial file under ``.partial/`` whose size is the durable offset. Blocking file I/O
runs in worker threads.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from starlette.concurrency import run_in_threadpool

from parley.core.storage.base import (
    READ_CHUNK,
    Appender,
    ObjectInfo,
    ObjectNotFound,
    Storage,
    check_key,
)

# Local appends are buffered to this size before a write (one thread hop per 4 MiB, not per
# network chunk).
LOCAL_WRITE_BUFFER = 4 * 1024 * 1024


class _LocalAppender(Appender):
    """Appends to a partial file; chunks are kept by reference (no copies) and written a few
    MiB at a time in a worker thread, which also updates ``digest``."""

    hashes_in_thread = True

    def __init__(self, path: Path, target: Path, offset: int) -> None:
        self.path = path
        self.target = target
        self.offset = offset
        self.state = {}
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._handle: BinaryIO | None = None

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "ab")  # noqa: SIM115 - kept open across writes
        # Bytes past the recorded offset (a crash after writing, before saving) are dropped.
        handle.truncate(self.offset)
        handle.seek(self.offset)
        self._handle = handle

    def _flush(self, chunks: list[bytes]) -> None:
        if self._handle is None:
            self._open()
        assert self._handle is not None
        if self.digest is not None:
            for chunk in chunks:
                self.digest.update(chunk)  # hashlib releases the GIL for large buffers
        self._handle.writelines(chunks)
        self._handle.flush()

    async def write(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered >= LOCAL_WRITE_BUFFER:
            await self.checkpoint()

    async def checkpoint(self) -> None:
        chunks, size = self._chunks, self._buffered
        self._chunks, self._buffered = [], 0
        if chunks or self._handle is None:
            await run_in_threadpool(self._flush, chunks)
        self.offset += size

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    async def close(self) -> None:
        await run_in_threadpool(self._close)

    async def finish(self) -> None:
        await self.checkpoint()
        await self.close()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        await run_in_threadpool(os.replace, self.path, self.target)


class LocalStorage(Storage):
    """Objects as files under one directory, written atomically (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _partial(self, upload_key: str) -> Path:
        return self.root / ".partial" / check_key(upload_key).replace("/", "_")

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc

    async def put(self, key: str, data: bytes) -> None:
        await run_in_threadpool(self._write, key, data)

    async def get(self, key: str) -> bytes:
        return await run_in_threadpool(self._read, key)

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def stat(self, key: str) -> ObjectInfo:
        try:
            st = self._path(key).stat()
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        return ObjectInfo(st.st_size, f"{st.st_mtime_ns:x}-{st.st_size:x}")

    async def write_stream(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        handle = os.fdopen(fd, "wb")
        size = 0
        buffer = bytearray()
        try:
            async for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                if len(buffer) >= LOCAL_WRITE_BUFFER:
                    await run_in_threadpool(handle.write, bytes(buffer))
                    buffer.clear()
            await run_in_threadpool(handle.write, bytes(buffer))
            handle.close()
            os.replace(tmp, path)
        except BaseException:
            handle.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return size

    async def iter_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        remaining = None if end is None else end - start + 1

        def first_read(size: int) -> tuple[BinaryIO, bytes]:
            # open + seek + the first read in one trip to the thread pool
            handle = open(self._path(key), "rb")  # noqa: SIM115 - closed by the caller
            handle.seek(start)
            return handle, handle.read(size)

        size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
        try:
            handle, first = await run_in_threadpool(first_read, size)
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        data: bytes | None = first
        try:
            while remaining is None or remaining > 0:
                if data is None:
                    size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                    data = await run_in_threadpool(handle.read, size)
                if not data:
                    break
                if remaining is not None:
                    remaining -= len(data)
                yield data
                data = None
        finally:
            handle.close()

    def open_reader(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc

    async def open_append(self, key: str, offset: int, state: dict[str, Any]) -> Appender:
        return _LocalAppender(self._partial(key), self._path(key), offset)

    async def abort_append(self, upload_key: str, state: dict[str, Any]) -> None:
        self._partial(upload_key).unlink(missing_ok=True)
