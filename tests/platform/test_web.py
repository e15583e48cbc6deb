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
