"""The gateway under attack (issue 13): what it forwards about the client, what it logs, what it
keeps private, and the headers on what it serves itself. Real nginx in front of a tiny echo
server that answers every request with the headers it received."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from parley.nginx import GatewayConfig, default_worker_user, render_gateway
from parley.services import SERVICES
from tests.support.deploy import locations, needs_nginx, nginx_choice, nginx_path
from tests.support.servers import free_port, wait_for_port


class _Echo(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = json.dumps({"path": self.path, "headers": dict(self.headers.items())}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


@dataclass
class Gateway:
    url: str
    access_log: Path


@contextlib.contextmanager
def gateway() -> Iterator[Gateway]:
    echo = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    upstream = f"127.0.0.1:{echo.server_address[1]}"
    run_dir = Path(tempfile.mkdtemp(prefix="parley-gateway-hardening-"))
    run_dir.chmod(0o755)
    access_log = run_dir / "access.log"
    port = free_port()
    config = GatewayConfig(
        upstreams={name: [upstream] for name in SERVICES},
        run_dir=run_dir / "run",
        http_port=port,
        listen_address="127.0.0.1",
        worker_user=default_worker_user(),
        worker_processes="1",
        access_log=str(access_log),
    )
    conf = render_gateway(config, run_dir / "conf")
    nginx = subprocess.Popen(
        [nginx_path() or "nginx", "-p", str(conf.parent), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 20)
        yield Gateway(f"http://127.0.0.1:{port}", access_log)
    finally:
        nginx.terminate()
        nginx.wait(20)
        echo.shutdown()
        shutil.rmtree(run_dir, ignore_errors=True)


def _log_text(path: Path) -> str:
    for _ in range(50):  # nginx writes the line after the response
        if path.exists() and path.stat().st_size:
            break
        time.sleep(0.05)
    return path.read_text() if path.exists() else ""


@needs_nginx
def test_the_gateway_replaces_a_client_supplied_forwarded_for() -> None:
    with gateway() as gw:
        response = httpx.get(
            f"{gw.url}/api/v1/meetings", headers={"X-Forwarded-For": "6.6.6.6"}, timeout=10
        )
    seen = response.json()["headers"]
    assert seen["X-Forwarded-For"] == "127.0.0.1"
    assert seen["X-Forwarded-Proto"] == "http"


@needs_nginx
def test_the_access_log_redacts_tokens_tickets_and_links() -> None:
    with gateway() as gw:
        httpx.get(f"{gw.url}/api/v1/ai/asr?x=1&token=secret-one&y=2", timeout=10)
        httpx.get(f"{gw.url}/api/v1/media/m1/content?access=secret-two", timeout=10)
        httpx.get(f"{gw.url}/api/v1/signaling/x?ticket=secret-three&token=secret-four", timeout=10)
        time.sleep(0.2)
        log = _log_text(gw.access_log)
    assert log.count("\n") >= 3
    for secret in ("secret-one", "secret-two", "secret-three", "secret-four"):
        assert secret not in log
    assert "token=[redacted]" in log and "x=1" in log


@needs_nginx
def test_pages_served_by_the_gateway_have_a_content_security_policy() -> None:
    with gateway() as gw:
        response = httpx.get(f"{gw.url}/signin", timeout=10)
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers


@pytest.mark.parametrize("path", ["/metrics", "/docs", "/redoc", "/openapi.json"])
def test_metrics_and_api_docs_are_not_served_by_the_public_gateway(
    tmp_path: Path, path: str
) -> None:
    upstreams = {name: [f"127.0.0.1:{spec.port}"] for name, spec in SERVICES.items()}
    render_gateway(GatewayConfig(upstreams=upstreams, run_dir=tmp_path / "run"), tmp_path)
    assert nginx_choice(locations(tmp_path / "parley-locations.conf"), path) is None
