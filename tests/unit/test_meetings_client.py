"""core/meetings_client.py: the one mapping of meeting-service's answers every caller gets."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from parley.core.errors import TYPE_PREFIX, ProblemError
from parley.core.meetings_client import (
    MeetingsClient,
    close_meetings_clients,
    meetings_client,
)

MEETING = uuid.uuid4()
AUTH = {"Authorization": "Bearer t"}


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> MeetingsClient:
    client = MeetingsClient(FastAPI(), None, setting="PARLEY_X_MEETINGS_URL")
    client.http = httpx.AsyncClient(
        transport=httpx.MockTransport(handler), base_url="http://meetings.internal"
    )
    return client


def _problem(status: int, kind: str) -> httpx.Response:
    return httpx.Response(status, json={"type": TYPE_PREFIX + kind, "status": status})


async def test_a_meeting_the_caller_belongs_to_is_its_json() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": str(MEETING)})

    assert await _client(handler).meeting(MEETING, AUTH) == {"id": str(MEETING)}
    assert seen[0].url.path == f"/api/v1/meetings/{MEETING}"
    assert seen[0].headers["authorization"] == "Bearer t"


@pytest.mark.parametrize("response", [_problem(404, "meeting-not-found"), _problem(403, "x")])
async def test_meeting_services_own_refusal_is_none(response: httpx.Response) -> None:
    assert await _client(lambda _: response).meeting(MEETING, AUTH) is None
    assert await _client(lambda _: response).recordings(MEETING, AUTH) is None


async def test_a_refused_token_is_401() -> None:
    with pytest.raises(ProblemError) as caught:
        await _client(lambda _: _problem(401, "invalid-token")).meeting(MEETING, AUTH)
    assert (caught.value.status, caught.value.type) == (401, "invalid-token")


@pytest.mark.parametrize(
    "response",
    [_problem(404, "not-found"), httpx.Response(404, text="nope"), _problem(502, "x")],
)
async def test_no_route_or_a_server_error_is_503_with_retry_after(
    response: httpx.Response,
) -> None:
    with pytest.raises(ProblemError) as caught:
        await _client(lambda _: response).meeting(MEETING, AUTH)
    assert (caught.value.status, caught.value.type) == (503, "dependency-unavailable")
    assert caught.value.headers == {"Retry-After": "5"}
    if response.status_code == 404:
        assert "PARLEY_X_MEETINGS_URL" in caught.value.detail


async def test_no_answer_is_503() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ProblemError) as caught:
        await _client(handler).meeting(MEETING, AUTH)
    assert caught.value.status == 503


async def test_a_refused_recording_update_is_false_not_raised() -> None:
    client = _client(lambda _: _problem(409, "conflict"))
    assert await client.update_recording(MEETING, uuid.uuid4(), {"status": "ready"}, AUTH) is False
    broken = _client(lambda _: _problem(503, "x"))
    assert await broken.update_recording(MEETING, uuid.uuid4(), {}, AUTH) is False


async def test_one_client_per_app_and_url_closed_with_the_app() -> None:
    app = FastAPI()
    first = meetings_client(app, None, setting="A")
    assert meetings_client(app, None, setting="B") is first
    other = meetings_client(app, "http://meetings:8082/", setting="A")
    assert other is not first
    assert meetings_client(app, "http://meetings:8082", setting="A") is other
    await close_meetings_clients(app)
    assert first.http.is_closed and other.http.is_closed
    assert meetings_client(app, None, setting="A") is not first
