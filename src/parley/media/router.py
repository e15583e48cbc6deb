"""media-service HTTP API: /api/v1/media (tus uploads, multipart uploads, downloads, ICE)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

import jwt
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from parley.config import Settings
from parley.core import ice
from parley.core.auth import Principal, TokenSigner, get_signer
from parley.core.contracts import MEDIA_LINK_AUDIENCE
from parley.core.errors import ProblemError
from parley.core.requests import get_settings
from parley.core.storage import ObjectNotFound
from parley.media import openapi as media_openapi
from parley.media import service, tus
from parley.media.dependencies import (
    caller_auth,
    media_optional_principal,
    media_principal,
    media_runtime,
)
from parley.media.models import MediaFile, MediaUpload
from parley.media.schemas import IceServer, MediaKind, MediaOut, MediaPage
from parley.media.service import MediaRuntime

router = APIRouter(prefix="/api/v1/media", tags=["media"])

PrincipalDep = Annotated[Principal, Depends(media_principal)]
AuthDep = Annotated[dict[str, str], Depends(caller_auth)]
RuntimeDep = Annotated[MediaRuntime, Depends(media_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
UPLOADS = "/uploads"
MAX_FORM_FIELD_BYTES = 4096
MULTIPART_OVERHEAD = 64 * 1024
PRESIGN_TTL_S = 300
LINK_AUDIENCE = MEDIA_LINK_AUDIENCE
LINK_TTL_S = 6 * 3600
# Paging further than this is no listing anyone reads; the bound keeps the value inside what
# every database's OFFSET takes (2**70 used to reach the driver and fail there as a 500).
MAX_LIST_OFFSET = 2**31 - 1


@router.get("/ice-servers")
async def ice_servers(principal: PrincipalDep, settings: SettingsDep) -> list[IceServer]:
    """STUN/TURN servers for ``RTCPeerConnection``; TURN credentials expire (REST API style)."""
    return [IceServer(**server) for server in ice.ice_servers(settings, principal.user_id)]


# --------------------------------------------------------------------------------------------
# tus


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
    app_runtime: MediaRuntime,
    upload_id: uuid.UUID,
    principal: Principal,
    auth: dict[str, str],
    offset: int,
) -> tuple[MediaUpload, MediaFile | None]:
    if request.headers.get("content-type", "").split(";")[0].strip() != tus.OFFSET_CONTENT_TYPE:
        raise tus.problem(
            415, f"A PATCH body must be {tus.OFFSET_CONTENT_TYPE}.", "tus-content-type"
        )
    return await service.append(
        request.app,
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
    request: Request, principal: PrincipalDep, auth: AuthDep, app_runtime: RuntimeDep
) -> Response:
    """tus creation (and creation-with-upload when the request carries a first chunk).
    ``Upload-Metadata``: ``filename``, ``content_type`` (or ``filetype``), ``kind``,
    ``meeting_id``, ``recording_id``."""
    tus.require_version(request.headers.get("tus-resumable"))
    defer = request.headers.get("upload-defer-length")
    length: int | None
    if defer is not None and request.headers.get("upload-length") is None:
        if defer.strip() != "1":
            raise tus.problem(400, "Upload-Defer-Length must be 1.", "tus-header")
        length = None  # a recording streamed while it is made: the size comes with a PATCH
    else:
        length = tus.parse_int_header("Upload-Length", request.headers.get("upload-length"))
    upload = await service.create_upload(
        request.app, principal, auth, length, request.headers.get("upload-metadata")
    )
    location = f"{request.scope.get('root_path', '')}/api/v1/media/uploads/{upload.id}"
    has_body = (_content_length(request) or 0) > 0 or "transfer-encoding" in request.headers
    if has_body and request.headers.get("content-type", "").startswith(tus.OFFSET_CONTENT_TYPE):
        upload, _ = await _patch_body(request, app_runtime, upload.id, principal, auth, 0)
    elif length == 0:
        # Nothing to wait for: complete (and judge) the empty upload at once.
        upload, _ = await service.append(
            request.app,
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
    upload_id: uuid.UUID, request: Request, principal: PrincipalDep, auth: AuthDep
) -> Response:
    """How far an upload got (the client resumes from ``Upload-Offset``)."""
    tus.require_version(request.headers.get("tus-resumable"))
    media = await service.finished_media(request.app, upload_id, principal)
    if media is not None:
        return Response(
            status_code=200,
            headers=tus.headers(
                **{"Upload-Offset": str(media.size_bytes), "Upload-Length": str(media.size_bytes)}
            ),
        )
    upload = await service.get_upload(request.app, upload_id, principal)
    if upload.offset == upload.length:
        # Complete, but admitting it failed (e.g. storage was down): try again now.
        await service.finalize(request.app, upload, principal, auth)
    if upload.length == service.DEFERRED:
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
    principal: PrincipalDep,
    auth: AuthDep,
    app_runtime: RuntimeDep,
) -> Response:
    """Append a chunk at ``Upload-Offset`` (409 when it is not the upload's offset, 460 when
    ``Upload-Checksum`` does not match, 423 while another request writes to it)."""
    tus.require_version(request.headers.get("tus-resumable"))
    offset = tus.parse_int_header("Upload-Offset", request.headers.get("upload-offset"))
    upload, _ = await _patch_body(request, app_runtime, upload_id, principal, auth, offset)
    return Response(status_code=204, headers=_tus_headers(upload))


@router.delete(
    UPLOADS + "/{upload_id:uuid}", status_code=204, openapi_extra=media_openapi.TUS_DELETE
)
async def tus_terminate(
    upload_id: uuid.UUID, request: Request, principal: PrincipalDep
) -> Response:
    """tus termination: the upload and its stored bytes are removed."""
    tus.require_version(request.headers.get("tus-resumable"))
    async with service.upload_lock(request.app, upload_id):
        upload = await service.get_upload(request.app, upload_id, principal)
        await service.discard_upload(request.app, upload)
    return Response(status_code=204, headers=tus.headers())


# --------------------------------------------------------------------------------------------
# multipart


class _StreamingForm:
    """``multipart/form-data`` parsed as it arrives: the one file part's bytes are handed on
    chunk by chunk (never held whole), small text fields are collected."""

    def __init__(self, request: Request, boundary: bytes) -> None:
        self.request = request
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.content_type: str | None = None
        self.file_seen = False
        self._pending: list[bytes] = []
        self._headers: dict[str, str] = {}
        self._field = b""
        self._value = b""
        self._name = ""
        self._in_file = False
        self._buffer = bytearray()
        callbacks: Any = {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }
        self.parser = MultipartParser(boundary, callbacks)

    def _part_begin(self) -> None:
        self._headers, self._in_file, self._buffer = {}, False, bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value.decode("latin-1")
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            if self.file_seen or self._name != "file":
                raise ProblemError(
                    400, "Send exactly one file, in the form field `file`.", type="bad-form"
                )
            self.file_seen = self._in_file = True
            self.filename = options[b"filename"].decode("utf-8", "replace")
            self.content_type = self._headers.get("content-type")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(bytes(data[start:end]))
        else:
            self._buffer += data[start:end]
            if len(self._buffer) > MAX_FORM_FIELD_BYTES:
                raise ProblemError(400, "A form field is too long.", type="bad-form")

    def _part_end(self) -> None:
        if not self._in_file:
            self.fields[self._name] = self._buffer.decode("utf-8", "replace")

    async def file_chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.request.stream():
                self.parser.write(chunk)
                if self._pending:
                    data = b"".join(self._pending)
                    self._pending.clear()
                    yield data
            self.parser.finalize()
        except MultipartParseError as exc:
            # The client's bytes are not multipart/form-data as declared: its mistake, a 400.
            raise ProblemError(
                400, f"The multipart body is malformed: {exc}"[:300], type="bad-form"
            ) from exc
        if not self.file_seen:
            raise ProblemError(400, "The form has no `file` part.", type="bad-form")


_BOUNDARY = re.compile(r"^[ -~]{1,200}$")


@router.post("", status_code=201, openapi_extra=media_openapi.MULTIPART_UPLOAD)
async def upload_file(
    request: Request,
    principal: PrincipalDep,
    auth: AuthDep,
    settings: SettingsDep,
    kind: Annotated[MediaKind | None, Query()] = None,
    meeting_id: Annotated[uuid.UUID | None, Query()] = None,
    recording_id: Annotated[uuid.UUID | None, Query()] = None,
) -> MediaOut:
    """A small file in one ``multipart/form-data`` request (field ``file``; ``kind``,
    ``meeting_id``, ``recording_id`` as form fields or query parameters), streamed to storage."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary", b"")
    if content_type != b"multipart/form-data" or not _BOUNDARY.match(boundary.decode("latin-1")):
        raise ProblemError(415, "Send multipart/form-data with a boundary.", type="bad-form")
    declared = _content_length(request)
    if declared is not None and declared > settings.media_max_file_bytes + MULTIPART_OVERHEAD:
        raise service._too_large(settings)
    owner = uuid.UUID(principal.user_id)
    await service.check_quota(request.app, owner, max(0, (declared or 0) - MULTIPART_OVERHEAD))
    query = {
        name: str(value)
        for name, value in {
            "kind": kind,
            "meeting_id": meeting_id,
            "recording_id": recording_id,
        }.items()
        if value is not None
    }
    if query.get("meeting_id"):
        spec = service.upload_spec(query)
        await service.check_meeting_links(request.app, spec, auth, principal.user_id)
    media_id = uuid.uuid4()
    form = _StreamingForm(request, boundary)
    # The bytes count against the quota as they arrive (a chunked body declares no size).
    meter = service.QuotaMeter(request.app, owner, media_id)
    try:
        size, sha256 = await service.store_stream(request.app, media_id, form.file_chunks(), meter)
        try:
            fields = {**form.fields, **query}
            fields.setdefault("filename", form.filename or "")
            if "content_type" not in fields and form.content_type:
                fields["content_type"] = form.content_type
            spec = service.upload_spec(fields)
            await service.check_meeting_links(request.app, spec, auth, principal.user_id)
        except BaseException:
            await service.runtime(request.app).storage.delete(service.object_key(media_id))
            raise
        media = await service.admit(
            request.app,
            media_id=media_id,
            owner=principal,
            auth=auth,
            spec=spec,
            size=size,
            sha256=sha256,
        )
    finally:
        # Released once the file's row counts it (or it was thrown away).
        await meter.release()
    return MediaOut.model_validate(media)


# --------------------------------------------------------------------------------------------
# reading


@router.get("")
async def list_media(
    request: Request,
    principal: PrincipalDep,
    auth: AuthDep,
    meeting_id: uuid.UUID | None = None,
    kind: MediaKind | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_LIST_OFFSET)] = 0,
) -> MediaPage:
    """A meeting's files (for the people in it), or without ``meeting_id`` the caller's own."""
    rows, total = await service.list_media(
        request.app, principal, auth, meeting_id=meeting_id, kind=kind, limit=limit, offset=offset
    )
    return MediaPage(items=[MediaOut.model_validate(r) for r in rows], total=total)


@router.get("/{media_id:uuid}")
async def get_media(
    media_id: uuid.UUID, request: Request, principal: PrincipalDep, auth: AuthDep
) -> MediaOut:
    return MediaOut.model_validate(
        await service.visible_media(request.app, media_id, principal, auth)
    )


def content_disposition(kind: str, filename: str) -> str:
    """Both a plain-ASCII ``filename`` and the exact UTF-8 ``filename*`` (RFC 6266). The name
    goes through :func:`service.safe_filename` again: rows stored before names were cleaned
    may still hold bidi or control characters, which must not reach a browser's save dialog."""
    filename = service.safe_filename(filename)
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_")
    fallback = fallback.replace("\\", "_").replace('"', "_")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$", re.ASCII)
# More digits than any 63-bit size has: the value is past every file's end.
_MAX_RANGE_DIGITS = 19


def _range_int(digits: str) -> int:
    """A range bound; one too long to be a size counts as "beyond the end" (``int()`` of
    5,000 digits raises, and no file is that large anyway)."""
    return int(digits) if len(digits) <= _MAX_RANGE_DIGITS else tus.MAX_INT + 1


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range as ``(first, last)``; ``None`` to send everything (no header, or
    several ranges, which we may ignore); 416 when it cannot be satisfied."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        if "," in header:
            return None
        raise _unsatisfiable(size)
    first, last = match.groups()
    if first == "" and last == "":
        raise _unsatisfiable(size)
    if first == "":
        length = _range_int(last)
        if length == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - length), size - 1
    start = _range_int(first)
    end = min(_range_int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> ProblemError:
    return ProblemError(
        416,
        "The requested range is not inside the file.",
        type="range-not-satisfiable",
        title="Range Not Satisfiable",
        headers={"Content-Range": f"bytes */{size}"},
    )


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or etag in tags or f"W/{etag}" in tags


async def _prefetched(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Read the first chunk before the response starts, so that a missing object or a store
    outage becomes a proper error response rather than a cut-off body."""
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = b""

    async def rest() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in chunks:
            yield chunk

    return rest()


@router.post("/{media_id:uuid}/link")
async def content_link(
    media_id: uuid.UUID,
    request: Request,
    principal: PrincipalDep,
    auth: AuthDep,
    signer: Annotated[TokenSigner, Depends(get_signer)],
) -> dict[str, Any]:
    """A short-lived URL of the content that needs no header, for ``<video src>``, ``<img>``
    and downloads (a browser cannot add ``Authorization`` to those)."""
    await service.visible_media(request.app, media_id, principal, auth)
    token = signer.issue(
        {"sub": principal.user_id, "media": str(media_id)}, LINK_AUDIENCE, LINK_TTL_S
    )
    return {
        "url": f"/api/v1/media/{media_id}/content?access={token}",
        "thumbnail_url": f"/api/v1/media/{media_id}/thumbnail?access={token}",
        "expires_in": LINK_TTL_S,
    }


async def _viewer(
    request: Request,
    media_id: uuid.UUID,
    access: str | None,
    principal: Principal | None,
    auth: dict[str, str],
) -> MediaFile:
    """The media for a caller with a token, or with a link made by :func:`content_link`."""
    if access is not None:
        signer: TokenSigner = request.app.state.signer
        try:
            claims = signer.verify(access, LINK_AUDIENCE)
        except jwt.InvalidTokenError as exc:
            raise ProblemError(
                401, "The link is not valid or has expired.", type="bad-link"
            ) from exc
        if claims.get("media") != str(media_id):
            raise ProblemError(401, "The link is for another file.", type="bad-link")
        # A link lives for hours; the account it was made for may have been disabled or
        # deleted since (users-service sets the gone key at once).
        if await service.user_is_gone(request.app, str(claims.get("sub", ""))):
            raise ProblemError(401, "The link is no longer valid.", type="bad-link")
        media = await service.get_media_row(request.app, media_id)
        # A deleted owner's files are on their way out (the worker removes them).
        owner_state = await service.gone_state(request.app, str(media.owner_id)) if media else None
        if media is None or owner_state == "deleted":
            raise ProblemError(404, "No such media.", type="media-not-found")
        return media
    if principal is None:
        raise ProblemError(
            401,
            "A bearer access token (or a link from POST .../link) is required.",
            type="invalid-token",
            headers={"WWW-Authenticate": 'Bearer realm="parley"'},
        )
    return await service.visible_media(request.app, media_id, principal, auth)


OptionalPrincipalDep = Annotated[Principal | None, Depends(media_optional_principal)]


@router.get("/{media_id:uuid}/content", response_model=None)
async def get_content(
    media_id: uuid.UUID,
    request: Request,
    principal: OptionalPrincipalDep,
    auth: AuthDep,
    app_runtime: RuntimeDep,
    settings: SettingsDep,
    download: bool = False,
    access: str | None = None,
) -> Response:
    """The bytes: ``Range`` (206), ``ETag``/``If-None-Match`` (304), ``?download=true`` for an
    attachment; with S3 and ``PARLEY_S3_PRESIGN_DOWNLOADS`` a redirect to a presigned URL.
    ``?access=`` takes a link token instead of the ``Authorization`` header."""
    media = await _viewer(request, media_id, access, principal, auth)
    etag = f'"{media.sha256}"'
    disposition = content_disposition("attachment" if download else "inline", media.filename)
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": disposition,
        "Cache-Control": "private, max-age=3600",
        "Content-Security-Policy": "sandbox",
    }
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    storage = app_runtime.storage
    if storage.can_presign and settings.s3_presign_downloads:
        url = await storage.presigned_get(
            media.storage_key,
            disposition=disposition,
            content_type=media.content_type,
            expires_s=PRESIGN_TTL_S,
        )
        if url:
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    byte_range = parse_range(request.headers.get("range"), media.size_bytes)
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
        body = await _prefetched(storage.iter_range(media.storage_key, start, end))
    except ObjectNotFound as exc:
        raise ProblemError(404, "The file's content is gone.", type="content-missing") from exc
    return StreamingResponse(
        body, status_code=status, headers=headers, media_type=media.content_type
    )


@router.get("/{media_id:uuid}/thumbnail", response_model=None)
async def get_thumbnail(
    media_id: uuid.UUID,
    request: Request,
    principal: OptionalPrincipalDep,
    auth: AuthDep,
    app_runtime: RuntimeDep,
    access: str | None = None,
) -> Response:
    """A 320 px wide WebP of the picture or of the video at 10 % of its length."""
    media = await _viewer(request, media_id, access, principal, auth)
    if media.thumbnail_status != "ready" or not media.thumbnail_key:
        raise ProblemError(
            404,
            f"No thumbnail (status: {media.thumbnail_status}).",
            type="thumbnail-unavailable",
            extra={"thumbnail_status": media.thumbnail_status},
        )
    etag = f'"t-{media.sha256}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=3600"}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    data = await app_runtime.storage.get(media.thumbnail_key)
    return Response(data, media_type="image/webp", headers=headers)


@router.delete("/{media_id:uuid}", status_code=204)
async def delete_media(
    media_id: uuid.UUID, request: Request, principal: PrincipalDep, auth: AuthDep
) -> Response:
    """The owner, the meeting's host or an admin removes the file and its thumbnail."""
    await service.delete_media(request.app, media_id, principal, auth)
    return Response(status_code=204)


routers = [router]
