"""The internal rtc API answers signaling-service's service token only, and says plainly when
there is no SFU."""

from __future__ import annotations

from pathlib import Path

from parley.config import Settings
from parley.core.contracts import RTC_AUDIENCE
from tests.support.api import JWT_SECRET, client_for, running_app
from tests.support.problems import assert_problem

STATUS = "/internal/rtc/status"


def _settings(tmp_path: Path) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "data", jwt_secret=JWT_SECRET)


async def test_the_rtc_api_refuses_requests_without_a_service_token(tmp_path: Path) -> None:
    async with running_app(_settings(tmp_path)) as app, client_for(app) as client:
        assert_problem(await client.get(STATUS), 401, "invalid-token")


async def test_the_rtc_api_refuses_a_users_access_token(tmp_path: Path) -> None:
    async with running_app(_settings(tmp_path)) as app, client_for(app) as client:
        token = app.state.signer.issue({"sub": "someone", "role": "user"}, "parley", 60)
        answer = await client.get(STATUS, headers={"Authorization": f"Bearer {token}"})

        assert_problem(answer, 401, "invalid-token")


async def test_without_a_janus_the_rtc_api_says_there_is_no_sfu(tmp_path: Path) -> None:
    async with running_app(_settings(tmp_path)) as app, client_for(app) as client:
        token = app.state.signer.issue({"sub": "signaling"}, RTC_AUDIENCE, 60)
        answer = await client.get(STATUS, headers={"Authorization": f"Bearer {token}"})

        assert_problem(answer, 503, "sfu-unavailable")


async def test_the_rtc_api_is_not_in_the_public_openapi(tmp_path: Path) -> None:
    async with running_app(_settings(tmp_path)) as app, client_for(app) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]

        assert not [path for path in paths if path.startswith("/internal")]


async def test_readiness_says_the_sfu_is_off_without_making_the_node_unready(
    tmp_path: Path,
) -> None:
    async with running_app(_settings(tmp_path)) as app, client_for(app) as client:
        ready = await client.get("/health/ready")

        assert ready.status_code == 200
        assert ready.json()["sfu"] == {"configured": False, "why": "no Janus configured"}
