"""What an upload declares about its file: name, claimed type, kind, meeting and recording.

Whatever the client says (tus ``Upload-Metadata`` or multipart form fields) is validated once
here into an :class:`UploadSpec`; nothing else reads the raw fields. The name is for display
only (storage keys never use it), and the claimed type is checked against the bytes later.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

from parley.core.errors import ProblemError
from parley.core.text import strip_bidi_controls
from parley.media import errors, sniffing
from parley.media.models import MediaUpload
from parley.media.schemas import KINDS

# C0, DEL and C1 controls, and path separators.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\]")


def safe_filename(name: str | None) -> str:
    """A display name only (storage keys never use it): the last path component, no control
    characters or separators, at most 255 characters. Bidi controls are dropped: in
    ``\u202egnp.exe.png`` the override makes an ``.exe`` read as ``…exe.png``."""
    name = strip_bidi_controls(unicodedata.normalize("NFC", name or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip().lstrip(".")
    return name[:255] or "upload"


@dataclass(frozen=True)
class UploadSpec:
    filename: str
    claimed_type: str | None
    kind: str
    meeting_id: uuid.UUID | None
    recording_id: uuid.UUID | None


def _uuid_field(name: str, value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise errors.bad_metadata(f"{name} is not a valid id.") from exc


def upload_spec(fields: dict[str, str]) -> UploadSpec:
    """Validate what the client says about its file (tus metadata or form fields)."""
    kind = fields.get("kind") or "file"
    if kind not in KINDS:
        raise errors.bad_metadata(f"kind must be one of {', '.join(KINDS)}.")
    filename = safe_filename(fields.get("filename") or fields.get("name"))
    content_type = fields.get("content_type") or fields.get("filetype") or fields.get("type")
    spec = UploadSpec(
        filename=filename,
        claimed_type=sniffing.claimed_type(content_type, filename),
        kind=kind,
        meeting_id=_uuid_field("meeting_id", fields.get("meeting_id")),
        recording_id=_uuid_field("recording_id", fields.get("recording_id")),
    )
    if spec.kind == "recording" and spec.meeting_id is None:
        raise errors.bad_metadata("A recording needs its meeting_id.")
    if spec.recording_id is not None and spec.kind != "recording":
        raise errors.bad_metadata("recording_id is only for kind=recording.")
    if spec.claimed_type is not None and spec.claimed_type not in sniffing.ALLOWED_TYPES:
        raise unsupported(f"Files of type {spec.claimed_type} are not accepted.")
    return spec


def spec_of(upload: MediaUpload) -> UploadSpec:
    """The spec a tus upload was created with (kept on its row)."""
    return UploadSpec(
        filename=upload.filename,
        claimed_type=upload.content_type,
        kind=upload.kind,
        meeting_id=upload.meeting_id,
        recording_id=upload.recording_id,
    )


def unsupported(detail: str) -> ProblemError:
    """415 naming the accepted types."""
    return errors.unsupported_media_type(detail, sniffing.ALLOWED_TYPES)
