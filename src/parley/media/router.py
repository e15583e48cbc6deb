"""media-service HTTP API: /api/v1/media (tus uploads, multipart uploads, downloads, ICE).

Routes only: each reads the request and answers; what happens in between lives in the modules
of its concern (:mod:`~parley.media.uploads` for tus, :mod:`~parley.media.multipart`,
:mod:`~parley.media.access`, :mod:`~parley.media.files`, :mod:`~parley.media.downloads`).
The tus and multipart routes read headers and raw bodies FastAPI cannot see;
:mod:`~parley.media.openapi` describes those to the OpenAPI document.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.requests import ClientDisconnect

from parley.core import ice
from parley.core.auth import Principal
from parley.core.deps import SettingsDep, SignerDep
from parley.core.storage import ObjectNotFound
from parley.media import access, downloads, errors, files, links, multipart, tus, uploads
from parley.media import openapi as media_openapi
from parley.media.access import viewer
from parley.media.dependencies import (
    AuthDep,
    MediaDep,
    MediaPrincipalDep,
    OptionalMediaPrincipalDep,
)
from parley.media.formparsers import StreamingForm, form_boundary
from parley.media.models import MediaFile, MediaUpload
from parley.media.runtime import MediaService
from parley.media.schemas import IceServer, MediaKind, MediaOut, MediaPage

router = APIRouter(prefix="/api/v1/media", tags=["media"])

UPLOADS = "/uploads"
PRESIGN_TTL_S = 300
# Paging further than this is no listing anyone reads; the bound keeps the value inside what
# every database's OFFSET takes (2**70 used to reach the driver and fail there as a 500).
MAX_LIST_OFFSET = 2**31 - 1


@router.get("/ice-servers")
async def ice_servers(principal: MediaPrincipalDep, settings: SettingsDep) -> list[IceServer]:
    """STUN/TURN servers for ``RTCPeerConnection``; TURN credentials expire (REST API style)."""
    return [IceServer(**server) for server in ice.ice_servers(settings, principal.user_id)]


@router.get("/ice-servers/check")
async def ice_servers_to_check(settings: SettingsDep) -> list[IceServer]:
    """The same STUN/TURN addresses for anyone, without usable TURN credentials: what the join
    page's connection check tries before joining (a TURN server answers, and refuses to relay)."""
    return [IceServer(**server) for server in ice.check_servers(settings)]


# ---- tus ------------------------------------------------------------------------------------


def _tus_headers(upload: MediaUpload, **extra: str) -> dict[str, str]:
    return tus.headers(
        **{
            "Upload-Offset": str(upload.offset),
            "Upload-Expires": tus.http_date(upload.expires_at),
            **extra,
        }
    )


@router.options(UPLOADS, include_in_schema=False)
@router.options(UPLOADS + "/", include_in_schema=False)
@router.options(UPLOADS + "/{upload_id:uuid}", include_in_schema=False)
async def tus_options(settings: SettingsDep) -> Response:
    """What this tus server supports (no authentication needed, as the protocol expects)."""
    return Response(
        status_code=204,
        headers=tus.headers(
            **{
                "Tus-Version": tus.VERSION,
                "Tus-Extension": tus.EXTENSIONS,
                "Tus-Max-Size": str(settings.media_max_file_bytes),
                "Tus-Checksum-Algorithm": ",".join(tus.CHECKSUM_ALGORITHMS),
            }
        ),
    )


def _content_length(request: Request) -> int | None:
    return tus.ascii_int(request.headers.get("content-length"))


async def _patch_body(
    request: Request,
    svc: MediaService,
    upload_id: uuid.UUID,
    principal: Principal,
    auth: dict[str, str],
    offset: int,
) -> tuple[MediaUpload, MediaFile | None]:
    if request.headers.get("content-type", "").split(";")[0].strip() != tus.OFFSET_CONTENT_TYPE:
        raise errors.tus_content_type(tus.OFFSET_CONTENT_TYPE)
    return await uploads.append(
        svc,
        upload_id,
        principal,
        auth,
        offset=offset,
        content_length=_content_length(request),
        chunks=request.stream(),
        checksum=tus.parse_checksum(request.headers.get("upload-checksum")),
        disconnect=ClientDisconnect,
        declared_length=(
            tus.parse_int_header("Upload-Length", request.headers["upload-length"])
            if "upload-length" in request.headers
            else None
        ),
    )


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield


@router.post(UPLOADS, status_code=201, include_in_schema=False)
@router.post(
    UPLOADS + "/",
    status_code=201,
    response_class=Response,
    openapi_extra=media_openapi.TUS_CREATE,
)
async def tus_create(
    request: Request, principal: MediaPrincipalDep, auth: AuthDep, svc: MediaDep
) -> Response:
    """tus creation (and creation-with-upload when the request carries a first chunk).
    ``Upload-Metadata``: ``filename``, ``content_type`` (or ``filetype``), ``kind``,
    ``meeting_id``, ``recording_id``."""
    tus.require_version(request.headers.get("tus-resumable"))
    defer = request.headers.get("upload-defer-length")
    length: int | None
    if defer is not None and request.headers.get("upload-length") is None:
        if defer.strip() != "1":
            raise errors.tus_header("Upload-Defer-Length must be 1.")
        length = None  # a recording streamed while it is made: the size comes with a PATCH
    else:
        length = tus.parse_int_header("Upload-Length", request.headers.get("upload-length"))
    upload = await uploads.create_upload(
        svc, principal, auth, length, request.headers.get("upload-metadata")
    )
    location = f"{request.scope.get('root_path', '')}/api/v1/media/uploads/{upload.id}"
    has_body = (_content_length(request) or 0) > 0 or "transfer-encoding" in request.headers
    if has_body and request.headers.get("content-type", "").startswith(tus.OFFSET_CONTENT_TYPE):
        upload, _ = await _patch_body(request, svc, upload.id, principal, auth, 0)
    elif length == 0:
        # Nothing to wait for: complete (and judge) the empty upload at once.
        upload, _ = await uploads.append(
            svc,
            upload.id,
            principal,
            auth,
            offset=0,
            content_length=0,
            chunks=_no_chunks(),
            checksum=None,
            disconnect=ClientDisconnect,
        )
    return Response(status_code=201, headers=_tus_headers(upload, Location=location))


@router.head(
    UPLOADS + "/{upload_id:uuid}", response_class=Response, openapi_extra=media_openapi.TUS_HEAD
)
async def tus_head(
    upload_id: uuid.UUID,
    request: Request,
    principal: MediaPrincipalDep,
    auth: AuthDep,
    svc: MediaDep,
) -> Response:
    """How far an upload got (the client resumes from ``Upload-Offset``): answered once the
    PATCH writing to it (if any) has ended, so that the offset is the one to resume from."""
    tus.require_version(request.headers.get("tus-resumable"))
    media = await uploads.finished_media(svc, upload_id, principal)
    if media is None:
        # The caller's own upload (404 otherwise, before any waiting), read again once its
        # writer is done: that PATCH may have moved the offset, or completed the upload.
        await uploads.get_upload(svc, upload_id, principal)
        await uploads.writer_done(svc, upload_id)
        media = await uploads.finished_media(svc, upload_id, principal)
    if media is not None:
        return Response(
            status_code=200,
            headers=tus.headers(
                **{"Upload-Offset": str(media.size_bytes), "Upload-Length": str(media.size_bytes)}
            ),
        )
    upload = await uploads.get_upload(svc, upload_id, principal)
    if upload.offset == upload.length:
        # Complete, but admitting it failed (e.g. storage was down): try again now.
        await uploads.finalize(svc, upload, principal, auth)
    if upload.length == uploads.DEFERRED:
        headers = _tus_headers(upload, **{"Upload-Defer-Length": "1"})
    else:
        headers = _tus_headers(upload, **{"Upload-Length": str(upload.length)})
    if upload.metadata_header:
        headers["Upload-Metadata"] = upload.metadata_header
    return Response(status_code=200, headers=headers)


@router.patch(
    UPLOADS + "/{upload_id:uuid}",
    status_code=204,
    response_class=Response,
    openapi_extra=media_openapi.TUS_PATCH,
)
async def tus_patch(
    upload_id: uuid.UUID,
    request: Request,
    principal: MediaPrincipalDep,
    auth: AuthDep,
    svc: MediaDep,
) -> Response:
    """Append a chunk at ``Upload-Offset`` (409 when it is not the upload's offset, 460 when
    ``Upload-Checksum`` does not match, 423 while another request writes to it)."""
    tus.require_version(request.headers.get("tus-resumable"))
    offset = tus.parse_int_header("Upload-Offset", request.headers.get("upload-offset"))
    upload, _ = await _patch_body(request, svc, upload_id, principal, auth, offset)
    return Response(status_code=204, headers=_tus_headers(upload))


@router.delete(
    UPLOADS + "/{upload_id:uuid}", status_code=204, openapi_extra=media_openapi.TUS_DELETE
)
async def tus_terminate(
    upload_id: uuid.UUID, request: Request, principal: MediaPrincipalDep, svc: MediaDep
) -> Response:
    """tus termination: the upload and its stored bytes are removed."""
    tus.require_version(request.headers.get("tus-resumable"))
    async with uploads.upload_lock(svc, upload_id):
        upload = await uploads.get_upload(svc, upload_id, principal)
        await uploads.discard_upload(svc, upload)
    return Response(status_code=204, headers=tus.headers())


# ---- multipart ------------------------------------------------------------------------------


@router.post("", status_code=201, openapi_extra=media_openapi.MULTIPART_UPLOAD)
async def upload_file(
    request: Request,
    svc: MediaDep,
    principal: MediaPrincipalDep,
    auth: AuthDep,
    kind: Annotated[MediaKind | None, Query()] = None,
    meeting_id: Annotated[uuid.UUID | None, Query()] = None,
    recording_id: Annotated[uuid.UUID | None, Query()] = None,
) -> MediaOut:
    """A small file in one ``multipart/form-data`` request (field ``file``; ``kind``,
    ``meeting_id``, ``recording_id`` as form fields or query parameters), streamed to storage."""
    boundary = form_boundary(request.headers.get("content-type", ""))
    query = {
        name: str(value)
        for name, value in {
            "kind": kind,
            "meeting_id": meeting_id,
            "recording_id": recording_id,
        }.items()
        if value is not None
    }
    media = await multipart.upload_form(
        svc,
        StreamingForm(request, boundary),
        principal,
        auth,
        query=query,
        declared=_content_length(request),
    )
    return MediaOut.model_validate(media)


# ---- reading --------------------------------------------------------------------------------


@router.get("")
async def list_media(
    svc: MediaDep,
    principal: MediaPrincipalDep,
    auth: AuthDep,
    meeting_id: uuid.UUID | None = None,
    kind: MediaKind | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_LIST_OFFSET)] = 0,
) -> MediaPage:
    """A meeting's files (for the people in it), or without ``meeting_id`` the caller's own."""
    rows, total = await access.list_media(
        svc, principal, auth, meeting_id=meeting_id, kind=kind, limit=limit, offset=offset
    )
    return MediaPage(items=[MediaOut.model_validate(r) for r in rows], total=total)


@router.get("/{media_id:uuid}")
async def get_media(
    media_id: uuid.UUID, svc: MediaDep, principal: MediaPrincipalDep, auth: AuthDep
) -> MediaOut:
    return MediaOut.model_validate(await access.visible_media(svc, media_id, principal, auth))


@router.post("/{media_id:uuid}/link")
async def content_link(
    media_id: uuid.UUID,
    svc: MediaDep,
    principal: MediaPrincipalDep,
    auth: AuthDep,
    signer: SignerDep,
) -> dict[str, Any]:
    """A short-lived URL of the content that needs no header, for ``<video src>``, ``<img>``
    and downloads (a browser cannot add ``Authorization`` to those)."""
    await access.visible_media(svc, media_id, principal, auth)
    token = links.issue(signer, principal.user_id, media_id)
    return {
        "url": links.content_url(media_id, token),
        "thumbnail_url": links.thumbnail_url(media_id, token),
        "expires_in": links.LINK_TTL_S,
    }


@router.get(
    "/{media_id:uuid}/content",
    response_model=None,
    response_class=Response,
    openapi_extra=media_openapi.CONTENT,
)
async def get_content(
    media_id: uuid.UUID,
    request: Request,
    principal: OptionalMediaPrincipalDep,
    auth: AuthDep,
    svc: MediaDep,
    settings: SettingsDep,
    download: bool = False,
    access: str | None = None,
) -> Response:
    """The bytes: ``Range`` (206), ``ETag``/``If-None-Match`` (304), ``?download=true`` for an
    attachment; with S3 and ``PARLEY_S3_PRESIGN_DOWNLOADS`` a redirect to a presigned URL.
    ``?access=`` takes a link token instead of the ``Authorization`` header."""
    media = await viewer(svc, media_id, access, principal, auth)
    etag = f'"{media.sha256}"'
    disposition = downloads.content_disposition(
        "attachment" if download else "inline", media.filename
    )
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": disposition,
        "Cache-Control": "private, max-age=3600",
        "Content-Security-Policy": "sandbox",
    }
    if downloads.etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    storage = svc.storage
    if storage.can_presign and settings.s3_presign_downloads:
        url = await storage.presigned_get(
            media.storage_key,
            disposition=disposition,
            content_type=media.content_type,
            expires_s=PRESIGN_TTL_S,
        )
        if url:
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    byte_range = downloads.parse_range(request.headers.get("range"), media.size_bytes)
    if_range = request.headers.get("if-range")
    if byte_range is not None and if_range is not None and if_range.strip() != etag:
        byte_range = None
    status = 200
    start, end = 0, media.size_bytes - 1
    if byte_range is not None:
        start, end = byte_range
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{media.size_bytes}"
    headers["Content-Length"] = str(max(0, end - start + 1))
    if media.size_bytes == 0:
        return Response(b"", headers=headers, media_type=media.content_type)
    try:
        body = await downloads.prefetched(storage.iter_range(media.storage_key, start, end))
    except ObjectNotFound as exc:
        raise errors.content_missing() from exc
    return StreamingResponse(
        body, status_code=status, headers=headers, media_type=media.content_type
    )


@router.get(
    "/{media_id:uuid}/thumbnail",
    response_model=None,
    response_class=Response,
    openapi_extra=media_openapi.THUMBNAIL,
)
async def get_thumbnail(
    media_id: uuid.UUID,
    request: Request,
    principal: OptionalMediaPrincipalDep,
    auth: AuthDep,
    svc: MediaDep,
    access: str | None = None,
) -> Response:
    """A 320 px wide WebP of the picture or of the video at 10 % of its length."""
    media = await viewer(svc, media_id, access, principal, auth)
    if media.thumbnail_status != "ready" or not media.thumbnail_key:
        raise errors.thumbnail_unavailable(media.thumbnail_status)
    etag = f'"t-{media.sha256}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=3600"}
    if downloads.etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    data = await svc.storage.get(media.thumbnail_key)
    return Response(data, media_type="image/webp", headers=headers)


@router.delete("/{media_id:uuid}", status_code=204)
async def delete_media(
    media_id: uuid.UUID, svc: MediaDep, principal: MediaPrincipalDep, auth: AuthDep
) -> Response:
    """The owner, the meeting's host or an admin removes the file and its thumbnail."""
    await files.delete_media(svc, media_id, principal, auth)
    return Response(status_code=204)


routers = [router]
