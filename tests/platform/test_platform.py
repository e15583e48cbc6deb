"""What every service app has: health, readiness, metrics, request ids, headers, CORS, errors."""

from __future__ import annotations

import json

from tests.support.api import Api, client_for, running_app, unique
from tests.support.backends import Backend
from tests.support.problems import assert_problem


async def test_health_answers_ok(api: Api) -> None:
    response = await api.http.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_ready_checks_database_and_redis(api: Api) -> None:
    response = await api.http.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "redis": True}


async def test_ready_is_503_and_names_redis_when_redis_is_down(backend: Backend) -> None:
    from tests.support.servers import free_port

    settings = backend.settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with running_app(settings) as app, client_for(app) as client:
        response = await client.get("/health/ready")
        assert_problem(response, 503, "not-ready")
        assert response.json()["checks"] == {"database": True, "redis": False}
        assert "redis" in response.json()["detail"]
        assert (await client.get("/health")).status_code == 200


async def test_metrics_count_requests_by_route_template(api: Api) -> None:
    account = await api.account()
    await api.http.get(f"/api/v1/users/{account.id}/avatar")
    response = await api.http.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert 'route="/api/v1/users/{user_id}/avatar"' in text
    assert account.id not in text
    assert "parley_http_request_duration_seconds_bucket" in text
    assert "parley_http_requests_in_flight" in text


async def test_request_id_is_echoed(api: Api) -> None:
    response = await api.http.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


async def test_request_id_is_made_when_missing_or_unsafe(api: Api) -> None:
    plain = await api.http.get("/health")
    assert len(plain.headers["x-request-id"]) == 32
    unsafe = await api.http.get("/health", headers={"X-Request-ID": "bad id\twith <stuff>"})
    assert unsafe.headers["x-request-id"] != "bad id\twith <stuff>"


async def test_security_headers_are_set(api: Api) -> None:
    response = await api.http.get("/health")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_cors_allows_configured_origins_only(backend: Backend) -> None:
    settings = backend.settings(allowed_origins="https://meet.example.com")
    async with running_app(settings) as app, client_for(app) as client:
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        }
        allowed = await client.options(
            "/api/v1/auth/login", headers={"Origin": "https://meet.example.com", **preflight}
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://meet.example.com"
        denied = await client.options(
            "/api/v1/auth/login", headers={"Origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in denied.headers


async def test_unknown_route_is_a_404_problem(api: Api) -> None:
    assert_problem(await api.http.get("/api/v1/nothing-here"), 404)


async def test_wrong_method_is_a_405_problem(api: Api) -> None:
    assert_problem(await api.http.delete("/api/v1/auth/login"), 405)


async def test_malformed_json_is_400(api: Api) -> None:
    response = await api.http.post(
        "/api/v1/auth/register",
        content=b'{"username": "x",',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400, "malformed-json")


async def test_wrong_types_are_422_with_field_errors(api: Api) -> None:
    response = await api.http.post(
        "/api/v1/auth/register",
        json={"username": 42, "email": ["x"], "password": None, "display_name": {}},
    )
    body = assert_problem(response, 422, "validation")
    fields = {tuple(error["loc"])[-1] for error in body["errors"]}
    assert {"username", "email", "password", "display_name"} <= fields


async def test_missing_fields_are_422(api: Api) -> None:
    body = assert_problem(await api.http.post("/api/v1/auth/register", json={}), 422)
    assert len(body["errors"]) == 4


async def test_json_array_instead_of_object_is_422(api: Api) -> None:
    assert_problem(await api.http.post("/api/v1/auth/login", json=[1, 2]), 422)


async def test_json_body_over_1_mib_is_413(api: Api) -> None:
    name = unique()
    payload = json.dumps(
        {
            "username": name,
            "email": f"{name}@example.com",
            "password": "p" * 2_000_000,
            "display_name": "Big",
        }
    )
    response = await api.http.post(
        "/api/v1/auth/register", content=payload, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413)
    assert (await api.login(name)).status_code == 401


async def test_chunked_json_body_over_1_mib_is_413(api: Api) -> None:
    async def chunks():
        yield b'{"username": "chunky", "password": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = await api.http.post(
        "/api/v1/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413)


async def test_bad_input_never_changes_stored_data(api: Api) -> None:
    account = await api.account()
    before = (await api.http.get("/api/v1/users/me", headers=account.headers)).json()
    bad_bodies = [
        b"not json",
        b'{"display_name": ""}',
        b'{"display_name": "' + b"x" * 500 + b'"}',
        b'{"email": "nope"}',
        b'{"display_name": "ok", "is_admin": true}',
        b"null",
    ]
    for body in bad_bodies:
        response = await api.http.patch(
            "/api/v1/users/me",
            content=body,
            headers={**account.headers, "Content-Type": "application/json"},
        )
        assert 400 <= response.status_code < 500, (body, response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json")
    after = (await api.http.get("/api/v1/users/me", headers=account.headers)).json()
    assert after == before


async def test_redis_outage_is_a_503_problem_not_a_500(backend: Backend) -> None:
    from tests.support.servers import free_port

    settings = backend.settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with running_app(settings) as app, client_for(app) as client:
        api = Api(app, client)
        response = await api.register()
        assert response.status_code == 201
        login = await api.login(response.json()["username"])
        body = assert_problem(login, 503, "dependency-unavailable")
        assert "unavailable" in body["detail"]
        assert login.headers["retry-after"] == "5"
