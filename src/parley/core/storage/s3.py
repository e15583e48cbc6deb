"""Any S3-compatible store (MinIO, AWS, moto's server in the tests) through boto3.

Large objects go up as multipart uploads whose parts are sent while the next one fills;
resumable uploads keep their multipart state in the caller's ``state`` dict, so they survive
a restart. boto3 is imported lazily: the embedded default never loads it. Every botocore
error becomes :class:`ObjectNotFound` or :class:`StorageUnavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any, BinaryIO

from starlette.concurrency import run_in_threadpool

from parley.core.storage.base import (
    READ_CHUNK,
    Appender,
    ObjectInfo,
    ObjectNotFound,
    Storage,
    StorageUnavailable,
    check_key,
)

# S3 needs parts of at least 5 MiB (except the last); larger parts mean fewer requests.
S3_PART_SIZE = 8 * 1024 * 1024
# Parts sent at once while the next one fills (memory: this many parts plus one).
S3_PARTS_IN_FLIGHT = 2
COMPLETE_TIMEOUT_S = 900.0


def _s3_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def _translate(exc: BaseException, key: str) -> BaseException:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in {"NoSuchKey", "404", "NotFound"}:
            return ObjectNotFound(key)
        if status >= 500 or code in {"SlowDown", "ServiceUnavailable", "InternalError"}:
            return StorageUnavailable(f"object store error: {code}")
        return StorageUnavailable(f"object store refused the request: {code}")
    return StorageUnavailable(f"object store unreachable: {type(exc).__name__}")


class _S3Reader(io.RawIOBase):
    """A seekable file over ranged GETs, read ahead in blocks (decoders seek a lot)."""

    BLOCK = 1024 * 1024

    def __init__(self, storage: S3Storage, key: str, size: int) -> None:
        self._storage = storage
        self._key = key
        self._size = size
        self._pos = 0
        self._block_start = -1
        self._block = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            self._pos = offset
        elif whence == io.SEEK_CUR:
            self._pos += offset
        else:
            self._pos = self._size + offset
        self._pos = max(0, self._pos)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos >= self._size or len(view) == 0:
            return 0
        inside = self._block_start <= self._pos < self._block_start + len(self._block)
        if not inside:
            self._block_start = self._pos
            end = min(self._size, self._pos + max(self.BLOCK, len(view))) - 1
            self._block = self._storage.get_range_sync(self._key, self._pos, end)
        start = self._pos - self._block_start
        data = self._block[start : start + len(view)]
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)


class _S3Appender(Appender):
    """Appends through one S3 multipart upload.

    Parts must be at least 5 MiB, but tus chunks can be any size: whole parts go up as they
    fill; what is left at the end of a request is kept as a *tail* object, read back by the
    next request. ``state`` = ``{"upload_id", "parts": [[number, etag, size], ...], "tail"}``.
    The tail's key carries the offset it starts at and only its first ``tail`` bytes count, so
    a crash between writing a longer tail and saving the state leaves the saved state valid.
    """

    def __init__(
        self, storage: S3Storage, upload_key: str, offset: int, state: dict[str, Any]
    ) -> None:
        self.s3 = storage
        self.upload_key = upload_key
        self.offset = offset
        self.state = {
            "upload_id": state.get("upload_id"),
            "parts": [list(p) for p in state.get("parts", [])],
            "tail": int(state.get("tail", 0)),
        }
        self._buffer = bytearray()
        # Parts being sent while more bytes arrive: (number, size, task), oldest first. A part
        # counts (in ``state`` and ``offset``) only once it and every part before it are stored.
        self._in_flight: list[tuple[int, int, asyncio.Task[Any]]] = []
        self._loaded_tail: str | None = None

    @property
    def _parts_size(self) -> int:
        return sum(int(p[2]) for p in self.state["parts"])

    def tail_key(self, start: int | None = None) -> str:
        start = self._parts_size if start is None else start
        return f"partial/{self.upload_key}/tail-{start}"

    async def load_tail(self) -> None:
        tail = self.state["tail"]
        if tail:
            self._loaded_tail = self.tail_key()
            data = await self.s3.get(self._loaded_tail)
            self._buffer = bytearray(data[:tail])

    async def _send_part(self, body: bytes) -> None:
        s3 = self.s3
        if self.state["upload_id"] is None:
            response = await s3.call(
                "create_multipart_upload", Bucket=s3.bucket, Key=self.upload_key
            )
            self.state["upload_id"] = response["UploadId"]
        number = len(self.state["parts"]) + len(self._in_flight) + 1
        task = asyncio.ensure_future(
            s3.call(
                "upload_part",
                Bucket=s3.bucket,
                Key=self.upload_key,
                UploadId=self.state["upload_id"],
                PartNumber=number,
                Body=body,
            )
        )
        self._in_flight.append((number, len(body), task))

    async def _settle(self, keep: int = 0) -> None:
        """Wait for sent parts, oldest first, until at most ``keep`` are in flight."""
        while len(self._in_flight) > keep:
            number, size, task = self._in_flight[0]
            try:
                response = await task
            except BaseException:
                for _, _, other in self._in_flight[1:]:
                    other.cancel()
                await asyncio.gather(*(t for _, _, t in self._in_flight), return_exceptions=True)
                self._in_flight.clear()
                raise
            self._in_flight.pop(0)
            self.state["parts"].append([number, response["ETag"], size])
            # The loaded tail's bytes were in the first part sent: it is no longer needed.
            self.state["tail"] = 0
            self.offset = self._parts_size
            if self._loaded_tail:
                with contextlib.suppress(StorageUnavailable):
                    await self.s3.delete(self._loaded_tail)
                self._loaded_tail = None

    async def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= S3_PART_SIZE:
            body = bytes(self._buffer[:S3_PART_SIZE])
            del self._buffer[:S3_PART_SIZE]
            await self._send_part(body)
            await self._settle(keep=S3_PARTS_IN_FLIGHT - 1)

    async def checkpoint(self) -> None:
        await self._settle()
        if self._loaded_tail is not None and len(self._buffer) == self.state["tail"]:
            return  # nothing arrived since the tail was loaded
        if not self._buffer and not self.state["tail"]:
            return
        await self.s3.put(self.tail_key(), bytes(self._buffer))
        self.state["tail"] = len(self._buffer)
        self.offset = self._parts_size + len(self._buffer)

    async def close(self) -> None:
        for _, _, task in self._in_flight:
            task.cancel()
        await asyncio.gather(*(t for _, _, t in self._in_flight), return_exceptions=True)
        self._in_flight.clear()

    async def finish(self) -> None:
        s3 = self.s3
        target = self.upload_key
        await self._settle()
        if self.state["upload_id"] is None:
            # Smaller than one part: a plain PUT.
            await s3.put(target, bytes(self._buffer))
            size = len(self._buffer)
        else:
            if self._buffer:
                await self._send_part(bytes(self._buffer))
                self._buffer.clear()
                await self._settle()
            await s3.complete(target, self.state["upload_id"], self.state["parts"])
            size = self._parts_size
        for key in {self._loaded_tail, self.tail_key() if self.state["tail"] else None} - {None}:
            with contextlib.suppress(StorageUnavailable):
                await s3.delete(str(key))
        self.offset = size


class S3Storage(Storage):
    """An S3-compatible bucket through boto3 (blocking calls run in worker threads)."""

    can_presign = True

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        create_bucket: bool = False,
        timeout_s: float = 10.0,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket

        def client(read_timeout_s: float) -> Any:
            return boto3.client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                config=Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "path"},
                    connect_timeout=timeout_s,
                    read_timeout=read_timeout_s,
                    retries={"max_attempts": 2, "mode": "standard"},
                    max_pool_connections=32,
                    # No extra CRC32 of every part on top of SigV4's SHA-256 (S3 checks parts
                    # by their ETag; the media keeps its own SHA-256).
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                ),
            )

        self.client = client(timeout_s * 3)
        # Completing a multipart upload can take minutes for a large object (S3 keeps the
        # connection open meanwhile): its own client, with a long read timeout.
        self._slow_client = client(COMPLETE_TIMEOUT_S)
        self._errors = _s3_errors()
        self._create_bucket = create_bucket
        self._bucket_ready = not create_bucket

    def _call(self, method: str, **kwargs: Any) -> Any:
        if not self._bucket_ready:
            self._ensure_bucket()
        try:
            return getattr(self.client, method)(**kwargs)
        except self._errors as exc:
            raise _translate(exc, str(kwargs.get("Key", ""))) from exc

    def _ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self._errors:
            try:
                self.client.create_bucket(Bucket=self.bucket)
            except self._errors as exc:
                raise _translate(exc, "") from exc
        self._bucket_ready = True

    async def call(self, method: str, **kwargs: Any) -> Any:
        return await run_in_threadpool(self._call, method, **kwargs)

    def _complete(self, key: str, upload_id: str, parts: list[list[Any]]) -> None:
        try:
            self._slow_client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e, _ in parts]},
            )
        except self._errors as exc:
            # A retry after a lost answer finds the upload gone: done if the object is whole.
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            if code == "NoSuchUpload":
                expected = sum(int(size) for _, _, size in parts)
                with contextlib.suppress(*self._errors):
                    head = self.client.head_object(Bucket=self.bucket, Key=key)
                    if int(head["ContentLength"]) == expected:
                        return
            raise _translate(exc, key) from exc

    async def complete(self, key: str, upload_id: str, parts: list[list[Any]]) -> None:
        await run_in_threadpool(self._complete, key, upload_id, parts)

    async def put(self, key: str, data: bytes) -> None:
        await self.call("put_object", Bucket=self.bucket, Key=check_key(key), Body=data)

    def _get(self, key: str) -> bytes:
        response = self._call("get_object", Bucket=self.bucket, Key=key)
        try:
            data: bytes = response["Body"].read()
        except self._errors as exc:
            raise _translate(exc, key) from exc
        return data

    async def get(self, key: str) -> bytes:
        return await run_in_threadpool(self._get, check_key(key))

    async def delete(self, key: str) -> None:
        await self.call("delete_object", Bucket=self.bucket, Key=check_key(key))

    async def stat(self, key: str) -> ObjectInfo:
        response = await self.call("head_object", Bucket=self.bucket, Key=check_key(key))
        return ObjectInfo(int(response["ContentLength"]), str(response["ETag"]).strip('"'))

    async def write_stream(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        check_key(key)
        appender = _S3Appender(self, key, 0, {})
        try:
            async for chunk in chunks:
                await appender.write(chunk)
            await appender.finish()
        except BaseException:
            await appender.close()
            await self.abort_append(key, appender.state)
            raise
        return appender.offset

    def get_range_sync(self, key: str, start: int, end: int) -> bytes:
        response = self._call(
            "get_object", Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end}"
        )
        try:
            data: bytes = response["Body"].read()
        except self._errors as exc:
            raise _translate(exc, key) from exc
        return data

    async def iter_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        check_key(key)
        byte_range = f"bytes={start}-" + ("" if end is None else str(end))
        response = await self.call("get_object", Bucket=self.bucket, Key=key, Range=byte_range)
        body = response["Body"]
        try:
            while True:
                try:
                    data = await run_in_threadpool(body.read, READ_CHUNK)
                except self._errors as exc:
                    raise _translate(exc, key) from exc
                if not data:
                    break
                yield data
        finally:
            body.close()

    def open_reader(self, key: str) -> BinaryIO:
        check_key(key)
        response = self._call("head_object", Bucket=self.bucket, Key=key)
        raw = _S3Reader(self, key, int(response["ContentLength"]))
        return io.BufferedReader(raw, buffer_size=64 * 1024)

    async def open_append(self, upload_key: str, offset: int, state: dict[str, Any]) -> Appender:
        appender = _S3Appender(self, check_key(upload_key), offset, state)
        await appender.load_tail()
        return appender

    async def abort_append(self, upload_key: str, state: dict[str, Any]) -> None:
        if state.get("upload_id"):
            with contextlib.suppress(StorageUnavailable, ObjectNotFound):
                await self.call(
                    "abort_multipart_upload",
                    Bucket=self.bucket,
                    Key=upload_key,
                    UploadId=state["upload_id"],
                )
        if state.get("tail"):
            appender = _S3Appender(self, upload_key, 0, state)
            with contextlib.suppress(StorageUnavailable, ObjectNotFound):
                await self.delete(appender.tail_key())

    async def presigned_get(
        self, key: str, *, disposition: str, content_type: str, expires_s: int
    ) -> str | None:
        params = {
            "Bucket": self.bucket,
            "Key": check_key(key),
            "ResponseContentType": content_type,
            "ResponseContentDisposition": disposition,
        }
        url: str = await run_in_threadpool(
            self.client.generate_presigned_url, "get_object", Params=params, ExpiresIn=expires_s
        )
        return url
