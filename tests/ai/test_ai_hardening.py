"""Issue 13, AI side: batch jobs fetch only media Parley issued and call back only allowed hosts
(no SSRF), results name only a recording of the same meeting, and text with NUL is refused."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from parley.ai import egress
from parley.ai.service import runtime_of
from tests.support.ai import AI, SENTENCE, b64, finished, live_recording, problem, words
from tests.support.api import Account, Api, Cast
from tests.support.media import MEDIA, post_file
from tests.support.meetings import create_meeting

Speech = Callable[..., bytes]


async def submit(api: Api, who: Account, item_input: dict[str, Any], **body: Any) -> Any:
    return await api.http.post(
        f"{AI}/batch",
        json={"items": [{"task": "asr", "input": item_input}], **body},
        headers=who.headers,
    )


@contextmanager
def callback_hosts(api: Api, *hosts: str) -> Iterator[None]:
    """The operator's callback allow-list (PARLEY_AI_CALLBACK_HOSTS) for one test."""
    limits = runtime_of(api.app.state).limits
    before = limits.ai_callback_hosts
    limits.ai_callback_hosts = list(hosts)
    try:
        yield
    finally:
        limits.ai_callback_hosts = before


# --- media: only what Parley issued ---------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://169.254.169.254/latest/meta-data/",
        "http://media.internal/api/v1/media/00000000-0000-0000-0000-000000000000/content",
        "file:///etc/passwd",
        "/api/v1/auth/me",
    ],
)
async def test_a_media_url_parley_did_not_issue_is_refused_at_submission(
    api: Api, cast: Cast, url: str
) -> None:
    body = problem(await submit(api, cast.other, {"media_url": url}), 422, "media-url-refused")
    assert "127.0.0.1" not in body["detail"] and "169.254" not in body["detail"]


async def test_a_content_link_with_a_forged_signature_is_refused(api: Api, cast: Cast) -> None:
    from parley.core.auth import TokenSigner

    media_id = uuid.uuid4()
    forger = TokenSigner("x" * 40, 900)
    access = forger.issue({"sub": cast.other.id, "media": str(media_id)}, "media-link", 600)
    url = f"/api/v1/media/{media_id}/content?access={access}"
    problem(await submit(api, cast.other, {"media_url": url}), 422, "media-url-refused")


async def test_a_content_link_for_another_file_than_its_path_is_refused(
    api: Api, cast: Cast
) -> None:
    signer = api.app.state.signer
    access = signer.issue({"sub": cast.other.id, "media": str(uuid.uuid4())}, "media-link", 600)
    url = f"/api/v1/media/{uuid.uuid4()}/content?access={access}"
    problem(await submit(api, cast.other, {"media_url": url}), 422, "media-url-refused")


async def test_a_signed_link_on_a_host_other_than_the_media_base_is_refused(
    api: Api, cast: Cast
) -> None:
    media_id = uuid.uuid4()
    access = api.app.state.signer.issue(
        {"sub": cast.other.id, "media": str(media_id)}, "media-link", 600
    )
    url = f"http://127.0.0.1:9/api/v1/media/{media_id}/content?access={access}"
    problem(await submit(api, cast.other, {"media_url": url}), 422, "media-url-refused")


async def _uploaded_speech(api: Api, who: Account, speech: Speech) -> str:
    response = await post_file(api, who, speech(), "speech.wav", "audio/wav")
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_media_id_the_submitter_can_read_is_transcribed(
    api: Api, cast: Cast, speech: Speech
) -> None:
    media_id = await _uploaded_speech(api, cast.other, speech)
    submitted = await submit(api, cast.other, {"media_id": media_id})
    assert submitted.status_code == 202, submitted.text
    job = await finished(api, submitted.json()["job_id"], cast.other.headers)
    assert job["errors"] == []
    assert len(words(job["results"][0]["output"]["text"]) & words(SENTENCE)) >= 7


async def test_a_media_id_of_someone_elses_file_is_refused(
    api: Api, cast: Cast, speech: Speech
) -> None:
    media_id = await _uploaded_speech(api, cast.host, speech)
    problem(await submit(api, cast.other, {"media_id": media_id}), 422, "media-not-found")


async def test_a_content_link_parley_issued_is_transcribed(
    api: Api, cast: Cast, speech: Speech
) -> None:
    media_id = await _uploaded_speech(api, cast.other, speech)
    link = await api.http.post(f"{MEDIA}/{media_id}/link", headers=cast.other.headers)
    assert link.status_code == 200, link.text
    submitted = await submit(api, cast.other, {"media_url": link.json()["url"]})
    assert submitted.status_code == 202, submitted.text
    job = await finished(api, submitted.json()["job_id"], cast.other.headers)
    assert job["errors"] == []
    assert len(words(job["results"][0]["output"]["text"]) & words(SENTENCE)) >= 7


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.MockTransport(handler), base_url="http://media.internal"
    )


async def test_the_fetch_never_follows_a_redirect_to_another_host() -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://10.0.0.7:6379/"})

    async with _client(handler) as client:
        with pytest.raises(egress.ProblemError) as refused:
            await egress.fetch_link(client, "/api/v1/media/x/content?access=t")
    assert refused.value.status == 422
    assert "10.0.0.7" not in refused.value.detail
    assert asked == ["http://media.internal/api/v1/media/x/content?access=t"]


async def test_the_fetch_follows_a_redirect_within_media_service() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(307, headers={"Location": "/new"})
        return httpx.Response(200, content=b"RIFF")

    async with _client(handler) as client:
        assert await egress.fetch_link(client, "/old") == b"RIFF"


async def test_the_fetch_stops_reading_at_the_limit() -> None:
    pulled: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for index in range(1_000):
            pulled.append(index)
            yield b"x" * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["range"] == "bytes=0-4096"
        return httpx.Response(200, content=endless())

    async with _client(handler) as client:
        with pytest.raises(egress.ProblemError) as refused:
            await egress.fetch_link(client, "/big", limit=4096)
    assert refused.value.status == 413
    assert len(pulled) <= 6  # stopped just past 4 KiB, not after 1 MiB


async def test_the_fetch_refuses_a_declared_size_over_the_limit_without_reading() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            206, headers={"Content-Range": "bytes 0-4096/999999999"}, content=b"x" * 4097
        )

    async with _client(handler) as client:
        with pytest.raises(egress.ProblemError) as refused:
            await egress.fetch_link(client, "/big", limit=4096)
    assert refused.value.status == 413


async def test_a_stored_job_with_a_foreign_url_is_not_fetched(api: Api) -> None:
    """Jobs queued before the check existed: the worker checks the link again."""
    fetch = egress.media_fetcher(api.app)
    with pytest.raises(egress.ProblemError) as refused:
        await fetch("http://127.0.0.1:9/secret")
    assert refused.value.status == 422


# --- callbacks: only to allowed hosts -------------------------------------------------------


async def test_a_callback_is_refused_when_the_operator_allows_none(
    api: Api, cast: Cast, speech: Speech
) -> None:
    response = await submit(
        api, cast.other, {"audio": b64(speech())}, callback_url="http://127.0.0.1:9/hook"
    )
    problem(response, 422, "callback-refused")


async def test_a_callback_to_a_host_not_on_the_allow_list_is_refused(
    api: Api, cast: Cast, speech: Speech
) -> None:
    with callback_hosts(api, "hooks.example.com"):
        for url in (
            "http://127.0.0.1:9/hook",
            "http://hooks.example.com:6379/hook",
            "http://hooks.example.com.evil.test/hook",
        ):
            response = await submit(api, cast.other, {"audio": b64(speech())}, callback_url=url)
            problem(response, 422, "callback-refused")


async def test_a_callback_to_an_allowed_host_is_accepted(
    api: Api, cast: Cast, speech: Speech
) -> None:
    with callback_hosts(api, "hooks.example.com", "127.0.0.1:8088"):
        for url in ("https://hooks.example.com/job-done", "http://127.0.0.1:8088/hook"):
            response = await submit(api, cast.other, {"audio": b64(speech())}, callback_url=url)
            assert response.status_code == 202, response.text


async def test_a_callback_posts_to_the_allowed_host_without_following_redirects() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://127.0.0.1:6379/"})

    transport = httpx.MockTransport(handler)
    allowed = frozenset({"hooks.example.com"})
    status = await egress.post_callback(
        "https://hooks.example.com/done", {"job_id": "1"}, allowed, transport
    )
    assert status == 302
    assert seen == ["https://hooks.example.com/done"]
    refused = await egress.post_callback("http://127.0.0.1:9/", {}, allowed, transport)
    assert refused is None and len(seen) == 1


# --- a recording id only from its own meeting -----------------------------------------------


async def test_a_result_naming_another_meetings_recording_is_refused(api: Api, cast: Cast) -> None:
    _, foreign_recording = await live_recording(api, cast.host)
    own_meeting = await create_meeting(api, cast.other)
    body = {
        "segments": [{"speaker": "a", "start": 0, "end": 1, "text": "Spoofed."}],
        "meeting_id": own_meeting["id"],
        "recording_id": foreign_recording,
    }
    response = await api.http.post(f"{AI}/analyze", json=body, headers=cast.other.headers)
    problem(response, 404, "recording-not-found")


async def test_a_batch_item_naming_another_meetings_recording_is_refused(
    api: Api, cast: Cast
) -> None:
    _, foreign_recording = await live_recording(api, cast.host)
    own_meeting = await create_meeting(api, cast.other)
    item = {"text": "hello", "meeting_id": own_meeting["id"], "recording_id": foreign_recording}
    response = await api.http.post(
        f"{AI}/batch", json={"items": [{"task": "emotion", "input": item}]},
        headers=cast.other.headers,
    )  # fmt: skip
    problem(response, 404, "recording-not-found")


async def test_a_result_naming_the_meetings_own_recording_is_stored(api: Api, cast: Cast) -> None:
    meeting, recording = await live_recording(api, cast.host)
    body = {
        "segments": [{"speaker": "a", "start": 0, "end": 1, "text": "Can we ship?"}],
        "meeting_id": meeting["id"],
        "recording_id": recording,
    }
    response = await api.http.post(f"{AI}/analyze", json=body, headers=cast.host.headers)
    assert response.status_code == 200, response.text
    assert response.json()["result_id"] is not None


# --- NUL and control characters -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/synthesis", {"text": "hello\u0000world"}),
        ("/emotion", {"text": "fine\u0000"}),
        ("/analyze", {"segments": [{"speaker": "a", "start": 0, "end": 1, "text": "a\u0000"}]}),
        ("/analyze", {"segments": [{"speaker": "a\u0000", "start": 0, "end": 1, "text": "a"}]}),
        ("/batch", {"items": [{"task": "emotion", "input": {"text": "x\u0000"}}]}),
        ("/batch", {"items": [{"task": "emotion", "input": {"te\u0000xt": "x"}}]}),
        ("/asr", {"audio": "AAAA", "language": "e\u0000n"}),
    ],
)
async def test_nul_in_text_is_a_422(api: Api, cast: Cast, path: str, body: dict[str, Any]) -> None:
    response = await api.http.post(f"{AI}{path}", json=body, headers=cast.other.headers)
    problem(response, 422)


@pytest.mark.parametrize("path", ["/asr/upload", "/asr"])
async def test_nul_in_a_multipart_field_is_a_422(api: Api, cast: Cast, path: str) -> None:
    response = await api.http.post(
        f"{AI}{path}",
        files={"file": ("a.wav", b"RIFF0000WAVE", "audio/wav")},
        data={"language": "e\u0000n"},
        headers=cast.other.headers,
    )
    problem(response, 422)


async def test_multiline_text_keeps_its_newlines(api: Api, cast: Cast) -> None:
    response = await api.http.post(
        f"{AI}/emotion", json={"text": "Great work!\nThank you."}, headers=cast.other.headers
    )
    assert response.status_code == 200, response.text


# --- malformed multipart --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/asr/upload", "/asr"])
async def test_malformed_multipart_is_a_400(api: Api, cast: Cast, path: str) -> None:
    response = await api.http.post(
        f"{AI}{path}",
        content=b"--xyz\r\nbroken header line\r\n\r\ndata\r\n--xyz--\r\n",
        headers={**cast.other.headers, "content-type": "multipart/form-data; boundary=xyz"},
    )
    problem(response, 400)
