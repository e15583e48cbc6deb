"""The shared kernel under attack (issue 13): request bodies that never end, restarts that must
not forget revocations, forwarded headers, credentials in logs, readiness, security headers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy.exc
from fastapi import FastAPI, Request

from parley.config import Settings
from parley.core.app import create_app
from parley.core.db import Database
from parley.core.observability import RedactSecrets, redact_secrets
from parley.core.serving import uvicorn_options
from tests.support.api import PASSWORD, Account, Api, client_for, running_app, unique
from tests.support.backends import Backend
from tests.support.problems import assert_problem
from tests.support.servers import serve_app

MiB = 1024 * 1024
FILE_PART = (
    b"--xyz\r\n"
    b'Content-Disposition: form-data; name="file"; filename="a.wav"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n"
)
"""The start of a multipart body whose file part then never ends."""


class EndlessBody:
    """A chunked request body that never ends by itself: it stops only when the server stops
    reading it, or after ``cap`` bytes so that a failing test cannot run for ever."""

    def __init__(
        self, chunk: bytes = b"x" * 65536, cap: int = 64 * MiB, prefix: bytes = b""
    ) -> None:
        self.chunk = chunk
        self.cap = cap
        self.prefix = prefix
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.prefix:
            self.sent += len(self.prefix)
            yield self.prefix
        while self.sent < self.cap:
            self.sent += len(self.chunk)
            yield self.chunk


# ---- item 4: bodies are limited whatever their headers say -----------------------------------


async def test_endless_chunked_text_body_to_login_is_415_without_reading_it(api: Api) -> None:
    body = EndlessBody()
    response = await api.http.post(
        "/api/v1/auth/login", content=body, headers={"Content-Type": "text/plain"}
    )
    assert_problem(response, 415)
    assert body.sent <= 64 * 1024, f"the server read {body.sent} bytes of a refused body"


async def test_endless_chunked_json_body_to_login_is_413_at_the_limit(api: Api) -> None:
    body = EndlessBody()
    response = await api.http.post(
        "/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413)
    assert body.sent <= 2 * MiB, f"the server read {body.sent} bytes of a refused body"


async def test_endless_chunked_body_without_a_content_type_is_refused_unread(api: Api) -> None:
    body = EndlessBody()
    response = await api.http.post("/api/v1/auth/register", content=body)
    assert_problem(response, 415)
    assert body.sent <= 64 * 1024


async def test_endless_body_to_a_route_that_reads_no_json_is_413(api: Api) -> None:
    """The limit is on the request, not on routes that declare a JSON body."""
    account = await api.account()
    body = EndlessBody()
    response = await api.http.post(
        "/api/v1/auth/logout",
        content=body,
        headers={**account.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 413)
    assert body.sent <= 2 * MiB


async def test_declared_body_over_the_limit_is_413_before_reading(api: Api) -> None:
    body = EndlessBody(cap=3 * MiB)
    response = await api.http.post(
        "/api/v1/auth/login",
        content=body,
        headers={"Content-Type": "application/json", "Content-Length": str(400 * MiB)},
    )
    assert_problem(response, 413)
    assert body.sent <= 64 * 1024


async def test_json_route_refuses_other_content_types_with_415(api: Api) -> None:
    response = await api.http.post(
        "/api/v1/auth/login",
        content=b'{"username": "a", "password": "b"}',
        headers={"Content-Type": "text/plain"},
    )
    assert_problem(response, 415)


async def test_json_route_refuses_form_bodies_with_415(api: Api) -> None:
    response = await api.http.post(
        "/api/v1/auth/register", data={"username": "form", "password": PASSWORD}
    )
    assert_problem(response, 415)


async def test_json_route_accepts_json_with_a_charset(api: Api) -> None:
    name = unique()
    await api.register(name)
    response = await api.http.post(
        "/api/v1/auth/login",
        content=f'{{"username": "{name}", "password": "{PASSWORD}"}}'.encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text


async def test_endless_multipart_avatar_is_413_at_the_avatar_limit(api: Api) -> None:
    account = await api.account()
    body = EndlessBody(cap=256 * MiB, prefix=FILE_PART)
    response = await api.http.put(
        "/api/v1/users/me/avatar",
        content=body,
        headers={**account.headers, "Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert_problem(response, 413)
    assert body.sent <= 8 * MiB, f"the server read {body.sent} bytes of a refused upload"


async def test_endless_multipart_asr_upload_is_413_at_the_upload_limit(
    backend: Backend,
) -> None:
    settings = backend.settings(ai_max_upload_bytes=2 * MiB)
    async with running_app(settings) as app, client_for(app) as client:
        api = Api(app, client)
        assert (await api.register("asrroot")).status_code == 201
        token = (await api.login("asrroot")).json()["access_token"]
        body = EndlessBody(cap=256 * MiB, prefix=FILE_PART)
        response = await client.post(
            "/api/v1/ai/asr/upload",
            content=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "multipart/form-data; boundary=xyz",
            },
        )
        assert_problem(response, 413)
        assert body.sent <= 4 * MiB


async def _raw_post_until_answered(base_url: str, path: str, cap: int) -> tuple[bytes, int]:
    """POST a chunked text body over a real socket until the server answers (or ``cap``
    bytes); the status line and how many bytes were sent."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    sent = 0
    chunk = b"10000\r\n" + b"y" * 0x10000 + b"\r\n"
    answer = asyncio.create_task(reader.readline())
    try:
        deadline = time.monotonic() + 30
        while sent < cap and not answer.done() and time.monotonic() < deadline:
            writer.write(chunk)
            sent += 0x10000
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(writer.drain(), 1.0)
            await asyncio.sleep(0)
        status = await asyncio.wait_for(answer, 10)
    except (ConnectionError, OSError):
        status = await asyncio.wait_for(answer, 10)
    finally:
        writer.close()
    return status, sent


async def test_endless_body_over_a_real_socket_gets_413_and_the_connection_closes(
    backend: Backend,
) -> None:
    from parley.services import SERVICES

    settings = backend.settings()
    app = SERVICES["users"].create_app(settings)
    async with serve_app(app, **uvicorn_options(settings)) as url:
        status, sent = await _raw_post_until_answered(url, "/api/v1/auth/login", 512 * MiB)
    assert status.startswith(b"HTTP/1.1 413"), status
    assert sent < 64 * MiB


# ---- item 8: a restart does not forget what was revoked ---------------------------------------


@contextlib.asynccontextmanager
async def restartable(backend: Backend) -> AsyncIterator[tuple[Settings, Api]]:
    """An app on a data dir of its own, with an admin ``root``; the test restarts it with
    :func:`restart` (a fresh app and a fresh embedded store on the same database)."""
    settings = backend.settings()
    async with running_app(settings) as app, client_for(app) as client:
        api = Api(app, client)
        response = await api.register("root")
        assert response.status_code == 201, response.text
        root = Account(response.json(), PASSWORD)
        root.tokens = (await api.login("root")).json()
        api.root = root
        yield settings, api


@contextlib.asynccontextmanager
async def restart(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings) as app, client_for(app) as client:
        yield client


async def test_a_logged_out_token_stays_revoked_after_a_restart(backend: Backend) -> None:
    async with restartable(backend) as (settings, api):
        account = await api.account()
        response = await api.http.post("/api/v1/auth/logout", headers=account.headers)
        assert response.status_code == 204
    async with restart(settings) as client:
        response = await client.get("/api/v1/users/me", headers=account.headers)
        assert_problem(response, 401, "invalid-token")


async def test_a_disabled_users_token_stays_refused_after_a_restart(backend: Backend) -> None:
    async with restartable(backend) as (settings, api):
        account = await api.account()
        response = await api.http.patch(
            f"/api/v1/admin/users/{account.id}",
            json={"is_active": False},
            headers=api.root.headers,
        )
        assert response.status_code == 200
    async with restart(settings) as client:
        # A route of another service: it has only the token to go by.
        response = await client.get("/api/v1/meetings", headers=account.headers)
        assert_problem(response, 401, "invalid-token")


async def test_a_demoted_admins_old_token_has_no_admin_power_after_a_restart(
    backend: Backend,
) -> None:
    async with restartable(backend) as (settings, api):
        admin = await api.admin()
        assert (
            await api.http.get("/api/v1/meetings/stats?scope=global", headers=admin.headers)
        ).status_code == 200
        response = await api.http.patch(
            f"/api/v1/admin/users/{admin.id}", json={"role": "user"}, headers=api.root.headers
        )
        assert response.status_code == 200
    async with restart(settings) as client:
        response = await client.get("/api/v1/meetings/stats?scope=global", headers=admin.headers)
        assert response.status_code in (401, 403), response.text


async def test_a_live_session_still_works_after_a_restart(backend: Backend) -> None:
    async with restartable(backend) as (settings, api):
        account = await api.account()
    async with restart(settings) as client:
        response = await client.get("/api/v1/users/me", headers=account.headers)
        assert response.status_code == 200
        assert response.json()["id"] == account.id


async def test_a_role_claim_that_differs_from_the_stored_role_is_not_trusted(
    backend: Backend,
) -> None:
    """A token claiming admin for a user stored as a plain user (e.g. signed before a demotion
    whose revocation was lost) gets no admin powers."""
    async with restartable(backend) as (_settings, api):
        account = await api.account()
        signer = api.app.state.signer
        claims = jwt_claims(signer, account.tokens["access_token"])
        forged, _ = signer.issue_access(account.id, "admin", claims["sid"], "Forged")
        response = await api.http.get(
            "/api/v1/meetings/stats?scope=global", headers={"Authorization": f"Bearer {forged}"}
        )
        assert response.status_code in (401, 403), response.text


def jwt_claims(signer: object, token: str) -> dict[str, str]:
    return signer.verify_access(token)  # type: ignore[attr-defined, no-any-return]


# ---- item 11: forwarded headers only from the gateway ------------------------------------------


def _address_app(settings: Settings) -> FastAPI:
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/whoami")
    async def whoami(request: Request) -> dict[str, str]:
        return {"ip": request.client.host if request.client else "", "scheme": request.url.scheme}

    return create_app("users", settings, [router])


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(backend: Backend) -> None:
    settings = backend.settings(forwarded_allow_ips="10.9.9.9")
    app = _address_app(settings)
    async with serve_app(app, **uvicorn_options(settings)) as url, httpx.AsyncClient() as http:
        response = await http.get(
            f"{url}/whoami",
            headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
        )
    assert response.json() == {"ip": "127.0.0.1", "scheme": "http"}
    assert "strict-transport-security" not in response.headers


async def test_forwarded_for_from_the_configured_gateway_is_the_client(backend: Backend) -> None:
    settings = backend.settings(forwarded_allow_ips="127.0.0.1")
    app = _address_app(settings)
    async with serve_app(app, **uvicorn_options(settings)) as url, httpx.AsyncClient() as http:
        response = await http.get(
            f"{url}/whoami",
            headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
        )
    assert response.json() == {"ip": "203.0.113.7", "scheme": "https"}
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_the_gateway_addresses_reach_uvicorn() -> None:
    options = uvicorn_options(Settings(forwarded_allow_ips="10.0.0.0/8"))
    assert options["forwarded_allow_ips"] == "10.0.0.0/8"
    assert options["proxy_headers"] is True


# ---- item 16: no credentials in logs ---------------------------------------------------------


def test_credentials_in_query_strings_are_redacted() -> None:
    line = '127.0.0.1:5 - "WebSocket /ws/signaling?token=eyJhbGc.eyJzdWI.sig&x=1" [accepted]'
    assert redact_secrets(line) == (
        '127.0.0.1:5 - "WebSocket /ws/signaling?token=[redacted]&x=1" [accepted]'
    )
    assert "abc" not in redact_secrets("/api/v1/media/1/content?access=abc")
    assert "t1" not in redact_secrets("/x?a=1&ticket=t1")


def test_uvicorns_websocket_log_line_loses_its_token() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5", "/api/v1/ai/asr/stream?token=secret-token-value"),
        None,
    )
    assert RedactSecrets().filter(record)
    assert "secret-token-value" not in record.getMessage()
    assert "token=[redacted]" in record.getMessage()


def test_the_log_handler_redacts_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    from parley.core.observability import configure_logging

    configure_logging("test", "info", json=True)
    # A warning: a uvicorn server started earlier in the session (log_level="warning") leaves
    # its logger's level at WARNING, and an info line would never reach the handler.
    logging.getLogger("uvicorn.error").warning(
        '%s - "WebSocket %s" [accepted]', "1.2.3.4:1", "/ws/signaling?token=leaky-token"
    )
    out = capsys.readouterr().out
    assert "leaky-token" not in out
    assert "token=[redacted]" in out


def test_structured_log_events_are_redacted_too(capsys: pytest.CaptureFixture[str]) -> None:
    import structlog

    from parley.core.observability import configure_logging

    configure_logging("test", "info", json=True)
    structlog.get_logger("parley.test").info(
        "job_failed", media_url="/api/v1/media/m1/content?access=signed-link-value"
    )
    out = capsys.readouterr().out
    assert "signed-link-value" not in out
    assert "access=[redacted]" in out


# ---- item 13: failed SQL never shows its parameters -------------------------------------------


async def test_database_errors_do_not_carry_the_statements_parameters(
    backend: Backend,
) -> None:
    from sqlalchemy import text

    settings = backend.settings()
    async with running_app(settings):
        database = Database(settings.sqlalchemy_url)
        try:
            async with database.engine.connect() as connection:
                with pytest.raises(sqlalchemy.exc.DBAPIError) as caught:
                    await connection.execute(
                        text("INSERT INTO users (id, password_hash) VALUES (:id, :hash)"),
                        {"id": uuid.uuid4().hex, "hash": "$argon2id$v=19$secret-hash"},
                    )
        finally:
            await database.dispose()
    assert "secret-hash" not in str(caught.value)


# ---- readiness and headers --------------------------------------------------------------------


async def test_ready_is_503_on_a_corrupt_sqlite_file(tmp_path: Path) -> None:
    from tests.support.api import JWT_SECRET

    settings = Settings(env="test", data_dir=tmp_path, jwt_secret=JWT_SECRET, log_level="warning")
    async with running_app(settings):
        pass
    database_file = tmp_path / "parley.db"
    for leftover in (tmp_path / "parley.db-wal", tmp_path / "parley.db-shm"):
        leftover.unlink(missing_ok=True)
    data = bytearray(database_file.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size:] = b"\xa5" * (len(data) - page_size)  # every page after the schema
    database_file.write_bytes(bytes(data))
    broken = settings.model_copy(update={"auto_migrate": False})
    async with running_app(broken) as app, client_for(app) as client:
        response = await client.get("/health/ready")
        assert_problem(response, 503, "not-ready")
        assert response.json()["checks"]["database"] is False


async def test_pages_of_the_web_client_have_a_content_security_policy(api: Api) -> None:
    response = await api.http.get("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_the_web_client_has_no_inline_script_or_style() -> None:
    import re

    from parley.web import STATIC_DIR

    for page in STATIC_DIR.glob("*.html"):
        html = page.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), page
        assert "<style" not in html, page
        assert not re.search(r"\son[a-z]+\s*=", html), page
        assert " style=" not in html, page


async def test_hsts_only_over_tls(backend: Backend) -> None:
    settings = backend.settings()
    async with running_app(settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as tls:
            assert "strict-transport-security" in (await tls.get("/health")).headers
        async with client_for(app) as plain:
            assert "strict-transport-security" not in (await plain.get("/health")).headers
