"""Every API route of every service reaches that service through the gateway: nginx's location
matching applied to the rendered config, and the Kubernetes Ingress's prefixes, checked against
the routes the services really declare (so a new route prefix cannot be forgotten). The routes
under ``/internal/`` (calls between services) are the exception: neither routes them."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from parley.nginx import UPSTREAMS, GatewayConfig, default_worker_user, render_gateway
from parley.services import SERVICES
from tests.support.deploy import DEPLOY, locations, needs_nginx, nginx_choice, nginx_path
from tests.support.servers import free_port, wait_for_port


def service_routes() -> list[tuple[str, str]]:
    """(service, a concrete path) for every route of every service."""
    found = []
    for name, spec in SERVICES.items():
        for router in spec.routers():
            for route in router.routes:
                path = re.sub(r"\{[^}]+\}", "x1", route.path)  # type: ignore[attr-defined]
                found.append((name, path))
    return sorted(set(found))


INTERNAL = "/internal/"
ROUTES = [(s, p) for s, p in service_routes() if not p.startswith(INTERNAL)]
INTERNAL_ROUTES = [(s, p) for s, p in service_routes() if p.startswith(INTERNAL)]


@pytest.fixture(scope="module")
def rendered_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gateway")
    upstreams = {name: [f"127.0.0.1:{spec.port}"] for name, spec in SERVICES.items()}
    render_gateway(GatewayConfig(upstreams=upstreams, run_dir=out / "run"), out)
    return out


@pytest.fixture(scope="module")
def rendered(rendered_dir: Path) -> list[tuple[str, str, str | None]]:
    return locations(rendered_dir / "parley-locations.conf")


@pytest.mark.parametrize(("service", "path"), ROUTES, ids=[f"{s}:{p}" for s, p in ROUTES])
def test_nginx_sends_each_route_to_its_service(
    rendered: list[tuple[str, str, str | None]], service: str, path: str
) -> None:
    assert nginx_choice(rendered, path) == UPSTREAMS[service]


def test_there_are_internal_routes_to_keep_private() -> None:
    assert ("media", "/internal/rtc/status") in INTERNAL_ROUTES


@pytest.mark.parametrize(
    ("service", "path"), INTERNAL_ROUTES, ids=[f"{s}:{p}" for s, p in INTERNAL_ROUTES]
)
def test_nginx_sends_no_internal_route_to_any_service(
    rendered: list[tuple[str, str, str | None]], service: str, path: str
) -> None:
    assert nginx_choice(rendered, path) is None


def test_the_gateway_answers_internal_paths_itself_with_a_404(
    rendered: list[tuple[str, str, str | None]], rendered_dir: Path
) -> None:
    # ^~: a regex location (page paths, sign-in) cannot take /internal/... either.
    assert ("^~", INTERNAL, None) in rendered
    text = (rendered_dir / "parley-locations.conf").read_text()
    block = text[text.index(f"location ^~ {INTERNAL} ") :].split("}", 1)[0]
    assert "return 404" in block
    assert "proxy_pass" not in block


def test_the_route_matcher_tells_services_apart(
    rendered: list[tuple[str, str, str | None]],
) -> None:
    assert nginx_choice(rendered, "/api/v1/auth/login") == "user_service"
    assert nginx_choice(rendered, "/api/v1/meetings/x1/join") == "meeting_service"
    assert nginx_choice(rendered, "/static/js/main.js") is None  # served as a file


@pytest.mark.parametrize(("service", "path"), ROUTES, ids=[f"{s}:{p}" for s, p in ROUTES])
def test_the_ingress_sends_each_route_to_its_service(service: str, path: str) -> None:
    ingress = yaml.safe_load((DEPLOY / "k8s" / "ingress.yaml").read_text())
    prefixes = [
        (p["path"], p["backend"]["service"]["name"])
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    ]
    # Kubernetes Prefix matching is by whole path segments; the longest match wins.
    matching = [
        (prefix, target)
        for prefix, target in prefixes
        if prefix == "/" or path == prefix or path.startswith(prefix.rstrip("/") + "/")
    ]
    assert max(matching, key=lambda item: len(item[0]))[1] == service


@pytest.mark.parametrize(
    ("service", "path"), INTERNAL_ROUTES, ids=[f"{s}:{p}" for s, p in INTERNAL_ROUTES]
)
def test_the_ingress_sends_internal_routes_to_the_gateway_s_404(service: str, path: str) -> None:
    ingress = yaml.safe_load((DEPLOY / "k8s" / "ingress.yaml").read_text())
    prefixes = {
        p["path"]: p["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    # Only the catch-all matches: the `web` pods (the gateway image) answer /internal/ with 404.
    assert [p for p in prefixes if p == "/" or path.startswith(p.rstrip("/") + "/")] == ["/"]
    assert prefixes["/"] == "web"


@contextlib.contextmanager
def gateway_to_nothing() -> Iterator[int]:
    """The rendered gateway (nginx) in front of services that are all down; yields its port."""
    run_dir = Path(tempfile.mkdtemp(prefix="parley-gateway-test-"))
    run_dir.chmod(0o755)  # nginx's workers (www-data) use it
    port = free_port()
    config = GatewayConfig(
        upstreams={name: [f"127.0.0.1:{free_port()}"] for name in SERVICES},  # nothing listens
        run_dir=run_dir / "run",
        http_port=port,
        listen_address="127.0.0.1",
        worker_user=default_worker_user(),
        worker_processes="1",
        access_log="/dev/null",
    )
    conf = render_gateway(config, run_dir / "conf")
    nginx = subprocess.Popen(
        [nginx_path() or "nginx", "-p", str(conf.parent), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 20)
        yield port
    finally:
        nginx.terminate()
        nginx.wait(20)
        shutil.rmtree(run_dir, ignore_errors=True)


@needs_nginx
def test_a_service_that_is_down_is_answered_as_a_503_problem() -> None:
    with gateway_to_nothing() as port:
        response = httpx.get(f"http://127.0.0.1:{port}/api/v1/meetings", timeout=10)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["type"] == "urn:parley:problem:unavailable"


@needs_nginx
def test_the_gateway_shows_browsers_the_page_not_found_page_and_api_clients_a_problem() -> None:
    with gateway_to_nothing() as port:
        url = f"http://127.0.0.1:{port}/no-such-page"
        page = httpx.get(url, headers={"Accept": "text/html,*/*;q=0.8"}, timeout=10)
        problem = httpx.get(url, headers={"Accept": "application/json"}, timeout=10)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Page not found · Parley</title>" in page.text
    assert problem.status_code == 404
    assert problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["type"] == "urn:parley:problem:not-found"
