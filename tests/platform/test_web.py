"""The web client is served by the all-in-one app, as plain files, with nothing external."""

from __future__ import annotations

import re

import pytest

from parley.web import STATIC_DIR
from tests.support.api import Api


@pytest.mark.parametrize("path", ["/", "/signin", "/m/abc-defg-hij", "/profile", "/admin"])
async def test_every_page_path_serves_the_shell(api: Api, path: str) -> None:
    response = await api.http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/main.js">' in response.text


async def test_modules_are_served_as_javascript(api: Api) -> None:
    response = await api.http.get("/static/js/protocol.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert response.headers.get("etag")


async def test_unknown_static_files_are_404(api: Api) -> None:
    assert (await api.http.get("/static/js/nope.js")).status_code == 404
    assert (await api.http.get("/static/../config.py")).status_code == 404


def test_the_client_loads_nothing_from_other_hosts() -> None:
    external = re.compile(
        r"""(?:src|href)\s*=\s*["']https?://|url\(\s*["']?https?://|from\s+["']https?://"""
    )
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in {".html", ".js", ".css"}:
            assert not external.search(path.read_text()), path


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_a_browser_at_an_unknown_address_gets_the_page_not_found_page(api: Api) -> None:
    response = await api.http.get("/no-such-page", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="en">' in page
    assert "<title>Page not found · Parley</title>" in page
    assert re.search(r"<main\b", page) and '<a class="button primary" href="/">' in page


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/no-such-page", "application/json"),
        ("/no-such-page", "*/*"),
        ("/api/v1/no-such-thing", BROWSER_ACCEPT),
        ("/static/js/nope.js", BROWSER_ACCEPT),
    ],
)
async def test_api_clients_still_get_a_problem_for_an_unknown_address(
    api: Api, path: str, accept: str
) -> None:
    response = await api.http.get(path, headers={"Accept": accept})
    assert response.status_code == 404
    if not path.startswith("/static/"):
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("not-found")
