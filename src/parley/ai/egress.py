"""What the AI service fetches and whom it calls: only media Parley issued, only allowed hosts.

A batch job runs on the server, so whatever URL a job names is fetched *by the server*, from
inside the deployment's network. Taking any ``media_url`` or ``callback_url`` made the service a
port scanner with an oracle in the job errors (server-side request forgery). The rules:

- **Media** is either a media id (media-service mints a content link for it with the
  submitter's own token, so it decides who may read the file) or a content link Parley signed
  (``/api/v1/media/{id}/content?access=<token>``, the form ``POST /api/v1/media/{id}/link``
  returns and the recording pipeline submits). The link is checked at submission: its shape,
  its signature and audience, that it names the file in its path, and, when written as an
  absolute URL, that it points at the configured internal media base. Everything else is a 422
  with one message, so a refusal says nothing about any other host.
- **Fetching** goes to media-service only (in-process in the all-in-one app, else
  ``PARLEY_AI_MEDIA_URL``), asks for at most the limit (a ``Range``), counts bytes as they
  stream and stops at the limit, and follows a redirect only to media-service itself or to the
  configured S3 endpoint (presigned downloads), never to another host.
- **Callbacks** go only to hosts the operator listed in ``PARLEY_AI_CALLBACK_HOSTS`` (empty by
  default: callbacks are refused), without following redirects.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt

from parley.ai import errors
from parley.ai.errors import MEDIA_URL_REFUSED as MEDIA_URL_REFUSED
from parley.core.auth import TokenSigner
from parley.core.contracts import MEDIA_LINK_AUDIENCE
from parley.core.errors import ProblemError as ProblemError  # tests catch it from here

MEDIA_FETCH_LIMIT = 512 * 1024 * 1024
FETCH_TIMEOUT_S = 120.0
CALLBACK_TIMEOUT_S = 5.0
MAX_REDIRECTS = 3
_CONTENT_PATH = re.compile(
    r"^/api/v1/media/(?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12})/content$"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


# --- callbacks ------------------------------------------------------------------------------


def _host_port(url: httpx.URL) -> tuple[str, int]:
    default = 443 if url.scheme == "https" else 80
    return url.host.lower(), url.port or default


def callback_allowed(url: str, allowed: frozenset[str]) -> bool:
    """An ``http(s)`` URL whose host (and port) the operator listed."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return False
    if parsed.scheme not in ("http", "https") or not parsed.host or parsed.userinfo:
        return False
    host, port = _host_port(parsed)
    default = 443 if parsed.scheme == "https" else 80
    return f"{host}:{port}" in allowed or (port == default and host in allowed)


def check_callback(url: str, allowed: frozenset[str]) -> str:
    """The callback URL, or the 422 that refuses it (the same for every refused URL)."""
    if not callback_allowed(url, allowed):
        raise errors.callback_refused()
    return url


async def post_callback(
    url: str,
    payload: dict[str, Any],
    allowed: frozenset[str],
    transport: httpx.AsyncBaseTransport | None = None,
) -> int | None:
    """POST the job's outcome; ``None`` when the URL is not (or no longer) allowed. Redirects
    are never followed: the answer is the allowed host's own."""
    if not callback_allowed(url, allowed):
        return None
    async with httpx.AsyncClient(
        timeout=CALLBACK_TIMEOUT_S, follow_redirects=False, transport=transport
    ) as client:
        response = await client.post(url, json=payload)
    return response.status_code


# --- media links ----------------------------------------------------------------------------


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    host, port = _host_port(url)
    return url.scheme, host, port


def media_link(url: str, media_base: str | None, signer: TokenSigner) -> str:
    """The content link as a path (``/api/v1/media/{id}/content?access=...``) when ``url`` is
    one Parley signed for that file, else the 422. An absolute URL must point at the configured
    internal media base (``PARLEY_AI_MEDIA_URL``); the path form is resolved against it."""
    refused = errors.media_url_refused()
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise refused from None
    path = parsed.path
    if parsed.is_absolute_url:
        if not media_base:
            raise refused
        base = httpx.URL(media_base)
        if parsed.userinfo or _origin(parsed) != _origin(base):
            raise refused
        prefix = base.path.rstrip("/")
        if prefix:
            if not path.startswith(prefix + "/"):
                raise refused
            path = path[len(prefix) :]
    elif parsed.host or parsed.scheme:
        raise refused
    match = _CONTENT_PATH.match(path)
    params = parsed.params
    if match is None or parsed.fragment or list(params.keys()) != ["access"]:
        raise refused
    access = params["access"]
    try:
        claims = signer.verify(access, MEDIA_LINK_AUDIENCE)
    except jwt.InvalidTokenError:
        raise refused from None
    media_id = match.group("id").lower()
    if str(claims.get("media", "")).lower() != media_id:
        raise refused
    return str(httpx.URL(path=f"/api/v1/media/{media_id}/content", params={"access": access}))


# --- fetching -------------------------------------------------------------------------------


def _declared_total(response: httpx.Response) -> int | None:
    """The whole file's size from ``Content-Range`` (206) or ``Content-Length`` (200)."""
    content_range = response.headers.get("content-range", "")
    if "/" in content_range:
        total = content_range.rsplit("/", 1)[1].strip()
        return int(total) if total.isdigit() and len(total) < 20 else None
    length = response.headers.get("content-length", "")
    return int(length) if length.isdigit() and len(length) < 20 else None


async def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """The body, counted as it streams: stops reading (and refuses) past ``limit`` bytes."""
    declared = _declared_total(response)
    if declared is not None and declared > limit:
        raise errors.media_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise errors.media_too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def fetch_link(
    client: httpx.AsyncClient,
    link: str,
    limit: int = MEDIA_FETCH_LIMIT,
    also_allowed: tuple[str, ...] = (),
) -> bytes:
    """GET a content link through ``client`` (whose base URL is media-service), following
    redirects only to media-service itself or to an origin in ``also_allowed``."""
    url = httpx.URL(str(client.base_url).rstrip("/") + link)
    home = _origin(client.base_url)
    allowed = {home} | {_origin(httpx.URL(o)) for o in also_allowed}
    headers = {"Range": f"bytes=0-{limit}"}  # at most one byte past the limit
    async with httpx.AsyncClient(timeout=client.timeout) as outside:
        for _ in range(MAX_REDIRECTS + 1):
            via = client if _origin(url) == home else outside
            response = await _send(via, url, headers)
            try:
                if response.status_code in _REDIRECTS:
                    url = _redirect_target(url, response, allowed)
                    continue
                if response.status_code not in (200, 206):
                    raise errors.media_fetch_failed(response.status_code)
                return await read_bounded(response, limit)
            finally:
                await response.aclose()
    raise errors.media_redirected_too_often()


async def _send(client: httpx.AsyncClient, url: httpx.URL, headers: dict[str, str]) -> Any:
    try:
        request = client.build_request("GET", url, headers=headers)
        return await client.send(request, stream=True, follow_redirects=False)
    except httpx.HTTPError:
        raise errors.media_unreachable() from None


def _redirect_target(
    url: httpx.URL, response: httpx.Response, allowed: set[tuple[str, str, int]]
) -> httpx.URL:
    location = response.headers.get("location", "")
    try:
        target = url.join(location)
    except (httpx.InvalidURL, ValueError):
        raise errors.media_fetch_failed(response.status_code) from None
    if not location or _origin(target) not in allowed:
        raise errors.media_redirect_refused()
    return target


def media_client(app: Any) -> httpx.AsyncClient:
    """A client for media-service: ``PARLEY_AI_MEDIA_URL`` when split, else in-process."""
    base = app.state.settings.ai_media_url
    if base:
        return httpx.AsyncClient(base_url=base.rstrip("/"), timeout=FETCH_TIMEOUT_S)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://media.internal",
        timeout=FETCH_TIMEOUT_S,
    )


def media_fetcher(app: Any) -> Callable[[str], Awaitable[bytes]]:
    """Fetch a job's media link. The link is checked again here, not only at submission: a job
    stored before this check existed must not reach anything but media-service either."""
    settings = app.state.settings

    async def fetch(url: str) -> bytes:
        link = media_link(url, settings.ai_media_url, app.state.signer)
        extra = (settings.s3_endpoint_url,) if getattr(settings, "s3_endpoint_url", None) else ()
        async with media_client(app) as client:
            return await fetch_link(client, link, MEDIA_FETCH_LIMIT, extra)

    return fetch


async def link_for_media(app: Any, media_id: uuid.UUID, authorization: str) -> str:
    """A content link for a media id, minted by media-service for the submitter (their own
    token): media-service decides whether they may read the file. 422 when they may not."""
    try:
        async with media_client(app) as client:
            response = await client.post(
                f"/api/v1/media/{media_id}/link", headers={"Authorization": authorization}
            )
    except httpx.HTTPError:
        raise errors.media_link_unavailable() from None
    if response.status_code == 200:
        try:
            url = str(response.json()["url"])
        except (ValueError, KeyError, TypeError):
            url = ""
        if url:
            return url
    if response.status_code in (403, 404):
        raise errors.media_not_found(media_id)
    if response.status_code == 401:
        raise errors.token_refused()
    raise errors.media_service_failed(response.status_code)
