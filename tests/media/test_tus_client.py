"""A real tus client (tuspy, from PyPI) against the server, including a resume after the
connection was cut in the middle of a chunk."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import socket
import threading

import pytest
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed

from tests.support import media_samples as samples
from tests.support.api import Account, Api
from tests.support.media import MEDIA, UPLOADS, tus_head
from tests.support.media_env import MediaEnv, People, free_port


def pdf_bytes(size: int) -> bytes:
    """A file that sniffs as a PDF (magic number) with ``size`` bytes in all."""
    head = b"%PDF-1.7\n"
    return head + os.urandom(size - len(head))


class CuttingRelay:
    """Forwards one connection at a time to the server and cuts it once ``limit`` bytes of
    the request went through (a network failure in the middle of a PATCH)."""

    def __init__(self, target_port: int, limit: int) -> None:
        self.target_port = target_port
        self.limit = limit
        self.port = free_port()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(conn, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, conn, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, counted: bool) -> None:
        sent = 0
        try:
            while data := source.recv(64 * 1024):
                if counted and sent + len(data) > self.limit:
                    sink.sendall(data[: self.limit - sent])
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.listener.close()


def _upload(url: str, who: Account, data: bytes, chunk_size: int, **metadata: str) -> str:
    client = tus_client.TusClient(url + UPLOADS, headers=who.headers)
    uploader = client.uploader(
        file_stream=io.BytesIO(data), chunk_size=chunk_size, metadata=metadata
    )
    uploader.upload()
    assert uploader.url is not None
    return str(uploader.url)


async def test_tuspy_uploads_a_recording_in_chunks(
    media_env: MediaEnv, media_api: Api, people: People
) -> None:
    data = samples.webm(3.0)
    url = await asyncio.to_thread(
        _upload,
        media_env.url,
        people.owner,
        data,
        16 * 1024,
        filename="meeting.webm",
        filetype="video/webm",
    )
    media_id = url.rstrip("/").rsplit("/", 1)[1]
    media = (await media_api.http.get(f"{MEDIA}/{media_id}", headers=people.owner.headers)).json()
    assert media["size_bytes"] == len(data)
    assert media["content_type"] == "video/webm"
    assert media["sha256"] == hashlib.sha256(data).hexdigest()


async def test_tuspy_with_checksums_is_accepted(
    media_env: MediaEnv, media_api: Api, people: People
) -> None:
    data = samples.png()

    def upload() -> str:
        client = tus_client.TusClient(media_env.url + UPLOADS, headers=people.owner.headers)
        uploader = client.uploader(
            file_stream=io.BytesIO(data),
            chunk_size=4096,
            metadata={"filename": "a.png"},
            upload_checksum=True,
        )
        uploader.upload()
        return str(uploader.url)

    url = await asyncio.to_thread(upload)
    media_id = url.rstrip("/").rsplit("/", 1)[1]
    response = await media_api.http.get(f"{MEDIA}/{media_id}", headers=people.owner.headers)
    assert response.status_code == 200, response.text


async def test_an_upload_cut_mid_chunk_resumes_from_the_stored_offset(
    media_env: MediaEnv, media_api: Api, people: People
) -> None:
    data = pdf_bytes(12 * 1024 * 1024)
    relay = CuttingRelay(media_env.server.port, limit=5 * 1024 * 1024)
    client = tus_client.TusClient(
        f"http://127.0.0.1:{relay.port}{UPLOADS}", headers=people.owner.headers
    )
    uploader = client.uploader(
        file_stream=io.BytesIO(data),
        metadata={"filename": "big.pdf", "filetype": "application/pdf"},
    )
    with pytest.raises((TusUploadFailed, TusCommunicationError)):
        await asyncio.to_thread(uploader.upload)
    relay.close()
    assert uploader.url
    location = "/" + uploader.url.split("/", 3)[3]

    # The server keeps what arrived before the cut (once it has noticed the cut).
    for _ in range(100):
        head = await tus_head(media_api, people.owner, location)
        if int(head.headers["upload-offset"]) > 0:
            break
        await asyncio.sleep(0.05)
    direct = tus_client.TusClient(media_env.url + UPLOADS, headers=people.owner.headers)
    resumed = direct.uploader(
        file_stream=io.BytesIO(data), url=media_env.url + location, chunk_size=4 * 1024 * 1024
    )
    assert 0 < resumed.offset < len(data)
    await asyncio.to_thread(resumed.upload)

    media_id = location.rstrip("/").rsplit("/", 1)[1]
    content = await media_api.http.get(f"{MEDIA}/{media_id}/content", headers=people.owner.headers)
    assert content.status_code == 200
    assert hashlib.sha256(content.content).digest() == hashlib.sha256(data).digest()
