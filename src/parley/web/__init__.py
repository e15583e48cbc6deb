"""The browser client: plain HTML, CSS and JavaScript modules, served as they are.

There is no build step. ``parley up`` serves the folder ``static/`` at ``/static`` and the one
HTML shell for every page path (the client routes by ``location.pathname``); in the split
deployment nginx serves the same folder. A browser that asks for an unknown address gets the
client's own "Page not found" page (``static/not-found.html``, status 404); API clients (an
``Accept`` without ``text/html``, or any path under ``/api/``) get problem+json as before.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

STATIC_DIR = Path(__file__).parent / "static"
SHELL = STATIC_DIR / "app.html"
NOT_FOUND_PAGE = STATIC_DIR / "not-found.html"
API_PREFIXES = ("/api/", "/ws/", "/static/")
"""Paths whose 404 is always problem+json (or the static files' own), whatever ``Accept`` says."""

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


def wants_page(request: Request) -> bool:
    """A browser navigating (``Accept`` names ``text/html``) to a path that is not the API's."""
    if request.method not in ("GET", "HEAD"):
        return False
    if request.url.path.startswith(API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "").lower()


def add_web_client(app: FastAPI) -> None:
    """Serve the client from this app (the all-in-one process): its pages, its files, and its
    "Page not found" page for browsers (the app's own problem+json 404 for everyone else)."""
    app.include_router(pages_router())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    problem_handler = app.exception_handlers[StarletteHTTPException]

    async def on_http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404 and wants_page(request):
            return FileResponse(
                NOT_FOUND_PAGE,
                status_code=404,
                media_type="text/html",
                headers={"Cache-Control": "no-cache"},
            )
        response = problem_handler(request, exc)
        return await response if inspect.isawaitable(response) else response

    app.add_exception_handler(StarletteHTTPException, on_http_exception)
