"""Every problem media-service answers with, declared once.

Each problem type (the ``type`` of the problem document, which clients and ``api.js`` key their
wording on) is built by exactly one function here, so a type string cannot drift between the
places that raise it, and the list of what this package can answer is in one file.

Problems of the tus routes carry the headers every tus response must carry
(``Tus-Resumable``, ``Cache-Control: no-store``); those headers are declared here too, since
this module is the leaf every other media module imports (``tus.py`` re-exports them).
"""

from __future__ import annotations

from collections.abc import Iterable

from parley.core.errors import ProblemError

TUS_VERSION = "1.0.0"
"""The tus protocol version this server speaks (``Tus-Resumable``)."""

_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="parley"'}


def tus_headers(**extra: str) -> dict[str, str]:
    """Headers every tus response carries, plus ``extra``."""
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def _tus(status: int, detail: str, type: str, title: str | None = None) -> ProblemError:
    return ProblemError(status, detail, type=type, title=title, headers=tus_headers())


# ---- authentication and links ---------------------------------------------------------------


def invalid_token(detail: str) -> ProblemError:
    """401: no usable bearer token (or the account behind it is disabled or deleted)."""
    return ProblemError(401, detail, type="invalid-token", headers=dict(_BEARER_CHALLENGE))


def bad_link(detail: str) -> ProblemError:
    """401: a content link (``?access=``) that is invalid, expired or for another file."""
    return ProblemError(401, detail, type="bad-link")


# ---- what exists, and who may touch it ------------------------------------------------------


def media_not_found() -> ProblemError:
    """404: no such file, or one the caller may not see (ids cannot be probed)."""
    return ProblemError(404, "No such media.", type="media-not-found")


def meeting_not_found() -> ProblemError:
    return ProblemError(404, "No such meeting.", type="meeting-not-found")


def recording_not_found() -> ProblemError:
    return ProblemError(404, "No such recording in this meeting.", type="recording-not-found")


def not_recording_starter() -> ProblemError:
    return ProblemError(
        403,
        "Only the person who started this recording uploads its media.",
        type="not-recording-starter",
    )


def delete_forbidden() -> ProblemError:
    return ProblemError(
        403, "Only the owner, the meeting's host or an admin can delete this.", type="forbidden"
    )


# ---- what an upload declares, and limits ----------------------------------------------------


def bad_metadata(detail: str) -> ProblemError:
    """400: the upload's description (tus metadata or form fields) is not acceptable."""
    return ProblemError(400, detail, type="bad-metadata")


def unsupported_media_type(detail: str, accepted: Iterable[str]) -> ProblemError:
    """415: a type that is not accepted, or bytes that are not what the client claimed."""
    return ProblemError(
        415,
        f"{detail} Accepted: {', '.join(sorted(accepted))}.",
        type="unsupported-media-type",
        headers=tus_headers(),
    )


def file_too_large(max_bytes: int) -> ProblemError:
    return ProblemError(
        413,
        f"The file is larger than the limit of {max_bytes} bytes.",
        type="file-too-large",
        headers=tus_headers(),
    )


def quota_exceeded(quota_bytes: int, used: int) -> ProblemError:
    return ProblemError(
        413,
        f"This would exceed your storage quota of {quota_bytes} bytes ({used} in use).",
        type="quota-exceeded",
        headers=tus_headers(),
    )


def too_many_uploads(limit: int) -> ProblemError:
    return ProblemError(
        429,
        f"You have {limit} uploads in progress; finish or cancel one first.",
        type="too-many-uploads",
        title="Too Many Uploads",
        headers=tus_headers(),
    )


# ---- tus uploads ----------------------------------------------------------------------------


def upload_not_found() -> ProblemError:
    return _tus(404, "No such upload.", "upload-not-found")


def upload_expired() -> ProblemError:
    return _tus(410, "The upload expired and was removed.", "upload-expired")


def upload_locked() -> ProblemError:
    """423: another request is writing to the upload (one writer at a time, across nodes)."""
    return ProblemError(
        423,
        "Another request is writing to this upload; retry after it ends.",
        type="upload-locked",
        title="Locked",
        headers=tus_headers(),
    )


def upload_offset_mismatch(offset: int, expected: int) -> ProblemError:
    return _tus(
        409,
        f"Upload-Offset {offset} does not match the upload's offset {expected}.",
        "upload-offset-mismatch",
    )


def upload_length_exceeded() -> ProblemError:
    return _tus(413, "The body goes past Upload-Length.", "upload-length-exceeded")


def upload_length_fixed() -> ProblemError:
    return _tus(400, "Upload-Length cannot change.", "upload-length-fixed")


def tus_header(detail: str) -> ProblemError:
    """400: a tus header that is missing or malformed."""
    return _tus(400, detail, "tus-header")


def tus_content_type(content_type: str) -> ProblemError:
    return _tus(415, f"A PATCH body must be {content_type}.", "tus-content-type")


def tus_metadata(detail: str) -> ProblemError:
    return _tus(400, detail, "tus-metadata")


def tus_checksum_algorithm(algorithm: str, supported: Iterable[str]) -> ProblemError:
    return _tus(
        400,
        f"Checksum algorithm {algorithm!r} is not supported; use one of {', '.join(supported)}.",
        "tus-checksum-algorithm",
    )


def tus_checksum() -> ProblemError:
    return _tus(400, "Upload-Checksum is not base64.", "tus-checksum")


def tus_checksum_mismatch() -> ProblemError:
    return _tus(
        460,
        "The chunk's checksum does not match Upload-Checksum; it was discarded.",
        "tus-checksum-mismatch",
        "Checksum Mismatch",
    )


def tus_version() -> ProblemError:
    return ProblemError(
        412,
        f"This server speaks tus {TUS_VERSION}; send `Tus-Resumable: {TUS_VERSION}`.",
        type="tus-version",
        title="Precondition Failed",
        headers=tus_headers(**{"Tus-Version": TUS_VERSION}),
    )


# ---- multipart uploads ----------------------------------------------------------------------


def not_multipart() -> ProblemError:
    return ProblemError(415, "Send multipart/form-data with a boundary.", type="bad-form")


def bad_form(detail: str) -> ProblemError:
    """400: the multipart body is malformed or not the one-file form expected."""
    return ProblemError(400, detail, type="bad-form")


# ---- downloads ------------------------------------------------------------------------------


def content_missing() -> ProblemError:
    return ProblemError(404, "The file's content is gone.", type="content-missing")


def range_not_satisfiable(size: int) -> ProblemError:
    return ProblemError(
        416,
        "The requested range is not inside the file.",
        type="range-not-satisfiable",
        title="Range Not Satisfiable",
        headers={"Content-Range": f"bytes */{size}"},
    )


def thumbnail_unavailable(status: str) -> ProblemError:
    return ProblemError(
        404,
        f"No thumbnail (status: {status}).",
        type="thumbnail-unavailable",
        extra={"thumbnail_status": status},
    )
