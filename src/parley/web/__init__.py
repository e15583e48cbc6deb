"""The browser client: plain HTML, CSS and JavaScript modules, served as they are.

There is no build step. ``parley up`` serves the folder ``static/`` at ``/static`` and the one
HTML shell for every page path (the client routes by ``location.pathname``); in the split
deployment nginx serves the same folder.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
SHELL = STATIC_DIR / "app.html"

PAGE_PATHS = (
    "/",
    "/signin",
    "/signup",
    "/profile",
    "/admin",
    "/recordings",
    "/m/{code}",
)
"""Paths that show a page of the client; anything else under / is the API's or a 404."""


def _shell() -> FileResponse:
    # The shell is tiny and names the modules; always revalidated so a new release is picked up.
    return FileResponse(SHELL, media_type="text/html", headers={"Cache-Control": "no-cache"})


def pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for path in PAGE_PATHS:
        router.add_api_route(path, _shell, methods=["GET"], response_class=FileResponse)
    return router


def add_web_client(app: FastAPI) -> None:
    """Serve the client from this app (the all-in-one process)."""
    app.include_router(pages_router())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
